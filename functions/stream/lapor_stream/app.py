"""StatsFunction handler: DynamoDB stream records of reports in, counter changes out (Powertools batch).

Each record is its own unit: one that fails is reported in ``batchItemFailures`` and retried alone, the
others are not held back; a record that keeps failing ends in the stream's dead-letter queue.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from lapor import runtime
from lapor.dal import keys
from lapor.domain import reference, stats
from lapor.observability import logger, traced_handler

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
MARKER_DAYS = 7  # longer than a stream keeps records (24 h), so a redelivery always finds its marker


def count_change(record: DynamoDBRecord) -> None:
    change = record.raw_event.get("dynamodb", {})
    if not keys.is_report_key(change.get("Keys", {})):
        return  # counters and markers change too; only reports count
    store = runtime.stats_store()
    if store.stats_applied(record.event_id):
        logger.info("stream record already counted", extra={"event_id": record.event_id})
        return
    old = store.plain(change["OldImage"]) if change.get("OldImage") else None
    new = store.plain(change["NewImage"]) if change.get("NewImage") else None
    report = new or old
    zone = reference.region(report["region_code"]).zone  # type: ignore[union-attr]  # unknown: the record fails
    delta = stats.delta(old, new, zone, runtime.config_cache().get().calendar)
    if not delta:
        return
    changes = {scope: delta | ({f"region#{child}": delta["total"]} if child and delta.get("total") else {})
               for scope, child in stats.scopes(report["region_code"])}
    applied = store.apply_stats(record.event_id, stats.bucket_day(report, zone), changes,
                                expires_at=int(time.time()) + MARKER_DAYS * 86400)
    if not applied:  # a concurrent delivery counted it between our check and our write
        logger.info("stream record already counted", extra={"event_id": record.event_id})


@logger.inject_lambda_context
@traced_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=count_change, processor=processor, context=context)
