"""The scheduled sweep: a coordinator fans out one SQS message per shard; workers sweep and hand on the rest."""

import json
from datetime import UTC, datetime

from conftest import ROOT
from lapor import runtime
from lapor_cli.devserver import LambdaContext
from test_sweep import LONG_AGO, file_at


class ShortOfTime(LambdaContext):
    """A worker invocation with almost no time left: it must hand the rest of its shard on."""

    def get_remaining_time_in_millis(self) -> int:
        return 1000


def worker_context(name):
    return LambdaContext(name, timeout_seconds=300)  # the worker's Timeout in template.yaml


def drain(sqs, url, context_class=worker_context, duplicate=False):
    """Deliver queued messages to the worker (as the SQS event source would) until the queue is empty."""
    from lapor_sweep.app import worker_handler

    deliveries = 0
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
        if not messages:
            return deliveries
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs", "awsRegion": "ap-southeast-3",
                    "eventSourceARN": "arn:aws:sqs:ap-southeast-3:000000000000:sweep"} for m in messages]
        for _ in range(2 if duplicate else 1):  # SQS delivers at least once
            assert worker_handler({"Records": records}, context_class("SweepWorkerFunction")) == {
                "batchItemFailures": []}
        sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
        deliveries += 1


def test_the_schedule_fans_out_per_shard_and_escalates_each_overdue_report_once(sweep_queue, capsys):
    from lapor_sweep.app import coordinator_handler

    sqs, url = sweep_queue
    late = [file_at(LONG_AGO)["tracking_id"] for _ in range(6)]
    started = coordinator_handler(json.loads((ROOT / "events/sweep/scheduled.json").read_text()),
                                  LambdaContext("SweepFunction"))
    assert started["shards"] == 4
    assert drain(sqs, url, duplicate=True) == 4  # one message per shard; each delivered twice
    store = runtime.store()
    assert [store.get_report(t)["escalation_level"] for t in late] == [1] * 6
    [run] = runtime.sweep_runs().list_sweep_runs()
    assert (run["id"], run["by"], run["shards_done"]) == (started["run_id"], "schedule", 8)  # 4 shards, twice
    assert run["escalated"] == 6 and run["scanned"] == 6  # the duplicate deliveries found nothing left to do
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert sum(m.get("ReportsEscalated", [0])[0] for m in metrics) == 6
    assert all(m["trigger"] == "schedule" for m in metrics if "ReportsEscalated" in m)


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
    [run] = runtime.sweep_runs().list_sweep_runs()
    assert run["escalated"] == 5 and run["shards_done"] == 4


def test_a_dry_backfill_counts_without_writing(sweep_queue):
    from lapor_sweep.app import coordinator_handler

    sqs, url = sweep_queue
    tracking_id = file_at(LONG_AGO)["tracking_id"]
    coordinator_handler(json.loads((ROOT / "events/sweep/backfill-dry-run.json").read_text()),
                        LambdaContext("SweepFunction"))
    drain(sqs, url)
    [run] = runtime.sweep_runs().list_sweep_runs()
    assert run["dry_run"] is True and run["escalated"] == 1
    assert runtime.store().get_report(tracking_id)["escalation_level"] == 0
