"""Merging duplicates (issue 15): an operator closes a report as a duplicate of another; an admin undoes it."""

import pytest

from conftest import VALID_REPORT, event_items, table_items
from lapor import runtime

PUPR, DINKES = "64-72-pupr", "64-72-dinkes"
HEALTH = VALID_REPORT | {"category": "health", "title": "Puskesmas tutup siang hari"}


def as_(token, role, agency=None):
    return {"Authorization": token(role, agency)}


@pytest.fixture
def pair(call_api):
    """Two public complaints about the same road for Kota Samarinda's Dinas PUPR: (duplicate, master)."""
    first = call_api("POST", "/reports", json_body=VALID_REPORT).body["tracking_id"]
    second = call_api("POST", "/reports", json_body=VALID_REPORT).body["tracking_id"]
    return first, second


def merge(call_api, headers, duplicate, into, **body):
    return call_api("POST", f"/reports/{duplicate}/merge", headers=headers,
                    json_body={"into": into, "reason": "Lubang jalan yang sama"} | body)


def raw(aws, tracking_id, sk="META"):
    return aws.get_item(TableName="ReportsTable", Key={"PK": {"S": f"REPORT#{tracking_id}"},
                                                       "SK": {"S": sk}}).get("Item")


def test_a_merge_closes_the_duplicate_links_it_and_counts_it_on_the_master(call_api, token, aws, pair):
    duplicate, master = pair
    assert raw(aws, duplicate)["due_pk"]  # open: in ByDue
    reply = merge(call_api, as_(token, "operator", PUPR), duplicate, master.lower())
    assert reply.status == 200, reply.body
    assert reply.body["status"] == "closed"
    item = raw(aws, duplicate)
    assert item["status"]["S"] == "closed" and item["resolution"]["S"] == "duplicate"
    assert item["merged_into"]["S"] == master and item["status_before_merge"]["S"] == "routed"
    assert "due_pk" not in item and "due_sk" not in item  # left ByDue in the same write
    assert raw(aws, master)["absorbed"]["N"] == "1"
    link = raw(aws, master, f"ABSORBED#{duplicate}")
    assert link["tracking_id"]["S"] == duplicate and "reporter" not in link and "reply_to" not in link
    event = event_items(aws, duplicate)[-1]["event"]["M"]
    assert event["type"]["S"] == "merged" and event["into"]["S"] == master
    assert event["message"]["S"] == "Lubang jalan yang sama"
    # No reporter identity anywhere but the reports' own `reporter` maps.
    for found in table_items(aws):
        if found["SK"]["S"] != "META":
            assert "Siti" not in str(found) and "6281234567890" not in str(found), found["SK"]


def test_the_merged_event_shows_on_the_timeline(call_api, token, pair):
    duplicate, master = pair
    merge(call_api, as_(token, "operator", PUPR), duplicate, master)
    view = call_api("GET", f"/agency/reports/{duplicate}", headers=as_(token, "operator", PUPR)).body
    assert view["timeline"][-1]["type"] == "merged" and view["timeline"][-1]["into"] == master


@pytest.mark.parametrize(("role", "agency", "status"), [
    ("operator", PUPR, 200),
    ("supervisor", "64-72-inspektorat", 200),   # both reports' agency escalates to it
    ("admin", None, 200),
    ("operator", DINKES, 404),                  # the duplicate is outside its chain: as if unknown
])
def test_who_may_merge(call_api, token, pair, role, agency, status):
    duplicate, master = pair
    assert merge(call_api, as_(token, role, agency), duplicate, master).status == status


def test_both_reports_must_be_in_the_callers_scope(call_api, token, pair):
    duplicate, _ = pair
    health = call_api("POST", "/reports", json_body=HEALTH).body["tracking_id"]
    reply = merge(call_api, as_(token, "operator", PUPR), duplicate, health)
    assert (reply.status, reply.body["error"]["code"]) == (403, "forbidden")
    assert call_api("GET", f"/reports/{duplicate}").body["status"] == "routed"
    # The city's inspectorate sees both agencies' reports.
    assert merge(call_api, as_(token, "supervisor", "64-72-inspektorat"), duplicate, health).status == 200


def test_refusals(call_api, token, pair, aws):
    duplicate, master = pair
    operator = as_(token, "operator", PUPR)
    unknown = merge(call_api, operator, duplicate, "LPR-00000000")
    assert (unknown.status, unknown.body["error"]["code"]) == (404, "unknown_report")
    assert merge(call_api, operator, duplicate, "not a tracking id").status == 404
    same = merge(call_api, operator, duplicate, duplicate.lower())
    assert (same.status, same.body["error"]["code"]) == (422, "same_report")
    stale = merge(call_api, operator, duplicate, master, version=99)
    assert (stale.status, stale.body["error"]["code"]) == (409, "stale_version")
    assert merge(call_api, operator, duplicate, master, extra=1).status == 422
    assert call_api("POST", f"/reports/{duplicate}/merge", headers=operator, body="{").status == 400
    # Nothing was written.
    assert raw(aws, duplicate)["status"]["S"] == "routed" and "absorbed" not in raw(aws, master)


def test_only_an_open_report_is_merged_and_only_into_one_not_rejected_nor_merged(call_api, token, pair):
    duplicate, master = pair
    operator, admin = as_(token, "operator", PUPR), as_(token, "admin")
    third = call_api("POST", "/reports", json_body=VALID_REPORT).body["tracking_id"]
    # Answered: no longer open.
    call_api("POST", f"/reports/{third}/responses", headers=operator,
             json_body={"message": "Sudah diperbaiki.", "status": "responded"})
    refused = merge(call_api, operator, third, master)
    assert (refused.status, refused.body["error"]["code"]) == (409, "invalid_transition")
    # An answered master is fine; a merged one is not (no chains), nor a rejected one.
    assert merge(call_api, operator, duplicate, third).status == 200
    chained = merge(call_api, operator, master, duplicate)
    assert (chained.status, chained.body["error"]["code"]) == (409, "invalid_transition")
    assert chained.body["error"]["details"]["into_merged_into"] == third
    # The master of others cannot be merged itself.
    has = merge(call_api, operator, third, master)
    assert has.status == 409
    fourth = call_api("POST", "/reports", json_body=VALID_REPORT).body["tracking_id"]
    call_api("POST", f"/reports/{fourth}/reject", headers=admin, json_body={"reason": "Spam"})
    rejected = merge(call_api, operator, master, fourth)
    assert (rejected.status, rejected.body["error"]["code"]) == (409, "invalid_transition")
    assert rejected.body["error"]["details"]["into_status"] == "rejected"


def test_a_master_reports_were_merged_into_cannot_be_merged_itself(call_api, token, pair):
    duplicate, master = pair
    operator = as_(token, "operator", PUPR)
    third = call_api("POST", "/reports", json_body=VALID_REPORT).body["tracking_id"]
    assert merge(call_api, operator, duplicate, master).status == 200
    refused = merge(call_api, operator, master, third)
    assert (refused.status, refused.body["error"]["code"]) == (409, "has_duplicates")


def test_a_master_rejected_after_it_was_read_fails_the_whole_merge(call_api, token, pair, aws, monkeypatch):
    """The master's condition is part of the transaction: rejected between the read and the write, nothing is
    written (the duplicate stays open, nothing is counted)."""
    from datetime import UTC, datetime

    from lapor import operations
    from lapor.domain.access import Caller

    duplicate, master = pair
    store = runtime.store()
    record, master_read = store.get_report(duplicate), store.get_report(master)
    call_api("POST", f"/reports/{master}/reject", headers=as_(token, "admin"), json_body={"reason": "Spam"})
    with pytest.raises(Exception) as refused:
        operations.merge(store, record, master_read, Caller("s", "operator", PUPR), reason="Sama",
                         version=None, now=datetime.now(UTC).replace(microsecond=0))
    assert getattr(refused.value, "code", None) == "invalid_transition"
    assert raw(aws, duplicate)["status"]["S"] == "routed" and "due_pk" in raw(aws, duplicate)
    assert "absorbed" not in raw(aws, master) and raw(aws, master, f"ABSORBED#{duplicate}") is None


def test_every_dynamodb_call_of_a_merge_is_granted_by_the_api_function_s_policy(call_api, token, pair):
    """moto enforces no IAM: the merge's and its undo's calls are checked against ApiFunction's statements."""
    from iam_calls import not_granted, table_calls

    duplicate, master = pair
    with table_calls(runtime.store().client) as calls:
        assert merge(call_api, as_(token, "operator", PUPR), duplicate, master).status == 200
        assert call_api("DELETE", f"/reports/{duplicate}/merge", headers=as_(token, "admin")).status == 200
    assert {"PutItem", "UpdateItem"} <= {action for action, _ in calls}
    assert not_granted("ApiFunction", calls) == []


# -- views ------------------------------------------------------------------------------------------------------

def file_(call_api, **changes):
    return call_api("POST", "/reports", json_body=VALID_REPORT | changes).body


def test_the_duplicates_views_show_the_master_its_status_and_answer(call_api, token):
    duplicate, master = file_(call_api), file_(call_api, title="Jalan berlubang di Jl. Juanda")
    operator = as_(token, "operator", PUPR)
    assert merge(call_api, operator, duplicate["tracking_id"], master["tracking_id"]).status == 200
    call_api("POST", f"/reports/{master['tracking_id']}/responses", headers=operator,
             json_body={"message": "Lubang sudah ditambal.", "status": "responded"})
    expected = {"tracking_id": master["tracking_id"], "status": "responded", "title": "Jalan berlubang di Jl. Juanda",
                "status_notes": "Lubang sudah ditambal."}
    own = call_api("GET", f"/reports/{duplicate['tracking_id']}",
                   headers={"X-Access-Code": duplicate["access_code"]}).body
    public = call_api("GET", f"/reports/{duplicate['tracking_id']}").body
    agency = call_api("GET", f"/agency/reports/{duplicate['tracking_id']}", headers=operator).body
    for view in (own, public, agency):
        assert view["merged_into"] == expected
        assert (view["status"], view["resolution"], view["absorbed"]) == ("closed", "duplicate", 0)
    assert own["timeline"][-1]["type"] == "merged" and own["timeline"][-1]["into"] == master["tracking_id"]
    assert "actor_sub" not in own["timeline"][-1]
    # The master's views count what it absorbed.
    for view in (call_api("GET", f"/reports/{master['tracking_id']}").body,
                 call_api("GET", f"/reports/{master['tracking_id']}",
                          headers={"X-Access-Code": master["access_code"]}).body,
                 call_api("GET", f"/agency/reports/{master['tracking_id']}", headers=operator).body):
        assert (view["absorbed"], view["merged_into"], view["resolution"]) == (1, None, None)


def test_a_confidential_master_shows_its_status_only_and_a_confidential_duplicate_no_link_publicly(call_api, token):
    operator = as_(token, "operator", PUPR)
    duplicate = file_(call_api)
    secret = file_(call_api, privacy="confidential", title="Pungli di proyek jalan")
    assert merge(call_api, operator, duplicate["tracking_id"], secret["tracking_id"]).status == 200
    call_api("POST", f"/reports/{secret['tracking_id']}/responses", headers=operator,
             json_body={"message": "Petugas yang bersangkutan sudah ditindak.", "status": "responded"})
    own = call_api("GET", f"/reports/{duplicate['tracking_id']}",
                   headers={"X-Access-Code": duplicate["access_code"]}).body
    assert own["merged_into"] == {"tracking_id": secret["tracking_id"], "status": "responded", "title": None,
                                  "status_notes": None}
    # Its agency chain sees the master's title and answer.
    agency = call_api("GET", f"/agency/reports/{duplicate['tracking_id']}", headers=operator).body
    assert agency["merged_into"]["title"] == "Pungli di proyek jalan"
    # A confidential duplicate's public view does not link its master: that would say what it is about.
    hidden = file_(call_api, privacy="confidential")
    third = file_(call_api)
    assert merge(call_api, operator, hidden["tracking_id"], third["tracking_id"]).status == 200
    public = call_api("GET", f"/reports/{hidden['tracking_id']}").body
    assert public["merged_into"] is None and public["status"] == "closed"
    own = call_api("GET", f"/reports/{hidden['tracking_id']}", headers={"X-Access-Code": hidden["access_code"]}).body
    assert own["merged_into"]["tracking_id"] == third["tracking_id"]


def test_a_merged_report_takes_no_rating(call_api, token, pair):
    duplicate = file_(call_api)
    _, master = pair
    merge(call_api, as_(token, "operator", PUPR), duplicate["tracking_id"], master)
    rated = call_api("POST", f"/reports/{duplicate['tracking_id']}/feedback", json_body={"rating": 5},
                     headers={"X-Access-Code": duplicate["access_code"]})
    assert (rated.status, rated.body["error"]["code"]) == (409, "invalid_transition")


# -- undo (admins) ----------------------------------------------------------------------------------------------

def test_an_admin_undoes_a_merge_in_one_write(call_api, token, aws, pair):
    duplicate, master = pair
    before = raw(aws, duplicate)
    assert merge(call_api, as_(token, "operator", PUPR), duplicate, master).status == 200
    undone = call_api("DELETE", f"/reports/{duplicate}/merge", headers=as_(token, "admin"))
    assert undone.status == 200, undone.body
    assert (undone.body["status"], undone.body["merged_into"], undone.body["resolution"]) == ("routed", None, None)
    assert undone.body["timeline"][-1]["type"] == "unmerged" and undone.body["timeline"][-1]["into"] == master
    item = raw(aws, duplicate)
    assert item["status"]["S"] == "routed"
    assert not {"merged_into", "resolution", "status_before_merge"} & set(item)
    # Back in ByDue with the deadline it had.
    assert (item["due_pk"], item["due_sk"]) == (before["due_pk"], before["due_sk"])
    assert raw(aws, master)["absorbed"]["N"] == "0"
    # The link is kept, marked undone (no function deletes items of the reports table): no more notices through it.
    assert "undone_at" in raw(aws, master, f"ABSORBED#{duplicate}")
    assert runtime.store().absorbed_reply_channels(master) == []
    assert call_api("GET", f"/reports/{master}").body["absorbed"] == 0
    # It can be merged again (and the master takes it again, the link live again).
    assert merge(call_api, as_(token, "operator", PUPR), duplicate, master).status == 200
    assert raw(aws, master)["absorbed"]["N"] == "1"
    assert "undone_at" not in raw(aws, master, f"ABSORBED#{duplicate}")
    assert [r["tracking_id"] for r in runtime.store().absorbed_reply_channels(master)] == [duplicate]


def test_an_undo_restores_the_status_it_had(call_api, token, aws, pair):
    duplicate, master = pair
    operator = as_(token, "operator", PUPR)
    call_api("POST", f"/reports/{duplicate}/responses", headers=operator,
             json_body={"message": "Sedang kami periksa.", "status": "in_progress"})
    merge(call_api, operator, duplicate, master)
    undone = call_api("DELETE", f"/reports/{duplicate}/merge", headers=as_(token, "admin"))
    assert undone.body["status"] == "in_progress" and "due_pk" in raw(aws, duplicate)


def test_only_admins_undo_and_only_a_merged_report(call_api, token, pair):
    duplicate, master = pair
    operator, admin = as_(token, "operator", PUPR), as_(token, "admin")
    not_merged = call_api("DELETE", f"/reports/{duplicate}/merge", headers=admin)
    assert (not_merged.status, not_merged.body["error"]["code"]) == (409, "not_merged")
    merge(call_api, operator, duplicate, master)
    for headers in (operator, as_(token, "supervisor", "64-72-inspektorat")):
        refused = call_api("DELETE", f"/reports/{duplicate}/merge", headers=headers)
        assert (refused.status, refused.body["error"]["code"]) == (403, "forbidden")
    assert call_api("DELETE", "/reports/LPR-00000000/merge", headers=admin).status == 404
    assert call_api("DELETE", f"/reports/{duplicate}/merge", headers=admin).status == 200
    again = call_api("DELETE", f"/reports/{duplicate}/merge", headers=admin)
    assert (again.status, again.body["error"]["code"]) == (409, "not_merged")


def test_a_report_that_absorbs_a_duplicate_while_it_is_merged_elsewhere_is_not_merged(call_api, token, pair, aws):
    """Two operators at once: X read A (nothing merged into it) to merge A into B; meanwhile Y merged C into A.
    X's write fails on A's own condition (absorbed moved without version): no chain C -> A -> B."""
    from datetime import UTC, datetime

    from lapor import operations
    from lapor.domain.access import Caller

    a, b = pair
    c = call_api("POST", "/reports", json_body=VALID_REPORT).body["tracking_id"]
    store = runtime.store()
    a_read, b_read = store.get_report(a), store.get_report(b)
    assert merge(call_api, as_(token, "operator", PUPR), c, a).status == 200  # Y, first
    with pytest.raises(Exception) as refused:
        operations.merge(store, a_read, b_read, Caller("x", "operator", PUPR), reason="Sama", version=None,
                         now=datetime.now(UTC).replace(microsecond=0))
    assert getattr(refused.value, "code", None) == "stale_version"
    assert "merged_into" not in raw(aws, a) and raw(aws, a)["absorbed"]["N"] == "1"
    assert "absorbed" not in raw(aws, b)
    again = merge(call_api, as_(token, "operator", PUPR), a, b)  # read again: the reason is plain
    assert (again.status, again.body["error"]["code"]) == (409, "has_duplicates")
