"""Operator routes: authentication, agency scope, the queue, the agency view and responses."""

import json
from datetime import UTC, datetime

import pytest

from conftest import VALID_REPORT, report_items
from lapor import runtime
from lapor.dal import ReportChanged
from lapor.intake import new_event, submit_report
from lapor.models import ReportIn

PUPR = "64-72-pupr"


@pytest.fixture
def filed(call_api):
    """A public complaint for Kota Samarinda, routed to its Dinas PUPR."""
    return call_api("POST", "/reports", json_body=VALID_REPORT).body


def as_(token, role, agency=None):
    return {"Authorization": token(role, agency)}


def test_operator_routes_need_a_valid_token(call_api, filed, token, issuer, tmp_path):
    from lapor_cli.issuer import LocalIssuer

    path = f"/agency/reports/{filed['tracking_id']}"
    assert call_api("GET", path).status == 401
    assert call_api("GET", path, headers={"Authorization": "Bearer not-a-jwt"}).status == 401
    expired = token("operator", PUPR, ttl_seconds=-10)
    assert call_api("GET", path, headers={"Authorization": expired}).status == 401
    forged = "Bearer " + LocalIssuer(tmp_path / "other").issue("admin")
    assert call_api("GET", path, headers={"Authorization": forged}).status == 401
    assert call_api("GET", path, headers=as_(token, "operator", PUPR)).status == 200


def test_the_assigned_agency_sees_content_and_identity(call_api, filed, token):
    view = call_api("GET", f"/agency/reports/{filed['tracking_id']}", headers=as_(token, "operator", PUPR)).body
    assert view["description"] == VALID_REPORT["description"]
    assert view["reporter"] == {"name": "Siti Rahmawati", "phone": "+6281234567890", "email": "siti@example.id"}
    assert [e["type"] for e in view["timeline"]] == ["submitted", "routed"]


def test_anonymous_stays_anonymous_for_the_agency(call_api, token):
    body = {k: v for k, v in VALID_REPORT.items() if k != "reporter"} | {"privacy": "anonymous"}
    created = call_api("POST", "/reports", json_body=body).body
    view = call_api("GET", f"/agency/reports/{created['tracking_id']}", headers=as_(token, "admin")).body
    assert view["reporter"] is None and view["privacy"] == "anonymous"


@pytest.mark.parametrize(("role", "agency", "sees"), [
    ("operator", PUPR, True),
    ("operator", "64-72-dinkes", False),          # another OPD of the same city
    ("operator", "64-71-pupr", False),            # the same OPD of another city
    ("supervisor", "64-72-inspektorat", True),    # PUPR escalates to it
    ("supervisor", "64-inspektorat", True),       # ... and it to the province: the chain
    ("supervisor", "64-01-inspektorat", False),   # another regency's inspectorate
    ("supervisor", PUPR, True),
    ("admin", None, True),
])
def test_who_sees_and_answers_a_report(call_api, filed, token, role, agency, sees):
    headers = as_(token, role, agency)
    view = call_api("GET", f"/agency/reports/{filed['tracking_id']}", headers=headers)
    answer = call_api("POST", f"/reports/{filed['tracking_id']}/responses", headers=headers,
                      json_body={"message": "Sedang kami periksa.", "status": "in_progress"})
    if sees:
        assert (view.status, answer.status) == (200, 200)
        assert answer.body["status"] == "in_progress"
    else:
        # Exactly what an unknown report gets: no hint that this one exists.
        unknown = call_api("GET", "/agency/reports/LPR-00000000", headers=headers)
        assert view.status == answer.status == unknown.status == 404
        assert view.body == unknown.body
        assert call_api("GET", f"/reports/{filed['tracking_id']}").body["status"] == "routed"


def test_the_reporter_sees_the_agencys_answer_and_the_report_leaves_the_due_index(call_api, filed, token, aws):
    headers = as_(token, "operator", PUPR)
    path = f"/reports/{filed['tracking_id']}/responses"
    acknowledged = call_api("POST", path, headers=headers,
                            json_body={"message": "Tim akan survei lokasi.", "status": "in_progress", "version": 1})
    assert acknowledged.body["version"] == 2
    [item] = report_items(aws)
    assert "due_pk" in item  # still awaiting the answer
    answered = call_api("POST", path, headers=headers,
                        json_body={"message": "Lubang sudah ditambal 3 Des.", "status": "responded", "version": 2})
    assert answered.status == 200 and answered.body["status"] == "responded" and answered.body["version"] == 3
    [item] = report_items(aws)
    assert "due_pk" not in item and "due_sk" not in item
    assert item["agency_sk"]["S"].startswith("responded#")
    mine = call_api("GET", f"/reports/{filed['tracking_id']}", headers={"X-Access-Code": filed["access_code"]}).body
    events = mine["timeline"]
    assert [e["type"] for e in events] == ["submitted", "routed", "acknowledged", "responded"]
    assert events[-1]["message"] == "Lubang sudah ditambal 3 Des." and events[-1]["actor_role"] == "operator"
    assert events[-1]["agency_id"] == PUPR and mine["overdue"] is False


def test_stale_versions_and_illegal_transitions_are_409s_that_say_why(call_api, filed, token):
    headers = as_(token, "operator", PUPR)
    path = f"/reports/{filed['tracking_id']}/responses"
    call_api("POST", path, headers=headers, json_body={"message": "Selesai.", "status": "responded"})
    stale = call_api("POST", path, headers=headers, json_body={"message": "x", "status": "responded", "version": 1})
    assert stale.status == 409 and stale.body["error"]["code"] == "stale_version"
    assert stale.body["error"]["details"]["current_version"] == 2
    again = call_api("POST", path, headers=headers, json_body={"message": "Lagi.", "status": "in_progress"})
    assert again.status == 409 and again.body["error"]["code"] == "invalid_transition"
    assert again.body["error"]["details"]["status"] == "responded"


def test_bad_responses_are_422_and_change_nothing(call_api, filed, token):
    headers = as_(token, "operator", PUPR)
    path = f"/reports/{filed['tracking_id']}/responses"
    for body in ({"message": "", "status": "responded"}, {"message": "ok", "status": "closed"},
                 {"message": "x" * 2001, "status": "responded"}, {"message": "ok"}):
        assert call_api("POST", path, headers=headers, json_body=body).status == 422
    assert call_api("GET", f"/reports/{filed['tracking_id']}").body["version"] == 1


def test_a_response_racing_another_write_is_never_lost(aws, filed):
    """The write is conditional on the version read: the loser learns it lost, nothing is overwritten."""
    store = runtime.store()
    read = store.get_report(filed["tracking_id"], timeline=True)
    now = datetime.now(UTC)
    store.record_change(read, {"status": "responded"}, event=new_event("responded", now, "operator", "operator",
                                                                  message="first"), now_utc="t")
    with pytest.raises(ReportChanged):
        store.record_change(read, {"status": "in_progress"}, event=new_event("acknowledged", now, "operator",
                                                                        "operator", message="second"), now_utc="t")
    final = store.get_report(filed["tracking_id"], timeline=True)
    assert final["status"] == "responded" and [e.get("message") for e in final["timeline"]][-1] == "first"


def test_the_queue_pages_with_a_cursor_and_filters(call_api, token, aws):
    headers = as_(token, "operator", PUPR)
    filed = [call_api("POST", "/reports", json_body=VALID_REPORT).body["tracking_id"] for _ in range(3)]
    call_api("POST", "/reports", json_body={**VALID_REPORT, "category": "health"})  # another agency's
    first = call_api("GET", "/agency/reports", headers=headers, query="limit=2").body
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = call_api("GET", "/agency/reports", headers=headers, query=f"limit=2&cursor={first['next_cursor']}").body
    seen = [i["tracking_id"] for i in first["items"] + second["items"]]
    assert sorted(seen) == sorted(filed)
    assert all(i["agency"]["id"] == PUPR and i["status"] == "routed" for i in first["items"])
    call_api("POST", f"/reports/{filed[0]}/responses", headers=headers,
             json_body={"message": "Selesai.", "status": "responded"})
    responded = call_api("GET", "/agency/reports", headers=headers, query="status=responded").body["items"]
    assert [i["tracking_id"] for i in responded] == [filed[0]]
    bad = call_api("GET", "/agency/reports", headers=headers, query="cursor=bm9wZQ")
    assert (bad.status, bad.body["error"]["code"]) == (400, "invalid_cursor")
    other = call_api("GET", "/agency/reports", headers=as_(token, "operator", "64-72-dinkes"),
                     query=f"cursor={first['next_cursor']}")
    assert other.status == 400  # a cursor of another agency's queue is refused
    assert call_api("GET", "/agency/reports", headers=headers, query="agency_id=64-72-dinkes").status == 403
    assert call_api("GET", "/agency/reports", headers=as_(token, "admin")).body["error"]["code"] == "agency_required"
    assert len(call_api("GET", "/agency/reports", headers=as_(token, "admin"),
                        query="agency_id=64-72-dinkes").body["items"]) == 1


def test_the_queue_flags_overdue_reports(call_api, token, aws):
    store, config = runtime.store(), runtime.config_cache().get()
    late = submit_report(ReportIn.model_validate(VALID_REPORT), channel="web", store=store, config=config,
                         default_deadline_days=30, now=datetime(2025, 1, 6, 2, 0, tzinfo=UTC))
    fresh = call_api("POST", "/reports", json_body=VALID_REPORT).body
    headers = as_(token, "operator", PUPR)
    overdue = call_api("GET", "/agency/reports", headers=headers, query="overdue=true").body["items"]
    on_time = call_api("GET", "/agency/reports", headers=headers, query="overdue=false").body["items"]
    assert [i["tracking_id"] for i in overdue] == [late["tracking_id"]]
    assert [i["tracking_id"] for i in on_time] == [fresh["tracking_id"]]
    public = call_api("GET", f"/reports/{late['tracking_id']}").body
    assert public["overdue"] is True


def test_the_queue_and_the_agency_view_count_working_days_left(call_api, token, aws):
    store, config = runtime.store(), runtime.config_cache().get()
    late = submit_report(ReportIn.model_validate(VALID_REPORT), channel="web", store=store, config=config,
                         default_deadline_days=30, now=datetime(2025, 1, 6, 2, 0, tzinfo=UTC))
    fresh = call_api("POST", "/reports", json_body=VALID_REPORT).body
    answered = call_api("POST", "/reports", json_body=VALID_REPORT).body
    headers = as_(token, "operator", PUPR)
    call_api("POST", f"/reports/{answered['tracking_id']}/responses", headers=headers,
             json_body={"message": "Selesai.", "status": "responded"})
    deadline = next(c["deadline_working_days"] for c in call_api("GET", "/categories").body["items"]
                    if c["id"] == VALID_REPORT["category"])
    left = {i["tracking_id"]: i["working_days_left"]
            for i in call_api("GET", "/agency/reports", headers=headers, query="limit=100").body["items"]}
    assert left[fresh["tracking_id"]] == deadline  # filed today: every working day of its deadline is ahead
    assert left[late["tracking_id"]] < -100  # due early in 2025: working days past, negative
    assert left[answered["tracking_id"]] is None  # answered: the agency is no longer awaited
    view = call_api("GET", f"/agency/reports/{fresh['tracking_id']}", headers=headers).body
    assert view["working_days_left"] == deadline
    assert "working_days_left" not in call_api("GET", f"/reports/{fresh['tracking_id']}").body


def test_queue_and_views_never_leak_identity_of_anonymous_reports(call_api, token):
    body = {k: v for k, v in VALID_REPORT.items() if k != "reporter"} | {"privacy": "anonymous"}
    created = call_api("POST", "/reports", json_body=body).body
    headers = as_(token, "operator", PUPR)
    queue = call_api("GET", "/agency/reports", headers=headers).body
    view = call_api("GET", f"/agency/reports/{created['tracking_id']}", headers=headers).body
    assert "reporter" not in json.dumps(queue) and view["reporter"] is None


def test_the_desk_learns_who_is_signed_in_with_the_agency_s_name(call_api, token):
    """The desk's header names the caller's agency as people know it, from the configuration."""
    names = {a.id: a.name for a in runtime.config_store().list_agencies()}
    me = call_api("GET", "/agency/me", headers=as_(token, "operator", PUPR))
    assert me.status == 200 and me.body == {"role": "operator", "agency": {"id": PUPR, "name": names[PUPR]}}
    assert names[PUPR] != PUPR
    assert call_api("GET", "/agency/me", headers=as_(token, "admin")).body == {"role": "admin", "agency": None}
    gone = call_api("GET", "/agency/me", headers=as_(token, "supervisor", "64-72-gone")).body
    assert gone == {"role": "supervisor", "agency": {"id": "64-72-gone", "name": "64-72-gone"}}
    assert call_api("GET", "/agency/me").status == 401
