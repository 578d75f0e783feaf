"""NotifyFunction handler: report changes from the table's stream in, notices to reporters and agencies out.

Each stream record is its own unit (Powertools batch): a record whose notices fail is reported in
``batchItemFailures`` and retried alone, after the retries it goes to the dead-letter queue, and the other
records are neither held back nor dropped. Each notice is sent at most once (``lapor.notify.send_once``), so a
retried record re-sends only the notices that did not go out.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)
from lapor import notify, runtime
from lapor.dal import keys
from lapor.domain.notices import forwarded_notices, forwarding_needed, notices_for
from lapor.observability import logger, traced_handler


class NoticesNotSent(Exception):
    """Some notices of a record failed: the record is retried, and only they are sent again."""


processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
_context: dict[str, Any] = {}


def notify_change(record: DynamoDBRecord) -> None:
    change = record.raw_event.get("dynamodb", {})
    if not keys.is_report_key(change.get("Keys", {})):
        return
    store = runtime.store()
    old = store.plain(change["OldImage"]) if change.get("OldImage") else None
    new = store.plain(change["NewImage"]) if change.get("NewImage") else None
    notices = notices_for(old, new)
    if forwarding_needed(old, new):  # a master's change: its merged duplicates' reporters hear of it too
        notices += forwarded_notices(old, new, store.absorbed_reply_channels(new["tracking_id"]))
    failed: list[str] = []
    for notice in notices:
        try:
            sent = notify.send_once(notice, _context.get("lambda"))
        except Exception as error:  # noqa: BLE001 (any failure of one notice must not stop the others)
            # The others still go out; this record fails and its retry sends only the missing ones. The error's
            # text may quote the phone number, so only its type is logged.
            logger.warning("notice not sent", extra={"notice_id": notice.id, "channel": notice.channel,
                                                     "error": type(error).__name__})
            failed.append(notice.id)
            continue
        if sent:
            # Ids only: the address is a reporter's phone number and never goes to the logs.
            logger.info("notice sent", extra={"notice_id": notice.id, "channel": notice.channel,
                                              "event_type": notice.event_type, "tracking_id": notice.tracking_id})
            with single_metric(name="NoticesSent", unit=MetricUnit.Count, value=1) as metric:
                metric.add_dimension(name="channel", value=notice.channel)
        else:
            logger.info("notice already sent", extra={"notice_id": notice.id})
    if failed:
        raise NoticesNotSent(failed)


@logger.inject_lambda_context
@traced_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _context["lambda"] = context
    return process_partial_response(event=event, record_handler=notify_change, processor=processor, context=context)
