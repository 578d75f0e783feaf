"""Merge candidates (issue 15): GET /agency/reports/{tracking_id}/candidates, with the privacy rule "confidential and
anonymous reports are offered only inside the caller's scope"."""

from datetime import timedelta

import pytest

from conftest import VALID_REPORT
from lapor import runtime

PUPR, DINKES, INSPEKTORAT = "64-72-pupr", "64-72-dinkes", "64-72-inspektorat"
LAT, LON = VALID_REPORT["location"]["lat"], VALID_REPORT["location"]["lon"]
METRE = 1 / 111_195  # a metre along a meridian, in degrees of latitude


def as_(token, role, agency=None):
    return {"Authorization": token(role, agency)}


def file_(call_api, north_m=0.0, **changes):
    body = VALID_REPORT | {"location": {"lat": LAT + north_m * METRE, "lon": LON}} | changes
    if changes.get("location", ...) is None:
        body.pop("location")
    reply = call_api("POST", "/reports", json_body=body)
    assert reply.status == 201, reply.body
    return reply.body["tracking_id"]


def candidates(call_api, headers, tracking_id):
    return call_api("GET", f"/agency/reports/{tracking_id}/candidates", headers=headers)


def listed(reply):
    assert reply.status == 200, reply.body
    return [item["tracking_id"] for item in reply.body["items"]]


def test_open_reports_of_the_category_nearby_nearest_first_with_the_chain_s_confidential_ones(call_api, token):
    report = file_(call_api)
    far_public = file_(call_api, north_m=200)
    near_secret = file_(call_api, north_m=30, privacy="confidential")
    anonymous = file_(call_api, north_m=100, privacy="anonymous", reporter=None)
    file_(call_api, north_m=400)  # beyond 250 m
    file_(call_api, north_m=10, category="health", title="Puskesmas tutup")  # another category
    operator = as_(token, "operator", PUPR)
    reply = candidates(call_api, operator, report)
    assert listed(reply) == [near_secret, anonymous, far_public]
    assert (reply.body["basis"], reply.body["radius_m"], reply.body["days"]) == ("distance", 250, 30)
    lines = {item["tracking_id"]: item for item in reply.body["items"]}
    assert 25 <= lines[near_secret]["distance_m"] <= 35 and 190 <= lines[far_public]["distance_m"] <= 210
    assert lines[near_secret]["privacy"] == "confidential" and lines[near_secret]["in_scope"] is True
    assert lines[near_secret]["title"] == VALID_REPORT["title"]  # its chain sees its content
    assert lines[far_public]["agency"] == {"id": PUPR, "name": lines[far_public]["agency"]["name"]}
    # The public listing never shows the confidential or anonymous ones.
    nearby = call_api("GET", "/reports/nearby", query=f"lat={LAT}&lon={LON}").body["items"]
    assert {near_secret, anonymous}.isdisjoint(i["tracking_id"] for i in nearby)


def test_a_confidential_or_anonymous_report_outside_the_callers_scope_is_never_listed(call_api, token):
    """Balikpapan's reports about the same spot: its public one is offered with its public fields only, its
    confidential and anonymous ones to no one outside its chain."""
    report = file_(call_api)
    public = file_(call_api, north_m=20, region_code="64.71")
    secret = file_(call_api, north_m=10, region_code="64.71", privacy="confidential", title="Pungli proyek jalan")
    anonymous = file_(call_api, north_m=15, region_code="64.71", privacy="anonymous", reporter=None)
    for headers in (as_(token, "operator", PUPR), as_(token, "supervisor", INSPEKTORAT)):
        reply = candidates(call_api, headers, report)
        assert listed(reply) == [public]
        assert "Pungli" not in str(reply.body)
        line = reply.body["items"][0]
        assert line["in_scope"] is False and line["privacy"] == "public"
        assert set(line) == {"tracking_id", "category", "status", "title", "privacy", "agency", "distance_m",
                             "submitted_at", "supporters", "in_scope"}
    # Balikpapan's own operator sees its confidential ones offered for its public report.
    assert listed(candidates(call_api, as_(token, "operator", "64-71-pupr"), public)) == [anonymous, secret, report]
    # An admin's confidential candidates come from the report's own agency and its ladder only (ByAgency is read
    # per agency: reading every agency's would cost a Query per agency and status).
    assert listed(candidates(call_api, as_(token, "admin"), report)) == [public]
    assert listed(candidates(call_api, as_(token, "admin"), public)) == [anonymous, secret, report]


def test_merged_rejected_closed_and_old_reports_are_not_offered(call_api, token, monkeypatch):
    operator = as_(token, "operator", PUPR)
    report, duplicate, master = file_(call_api), file_(call_api, north_m=5), file_(call_api, north_m=10)
    rejected = file_(call_api, north_m=15, privacy="confidential")
    assert call_api("POST", f"/reports/{duplicate}/merge", headers=operator,
                    json_body={"into": master, "reason": "sama"}).status == 200
    assert call_api("POST", f"/reports/{rejected}/reject", headers=as_(token, "admin"),
                    json_body={"reason": "spam"}).status == 200
    assert listed(candidates(call_api, operator, report)) == [master]
    # 31 days later, nothing filed today is recent enough.
    from lapor_api import merge

    later = merge._now() + timedelta(days=31)
    monkeypatch.setattr(merge, "_now", lambda: later)
    assert listed(candidates(call_api, operator, report)) == []


def test_at_most_ten(call_api, token):
    report = file_(call_api)
    others = [file_(call_api, north_m=5 * (n + 1), privacy="confidential" if n % 2 else "public") for n in range(12)]
    assert listed(candidates(call_api, as_(token, "operator", PUPR), report)) == others[:10]


def test_a_supervisor_is_offered_the_escalated_confidential_reports_of_its_ladder(call_api, token, aws):
    report = file_(call_api)
    escalated = file_(call_api, north_m=40, privacy="confidential")
    item = aws.get_item(TableName="ReportsTable", Key={"PK": {"S": f"REPORT#{escalated}"}, "SK": {"S": "META"}})["Item"]
    aws.update_item(  # as the sweep leaves it: with the inspectorate, escalated
        TableName="ReportsTable", Key={"PK": {"S": f"REPORT#{escalated}"}, "SK": {"S": "META"}},
        UpdateExpression="SET #s = :s, agency_id = :a, agency_pk = :pk, agency_sk = :sk",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "escalated"}, ":a": {"S": INSPEKTORAT},
                                   ":pk": {"S": f"AGENCY#{INSPEKTORAT}"},
                                   ":sk": {"S": "escalated#" + item["submitted_at"]["S"]}})
    assert listed(candidates(call_api, as_(token, "supervisor", INSPEKTORAT), report)) == [escalated]
    assert listed(candidates(call_api, as_(token, "operator", PUPR), report)) == []  # not its agency's any more


def test_without_a_location_the_region_s_reports_newest_first(call_api, token):
    report = file_(call_api, location=None)
    older = file_(call_api, north_m=3000)  # anywhere in the region: no distance to go by
    secret = file_(call_api, location=None, privacy="confidential")
    file_(call_api, region_code="64.71")  # another region
    file_(call_api, region_code="64.71", privacy="confidential", location=None)
    file_(call_api, category="health", title="Puskesmas tutup")
    reply = candidates(call_api, as_(token, "operator", PUPR), report)
    assert sorted(listed(reply)) == sorted([secret, older])  # newest first: filed in the same second here (rank)
    assert (reply.body["basis"], reply.body["radius_m"]) == ("region", None)
    assert all(item["distance_m"] is None for item in reply.body["items"])


@pytest.mark.parametrize(("role", "agency", "status"), [("operator", DINKES, 404), ("operator", "64-71-pupr", 404),
                                                        ("supervisor", INSPEKTORAT, 200)])
def test_outside_the_callers_chain_the_report_is_unknown(call_api, token, role, agency, status):
    report = file_(call_api)
    reply = candidates(call_api, as_(token, role, agency), report)
    assert reply.status == status
    if status == 404:
        assert reply.body["error"]["code"] == "not_found"
    assert candidates(call_api, {}, report).status in (401, 403)


def test_every_dynamodb_call_is_a_keyed_read_granted_to_the_api_function(call_api, token):
    """No Scan; each Query names an index ApiFunction may Query; BatchGetItem is granted on the table."""
    from test_template_security import statements

    report = file_(call_api)
    file_(call_api, north_m=10, privacy="confidential")
    client = runtime.store().client
    calls = []
    client.meta.events.register("before-parameter-build.dynamodb",
                                lambda params, model, **_: calls.append((model.name, params.get("IndexName"))),
                                unique_id="candidates-calls")
    try:
        assert len(listed(candidates(call_api, as_(token, "supervisor", INSPEKTORAT), report))) == 1
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb", unique_id="candidates-calls")
    assert "Scan" not in {name for name, _ in calls}
    resources = [str(r) for s in statements("ApiFunction") if s["Effect"] == "Allow"
                 for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    for name, index in calls:
        if name == "Query" and index:
            assert any(f"/index/{index}" in r for r in resources), index
    assert {index for name, index in calls if name == "Query"} >= {"ByAgency", "NearbyCells"}


def test_rank_nearest_first_then_newest_each_once_never_itself_at_most_the_limit():
    from lapor.domain.duplicates import rank

    def line(tracking_id, distance, at):
        return {"tracking_id": tracking_id, "distance_m": distance, "submitted_at": at}

    found = [line("A", 30.0, "2026-01-01"), line("B", 10.0, "2026-01-01"), line("C", 10.0, "2026-01-03"),
             line("B", 99.0, "2026-01-01"), line("SELF", 0.0, "2026-01-05")]
    assert [x["tracking_id"] for x in rank(found, exclude="SELF")] == ["C", "B", "A"]
    assert [x["tracking_id"] for x in rank(found, exclude="SELF", limit=2)] == ["C", "B"]
    region = [line("A", None, "2026-01-01"), line("B", None, "2026-01-03"), line("C", None, "2026-01-02")]
    assert [x["tracking_id"] for x in rank(region, exclude="X")] == ["B", "C", "A"]


def test_candidate_agencies_are_the_report_s_own_and_its_ladder_within_scope():
    from lapor.domain.duplicates import candidate_agencies

    agencies = runtime_agencies()
    assert candidate_agencies(PUPR, agencies, frozenset({PUPR})) == (PUPR, [])
    assert candidate_agencies(PUPR, agencies, frozenset({PUPR, INSPEKTORAT})) == (PUPR, [INSPEKTORAT])
    assert candidate_agencies(PUPR, agencies, None) == (PUPR, [INSPEKTORAT, "64-inspektorat", "nasional"])
    assert candidate_agencies(PUPR, agencies, frozenset({DINKES})) == (None, [])


def runtime_agencies():
    import json
    from pathlib import Path

    from lapor.domain.routing import Agency

    data = json.loads((Path(__file__).parents[1] / "layers/core/lapor/data/agencies.json").read_text())
    return {a["id"]: Agency(**a) for a in data}
