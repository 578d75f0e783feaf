"""The scheduled sweep: a coordinator fans out one SQS message per shard; workers sweep and hand on the rest.

The run's record is written as the run goes (``running``, counts per message, ``finished``), each message's
counts are added once whatever SQS redelivers, and a message that keeps failing leaves the run ``failed``.
"""

import json
from datetime import UTC, datetime, timedelta

from conftest import ROOT
from lapor import runtime, sweep
from lapor.dal import ReportStore, due_shard
from lapor.observability import HandlerFailed
from lapor_cli.devserver import LambdaContext
from test_sweep import LONG_AGO, file_at


class ShortOfTime(LambdaContext):
    """A worker invocation with almost no time left: it must hand the rest of its shard on."""

    def get_remaining_time_in_millis(self) -> int:
        return 1000


def worker_context(name):
    return LambdaContext(name, timeout_seconds=300)  # the worker's Timeout in template.yaml


def sqs_records(messages):
    """SQS messages as the event source hands them to the worker, with their real receive counts."""
    return [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
             "attributes": m.get("Attributes", {"ApproximateReceiveCount": "1"}), "messageAttributes": {},
             "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs", "awsRegion": "ap-southeast-3",
             "eventSourceARN": "arn:aws:sqs:ap-southeast-3:000000000000:sweep"} for m in messages]


def receive(sqs, url, visibility=30):
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"],
                               VisibilityTimeout=visibility).get("Messages", [])


def drain(sqs, url, context_class=worker_context, duplicate=False, seen=None):
    """Deliver queued messages to the worker (as the SQS event source would) until the queue is empty."""
    from lapor_sweep.app import worker_handler

    deliveries = 0
    while messages := receive(sqs, url):
        records = sqs_records(messages)
        if seen is not None:
            seen.extend(records)
        for _ in range(2 if duplicate else 1):  # SQS delivers at least once
            assert worker_handler({"Records": records}, context_class("SweepWorkerFunction")) == {
                "batchItemFailures": []}
        sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
        deliveries += 1
    return deliveries


def the_run():
    [run] = runtime.sweep_runs().list_sweep_runs()
    return run


def test_the_schedule_fans_out_per_shard_and_escalates_each_overdue_report_once(sweep_queue, capsys):
    from lapor_sweep.app import coordinator_handler

    sqs, url = sweep_queue
    late = [file_at(LONG_AGO)["tracking_id"] for _ in range(6)]
    started = coordinator_handler(json.loads((ROOT / "events/sweep/scheduled.json").read_text()),
                                  LambdaContext("SweepFunction"))
    assert started["shards"] == 4
    run = the_run()
    assert (run["id"], run["status"], run["shards"], run["shards_done"], run["scanned"]) == (
        started["run_id"], "running", 4, 0, 0)
    assert "finished_at" not in run and run["started_at"] == run["updated_at"]
    assert drain(sqs, url, duplicate=True) == 4  # one message per shard; each delivered twice
    store = runtime.store()
    assert [store.get_report(t)["escalation_level"] for t in late] == [1] * 6
    run = the_run()
    assert (run["id"], run["by"], run["status"]) == (started["run_id"], "schedule", "finished")
    assert run["shards_done"] == 4  # the second deliveries added nothing
    assert run["escalated"] == 6 and run["scanned"] == 6 and run["finished_at"] >= run["started_at"]
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert sum(m.get("ReportsEscalated", [0])[0] for m in metrics) == 6
    assert all(m["trigger"] == "schedule" for m in metrics if "ReportsEscalated" in m)


def test_counts_are_added_as_each_shard_finishes(sweep_queue):
    from lapor_sweep.app import coordinator_handler, worker_handler

    sqs, url = sweep_queue
    for _ in range(6):
        file_at(LONG_AGO)
    coordinator_handler({}, LambdaContext("SweepFunction"))
    done = []
    for _ in range(4):
        [message] = receive(sqs, url)
        worker_handler({"Records": sqs_records([message])}, worker_context("SweepWorkerFunction"))
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        run = the_run()
        done.append((run["status"], run["shards_done"]))
    assert done == [("running", 1), ("running", 2), ("running", 3), ("finished", 4)]
    assert the_run()["escalated"] == 6


def test_a_worker_short_of_time_hands_the_rest_of_its_shard_on(sweep_queue, monkeypatch):
    from lapor_sweep.app import coordinator_handler

    sqs, url = sweep_queue
    monkeypatch.setenv("LAPOR_SWEEP_PAGE_SIZE", "1")
    runtime.reset()
    late = [file_at(LONG_AGO)["tracking_id"] for _ in range(5)]
    coordinator_handler({"as_of": datetime.now(UTC).isoformat()}, LambdaContext("SweepFunction"))
    deliveries = drain(sqs, url, context_class=ShortOfTime)
    assert deliveries > 4  # shards with more than one overdue report were resumed from their cursor
    assert [runtime.store().get_report(t)["escalation_level"] for t in late] == [1] * 5
    run = the_run()
    assert (run["escalated"], run["shards_done"], run["status"]) == (5, 4, "finished")


def test_a_redelivered_message_continuation_or_first_adds_nothing(sweep_queue, monkeypatch):
    """A dry run sweeps the same reports whenever a message is delivered again: without the message ids every
    redelivery would add its counts (and its shard) a second time."""
    from lapor_sweep.app import coordinator_handler, worker_handler

    sqs, url = sweep_queue
    monkeypatch.setenv("LAPOR_SWEEP_PAGE_SIZE", "1")
    runtime.reset()
    for _ in range(7):
        file_at(LONG_AGO)
    coordinator_handler({"as_of": datetime.now(UTC).isoformat(), "dry_run": True}, LambdaContext("SweepFunction"))
    seen: list = []
    drain(sqs, url, context_class=ShortOfTime, seen=seen)
    first = the_run()
    assert (first["status"], first["scanned"], first["escalated"], first["shards_done"]) == ("finished", 7, 7, 4)
    bodies = [json.loads(r["body"]) for r in seen]
    assert max(b["seq"] for b in bodies) >= 1  # continuations were among them
    assert len({sweep.message_id(b) for b in bodies}) == len(bodies)  # each message its own id
    # SQS delivers any of them again, later: continuations, first messages, out of order.
    for record in reversed(seen):
        assert worker_handler({"Records": [record]}, ShortOfTime("SweepWorkerFunction")) == {"batchItemFailures": []}
    drain(sqs, url, context_class=ShortOfTime)  # the continuations those deliveries handed on again
    again = the_run()
    counts = ("scanned", "escalated", "skipped", "failed", "shards_done", "status", "finished_at")
    assert {k: again[k] for k in counts} == {k: first[k] for k in counts}


def test_the_count_update_is_one_write_conditional_on_the_message_id(aws):
    runs = runtime.sweep_runs()
    run = sweep.new_run(as_of=datetime.now(UTC), dry_run=False, by="schedule", shards=2,
                        started_at=datetime.now(UTC))
    runs.start_run(run)
    calls = []
    original = runs.client.update_item

    def spy(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    runs.client.update_item = spy
    counts = {"scanned": 3, "escalated": 2, "flagged_final": 0, "closed": 0, "skipped": 1, "failed": 0}
    assert runs.record_message(run["id"], 1, 0, counts, finished_shard=False, now="2027-01-01T00:00:00Z")
    assert not runs.record_message(run["id"], 1, 0, counts, finished_shard=False, now="2027-01-01T00:00:01Z")
    assert runs.record_message(run["id"], 1, 1, counts, finished_shard=True, now="2027-01-01T00:00:02Z")
    assert not runs.record_message(run["id"], 1, 0, counts, finished_shard=False, now="2027-01-01T00:00:03Z")
    assert not runs.record_message("01ARZ3NDEKTSV4RRFFQ69G5FAV", 0, 0, counts, finished_shard=True, now="x")
    request = calls[0]
    assert request["Key"] == {"PK": {"S": "SWEEP"}, "SK": {"S": f"RUN#{run['id']}"}}
    assert request["ConditionExpression"] == (
        "attribute_exists(PK) AND (attribute_not_exists(progress.#s) OR progress.#s < :seq)")
    assert request["ExpressionAttributeNames"]["#s"] == "1" and request["ExpressionAttributeValues"][":seq"] == {
        "N": "0"}
    assert request["UpdateExpression"].startswith("SET progress.#s = :seq, updated_at = :now ADD ")
    stored = runs.get_sweep_run(run["id"])
    assert (stored["scanned"], stored["escalated"], stored["shards_done"], stored["progress"]) == (6, 4, 1, {"1": 1})
    assert not runs.finish_run(run["id"], now="2027-01-01T00:00:04Z")  # one shard of two
    assert runtime.sweep_runs().list_sweep_runs() == [stored]  # no run item made up for the unknown id


def failing_shard(monkeypatch, shard):
    """Reading ``shard`` of the due index fails every time (a throttled or broken table), quoting a report."""
    read = ReportStore.overdue_page

    def overdue_page(self, which, *args, **kwargs):
        if which == shard:
            raise RuntimeError("cannot read due index: Rahasia pelapor 0812-3456-7890")
        return read(self, which, *args, **kwargs)

    monkeypatch.setattr(ReportStore, "overdue_page", overdue_page)


def test_a_failing_worker_leaves_a_run_that_says_so(sweep_queue, monkeypatch, log_lines):
    from lapor_sweep.app import coordinator_handler, worker_handler

    sqs, url = sweep_queue
    late = [file_at(LONG_AGO)["tracking_id"] for _ in range(8)]
    bad = due_shard(late[0], 4)
    failing_shard(monkeypatch, bad)
    started = coordinator_handler({}, LambdaContext("SweepFunction"))
    attempts = []
    while messages := receive(sqs, url, visibility=0):  # failed messages come back at once
        [record] = sqs_records(messages)
        try:
            worker_handler({"Records": [record]}, worker_context("SweepWorkerFunction"))
            failed = False
        except HandlerFailed:  # the whole batch (one message) failed: it stays on the queue for another delivery
            failed = True
        if failed:
            run = the_run()
            attempts.append((record["attributes"]["ApproximateReceiveCount"], run["status"], run["error"]["type"],
                             run["error"]["shard"], run["error"]["attempt"]))
            if len(attempts) == 5:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])  # the DLQ's now
        else:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
    assert attempts == [(str(n), "running" if n < 5 else "failed", "RuntimeError", bad, n) for n in range(1, 6)]
    run = the_run()
    assert (run["id"], run["status"], run["shards_done"], "finished_at" in run) == (started["run_id"], "failed", 3,
                                                                                    False)
    in_bad = [t for t in late if due_shard(t, 4) == bad]
    assert run["escalated"] == len(late) - len(in_bad)
    assert [runtime.store().get_report(t)["escalation_level"] for t in in_bad] == [0] * len(in_bad)
    assert "Rahasia" not in json.dumps(run) and "Rahasia" not in log_lines.getvalue()
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    failed = [line for line in lines if line["message"] == "shard message failed"]
    assert [(f["message_id"], f["attempt"], f["given_up"], f["error"]) for f in failed] == [
        (f"{started['run_id']}/{bad}/0", n, n == 5, "RuntimeError") for n in range(1, 6)]


def test_a_run_without_progress_reads_as_stalled():
    now = datetime(2027, 1, 15, 3, 0, tzinfo=UTC)
    run = {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "status": "running", "started_at": "2027-01-15T01:00:00Z",
           "updated_at": "2027-01-15T02:00:00Z", "progress": {"0": 3}}
    view = sweep.run_view(run, now=now, stall_seconds=3600)
    assert view["status"] == "running" and "progress" not in view
    assert sweep.run_view(run, now=now + timedelta(seconds=1), stall_seconds=3600)["status"] == "stalled"
    assert sweep.run_view(run | {"status": "finished"}, now=now + timedelta(days=1), stall_seconds=60)["status"] == \
        "finished"
    # Runs recorded before runs had a status: on demand (no shards) finished; scheduled by their shards.
    legacy = {"id": "2027-01-15T01:00:00Z#01ARZ3NDEKTSV4RRFFQ69G5FAV", "started_at": "2027-01-15T01:00:00Z",
              "finished_at": "2027-01-15T01:00:00Z"}
    assert sweep.run_view(legacy, now=now, stall_seconds=3600)["status"] == "finished"
    half = sweep.run_view(legacy | {"shards": 8, "shards_done": 3}, now=now, stall_seconds=86400)
    assert (half["status"], "finished_at" in half) == ("running", False)


def test_a_dry_backfill_counts_without_writing(sweep_queue):
    from lapor_sweep.app import coordinator_handler

    sqs, url = sweep_queue
    tracking_id = file_at(LONG_AGO)["tracking_id"]
    coordinator_handler(json.loads((ROOT / "events/sweep/backfill-dry-run.json").read_text()),
                        LambdaContext("SweepFunction"))
    drain(sqs, url)
    run = the_run()
    assert run["dry_run"] is True and run["escalated"] == 1 and run["status"] == "finished"
    assert runtime.store().get_report(tracking_id)["escalation_level"] == 0
