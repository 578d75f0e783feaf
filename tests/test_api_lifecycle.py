"""Reassign and reject (admin), reporter feedback and the one reopen."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import VALID_REPORT, report_items
from lapor import operations, runtime

PUPR = "64-72-pupr"
WITA = ZoneInfo("Asia/Makassar")


@pytest.fixture
def filed(call_api):
    return call_api("POST", "/reports", json_body=VALID_REPORT).body


def auth(token, role, agency=None):
    return {"Authorization": token(role, agency)}


def answer(call_api, token, tracking_id, message="Sudah diperbaiki."):
    reply = call_api("POST", f"/reports/{tracking_id}/responses", headers=auth(token, "operator", PUPR),
                     json_body={"message": message, "status": "responded"})
    assert reply.status == 200
    return reply.body


def test_an_admin_reassigns_with_a_reason_and_the_new_agency_gets_it(call_api, filed, token, aws):
    path = f"/reports/{filed['tracking_id']}/reassign"
    body = {"agency_id": "64-72-dinkes", "reason": "Masalah sanitasi puskesmas, bukan jalan."}
    for role, agency in (("operator", PUPR), ("supervisor", "64-72-inspektorat")):
        assert call_api("POST", path, headers=auth(token, role, agency), json_body=body).status == 403
    moved = call_api("POST", path, headers=auth(token, "admin"), json_body=body)
    assert moved.status == 200
    assert moved.body["agency"]["id"] == "64-72-dinkes" and moved.body["status"] == "routed"
    assert moved.body["timeline"][-1]["type"] == "reassigned"
    assert moved.body["timeline"][-1]["message"] == body["reason"]
    assert moved.body["timeline"][-1]["from_agency_id"] == PUPR
    assert moved.body["due_at"] >= filed["due_at"]  # a fresh deadline, counted from now
    [item] = report_items(aws)
    assert item["agency_pk"]["S"] == "AGENCY#64-72-dinkes"
    # The old agency no longer sees it; the new one does.
    view = f"/agency/reports/{filed['tracking_id']}"
    assert call_api("GET", view, headers=auth(token, "operator", PUPR)).status == 404
    assert call_api("GET", view, headers=auth(token, "operator", "64-72-dinkes")).status == 200


def test_reassign_refuses_unknown_or_same_agencies(call_api, filed, token):
    path = f"/reports/{filed['tracking_id']}/reassign"
    unknown = call_api("POST", path, headers=auth(token, "admin"), json_body={"agency_id": "nope", "reason": "x"})
    assert (unknown.status, unknown.body["error"]["code"]) == (422, "unknown_agency")
    same = call_api("POST", path, headers=auth(token, "admin"), json_body={"agency_id": PUPR, "reason": "x"})
    assert (same.status, same.body["error"]["code"]) == (409, "same_agency")
    assert call_api("GET", f"/reports/{filed['tracking_id']}").body["version"] == 1


def test_an_admin_rejects_with_a_reason_and_it_leaves_the_due_index(call_api, filed, token, aws):
    path = f"/reports/{filed['tracking_id']}/reject"
    assert call_api("POST", path, headers=auth(token, "operator", PUPR), json_body={"reason": "spam"}).status == 403
    assert call_api("POST", path, headers=auth(token, "admin"), json_body={}).status == 422
    rejected = call_api("POST", path, headers=auth(token, "admin"), json_body={"reason": "Iklan, bukan pengaduan."})
    assert rejected.body["status"] == "rejected" and rejected.body["timeline"][-1]["message"] == "Iklan, bukan pengaduan."
    [item] = report_items(aws)
    assert "due_pk" not in item
    again = call_api("POST", path, headers=auth(token, "admin"), json_body={"reason": "lagi"})
    assert (again.status, again.body["error"]["details"]["status"]) == (409, "rejected")
    answer_after = call_api("POST", f"/reports/{filed['tracking_id']}/responses", headers=auth(token, "admin"),
                            json_body={"message": "x", "status": "responded"})
    assert answer_after.status == 409


def test_feedback_needs_the_access_code_and_an_answer(call_api, filed, token):
    path = f"/reports/{filed['tracking_id']}/feedback"
    assert call_api("POST", path, json_body={"rating": 5}).status == 422  # no access code header
    wrong = call_api("POST", path, json_body={"rating": 5}, headers={"X-Access-Code": "AAAA-BBBB-CCCC"})
    assert wrong.status == 404
    early = call_api("POST", path, json_body={"rating": 5}, headers={"X-Access-Code": filed["access_code"]})
    assert (early.status, early.body["error"]["code"]) == (409, "invalid_transition")
    answer(call_api, token, filed["tracking_id"])
    for bad in ({"rating": 0}, {"rating": 6}, {"rating": 3, "comment": "x" * 1001}):
        assert call_api("POST", path, json_body=bad, headers={"X-Access-Code": filed["access_code"]}).status == 422
    rated = call_api("POST", path, json_body={"rating": 4, "comment": "Cepat, terima kasih."},
                     headers={"X-Access-Code": filed["access_code"]})
    assert rated.status == 200 and rated.body["status"] == "responded"
    assert rated.body["timeline"][-1] | {"id": None, "at": None} == {
        "id": None, "at": None, "type": "feedback", "actor_role": "reporter", "channel": "web",
        "agency_id": None, "message": "Cepat, terima kasih.", "rating": 4, "from_agency_id": None,
        "attachment_id": None, "into": None}


def test_the_reporter_reopens_once_and_the_agency_gets_a_new_deadline(call_api, filed, token, aws):
    answer(call_api, token, filed["tracking_id"])
    path = f"/reports/{filed['tracking_id']}/feedback"
    headers = {"X-Access-Code": filed["access_code"]}
    reopened = call_api("POST", path, json_body={"rating": 1, "comment": "Belum diperbaiki.", "reopen": True},
                        headers=headers)
    assert reopened.status == 200 and reopened.body["status"] == "routed"
    assert reopened.body["timeline"][-1]["type"] == "reopened"
    [item] = report_items(aws)
    assert "due_pk" in item  # awaiting the agency again
    answer(call_api, token, filed["tracking_id"], "Sekarang benar-benar selesai.")
    twice = call_api("POST", path, json_body={"rating": 1, "reopen": True}, headers=headers)
    assert (twice.status, twice.body["error"]["code"]) == (409, "reopen_limit")


def test_the_reporters_view_says_until_when_it_can_be_reopened(call_api, filed, token, aws):
    path, headers = f"/reports/{filed['tracking_id']}", {"X-Access-Code": filed["access_code"]}
    assert call_api("GET", path, headers=headers).body["reopen_until"] is None  # not answered yet
    answer(call_api, token, filed["tracking_id"])
    view = call_api("GET", path, headers=headers).body
    [item] = report_items(aws)
    until = datetime.fromisoformat(view["reopen_until"])
    assert until.utcoffset() == timedelta(hours=8) and (until.hour, until.minute) == (23, 59)  # WITA, end of day
    assert until == datetime.fromisoformat(item["closes_at_utc"]["S"].replace("Z", "+00:00"))  # when the sweep closes it
    assert call_api("GET", path).body.get("reopen_until") is None  # the public view never says
    reopened = call_api("POST", f"{path}/feedback", json_body={"rating": 2, "reopen": True}, headers=headers).body
    assert reopened["reopen_until"] is None
    answer(call_api, token, filed["tracking_id"], "Sekarang selesai.")
    assert call_api("GET", path, headers=headers).body["reopen_until"] is None  # reopened once already


def test_reopening_closes_ten_working_days_after_the_answer(call_api, filed, token):
    answer(call_api, token, filed["tracking_id"])
    store, config = runtime.store(), runtime.config_cache().get()
    record = store.get_report(filed["tracking_id"], timeline=True)
    # Counted in the report's own time zone (Samarinda, WITA).
    answered = datetime.fromisoformat(record["timeline"][-1]["at"].replace("Z", "+00:00")).astimezone(WITA)
    day = answered
    while config.calendar.working_days_between(answered.date(), day.date()) <= 10:
        day += timedelta(days=1)
    late = day.astimezone(UTC)
    with pytest.raises(Exception) as refused:
        operations.feedback(store, config, record, rating=2, comment=None, reopen=True, now=late,
                            default_deadline_days=30)
    assert getattr(refused.value, "code", None) == "reopen_window_closed"
    in_time = operations.feedback(store, config, record, rating=2, comment=None, reopen=True,
                                  now=late - timedelta(days=1), default_deadline_days=30)
    assert in_time["status"] == "routed"
