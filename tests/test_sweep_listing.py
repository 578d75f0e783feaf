"""A dry run lists which reports would escalate (issue 13: the desk shows them before the admin confirms): in items
of their own under the run's partition, at most ``sweep.LIST_CAP`` for the whole run, once each whatever SQS
redelivers; never a report's words nor its reporter. A run that writes lists nothing and escalates."""

import json
import time

import pytest

from conftest import VALID_REPORT, table_items
from lapor import runtime, sweep
from lapor.dal import keys
from test_sweep import LONG_AGO, file_at
from test_sweep_on_demand import start
from test_sweep_scheduled import drain, the_run

ENTRY_FIELDS = {"tracking_id", "outcome", "agency_id", "agency_name", "due_at", "to_agency_id", "to_agency_name",
                "to_level", "escalation_level"}


@pytest.fixture
def admin(token):
    return {"Authorization": token("admin")}


def listing_items(aws, run_id):
    return [i for i in table_items(aws) if i["PK"]["S"] == keys.sweep_listing_partition(run_id)]


def test_a_dry_run_lists_exactly_the_reports_that_would_escalate(sweep_queue, aws, call_api, admin, token):
    late = {file_at(LONG_AGO)["tracking_id"] for _ in range(5)}
    answered = file_at(LONG_AGO)["tracking_id"]
    call_api("POST", f"/reports/{answered}/responses", headers={"Authorization": token("operator", "64-72-pupr")},
             json_body={"message": "Selesai.", "status": "responded"})
    fresh = call_api("POST", "/reports", json_body=VALID_REPORT).body["tracking_id"]
    dry = start(call_api, admin, {"dry_run": True})
    assert dry.status == 200 and dry.body["escalated"] == 5
    listed = dry.body["would_escalate"]
    assert {e["tracking_id"] for e in listed} == late and dry.body["would_escalate_truncated"] is False
    assert answered not in json.dumps(listed) and fresh not in json.dumps(listed)
    entry = listed[0]
    assert set(entry) == ENTRY_FIELDS
    assert (entry["outcome"], entry["agency_id"], entry["agency_name"], entry["to_agency_id"], entry["to_level"],
            entry["escalation_level"]) == ("escalated", "64-72-pupr", "Dinas Pekerjaan Umum dan Penataan Ruang "
                                           "Kota Samarinda", "64-72-inspektorat", "kabupaten_kota", 1)
    assert [e["due_at"] for e in listed] == sorted(e["due_at"] for e in listed)  # oldest deadline first
    # Nothing the reporter wrote or is: no title, description, name or phone.
    text = json.dumps(listed)
    assert VALID_REPORT["title"] not in text and VALID_REPORT["description"][:20] not in text
    assert "reporter" not in text
    assert call_api("GET", f"/admin/sweeps/{dry.body['id']}", headers=admin).body == dry.body
    # The run's own item did not grow: the entries live under the run's partition, listing runs never reads them.
    assert "would_escalate" not in the_run() and len(listing_items(aws, dry.body["id"])) == 5 + 1  # and the counter
    assert call_api("GET", "/admin/sweeps", headers=admin).body["items"][0]["would_escalate"] is None
    assert [runtime.store().get_report(t)["escalation_level"] for t in late] == [0] * 5  # a dry run writes none


def test_a_dry_run_lists_at_most_the_cap_and_says_there_were_more(sweep_queue, aws, call_api, admin, monkeypatch):
    monkeypatch.setattr(sweep, "LIST_CAP", 3)
    late = {file_at(LONG_AGO)["tracking_id"] for _ in range(7)}
    dry = start(call_api, admin, {"dry_run": True})
    assert dry.status == 200 and dry.body["escalated"] == 7  # the counts count them all
    listed = {e["tracking_id"] for e in dry.body["would_escalate"]}
    assert len(listed) == 3 and listed <= late and dry.body["would_escalate_truncated"] is True
    assert len(listing_items(aws, dry.body["id"])) == 3 + 1


def test_a_redelivered_message_lists_nothing_twice(sweep_queue, aws, call_api, admin):
    from lapor_cli.devserver import LambdaContext
    from lapor_sweep.app import coordinator_handler

    sqs, url = sweep_queue
    late = {file_at(LONG_AGO)["tracking_id"] for _ in range(6)}
    started = coordinator_handler({"dry_run": True}, LambdaContext("SweepFunction"))
    assert drain(sqs, url, duplicate=True) == 4  # each message delivered twice
    run = call_api("GET", f"/admin/sweeps/{started['run_id']}", headers=admin).body
    assert (run["status"], run["escalated"]) == ("finished", 6)
    assert sorted(e["tracking_id"] for e in run["would_escalate"]) == sorted(late)
    assert run["would_escalate_truncated"] is False
    [counter] = [i for i in listing_items(aws, run["id"]) if i["SK"]["S"] == "LISTED"]
    assert counter["listed"]["N"] == "6"  # the room the cap leaves was not taken twice either


def test_the_store_adds_each_entry_once_in_chunks_and_never_past_the_cap(aws):
    runs = runtime.sweep_runs()
    entries = [{"tracking_id": f"LPR-{n:04d}", "outcome": "escalated", "agency_id": "a", "agency_name": "A",
                "due_at": "2026-01-05T23:59:59+08:00", "to_agency_id": "b", "to_agency_name": "B",
                "to_level": "province", "escalation_level": 1} for n in range(260)]
    assert runs.list_escalations("R1", entries[:150], cap=200) == 150  # two transactions (100 actions at most)
    assert runs.list_escalations("R1", entries[:150], cap=200) == 0  # again: nothing new
    assert runs.escalations("R1")[1] is False
    assert runs.list_escalations("R1", entries[100:], cap=200) == 50  # 50 listed already, 50 fit, 60 do not
    listed, truncated = runs.escalations("R1")
    assert len(listed) == 200 and truncated is True
    assert [e["tracking_id"] for e in listed] == [e["tracking_id"] for e in entries[:200]]
    assert runs.list_escalations("R1", entries[:10], cap=200) == 0  # full, and those are in already
    assert runs.escalations("R2") == ([], False)
    # Kept 30 days by the table's TTL (the listing items and their counter), never shown in the entries.
    stored = aws.query(TableName="ReportsTable", KeyConditionExpression="PK = :pk",
                       ExpressionAttributeValues={":pk": {"S": keys.sweep_listing_partition("R1")}})["Items"]
    assert len(stored) == 201 and all(abs(int(i["expires_at"]["N"]) - time.time() - 30 * 86400) < 600 for i in stored)
    assert "expires_at" not in listed[0]


def test_a_run_that_writes_lists_nothing_and_escalates(sweep_queue, aws, call_api, admin):
    sqs, url = sweep_queue
    late = [file_at(LONG_AGO)["tracking_id"] for _ in range(3)]
    dry = start(call_api, admin, {"dry_run": True})
    real = start(call_api, admin, {"as_of": dry.body["as_of"]})
    assert real.status == 202 and real.body["would_escalate"] is None
    drain(sqs, url)
    done = call_api("GET", f"/admin/sweeps/{real.body['id']}", headers=admin).body
    assert (done["status"], done["escalated"], done["would_escalate"]) == ("finished", 3, None)
    assert listing_items(aws, real.body["id"]) == []
    assert [runtime.store().get_report(t)["escalation_level"] for t in late] == [1] * 3
    assert len(call_api("GET", f"/admin/sweeps/{dry.body['id']}", headers=admin).body["would_escalate"]) == 3
    again = start(call_api, admin, {"dry_run": True, "as_of": dry.body["as_of"]})
    assert (again.body["escalated"], again.body["would_escalate"]) == (0, [])  # nothing is overdue any more


def test_a_report_at_the_top_of_its_ladder_is_listed_as_flagged_final(aws):
    config = runtime.config_cache().get()
    item = {"tracking_id": "LPR-X", "agency_id": "nasional", "agency_name": "Nasional", "escalation_level": 3,
            "due_at": "2026-01-05T23:59:59+07:00", "title": "secret", "description": "secret"}
    entry = sweep.listing_entry(config, item, "flagged_final")
    assert (entry["outcome"], entry["to_agency_id"], entry["to_level"], entry["escalation_level"]) == (
        "flagged_final", None, None, 3)
    assert "secret" not in json.dumps(entry) and set(entry) == ENTRY_FIELDS
