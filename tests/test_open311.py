"""Open311 GeoReport v2 driven as a client drives it (form posts, .json and .xml), every response checked
against the specification's schemas and field lists."""

import json
from datetime import datetime
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

import pytest

from conftest import ROOT, report_items
from test_open311_mapping import CREATED_SCHEMA, ERRORS_SCHEMA, assert_same, validate

BASE = "/open311/v2"


@pytest.fixture
def api_key(call_api, token):
    created = call_api("POST", "/admin/apikeys", headers={"Authorization": token("admin")},
                       json_body={"name": "Open311 test client"})
    assert created.status == 201
    return created.body["key"]


@pytest.fixture
def open311(call_api):
    """``open311(method, path, fmt, form=None, query="")`` → (status, parsed body, content type)."""

    def call(method, path, fmt="json", *, form=None, query="", headers=None):
        body = urlencode(form, doseq=True) if form is not None else None
        result = call_api(method, f"{BASE}/{path}.{fmt}", body=body, query=query, headers={
            **({"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}), **(headers or {})})
        content_type = result.headers["Content-Type"]
        if fmt == "xml":
            assert content_type.startswith("text/xml"), content_type
            text = result.body if isinstance(result.body, str) else json.dumps(result.body)
            return result.status, ET.fromstring(text.encode()), content_type
        assert content_type.startswith("application/json"), content_type
        return result.status, result.body, content_type

    return call


def request_form(api_key, **changes):
    form = {"api_key": api_key, "service_code": "infrastructure", "attribute[region_code]": "64.72",
            "description": "Jalan berlubang besar di depan Pasar Segiri, membahayakan pengendara.",
            "lat": "-0.4948", "long": "117.1436", "first_name": "Siti", "last_name": "Rahmawati",
            "email": "siti@example.id", "phone": "081234567890"}
    return {k: v for k, v in (form | changes).items() if v is not None}


def test_services_and_a_definition_in_json_and_xml(open311):
    status, services, _ = open311("GET", "services")
    assert status == 200
    validate(services, "services.json")
    assert {s["service_code"] for s in services} >= {"infrastructure", "health", "population_administration"}
    status, xml, _ = open311("GET", "services", "xml")
    assert status == 200 and xml.tag == "services"
    assert_same(xml, services)

    status, definition, _ = open311("GET", "services/health")
    assert status == 200
    validate(definition, "service-definition.json")
    region = next(a for a in definition["attributes"] if a["code"] == "region_code")
    assert region["required"] is True and {"key": "64.72", "name": "Kota Samarinda"} in region["values"]
    status, xml, _ = open311("GET", "services/health", "xml")
    assert xml.tag == "service_definition"
    assert_same(xml, definition)

    status, missing, _ = open311("GET", "services/no_such_service")
    assert status == 404
    validate(missing, ERRORS_SCHEMA)
    assert missing[0]["code"] == 404


def test_file_a_request_for_samarinda_and_read_it_back_in_json_and_xml(open311, api_key, aws):
    status, created, _ = open311("POST", "requests", form=request_form(api_key))
    assert status == 200, created
    validate(created, CREATED_SCHEMA)
    tracking_id = created[0]["service_request_id"]
    assert tracking_id.startswith("LPR-") and "Dinas Pekerjaan Umum" in created[0]["service_notice"]

    status, found, _ = open311("GET", f"requests/{tracking_id}")
    assert status == 200
    validate(found, "requests.json")
    [request] = found
    assert request["status"] == "open" and request["service_code"] == "infrastructure"
    assert request["agency_responsible"].startswith("Dinas Pekerjaan Umum dan Penataan Ruang Kota Samarinda")
    assert request["expected_datetime"].endswith("23:59:59+08:00")  # = due_at, local time of Samarinda (WITA)
    assert (request["lat"], request["long"]) == (-0.4948, 117.1436)
    assert "Siti" not in json.dumps(found) and "0812" not in json.dumps(found)  # identity is never shown

    status, xml, _ = open311("GET", f"requests/{tracking_id}", "xml")
    assert status == 200 and xml.tag == "service_requests"
    assert_same(xml, found)
    item = runtime_item(aws, tracking_id)
    assert item["channel"] == "open311" and item["reporter"]["name"] == "Siti Rahmawati"


def runtime_item(aws, tracking_id):
    from lapor import runtime

    return runtime.store().plain(next(i for i in report_items(aws) if i["tracking_id"]["S"] == tracking_id))


def test_a_missing_or_revoked_api_key_is_403_and_stores_nothing(open311, api_key, call_api, token, aws):
    status, refused, _ = open311("POST", "requests", form=request_form(None))
    assert status == 403
    validate(refused, ERRORS_SCHEMA)
    assert open311("POST", "requests", form=request_form("lpk_0000000000_" + "x" * 27))[0] == 403
    key_id = api_key.split("_")[1]
    call_api("POST", f"/admin/apikeys/{key_id}/revoke", headers={"Authorization": token("admin")})
    status, xml, _ = open311("POST", "requests", "xml", form=request_form(api_key))
    assert status == 403 and xml.tag == "errors" and xml.find("error/code").text == "403"
    assert report_items(aws) == []


def test_bad_requests_get_the_spec_errors_and_store_nothing(open311, api_key, aws):
    cases = [
        request_form(api_key, **{"attribute[region_code]": None}),  # no region
        request_form(api_key, description="pendek"),
        request_form(api_key, long=None),  # lat without long
        request_form(api_key, service_code="no_such_service"),
        request_form(api_key, **{"attribute[region_code]": "64.99"}),
        request_form(api_key, email="not-an-email"),
        request_form(api_key, **{"attribute[privacy]": "secret"}),
        request_form(api_key, lat=None, long=None),  # only attribute[region_code]: no location (the spec's rule)
        request_form(api_key, **{"attribute[region_code]": None}),  # a point alone names no region here
    ]
    for form in cases:
        status, errors, _ = open311("POST", "requests", form=form)
        assert status == 400, (form, errors)
        validate(errors, ERRORS_SCHEMA)
        assert all(e["code"] == 400 and e["description"] for e in errors)
    status, errors, _ = open311("POST", "requests", form=request_form(api_key, jurisdiction_id="64.99"))
    assert status == 404 and "jurisdiction_id" in errors[0]["description"]
    for elsewhere in ("63", "lapor.kaltimprov.go.id"):  # Kalsel exists, but is not served here; nor is a domain
        status, errors, _ = open311("POST", "requests", form=request_form(api_key, jurisdiction_id=elsewhere))
        assert status == 404 and f"jurisdiction_id {elsewhere} not found" in errors[0]["description"]
    status, errors, _ = open311("POST", "requests", form=request_form(api_key, jurisdiction_id="64.01"))  # Paser
    assert status == 400 and "outside jurisdiction_id 64.01" in errors[0]["description"]
    assert report_items(aws) == []
    # The province, or a region in it that holds the report's region, is accepted.
    assert open311("POST", "requests", form=request_form(api_key, jurisdiction_id="64"))[0] == 200
    assert open311("POST", "requests", form=request_form(api_key, jurisdiction_id="64.72"))[0] == 200


def test_anonymous_and_confidential_requests_expose_nothing_the_public_view_hides(open311, api_key):
    listed_ids = []
    for privacy in ("anonymous", "confidential"):
        status, created, _ = open311("POST", "requests", form=request_form(api_key, **{"attribute[privacy]": privacy}))
        assert status == 200
        listed_ids.append(created[0]["service_request_id"])
        [request] = open311("GET", f"requests/{created[0]['service_request_id']}")[1]
        assert request["description"] is None and request["lat"] is None and request["long"] is None
    status, listed, _ = open311("GET", "requests", query=f"service_request_id={','.join(listed_ids)}")
    assert [r["service_request_id"] for r in listed] == listed_ids
    text = json.dumps(listed)
    assert "Pasar Segiri" not in text and "Siti" not in text and "117.14" not in text


def test_listing_filters_by_code_status_and_dates_with_the_spec_defaults(open311, api_key, call_api, token):
    ids = [open311("POST", "requests", form=request_form(api_key))[1][0]["service_request_id"] for _ in range(2)]
    health = open311("POST", "requests", form=request_form(api_key, service_code="health", **{
        "attribute[region_code]": "64.72"}))[1][0]["service_request_id"]
    answer = call_api("POST", f"/reports/{ids[0]}/responses", headers={"Authorization": token("admin")},
                      json_body={"message": "Sudah ditambal pada 3 Desember.", "status": "responded"})
    assert answer.status == 200, answer.body

    status, everything, _ = open311("GET", "requests")  # the last 90 days by default
    assert status == 200
    validate(everything, "requests.json")
    assert {ids[0], ids[1], health} <= {r["service_request_id"] for r in everything}
    closed = open311("GET", "requests", query="status=closed")[1]
    assert [r["service_request_id"] for r in closed] == [ids[0]]
    assert closed[0]["status_notes"] == "Sudah ditambal pada 3 Desember."  # the answer of a public report
    updated, requested = (closed[0][k] for k in ("updated_datetime", "requested_datetime"))
    assert updated.endswith("+08:00") and datetime.fromisoformat(updated) >= datetime.fromisoformat(requested)
    by_code = open311("GET", "requests", query="service_code=health&status=open")[1]
    assert [r["service_request_id"] for r in by_code] == [health]
    old = open311("GET", "requests", query="start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00Z")[1]
    assert old == []
    status, errors, _ = open311("GET", "requests", query="start_date=2020-01-01T00:00:00Z&end_date=2021-01-01T00:00:00Z")
    assert status == 400 and "90 days" in errors[0]["description"]
    status, xml, _ = open311("GET", "requests", "xml", query="status=closed")
    assert xml.tag == "service_requests" and [r.findtext("service_request_id") for r in xml] == [ids[0]]
    assert open311("GET", "requests/LPR-00000000")[0] == 404


def test_the_same_idempotency_key_files_one_request(open311, api_key, aws):
    form = request_form(api_key)
    first = open311("POST", "requests", form=form, headers={"Idempotency-Key": "open311-once-Jm4Qz8Lp2Vx9"})[1]
    again = open311("POST", "requests", form=form, headers={"Idempotency-Key": "open311-once-Jm4Qz8Lp2Vx9"})[1]
    assert first == again and len(report_items(aws)) == 1


def test_a_base64_form_as_api_gateway_sends_it_even_with_bytes_that_are_not_utf8(api_key, aws):
    import base64
    from urllib.parse import quote_from_bytes

    from lapor_api.app import lambda_handler
    from lapor_cli.devserver import LambdaContext

    form = urlencode(request_form(api_key)) + "&first_name=" + quote_from_bytes(b"Sit\xff")
    event = json.loads((ROOT / "events" / "api" / "post-open311-request.json").read_text())
    event |= {"body": base64.b64encode(form.encode()).decode(), "isBase64Encoded": True}
    filed = lambda_handler(event, LambdaContext("ApiFunction"))
    assert filed["statusCode"] == 200, filed["body"]
    assert json.loads(filed["body"])[0]["service_request_id"] in {i["tracking_id"]["S"] for i in report_items(aws)}


def test_media_url_is_kept_as_an_https_link_and_returned_for_public_requests_only(open311, api_key, aws):
    link = "https://foto.example.id/jalan/segiri.jpg?size=large"
    urls = {}
    for privacy in ("public", "confidential", "anonymous"):
        status, created, _ = open311("POST", "requests", form=request_form(
            api_key, media_url=link, **{"attribute[privacy]": privacy}))
        assert status == 200, created
        tracking_id = created[0]["service_request_id"]
        [request] = open311("GET", f"requests/{tracking_id}")[1]
        urls[privacy] = request["media_url"]
        assert runtime_item(aws, tracking_id)["media_url"] == link  # stored as sent, never fetched
    assert urls == {"public": link, "confidential": None, "anonymous": None}
    status, xml, _ = open311("GET", f"requests/{tracking_id}", "xml")
    assert status == 200


@pytest.mark.parametrize("link", ["http://foto.example.id/a.jpg", "javascript:alert(1)", "file:///etc/passwd",
                                  "https://user:pw@foto.example.id/a.jpg", "https:///a.jpg",
                                  "https://foto.example.id/" + "a" * 2100])
def test_a_media_url_that_is_not_a_plain_https_link_is_dropped(open311, api_key, aws, link):
    status, created, _ = open311("POST", "requests", form=request_form(api_key, media_url=link))
    assert status == 200
    tracking_id = created[0]["service_request_id"]
    assert "media_url" not in runtime_item(aws, tracking_id)
    assert open311("GET", f"requests/{tracking_id}")[1][0]["media_url"] is None


def test_address_string_round_trips_as_address_not_in_the_description(open311, api_key, aws):
    form = request_form(api_key, address_string="Jl. Pahlawan No. 12, RT 05, Samarinda")
    tracking_id = open311("POST", "requests", form=form)[1][0]["service_request_id"]
    [found] = open311("GET", f"requests/{tracking_id}")[1]
    assert found["address"] == "Jl. Pahlawan No. 12, RT 05, Samarinda"
    assert "Pahlawan" not in found["description"] and "Alamat" not in found["description"]
    [listed] = [r for r in open311("GET", "requests")[1] if r["service_request_id"] == tracking_id]
    assert listed == found  # the listing reads the report too: the same address (and media_url)
    status, xml, _ = open311("GET", f"requests/{tracking_id}", "xml")
    assert xml.findtext("request/address") == found["address"]
    [stored] = report_items(aws)
    assert stored["address"]["S"] == "Jl. Pahlawan No. 12, RT 05, Samarinda"
    # A confidential report's address is not shown: its region's name is.
    secret = open311("POST", "requests", form=form | {"attribute[privacy]": "confidential"})[1][0]
    [hidden] = open311("GET", f"requests/{secret['service_request_id']}")[1]
    assert hidden["address"] == "Kota Samarinda, Kalimantan Timur"


def test_a_request_merged_as_a_duplicate_is_closed_and_names_the_request_that_goes_on(open311, api_key, call_api,
                                                                                     token):
    duplicate, master = (open311("POST", "requests", form=request_form(api_key))[1][0]["service_request_id"]
                         for _ in range(2))
    merged = call_api("POST", f"/reports/{duplicate}/merge", headers={"Authorization": token("admin")},
                      json_body={"into": master, "reason": "Lubang yang sama"})
    assert merged.status == 200, merged.body
    status, [request], _ = open311("GET", f"requests/{duplicate}")
    assert status == 200
    validate([request], "requests.json")
    assert request["status"] == "closed"
    assert request["status_notes"] == f"Digabung dengan {master}: laporan yang sama, ditindaklanjuti di sana."
    assert open311("GET", f"requests/{master}")[1][0]["status"] == "open"


def test_a_confidential_request_merged_as_a_duplicate_names_no_master(open311, api_key, call_api, token):
    duplicate = open311("POST", "requests", form=request_form(api_key, **{
        "attribute[privacy]": "confidential"}))[1][0]["service_request_id"]
    master = open311("POST", "requests", form=request_form(api_key))[1][0]["service_request_id"]
    merged = call_api("POST", f"/reports/{duplicate}/merge", headers={"Authorization": token("admin")},
                      json_body={"into": master, "reason": "Lubang yang sama"})
    assert merged.status == 200, merged.body
    [request] = open311("GET", f"requests/{duplicate}")[1]
    assert (request["status"], request["status_notes"]) == ("closed", "Laporan selesai.")  # the plain status note
    listed = {r["service_request_id"]: r for r in open311("GET", "requests")[1]}
    assert master not in json.dumps(listed[duplicate]) and master not in json.dumps(request)
