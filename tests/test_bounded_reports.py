"""A report item stays far under DynamoDB's 400 KB item limit whatever anyone sends (issue #11, item 1).

Every attribute of the report item is bounded and replaced, never appended to: the timeline lives in one item
per event (``EVENT#<version>#<n>``), and the report keeps only the events of its latest change. A reporter
rates each answer once. The test below files the largest report the API accepts (every text at its length
limit, in four-byte characters) and drives it through hundreds of changes with the longest texts allowed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from conftest import VALID_REPORT, event_items, report_items
from lapor import operations, runtime
from lapor.domain.access import Caller

PUPR, DINKES = "64-72-pupr", "64-72-dinkes"
# Far under DynamoDB's 400 KB: the report item's budget, which the largest report must stay within.
REPORT_ITEM_BUDGET = 64 * 1024
WIDE = "\U0001d538"  # MATHEMATICAL DOUBLE-STRUCK CAPITAL A: four bytes in UTF-8, one character to the API


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it (names plus values; numbers at their upper bound)."""

    def value(typed: dict[str, Any]) -> int:
        (kind, v), = typed.items()
        if kind == "S":
            return len(v.encode())
        if kind == "N":
            return len(str(Decimal(v)).lstrip("-").replace(".", "")) // 2 + 2
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "B":
            return len(v)
        if kind == "L":
            return 3 + sum(1 + value(e) for e in v)
        if kind == "M":
            return 3 + sum(1 + len(k.encode()) + value(e) for k, e in v.items())
        if kind in ("SS", "NS", "BS"):
            return sum(value({kind[0]: e}) for e in v)
        raise ValueError(kind)

    return sum(len(name.encode()) + value(typed) for name, typed in item.items())


def wide(n: int) -> str:
    return WIDE * n


def auth(token, role, agency=None):
    return {"Authorization": token(role, agency)}


def test_the_largest_report_through_hundreds_of_changes_stays_within_budget(call_api, token, aws):
    largest = VALID_REPORT | {
        "title": wide(150), "description": wide(5000), "category": "infrastructure",
        "reporter": {"name": wide(100), "phone": "+62 812-3456-7890", "email": "a" * 240 + "@example.org"},
        "location": {"lat": -0.502106, "lon": 117.153709},
    }
    filed = call_api("POST", "/reports", json_body=largest)
    assert filed.status == 201, filed.body
    tracking_id, code = filed.body["tracking_id"], filed.body["access_code"]
    reporter = {"X-Access-Code": code}
    changes = 0

    def act(method, path, body, headers, expect=200):
        nonlocal changes
        reply = call_api(method, path, json_body=body, headers=headers)
        assert reply.status == expect, reply.body
        changes += expect == 200
        return reply

    # 200 progress notes and 60 reassignments back and forth, through the operations the routes call, each
    # written on the report as the previous one left it (over HTTP every reply reads the whole timeline back,
    # slow in moto). Every tenth text is at its limit, and so is the last of each kind: the report item holds
    # the latest change's event, so that is where a long text would stay.
    store, config = runtime.store(), runtime.config_cache().get()
    admin, now = Caller("admin-1", "admin", None), datetime.now(UTC).replace(microsecond=0)
    record = store.get_report(tracking_id)
    for n in range(200):
        record = operations.respond(store, config, record, admin, status="in_progress",
                                    message=wide(2000) if n % 10 == 9 else f"Catatan {n}",
                                    version=record["version"], now=now)
    for n in range(60):
        record = operations.reassign(store, config, record, admin, agency_id=(DINKES, PUPR)[n % 2],
                                     reason=wide(500) if n % 10 == 9 else f"Alasan {n}", version=None, now=now,
                                     default_deadline_days=30)
    changes += 260
    act("POST", f"/reports/{tracking_id}/responses", {"message": wide(2000), "status": "responded"},
        auth(token, "admin"))
    path = f"/reports/{tracking_id}/feedback"
    act("POST", path, {"rating": 2, "comment": wide(1000)}, reporter)
    # A reporter rates each answer once: the next tries are refused and store nothing.
    for _ in range(20):
        refused = act("POST", path, {"rating": 1, "comment": wide(1000)}, reporter, expect=409)
        assert refused.body["error"]["code"] == "already_rated"
    act("POST", path, {"rating": 1, "comment": wide(1000), "reopen": True}, reporter)
    act("POST", f"/reports/{tracking_id}/responses", {"message": wide(2000), "status": "responded"},
        auth(token, "admin"))
    act("POST", path, {"rating": 5, "comment": wide(1000)}, reporter)  # the new answer may be rated
    for _ in range(20):
        assert act("POST", path, {"rating": 5, "reopen": True}, reporter, expect=409).body["error"]["code"] == \
            "reopen_limit"

    [item] = report_items(aws)
    size = item_bytes(item)
    assert size < REPORT_ITEM_BUDGET, f"report item {size} bytes"
    # Nothing was lost: every change is on the timeline, in order, each event an item well within limits.
    events = event_items(aws, tracking_id)
    assert len(events) == changes + 2  # plus "submitted" and "routed"
    assert max(item_bytes(e) for e in events) < 16 * 1024
    view = call_api("GET", f"/reports/{tracking_id}", headers=reporter).body
    assert [e["type"] for e in view["timeline"]] == ["submitted", "routed"] + ["acknowledged"] * 200 + [
        "reassigned"] * 60 + ["responded", "feedback", "reopened", "responded", "feedback"]
    assert view["version"] == changes + 1
    print(f"largest report item: {size} bytes after {changes} changes; largest event item "
          f"{max(item_bytes(e) for e in events)} bytes")


def test_one_rating_per_answer_and_the_refusal_stores_nothing(call_api, token, aws):
    filed = call_api("POST", "/reports", json_body=VALID_REPORT).body
    tracking_id, reporter = filed["tracking_id"], {"X-Access-Code": filed["access_code"]}
    path = f"/reports/{tracking_id}/feedback"
    call_api("POST", f"/reports/{tracking_id}/responses", headers=auth(token, "operator", PUPR),
             json_body={"message": "Sudah diperbaiki.", "status": "responded"})
    rated = call_api("POST", path, json_body={"rating": 4}, headers=reporter)
    assert rated.status == 200
    before = (report_items(aws), event_items(aws, tracking_id))
    again = call_api("POST", path, json_body={"rating": 1, "comment": "Ganti nilai"}, headers=reporter)
    assert (again.status, again.body["error"]["code"]) == (409, "already_rated")
    assert (report_items(aws), event_items(aws, tracking_id)) == before
    # Reopening is still open to a reporter who rated (once), and carries a rating of its own.
    reopened = call_api("POST", path, json_body={"rating": 1, "reopen": True}, headers=reporter)
    assert reopened.status == 200 and reopened.body["status"] == "routed"
    # The next answer may be rated, once.
    call_api("POST", f"/reports/{tracking_id}/responses", headers=auth(token, "operator", PUPR),
             json_body={"message": "Kini selesai.", "status": "responded"})
    assert call_api("POST", path, json_body={"rating": 5}, headers=reporter).status == 200
    assert call_api("POST", path, json_body={"rating": 5}, headers=reporter).status == 409
    ratings = [e["rating"] for e in call_api("GET", f"/reports/{tracking_id}", headers=reporter).body["timeline"]
               if e["type"] in ("feedback", "reopened")]
    assert ratings == [4, 1, 5]


def test_the_public_view_reads_the_report_item_alone(call_api, aws):
    """The public view needs no timeline: one GetItem, however long the timeline is."""
    filed = call_api("POST", "/reports", json_body=VALID_REPORT).body
    calls = []
    runtime.store().client.meta.events.register("provide-client-params.dynamodb.*",
                                                lambda params, model, **_: calls.append(model.name))
    assert "timeline" not in call_api("GET", f"/reports/{filed['tracking_id']}").body or \
        call_api("GET", f"/reports/{filed['tracking_id']}").body.get("timeline") is None
    assert set(calls) == {"GetItem"}
    calls.clear()
    own = call_api("GET", f"/reports/{filed['tracking_id']}", headers={"X-Access-Code": filed["access_code"]})
    assert [e["type"] for e in own.body["timeline"]] == ["submitted", "routed"]
    assert calls == ["Query"]


def test_a_refused_change_reads_no_timeline(call_api, token, aws):
    filed = call_api("POST", "/reports", json_body=VALID_REPORT).body
    calls = []
    runtime.store().client.meta.events.register("provide-client-params.dynamodb.*",
                                                lambda params, model, **_: calls.append(model.name))
    early = call_api("POST", f"/reports/{filed['tracking_id']}/feedback", json_body={"rating": 5},
                     headers={"X-Access-Code": filed["access_code"]})
    assert early.status == 409 and calls == ["GetItem"]
    calls.clear()
    stale = call_api("POST", f"/reports/{filed['tracking_id']}/responses", headers=auth(token, "operator", PUPR),
                     json_body={"message": "Lama.", "status": "in_progress", "version": 7})
    assert stale.status == 409 and "Query" not in calls
