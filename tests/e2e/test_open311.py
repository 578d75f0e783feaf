"""An Open311 client against lapor dev: a key from `lapor apikeys`, services listed, a request for Kota
Samarinda filed and read back with its agency and expected datetime, in JSON and XML; a revoked key is refused."""

from xml.etree import ElementTree as ET

import pytest
import requests

from e2e.helpers import lapor, token

pytestmark = pytest.mark.e2e
TIMEOUT = 30


def test_an_open311_client_lists_files_and_reads_back_in_json_and_xml(lapor_dev, api_url):
    issued = lapor(lapor_dev, "apikeys", "create", "--name", "e2e Open311 client", "--endpoint", api_url)
    assert issued.returncode == 0, issued.stderr
    api_key = issued.stdout.strip()
    assert api_key.startswith("lpk_") and "shown once" in issued.stderr
    base = f"{api_url}/open311/v2"

    services = requests.get(f"{base}/services.json", timeout=TIMEOUT).json()
    assert "infrastructure" in {s["service_code"] for s in services}
    xml_services = ET.fromstring(requests.get(f"{base}/services.xml", timeout=TIMEOUT).content)
    assert "infrastructure" in {s.findtext("service_code") for s in xml_services}

    form = {"api_key": api_key, "service_code": "infrastructure", "attribute[region_code]": "64.72",
            "description": "Lampu penerangan jalan di Jl. Juanda padam sejak seminggu.", "lat": "-0.4807",
            "long": "117.1527"}
    created = requests.post(f"{base}/requests.json", data=form, timeout=TIMEOUT)
    assert created.status_code == 200, created.text
    tracking_id = created.json()[0]["service_request_id"]

    [request] = requests.get(f"{base}/requests/{tracking_id}.json", timeout=TIMEOUT).json()
    assert request["agency_responsible"] == "Dinas Pekerjaan Umum dan Penataan Ruang Kota Samarinda"
    assert request["expected_datetime"].endswith("T23:59:59+08:00") and request["status"] == "open"
    xml = ET.fromstring(requests.get(f"{base}/requests/{tracking_id}.xml", timeout=TIMEOUT).content)
    assert xml.tag == "service_requests"
    assert xml.findtext("request/agency_responsible") == request["agency_responsible"]
    assert xml.findtext("request/expected_datetime") == request["expected_datetime"]

    xml_created = ET.fromstring(requests.post(f"{base}/requests.xml", data=form, timeout=TIMEOUT).content)
    second = xml_created.findtext("request/service_request_id")
    assert second.startswith("LPR-") and second != tracking_id
    listed = requests.get(f"{base}/requests.json", params={"service_request_id": f"{tracking_id},{second}"},
                          timeout=TIMEOUT).json()
    assert [r["service_request_id"] for r in listed] == [tracking_id, second]
    # Filtered by keys (ByServiceInRegency: the service, its status, the kabupaten/kota).
    keyed = requests.get(f"{base}/requests.json", params={"service_code": "infrastructure", "status": "open",
                                                          "jurisdiction_id": "64.72"}, timeout=TIMEOUT).json()
    assert {tracking_id, second} <= {r["service_request_id"] for r in keyed}
    assert requests.get(f"{base}/requests.json", params={"status": "closed", "service_code": "infrastructure",
                                                         "jurisdiction_id": "64.72.01"}, timeout=TIMEOUT).json() == []

    key_id = api_key.split("_")[1]
    assert key_id in lapor(lapor_dev, "apikeys", "list", "--endpoint", api_url).stdout
    revoked = lapor(lapor_dev, "apikeys", "revoke", key_id, "--endpoint", api_url)
    assert revoked.returncode == 0, revoked.stderr
    refused = requests.post(f"{base}/requests.json", data=form, timeout=TIMEOUT)
    assert refused.status_code == 403 and refused.json()[0]["code"] == 403


def test_a_client_starts_from_discovery(lapor_dev, api_url):
    """Validators start at discovery.{json,xml}: served by the route in template.yaml, in its own format."""
    base = f"{api_url}/open311/v2"
    reply = requests.get(f"{base}/discovery.json", timeout=TIMEOUT)
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("application/json")
    [endpoint] = reply.json()["endpoints"]
    assert endpoint["url"] == base and endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    xml = requests.get(f"{base}/discovery.xml", timeout=TIMEOUT)
    assert xml.status_code == 200 and xml.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "discovery" and root.findtext("endpoints/endpoint/url") == base
    # What the endpoint says it serves, it serves.
    assert requests.get(f"{endpoint['url']}/services.xml", timeout=TIMEOUT).status_code == 200


def test_every_path_under_open311_answers_the_spec_s_errors(lapor_dev, api_url):
    """lapor dev routes what no exact route takes to the template's ANY /open311/v2/{proxy+}, as API Gateway does:
    the spec's list (JSON, or <errors> for .xml paths), never {"message": "Not Found"}."""
    base = f"{api_url}/open311/v2"
    for method, path, status, content_type in (("GET", "services.html", 404, "application/json"),
                                               ("GET", "services", 404, "application/json"),
                                               ("GET", "tokens/42.xml", 404, "text/xml"),
                                               ("GET", "a/b/c.xml", 404, "text/xml"),
                                               ("DELETE", "requests.json", 405, "application/json")):
        reply = requests.request(method, f"{base}/{path}", timeout=TIMEOUT)
        assert reply.status_code == status, (path, reply.text)
        assert reply.headers["Content-Type"].startswith(content_type), path
        if content_type == "text/xml":
            root = ET.fromstring(reply.content)
            assert root.tag == "errors" and root.findtext("error/code") == str(status)
        else:
            assert reply.json()[0]["code"] == status


def test_fixmystreet_reads_the_agency_s_answer_from_servicerequestupdates(lapor_dev, api_url):
    issued = lapor(lapor_dev, "apikeys", "create", "--name", "e2e FixMyStreet", "--endpoint", api_url)
    base = f"{api_url}/open311/v2"
    form = {"api_key": issued.stdout.strip(), "service_code": "infrastructure", "attribute[region_code]": "64.72",
            "description": "Gorong-gorong tersumbat di Jl. Pramuka, air meluap ke jalan.",
            "address_string": "Jl. Pramuka, Samarinda"}
    created = requests.post(f"{base}/requests.xml", data=form, timeout=TIMEOUT)
    tracking_id = ET.fromstring(created.content).findtext("request/service_request_id")
    [request] = requests.get(f"{base}/requests/{tracking_id}.json", timeout=TIMEOUT).json()
    assert request["address"] == "Jl. Pramuka, Samarinda"
    answer = requests.post(f"{api_url}/reports/{tracking_id}/responses", timeout=TIMEOUT,
                           headers=token(lapor_dev, "admin"),
                           json={"message": "Gorong-gorong sudah dibersihkan.", "status": "responded"})
    assert answer.status_code == 200, answer.text
    reply = requests.get(f"{base}/servicerequestupdates.xml", timeout=TIMEOUT)
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(reply.content)
    assert root.tag == "service_requests_updates"
    [mine] = [u for u in root if u.findtext("service_request_id") == tracking_id]
    assert (mine.findtext("status"), mine.findtext("description")) == ("closed", "Gorong-gorong sudah dibersihkan.")
    as_json = requests.get(f"{base}/servicerequestupdates.json", params={"jurisdiction_id": "64.72"},
                           timeout=TIMEOUT).json()
    assert mine.findtext("update_id") in {u["update_id"] for u in as_json}
