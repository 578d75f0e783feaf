"""SweepFunction (daily, EventBridge Scheduler) and SweepWorkerFunction (SQS, one message per shard).

The coordinator records the run and sends one message per shard of the "open by due" index (``POST
/admin/sweeps`` starts runs the same way). A worker sweeps its shard page by page and, when its time runs
short, sends the rest of the shard (its cursor) back to the queue as the shard's next message, so a backlog
of any size finishes without one function running long. Escalation is conditional, and a message's counts
are added to its run once (by message id), so a message delivered twice, or a worker retried after a crash,
never escalates a report twice nor counts it twice. A message that fails leaves its error's type on the run;
its last delivery (``LAPOR_SWEEP_MAX_RECEIVE_COUNT``) marks the run ``failed``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lapor import runtime, sweep
from lapor.domain.clock import iso_utc
from lapor.observability import error_summary, logger, traced_handler
from lapor.settings import get_settings

processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
@traced_handler
def coordinator_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Start a run: its record, then one message per shard. ``event`` may carry ``as_of`` and ``dry_run``."""
    settings = get_settings()
    started = datetime.now(UTC).replace(microsecond=0)
    as_of = datetime.fromisoformat(event["as_of"]) if event.get("as_of") else started
    run = sweep.new_run(as_of=as_of, dry_run=bool(event.get("dry_run", False)), by="schedule",
                        shards=settings.due_index_shards, started_at=started)
    sweep.start_run(runtime.sweep_runs(), runtime.send_sweep_message, run)
    logger.info("sweep started", extra={"run_id": run["id"], "as_of": run["as_of"], "shards": run["shards"]})
    return {"run_id": run["id"], "shards": run["shards"]}


def sweep_message(record: SQSRecord, lambda_context: Any = None) -> None:
    message = json.loads(record.body)
    context = lambda_context
    settings = get_settings()
    reserve_ms = settings.sweep_reserve_seconds * 1000

    def keep_going() -> bool:
        return context is None or context.get_remaining_time_in_millis() > reserve_ms

    try:
        sweep.sweep_message(message, store=runtime.store(), config=runtime.config_cache().get(),
                            runs=runtime.sweep_runs(), send=runtime.send_sweep_message,
                            page_size=settings.sweep_page_size, keep_going=keep_going)
    except Exception as error:
        # SQS delivers it again (the batch reports it failed) until its last delivery: then the run has failed.
        attempt = int(record.attributes.get("ApproximateReceiveCount") or 1)
        given_up = attempt >= settings.sweep_max_receive_count
        logger.error("shard message failed", extra={"run_id": message.get("run_id"),
                                                    "message_id": sweep.message_id(message), "attempt": attempt,
                                                    "given_up": given_up, **error_summary(error)})
        try:
            runtime.sweep_runs().record_failure(message["run_id"], sweep.failure(
                error, shard=message.get("shard"), attempt=attempt), given_up=given_up, now=iso_utc(datetime.now(UTC)))
        except Exception as unrecorded:  # noqa: BLE001 (the message's own error is the one to raise)
            logger.error("shard failure not recorded on its run", extra=error_summary(unrecorded))
        raise


@logger.inject_lambda_context
@traced_handler
def worker_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=sweep_message, processor=processor, context=context)
