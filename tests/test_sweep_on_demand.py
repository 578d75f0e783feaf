"""On-demand sweeps (issue 11, item 3): ``POST /admin/sweeps`` records a run and hands its shards to the sweep
queue (202), ``GET /admin/sweeps/{run_id}`` follows it to ``finished``; a small dry run answers inline (200)."""

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from lapor import runtime, sweep
from test_sweep import LONG_AGO, file_at
from test_sweep_scheduled import drain, receive, sqs_records, worker_context


@pytest.fixture
def admin(token):
    return {"Authorization": token("admin")}


def start(call_api, admin, body=None):
    return call_api("POST", "/admin/sweeps", headers=admin, json_body=body or {})


def test_a_sweep_starts_at_once_and_is_followed_to_the_end(sweep_queue, call_api, admin, capsys):
    from lapor_sweep.app import worker_handler

    sqs, url = sweep_queue
    late = [file_at(LONG_AGO)["tracking_id"] for _ in range(5)]
    reply = start(call_api, admin)
    assert reply.status == 202
    run = reply.body
    assert (run["status"], run["shards"], run["shards_done"], run["scanned"], run["finished_at"]) == (
        "running", 4, 0, 0, None)
    assert run["by"].startswith("admin:") and run["dry_run"] is False
    assert [runtime.store().get_report(t)["escalation_level"] for t in late] == [0] * 5  # nothing swept yet
    path = f"/admin/sweeps/{run['id']}"
    assert call_api("GET", path, headers=admin).body == run  # the record, as the reply showed it
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "4"  # one message per shard, on the schedule's queue
    seen = []
    while messages := receive(sqs, url):  # the worker, one message at a time, followed through GET
        worker_handler({"Records": sqs_records(messages)}, worker_context("SweepWorkerFunction"))
        sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
        followed = call_api("GET", path, headers=admin)
        assert followed.status == 200
        seen.append((followed.body["status"], followed.body["shards_done"]))
    assert seen == [("running", 1), ("running", 2), ("running", 3), ("finished", 4)]
    done = call_api("GET", path, headers=admin).body
    assert (done["escalated"], done["scanned"], done["failed"]) == (5, 5, 0) and done["finished_at"]
    assert [runtime.store().get_report(t)["escalation_level"] for t in late] == [1] * 5
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    escalated = [m for m in metrics if "ReportsEscalated" in m]
    assert sum(m["ReportsEscalated"][0] for m in escalated) == 5
    assert {m["trigger"] for m in escalated} == {"on_demand"}


def test_a_small_dry_run_answers_inline_and_runs_are_listed_newest_first(sweep_queue, call_api, admin):
    sqs, url = sweep_queue
    tracking_id = file_at(LONG_AGO)["tracking_id"]
    assert start(call_api, admin, {"as_of": "2027-01-01T00:00:00"}).status == 422
    dry = start(call_api, admin, {"dry_run": True})
    assert dry.status == 200
    assert (dry.body["status"], dry.body["scanned"], dry.body["escalated"], dry.body["shards_done"]) == (
        "finished", 1, 1, 4)
    assert runtime.store().get_report(tracking_id)["escalation_level"] == 0
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []  # nothing was handed on
    real = start(call_api, admin)
    assert real.status == 202
    drain(sqs, url)
    runs = call_api("GET", "/admin/sweeps", headers=admin).body["items"]
    assert [r["id"] for r in runs] == [real.body["id"], dry.body["id"]]
    assert [(r["status"], r["escalated"], r["dry_run"]) for r in runs] == [("finished", 1, False),
                                                                         ("finished", 1, True)]


def test_a_dry_run_too_big_to_finish_inline_goes_on_in_the_queue(sweep_queue, call_api, admin, monkeypatch):
    sqs, url = sweep_queue
    monkeypatch.setenv("LAPOR_SWEEP_PAGE_SIZE", "1")
    monkeypatch.setenv("LAPOR_SWEEP_INLINE_SECONDS", "1.5")
    ticks = iter(range(1000))
    monkeypatch.setattr(sweep, "time", SimpleNamespace(monotonic=lambda: next(ticks)))  # 1 s a look: one page
    runtime.reset()
    for _ in range(6):
        file_at(LONG_AGO)
    reply = start(call_api, admin, {"dry_run": True})
    assert reply.status == 202 and reply.body["status"] == "running" and reply.body["scanned"] <= 1
    seen: list = []
    drain(sqs, url, seen=seen)
    kinds = sorted((json.loads(r["body"])["seq"] > 0) for r in seen)
    assert kinds[0] is False and kinds[-1] is True  # shards not begun, and the rest of the one under way
    done = call_api("GET", f"/admin/sweeps/{reply.body['id']}", headers=admin).body
    assert (done["status"], done["scanned"], done["escalated"], done["shards_done"]) == ("finished", 6, 6, 4)


def test_inline_seconds_zero_hands_every_run_to_the_queue(sweep_queue, call_api, admin, monkeypatch):
    sqs, url = sweep_queue
    monkeypatch.setenv("LAPOR_SWEEP_INLINE_SECONDS", "0")
    runtime.reset()
    file_at(LONG_AGO)
    reply = start(call_api, admin, {"dry_run": True})
    assert (reply.status, reply.body["scanned"]) == (202, 0)
    assert drain(sqs, url) == 4
    assert call_api("GET", f"/admin/sweeps/{reply.body['id']}", headers=admin).body["escalated"] == 1


@pytest.mark.parametrize("run_id", ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "nope", "2027-01-01T00:00:00Z",
                                    "01arz3ndektsv4rrffq69g5fav"])
def test_an_unknown_run_is_a_404_in_the_api_error_shape(aws, call_api, admin, token, run_id):
    reply = call_api("GET", f"/admin/sweeps/{run_id}", headers=admin)
    assert reply.status == 404 and reply.body["error"]["code"] == "not_found"
    operator = {"Authorization": token("operator", "64-72-pupr")}
    assert call_api("GET", "/admin/sweeps/01ARZ3NDEKTSV4RRFFQ69G5FAV", headers=operator).status == 403
    assert call_api("POST", "/admin/sweeps", headers=operator, json_body={}).status == 403


def test_a_run_that_could_not_be_handed_on_says_so_and_claims_nothing_more(sweep_queue, call_api, admin,
                                                                          monkeypatch):
    sqs, url = sweep_queue
    late = [file_at(LONG_AGO)["tracking_id"] for _ in range(8)]
    send, sent = runtime.send_sweep_message, []

    def flaky(message):
        if len(sent) == 2:
            raise ConnectionError("sqs unreachable")
        sent.append(message)
        send(message)

    monkeypatch.setattr(runtime, "send_sweep_message", flaky)
    reply = start(call_api, admin)
    assert reply.status == 503
    error = reply.body["error"]
    assert error["code"] == "sweep_interrupted" and error["details"]["error"] == "ConnectionError"
    assert "nothing" not in error["message"]
    run = call_api("GET", f"/admin/sweeps/{error['details']['run_id']}", headers=admin).body
    assert (run["status"], run["error"]["type"], run["error"]["shard"]) == ("failed", "ConnectionError", 2)
    drain(sqs, url)  # the two shards handed on are swept; the run stays failed
    run = call_api("GET", f"/admin/sweeps/{run['id']}", headers=admin).body
    swept = sum(runtime.store().get_report(t)["escalation_level"] for t in late)
    assert (run["status"], run["shards_done"], run["escalated"]) == ("failed", 2, swept)


def test_a_run_with_no_progress_for_an_hour_reads_as_stalled(aws, call_api, admin):
    long_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=3601)
    run = sweep.new_run(as_of=long_ago, dry_run=False, by="schedule", shards=8, started_at=long_ago)
    runtime.sweep_runs().start_run(run)
    seen = call_api("GET", f"/admin/sweeps/{run['id']}", headers=admin).body
    assert (seen["status"], seen["shards_done"], seen["updated_at"]) == ("stalled", 0, run["started_at"])
    assert call_api("GET", "/admin/sweeps", headers=admin).body["items"][0]["status"] == "stalled"


def test_runs_recorded_before_ids_were_ulids_are_still_listed_after_the_new_ones(aws, call_api, admin):
    from lapor.dal import keys

    runs = runtime.sweep_runs()
    legacy = {"id": "2026-12-01T00:15:00Z#01JE2Z3NDEKTSV4RRFFQ69G5FA", "as_of": "2026-12-01T00:15:00Z",
              "dry_run": False, "by": "schedule", "started_at": "2026-12-01T00:15:00Z",
              "finished_at": "2026-12-01T00:15:00Z", "scanned": 4, "escalated": 4, "flagged_final": 0,
              "skipped": 0, "shards": 8, "shards_done": 8}
    runs.client.put_item(TableName=runs.table_name, Item=keys.sweep_run_key(legacy["id"]) | runs._item(legacy))
    new = sweep.new_run(as_of=datetime.now(UTC), dry_run=False, by="schedule", shards=8,
                        started_at=datetime.now(UTC))
    runs.start_run(new)
    items = call_api("GET", "/admin/sweeps", headers=admin).body["items"]
    assert [(i["id"], i["status"]) for i in items] == [(new["id"], "running"), (legacy["id"], "finished")]
