"""SMS: the reply given to each provider message id and each phone's daily count (``keys.py``).

A report filed by SMS is written in one transaction with both, so it builds the report item with the report
store it is given rather than knowing the report's shape itself.
"""

from __future__ import annotations

import random
import time
from typing import Any

from lapor.dal import keys
from lapor.dal.reports import ReportStore, TrackingIdTaken
from lapor.dal.table import Table

SMS_TRANSACTION_ATTEMPTS = 4


class MessageSeen(Exception):
    """An SMS with this provider message id was handled before."""


class DailyLimitReached(Exception):
    """The phone filed as many reports today as one number may."""


class SmsStore(Table):
    def __init__(self, table_name: str, *, reports: ReportStore, **connection: Any) -> None:
        super().__init__(table_name, **connection)
        self.reports = reports

    def sms_reply(self, provider: str, message_id: str) -> str | None:
        """The reply given to a provider's message id, if it was seen before (providers resend)."""
        response = self.client.get_item(TableName=self.table_name, ConsistentRead=True,
                                        Key=keys.sms_message_key(provider, message_id), ProjectionExpression="reply")
        return response["Item"]["reply"]["S"] if "Item" in response else None

    def remember_sms(self, provider: str, message_id: str, reply: str, *, expires_at: int) -> bool:
        """Record the reply to a message that filed nothing; False if the message id was seen already."""
        item = keys.sms_message_key(provider, message_id) | {"reply": {"S": reply},
                                                             "expires_at": {"N": str(expires_at)}}
        try:
            self.client.put_item(TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(PK)")
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def sms_quota(self, phone_key: str, first_day: str, last_day: str) -> dict[str, dict[str, Any]]:
        """A phone's quota items from ``first_day`` to ``last_day`` (its local days), by day: ``filed`` (reports
        that day) and ``recent`` (what each was about: ``subject``, ``tracking_id``, ``at``). One Query."""
        response = self.client.query(
            TableName=self.table_name, ConsistentRead=True, ProjectionExpression="SK, filed, recent",
            KeyConditionExpression="PK = :pk AND SK BETWEEN :first AND :last",
            ExpressionAttributeValues={":pk": {"S": keys.sms_quota_partition(phone_key)},
                                       ":first": {"S": first_day}, ":last": {"S": last_day}})
        return {item["SK"]: {"filed": int(item.get("filed", 0)), "recent": item.get("recent", [])}
                for item in map(self._plain, response.get("Items", []))}

    def create_sms_report(self, report: dict[str, Any], *, provider: str, message_id: str, reply: str,
                          phone_key: str, day: str, daily_limit: int, expires_at: int, subject: str) -> None:
        """File a report from an SMS in one transaction with its message id and the phone's daily count (and
        ``subject``, what it is about, so the same complaint sent again is known), so a resent message never
        files twice and the limit holds under concurrent messages."""
        recent = {"subject": subject, "tracking_id": report["tracking_id"], "at": report["submitted_at"]}
        message = keys.sms_message_key(provider, message_id) | {
            "reply": {"S": reply}, "tracking_id": {"S": report["tracking_id"]}, "expires_at": {"N": str(expires_at)}}
        filing = self.reports.filing_writes(report)
        transaction = [
            *filing,
            {"Put": {"TableName": self.table_name, "Item": message,
                     "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Update": {"TableName": self.table_name, "Key": keys.sms_quota_key(phone_key, day),
                        "UpdateExpression": "ADD filed :one SET expires_at = :expires, "
                                            "recent = list_append(if_not_exists(recent, :none), :recent)",
                        "ConditionExpression": "attribute_not_exists(filed) OR filed < :limit",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":limit": {"N": str(daily_limit)},
                                                      ":expires": {"N": str(expires_at)}, ":none": {"L": []},
                                                      ":recent": {"L": [self._serializer.serialize(recent)]}}}},
        ]
        for attempt in range(SMS_TRANSACTION_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=transaction)
                return
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if "ConditionalCheckFailed" in reasons[:len(filing)]:
                    raise TrackingIdTaken(report["tracking_id"]) from exc
                message_at = len(filing)
                if reasons[message_at:message_at + 1] == ["ConditionalCheckFailed"]:
                    raise MessageSeen(message_id) from exc
                if reasons[message_at + 1:message_at + 2] == ["ConditionalCheckFailed"]:
                    raise DailyLimitReached(phone_key) from exc
                # Two messages from one phone at once contend for its quota item: try again, never drop one.
                if "TransactionConflict" not in reasons or attempt == SMS_TRANSACTION_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))
