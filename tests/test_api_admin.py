"""Admin configuration: agencies, routes and calendar overrides, validated before anything is saved."""

import copy
import json

import pytest

from conftest import VALID_REPORT


@pytest.fixture
def admin(token):
    return {"Authorization": token("admin")}


@pytest.mark.parametrize("path", ["/admin/agencies", "/admin/routes", "/admin/calendar"])
def test_only_admins_configure(call_api, token, path):
    assert call_api("GET", path).status == 401
    for role, agency in (("operator", "64-72-pupr"), ("supervisor", "64-inspektorat")):
        reply = call_api("GET", path, headers={"Authorization": token(role, agency)})
        assert (reply.status, reply.body["error"]["code"]) == (403, "forbidden")
        assert call_api("PUT", path, headers={"Authorization": token(role, agency)},
                        json_body={"items": []}).status == 403


def test_agencies_round_trip_and_invalid_ladders_are_refused(call_api, admin):
    agencies = call_api("GET", "/admin/agencies", headers=admin).body["items"]
    by_id = {a["id"]: a for a in agencies}
    assert len(agencies) == 128
    assert by_id["nasional"] | {"name": None} == {"id": "nasional", "name": None, "region_code": "ID",
                                                  "level": "national", "escalates_to": None}
    looped = copy.deepcopy(agencies)
    for agency in looped:
        if agency["id"] == "64-inspektorat":
            agency["escalates_to"] = "64-72-inspektorat"  # which escalates to 64-inspektorat: a loop
    reply = call_api("PUT", "/admin/agencies", headers=admin, json_body={"items": looped})
    assert (reply.status, reply.body["error"]["code"]) == (422, "invalid_configuration")
    assert any("loops" in p["msg"] for p in reply.body["error"]["details"])
    assert call_api("GET", "/admin/agencies", headers=admin).body["items"] == agencies  # nothing saved

    renamed = [a | {"name": "Inspektorat Provinsi Kalimantan Timur (baru)"} if a["id"] == "64-inspektorat" else a
               for a in agencies]
    assert call_api("PUT", "/admin/agencies", headers=admin, json_body={"items": renamed}).status == 200
    saved = {a["id"]: a for a in call_api("GET", "/admin/agencies", headers=admin).body["items"]}
    assert saved["64-inspektorat"]["name"].endswith("(baru)") and len(saved) == 128


def test_agencies_still_routed_to_or_with_reports_cannot_be_removed(call_api, admin):
    agencies = call_api("GET", "/admin/agencies", headers=admin).body["items"]
    without_pupr = [a for a in agencies if a["id"] != "64-72-pupr"]
    routed = call_api("PUT", "/admin/agencies", headers=admin, json_body={"items": without_pupr})
    assert routed.status == 422 and "64-72-pupr" in routed.body["error"]["message"]
    # A new agency with no routes can come and go, until it has a report.
    extra = {"id": "64-72-bpbd", "name": "BPBD Kota Samarinda", "region_code": "64.72", "level": "kabupaten_kota",
             "escalates_to": "64-72-inspektorat"}
    assert call_api("PUT", "/admin/agencies", headers=admin, json_body={"items": agencies + [extra]}).status == 200
    filed = call_api("POST", "/reports", json_body=VALID_REPORT).body
    call_api("POST", f"/reports/{filed['tracking_id']}/reassign", headers=admin,
             json_body={"agency_id": "64-72-bpbd", "reason": "Longsor: kebencanaan"})
    in_use = call_api("PUT", "/admin/agencies", headers=admin, json_body={"items": agencies})
    assert (in_use.status, in_use.body["error"]["code"]) == (409, "agency_in_use")
    assert in_use.body["error"]["details"]["agency_ids"] == ["64-72-bpbd"]


def test_routes_are_validated_and_take_effect_at_once(call_api, admin):
    routes = call_api("GET", "/admin/routes", headers=admin).body["items"]
    assert len(routes) == 117
    broken = routes + [{"region_code": "64.99", "category": "potholes", "agency_id": "ghost"}]
    reply = call_api("PUT", "/admin/routes", headers=admin, json_body={"items": broken})
    assert reply.status == 422
    assert {p["loc"][-1] for p in reply.body["error"]["details"]} == {"region_code", "category", "agency_id"}
    no_default = [r for r in routes if r["region_code"] != "*"]
    assert call_api("PUT", "/admin/routes", headers=admin, json_body={"items": no_default}).status == 422
    # Send Samarinda's road complaints to the city's secretariat instead, with a shorter deadline.
    changed = [r for r in routes if (r["region_code"], r["category"]) != ("64.72", "infrastructure")]
    changed.append({"region_code": "64.72", "category": "infrastructure", "agency_id": "64-72-setda",
                    "deadline_working_days": 5})
    assert call_api("PUT", "/admin/routes", headers=admin, json_body={"items": changed}).status == 200
    filed = call_api("POST", "/reports", json_body=VALID_REPORT).body
    assert filed["agency"]["id"] == "64-72-setda"
    assert len(call_api("GET", "/admin/routes", headers=admin).body["items"]) == 117


def test_calendar_overrides_need_dates_and_reasons_and_move_deadlines(call_api, admin):
    assert call_api("GET", "/admin/calendar", headers=admin).body["items"] == []
    due = call_api("POST", "/reports", json_body=VALID_REPORT).body["due_at"][:10]
    for bad in ({"date": "2027-02-30", "working": False, "reason": "x"}, {"date": due, "working": False},
                {"date": due, "working": False, "reason": ""}):
        assert call_api("PUT", "/admin/calendar", headers=admin, json_body={"items": [bad]}).status == 422
    twice = [{"date": due, "working": False, "reason": "Banjir"}] * 2
    assert call_api("PUT", "/admin/calendar", headers=admin, json_body={"items": twice}).status == 422
    day_off = [{"date": due, "working": False, "reason": "Banjir: kantor tutup"}]
    assert call_api("PUT", "/admin/calendar", headers=admin, json_body={"items": day_off}).status == 200
    assert call_api("GET", "/admin/calendar", headers=admin).body["items"] == day_off
    assert call_api("POST", "/reports", json_body=VALID_REPORT).body["due_at"][:10] > due


def test_admins_issue_list_and_revoke_open311_api_keys_stored_hashed(call_api, token, aws):
    from lapor import runtime
    from lapor.domain import ids

    admin = {"Authorization": token("admin")}
    created = call_api("POST", "/admin/apikeys", headers=admin, json_body={"name": "FixMyStreet Samarinda"})
    assert created.status == 201, created.body
    key = created.body["key"]
    key_id, secret = ids.split_api_key(key)
    assert key_id == created.body["id"] and created.body["revoked_at"] is None
    stored = runtime.api_keys().get_api_key(key_id)
    assert stored["secret_hash"] == ids.hash_api_secret(secret)
    assert key not in json.dumps(aws.scan(TableName="ReportsTable")["Items"])  # only the hash is kept
    listed = call_api("GET", "/admin/apikeys", headers=admin).body["items"]
    assert [(k["id"], k["name"]) for k in listed] == [(key_id, "FixMyStreet Samarinda")]
    assert "key" not in listed[0] and "secret_hash" not in listed[0]
    revoked = call_api("POST", f"/admin/apikeys/{key_id}/revoke", headers=admin)
    assert revoked.status == 200 and revoked.body["revoked_at"] and revoked.body["revoked_by"].startswith("admin:")
    assert call_api("POST", "/admin/apikeys/NOSUCHKEY0/revoke", headers=admin).status == 404
    operator = {"Authorization": token("operator", "64-72-pupr")}
    assert call_api("POST", "/admin/apikeys", headers=operator, json_body={"name": "x"}).status == 403
    assert call_api("GET", "/admin/apikeys").status == 401
