"""jurisdiction_id on every Open311 route: a region the deployment does not serve is the spec's 404; a region
code limits what is listed or read to that region and below, read by the public listing's keys (never a Scan)."""

import pytest

from test_open311 import api_key, open311, request_form  # noqa: F401 (fixtures)
from test_open311_mapping import ERRORS_SCHEMA, validate


@pytest.fixture
def filed(open311, api_key):  # noqa: F811
    """Two public requests in Kota Samarinda (one in Kecamatan Palaran), one in Paser, one confidential one in
    Samarinda: {name: service_request_id}."""
    forms = {"samarinda": {}, "palaran": {"attribute[region_code]": "64.72.01"},
             "paser": {"attribute[region_code]": "64.01", "lat": None, "long": None, "address_string": "Tanah Grogot"},
             "confidential": {"attribute[privacy]": "confidential"}}
    ids = {}
    for name, changes in forms.items():
        status, created, _ = open311("POST", "requests", form=request_form(api_key, **changes))
        assert status == 200, created
        ids[name] = created[0]["service_request_id"]
    return ids


@pytest.mark.parametrize("jurisdiction", ["64.99", "63", "31.71", "lapor.example.id", "64.72.99"])
@pytest.mark.parametrize("path", ["services", "services/health", "requests", "requests/LPR-7K3M9Q2X"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_jurisdiction_not_served_here_is_a_404_on_every_route(open311, path, fmt, jurisdiction):  # noqa: F811
    status, errors, _ = open311("GET", path, fmt, query=f"jurisdiction_id={jurisdiction}")
    assert status == 404
    if fmt == "json":
        validate(errors, ERRORS_SCHEMA)
        assert f"jurisdiction_id {jurisdiction} not found" in errors[0]["description"]
    else:
        assert errors.tag == "errors" and errors.findtext("error/code") == "404"


def test_a_region_lists_only_its_own_requests_and_those_below(open311, filed):  # noqa: F811
    def listed(jurisdiction, extra=""):
        status, requests_, _ = open311("GET", "requests", query=f"jurisdiction_id={jurisdiction}{extra}")
        assert status == 200
        validate(requests_, "requests.json")
        return {r["service_request_id"] for r in requests_}

    assert listed("64.01") == {filed["paser"]}  # Paser: not Samarinda's
    # A region's listing is its public listing: the confidential request is in no region's.
    assert listed("64.72") == {filed["samarinda"], filed["palaran"]}
    assert listed("64.72.01") == {filed["palaran"]}
    assert listed("64.72.02") == set()
    assert listed("64") == set(filed.values())  # the province is everything, as without jurisdiction_id
    assert listed("64.72", "&status=closed") == set()
    assert listed("64.72", "&service_code=health") == set()
    # By id, too: only the ones in the region.
    assert listed("64.72", f"&service_request_id={filed['paser']},{filed['samarinda']}") == {filed["samarinda"]}
    # The region's requests carry what any request does (description from the report, not the index).
    status, [one], _ = open311("GET", "requests", query="jurisdiction_id=64.72.01")
    assert one["description"].startswith("Jalan berlubang")


def test_one_request_outside_the_jurisdiction_is_a_404(open311, filed):  # noqa: F811
    assert open311("GET", f"requests/{filed['paser']}", query="jurisdiction_id=64.01")[0] == 200
    status, errors, _ = open311("GET", f"requests/{filed['paser']}", query="jurisdiction_id=64.72")
    assert status == 404 and "not found in jurisdiction_id 64.72" in errors[0]["description"]


def test_a_region_s_service_definition_offers_that_region_and_its_kecamatan(open311):  # noqa: F811
    status, definition, _ = open311("GET", "services/health", query="jurisdiction_id=64.72")
    assert status == 200
    validate(definition, "service-definition.json")
    values = {v["key"]: v["name"] for v in definition["attributes"][0]["values"]}
    assert values["64.72"] == "Kota Samarinda" and values["64.72.01"].startswith("Kecamatan ")
    assert all(k == "64.72" or k.startswith("64.72.") for k in values)
    whole = open311("GET", "services/health", query="jurisdiction_id=64")[1]
    assert "64.01" in {v["key"] for v in whole["attributes"][0]["values"]}
    assert open311("GET", "services", query="jurisdiction_id=64.72")[0] == 200


def test_a_region_s_listing_is_keyed_never_a_scan(open311, filed, aws, monkeypatch):  # noqa: F811
    from lapor import runtime

    client = runtime.store().client
    calls = []
    for name in ("scan", "query", "batch_get_item"):
        original = getattr(client, name)
        monkeypatch.setattr(client, name, lambda *a, _o=original, _n=name, **k: calls.append((_n, k)) or _o(*a, **k))
    assert open311("GET", "requests", query="jurisdiction_id=64.72.01")[0] == 200
    assert [n for n, _ in calls] == ["query", "batch_get_item"]
    assert calls[0][1]["IndexName"] == "PublicByDistrict"
