"""Sending notices: SMS to reporters through SNS, agency notices as EventBridge events, or a local outbox file.

Each notice is sent on its own and at most once: Powertools idempotency, keyed on the notice id (event id +
recipient), records it in progress before sending and done after. A send that raises clears the record, so
the stream retries that notice until it goes out (and dead-letters it after the retries); a redelivered
record finds the notice done and sends nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from lapor.domain.clock import iso_utc
from lapor.domain.notices import Notice
from lapor.settings import Settings, get_settings


class Transport(Protocol):
    def send(self, notice: Notice) -> None: ...


class OutboxTransport:
    """The local stack's notices: one JSON line per notice sent, read with ``lapor outbox``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, notice: Notice) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(notice.as_dict() | {"sent_at": iso_utc(datetime.now(UTC))}, ensure_ascii=False)
        with self.path.open("a", encoding="utf-8") as outbox:
            outbox.write(line + "\n")


class AwsTransport:
    def __init__(self, event_bus_name: str, sms_type: str = "Transactional") -> None:
        import boto3

        self.event_bus_name, self.sms_type = event_bus_name, sms_type
        self.sns, self.events = boto3.client("sns"), boto3.client("events")

    def send(self, notice: Notice) -> None:
        if notice.channel == "sms":
            self.sns.publish(PhoneNumber=notice.address, Message=notice.text, MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": self.sms_type}})
            return
        result = self.events.put_events(Entries=[{
            "Source": "lapor", "DetailType": "AgencyNotice", "EventBusName": self.event_bus_name,
            "Detail": json.dumps(notice.as_dict(), ensure_ascii=False)}])
        if result.get("FailedEntryCount"):  # put_events reports failures in the reply, not as an error
            raise RuntimeError(f"EventBridge refused notice {notice.id}: {result['Entries'][0].get('ErrorCode')}")


def transport_for(settings: Settings) -> Transport:
    if settings.notify_transport == "outbox":
        return OutboxTransport(Path(settings.outbox_path))
    return AwsTransport(settings.event_bus_name)


@lru_cache(maxsize=1)
def transport() -> Transport:
    return transport_for(get_settings())


@lru_cache(maxsize=1)
def _persistence_and_config() -> tuple[Any, Any]:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
    )

    settings = get_settings()
    return (DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name),
            IdempotencyConfig(event_key_jmespath="id", raise_on_no_idempotency_key=True, hash_function="sha256",
                              expires_after_seconds=settings.notice_dedupe_seconds))


def send_once(notice: Notice, lambda_context: Any = None) -> bool:
    """Send ``notice`` unless it was sent before; True when this call sent it."""
    from aws_lambda_powertools.utilities.idempotency import idempotent_function

    persistence, config = _persistence_and_config()
    if lambda_context is not None:  # a send cut off by the time limit may be retried once the limit has passed
        config.register_lambda_context(lambda_context)
    sent_now = False

    @idempotent_function(data_keyword_argument="notice", persistence_store=persistence, config=config)
    def send(notice: dict[str, str]) -> dict[str, str]:
        nonlocal sent_now
        transport().send(Notice(**notice))
        sent_now = True
        return {"sent": notice["id"]}

    send(notice=notice.as_dict())
    return sent_now


def reset() -> None:
    transport.cache_clear()
    _persistence_and_config.cache_clear()
