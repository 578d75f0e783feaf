"""SweepFunction (daily, EventBridge Scheduler) and SweepWorkerFunction (SQS, one message per shard).

The coordinator records the run and sends one message per shard of the "open by due" index. A worker sweeps
its shard page by page and, when its time runs short, sends the rest of the shard (its cursor) back to the
queue, so a backlog of any size finishes without one function running long. Escalation is conditional, so
a message delivered twice, or a worker retried after a crash, never escalates a report twice.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lapor import runtime, sweep
from lapor.domain.clock import parse_utc
from lapor.observability import logger, traced_handler
from lapor.settings import get_settings

processor = BatchProcessor(event_type=EventType.SQS)


@lru_cache(maxsize=1)
def _sqs() -> Any:
    import boto3

    return boto3.client("sqs")


def _send(message: dict[str, Any]) -> None:
    _sqs().send_message(QueueUrl=get_settings().sweep_queue_url, MessageBody=json.dumps(message))


@logger.inject_lambda_context
@traced_handler
def coordinator_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Start a run: its record, then one message per shard. ``event`` may carry ``as_of`` and ``dry_run``."""
    settings = get_settings()
    started = datetime.now(UTC).replace(microsecond=0)
    as_of = datetime.fromisoformat(event["as_of"]) if event.get("as_of") else started
    dry_run = bool(event.get("dry_run", False))
    run = sweep.sweep_record(sweep.SweepCounts(), as_of=as_of, dry_run=dry_run, by="schedule",
                             started_at=started, finished_at=started)
    runtime.sweep_runs().put_sweep_run(run | {"shards": settings.due_index_shards, "shards_done": 0})
    for shard in range(settings.due_index_shards):
        _send({"run_id": run["id"], "shard": shard, "as_of": run["as_of"], "dry_run": dry_run, "cursor": None})
    logger.info("sweep started", extra={"run_id": run["id"], "as_of": run["as_of"], "shards": settings.due_index_shards})
    return {"run_id": run["id"], "shards": settings.due_index_shards}


def sweep_message(record: SQSRecord, lambda_context: Any = None) -> None:
    message = json.loads(record.body)
    context = lambda_context
    reserve_ms = get_settings().sweep_reserve_seconds * 1000

    def keep_going() -> bool:
        return context is None or context.get_remaining_time_in_millis() > reserve_ms

    counts, cursor = sweep.sweep_shard(
        runtime.store(), runtime.config_cache().get(), message["shard"], dry_run=message["dry_run"],
        as_of=parse_utc(message["as_of"]), start_key=message["cursor"],
        page_size=get_settings().sweep_page_size, keep_going=keep_going)
    if cursor is not None:
        _send(message | {"cursor": cursor})  # the rest of the shard, for a fresh invocation
    runtime.sweep_runs().add_to_sweep_run(message["run_id"], asdict(counts), finished_shard=cursor is None)
    if not message["dry_run"]:
        sweep.emit_metrics(counts, "schedule")
    logger.info("shard swept", extra={"run_id": message["run_id"], "shard": message["shard"],
                                      "resumes": cursor is not None, **asdict(counts)})


@logger.inject_lambda_context
@traced_handler
def worker_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=sweep_message, processor=processor, context=context)
