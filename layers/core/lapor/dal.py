"""The one data-access module: it alone knows the table's keys, indexes and item shapes (docs/data-model.md).

Items (table ``reports``, keys ``PK``/``SK``):
- report           ``REPORT#<tracking_id>`` / ``META``: the report, its timeline (an append-only list, so a
                   change and its event are one conditional write) and, unless anonymous, ``reporter``.
- agency           ``CONFIG#AGENCY`` / ``<agency_id>``
- route            ``CONFIG#ROUTE`` / ``<region_code>#<category>``
- calendar         ``CONFIG#CALENDAR`` / ``<yyyy-mm-dd>``
- Open311 API key  ``CONFIG#APIKEY`` / ``<key id>``: ``secret_hash``, name, who and when created / revoked
- SMS message      ``SMS#<provider>#<message_id>`` / ``MESSAGE``: the reply given (a resend gets it again)
- SMS quota        ``SMSQUOTA#<phone hash>`` / ``<yyyy-mm-dd>``: reports a phone filed that day
Indexes (sparse, projecting everything but ``reporter``):
- ``ByDue``:    ``due_pk`` = ``DUE#<shard>``, ``due_sk`` = ``<due_at_utc>#<tracking_id>``; only while the report
                awaits the agency, so the sweep reads open reports by deadline, never the whole table.
- ``ByClosing``: ``close_pk`` = ``CLOSE#<shard>``, ``close_sk`` = ``<closes_at_utc>#<tracking_id>``; only while an
                answered report waits for the reporter's word, so the sweep closes silent ones without a Scan.
- ``ByAgency``: ``agency_pk`` = ``AGENCY#<agency_id>``, ``agency_sk`` = ``<status>#<submitted_at>``.
- ``ByMonth``:  ``month_pk`` = ``MONTH#<yyyy-mm>``, ``month_sk`` = ``<submitted_at>#<tracking_id>``: every report
                by filing date, for Open311's date-window listings (a 90-day window is at most four partitions).
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any

from lapor.domain import lifecycle
from lapor.domain.routing import Agency, Route

REPORTER_ATTRIBUTE = "reporter"
SMS_TRANSACTION_ATTEMPTS = 4
# What a report view may read. ``reporter`` is deliberately absent: views never load identity.
VIEW_ATTRIBUTES = (
    "tracking_id", "kind", "category", "region_code", "title", "description", "privacy", "location", "status",
    "agency_id", "agency_name", "escalation_level", "submitted_at", "due_at", "due_at_utc", "version",
    "access_code_hash", "channel", "timeline", "overdue_final", "deadline_working_days", "closes_at_utc",
    "status_notes", "updated_at",
)
_VIEW_NAMES = {f"#a{i}": name for i, name in enumerate(VIEW_ATTRIBUTES)}
_VIEW_PROJECTION = {"ProjectionExpression": ", ".join(_VIEW_NAMES), "ExpressionAttributeNames": _VIEW_NAMES}
OPEN_STATUSES = lifecycle.OPEN


class TrackingIdTaken(Exception):
    """The random tracking id is already used; the caller draws another."""


class MessageSeen(Exception):
    """An SMS with this provider message id was handled before."""


class DailyLimitReached(Exception):
    """The phone filed as many reports today as one number may."""


class ReportChanged(Exception):
    """A conditional update lost a race: the report is no longer at the version (or status) it was read at."""


def report_key(tracking_id: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"REPORT#{tracking_id}"}, "SK": {"S": "META"}}


def due_shard(tracking_id: str, shards: int) -> int:
    return int.from_bytes(hashlib.sha256(tracking_id.encode()).digest()[:4], "big") % shards


def _months(first: str, last: str) -> list[str]:
    """``yyyy-mm`` from ``first`` to ``last`` inclusive."""
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value


class ReportStore:
    def __init__(self, table_name: str, *, due_index_shards: int, client: Any = None) -> None:
        self.table_name = table_name
        self.due_index_shards = due_index_shards
        self._client = client
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    def plain(self, item: dict[str, Any]) -> dict[str, Any]:
        """A DynamoDB-typed item (from a stream record, say) as plain Python values."""
        return self._plain(item)

    def _item(self, values: dict[str, Any]) -> dict[str, Any]:
        return {k: self._serializer.serialize(v) for k, v in _to_dynamo(values).items()}

    def _plain(self, item: dict[str, Any]) -> dict[str, Any]:
        return _from_dynamo({k: self._deserializer.deserialize(v) for k, v in item.items()})

    # -- reports -------------------------------------------------------------------------------------------

    def index_keys(self, report: dict[str, Any]) -> dict[str, str]:
        keys = {
            "agency_pk": f"AGENCY#{report['agency_id']}",
            "agency_sk": f"{report['status']}#{report['submitted_at']}",
            # Every report, by the month it was filed (UTC): Open311's date-window listings.
            "month_pk": f"MONTH#{report['submitted_at'][:7]}",
            "month_sk": f"{report['submitted_at']}#{report['tracking_id']}",
        }
        # Only reports still awaiting an agency, and not already at the top of the ladder, wait in ByDue.
        if report["status"] in OPEN_STATUSES and not report.get("overdue_final"):
            shard = due_shard(report["tracking_id"], self.due_index_shards)
            keys |= {"due_pk": f"DUE#{shard}", "due_sk": f"{report['due_at_utc']}#{report['tracking_id']}"}
        # An answered report waits in ByClosing for the reporter's word until it closes.
        if report["status"] == "responded" and report.get("closes_at_utc"):
            shard = due_shard(report["tracking_id"], self.due_index_shards)
            keys |= {"close_pk": f"CLOSE#{shard}", "close_sk": f"{report['closes_at_utc']}#{report['tracking_id']}"}
        return keys

    def create_report(self, report: dict[str, Any]) -> None:
        """Store a new report in one conditional write; never overwrites an existing tracking id."""
        item = report_key(report["tracking_id"]) | self._item(report | self.index_keys(report))
        try:
            self.client.put_item(
                TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(PK)"
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise TrackingIdTaken(report["tracking_id"]) from exc

    def get_report(self, tracking_id: str) -> dict[str, Any] | None:
        """The report as views may see it: without the reporter's identity."""
        response = self.client.get_item(TableName=self.table_name, Key=report_key(tracking_id), **_VIEW_PROJECTION)
        item = response.get("Item")
        return self._plain(item) if item else None

    def _page_before(self, index: str, key: str, partition: str, before: str, limit: int,
                     start_key: dict[str, Any] | None) -> tuple[list[dict[str, Any]], dict | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "IndexName": index, "Limit": limit,
            "KeyConditionExpression": f"{key}_pk = :pk AND {key}_sk < :before",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":before": {"S": before}},
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        page = self.client.query(**kwargs)
        return [self._plain(i) for i in page.get("Items", [])], page.get("LastEvaluatedKey")

    def overdue_page(self, shard: int, before: str, *, limit: int = 100,
                     start_key: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], dict | None]:
        """One page of shard ``shard`` of the ``ByDue`` index: reports due before ``before`` (a UTC instant),
        oldest deadline first. Only overdue reports are read, however large the table."""
        return self._page_before("ByDue", "due", f"DUE#{shard}", before, limit, start_key)

    def reports_filed_between(self, start_utc: str, end_utc: str, *, newest_first: bool = True
                              ) -> Iterator[dict[str, Any]]:
        """Reports filed from ``start_utc`` to ``end_utc`` (inclusive), month partition by month partition of
        ``ByMonth``, page by page as the caller reads on (it stops when it has enough)."""
        months = _months(start_utc[:7], end_utc[:7])
        for month in reversed(months) if newest_first else months:
            kwargs: dict[str, Any] = {
                "TableName": self.table_name, "IndexName": "ByMonth", "ScanIndexForward": not newest_first,
                "KeyConditionExpression": "month_pk = :pk AND month_sk BETWEEN :start AND :end",
                "ExpressionAttributeValues": {":pk": {"S": f"MONTH#{month}"}, ":start": {"S": start_utc},
                                              ":end": {"S": end_utc + "~"}},
            }
            while True:
                page = self.client.query(**kwargs)
                yield from (self._plain(i) for i in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_reports(self, tracking_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Several reports as views may see them (BatchGetItem, 100 at a time); unknown ids are left out."""
        wanted = list(dict.fromkeys(tracking_ids))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {self.table_name: {
                "Keys": [report_key(t) for t in wanted[start:start + 100]], **_VIEW_PROJECTION}}
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.table_name, []):
                    report = self._plain(item)
                    found[report["tracking_id"]] = report
                request = response.get("UnprocessedKeys") or {}
        return [found[t] for t in wanted if t in found]

    def closing_page(self, shard: int, before: str, *, limit: int = 100,
                     start_key: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], dict | None]:
        """One page of shard ``shard`` of ``ByClosing``: answered reports whose reporter stayed silent until
        ``before`` (a UTC instant), the longest-waiting first."""
        return self._page_before("ByClosing", "close", f"CLOSE#{shard}", before, limit, start_key)

    def put_sweep_run(self, run: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.table_name, Item={"PK": {"S": "SWEEP"}, "SK": {"S": run["id"]}}
                             | self._item(run))

    def add_to_sweep_run(self, run_id: str, counts: dict[str, int], *, finished_shard: bool) -> None:
        """Add a worker's counts to a scheduled run (workers finish in any order)."""
        deltas = counts | ({"shards_done": 1} if finished_shard else {})
        names = {f"#c{i}": name for i, name in enumerate(deltas)}
        self.client.update_item(
            TableName=self.table_name, Key={"PK": {"S": "SWEEP"}, "SK": {"S": run_id}},
            UpdateExpression="ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(deltas))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":c{i}": {"N": str(v)} for i, v in enumerate(deltas.values())},
        )

    def list_sweep_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        page = self.client.query(TableName=self.table_name, KeyConditionExpression="PK = :pk", Limit=limit,
                                 ScanIndexForward=False, ExpressionAttributeValues={":pk": {"S": "SWEEP"}})
        return [{k: v for k, v in self._plain(i).items() if k not in ("PK", "SK")} for i in page["Items"]]

    def get_reporter(self, tracking_id: str) -> dict[str, Any] | None:
        """The reporter's identity, read on purpose and only for those entitled to it (never for anonymous)."""
        response = self.client.get_item(
            TableName=self.table_name, Key=report_key(tracking_id), ProjectionExpression="#r",
            ExpressionAttributeNames={"#r": REPORTER_ATTRIBUTE},
        )
        item = response.get("Item")
        return self._plain(item)[REPORTER_ATTRIBUTE] if item else None

    def list_agency_reports(self, agency_id: str, *, status: str | None = None, limit: int = 50,
                            start_key: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], dict | None]:
        """One page of an agency's queue, newest first, from the ByAgency index (never a Scan)."""
        condition, values = "agency_pk = :pk", {":pk": {"S": f"AGENCY#{agency_id}"}}
        if status:
            condition += " AND begins_with(agency_sk, :status)"
            values[":status"] = {"S": f"{status}#"}
        kwargs: dict[str, Any] = {"TableName": self.table_name, "IndexName": "ByAgency",
                                  "KeyConditionExpression": condition, "ExpressionAttributeValues": values,
                                  "ScanIndexForward": False, "Limit": limit}
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        page = self.client.query(**kwargs)
        return [self._plain(i) for i in page.get("Items", [])], page.get("LastEvaluatedKey")

    def record_change(self, record: dict[str, Any], changes: dict[str, Any], *, event: dict[str, Any],
                      now_utc: str) -> dict[str, Any]:
        """Apply ``changes`` (``status`` and any other attributes) and append ``event``, in one write
        conditional on the version and status read. Index keys follow: a report that no longer awaits the
        agency leaves the "open by due" index in the same write. Returns the report as written.
        """
        changed = record | changes
        keys = self.index_keys(changed)
        sets = changes | {"agency_pk": keys["agency_pk"], "agency_sk": keys["agency_sk"],
                          "month_pk": keys["month_pk"], "month_sk": keys["month_sk"], "updated_at": now_utc}
        removes = []
        for pk, sk in (("due_pk", "due_sk"), ("close_pk", "close_sk")):
            if pk in keys:
                sets |= {pk: keys[pk], sk: keys[sk]}
            else:
                removes += [pk, sk]
        names = {f"#s{i}": name for i, name in enumerate(sets)} | {"#version": "version", "#timeline": "timeline",
                                                                   "#status": "status"}
        values = {f":s{i}": value for i, value in enumerate(sets.values())}
        values |= {":version": record["version"], ":old_status": record["status"], ":one": 1, ":event": [event]}
        update = "SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(sets)))
        update += ", #version = #version + :one, #timeline = list_append(#timeline, :event)"
        if removes:
            update += " REMOVE " + ", ".join(removes)
        try:
            self.client.update_item(
                TableName=self.table_name, Key=report_key(record["tracking_id"]), UpdateExpression=update,
                ConditionExpression="#version = :version AND #status = :old_status",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={k: self._serializer.serialize(_to_dynamo(v)) for k, v in values.items()},
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise ReportChanged(record["tracking_id"]) from exc
        return changed | {"version": record["version"] + 1, "timeline": [*record.get("timeline", []), event]}

    # -- Open311 API keys ------------------------------------------------------------------------------------

    def put_api_key(self, record: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.table_name, ConditionExpression="attribute_not_exists(PK)",
                             Item={"PK": {"S": "CONFIG#APIKEY"}, "SK": {"S": record["id"]}} | self._item(record))

    def get_api_key(self, key_id: str) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.table_name, ConsistentRead=True,
                                        Key={"PK": {"S": "CONFIG#APIKEY"}, "SK": {"S": key_id}})
        item = response.get("Item")
        return {k: v for k, v in self._plain(item).items() if k not in ("PK", "SK")} if item else None

    def list_api_keys(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in i.items() if k not in ("PK", "SK")} for i in self._query_partition("CONFIG#APIKEY")]

    def revoke_api_key(self, key_id: str, *, revoked_at: str, by: str) -> bool:
        """Mark a key revoked (kept for the record); False if there is no such key."""
        try:
            self.client.update_item(
                TableName=self.table_name, Key={"PK": {"S": "CONFIG#APIKEY"}, "SK": {"S": key_id}},
                UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :at), revoked_by = if_not_exists("
                                 "revoked_by, :by)", ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues={":at": {"S": revoked_at}, ":by": {"S": by}})
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # -- SMS -------------------------------------------------------------------------------------------------

    @staticmethod
    def _sms_message_key(provider: str, message_id: str) -> dict[str, dict[str, str]]:
        return {"PK": {"S": f"SMS#{provider}#{message_id}"}, "SK": {"S": "MESSAGE"}}

    @staticmethod
    def _sms_quota_key(phone_key: str, day: str) -> dict[str, dict[str, str]]:
        return {"PK": {"S": f"SMSQUOTA#{phone_key}"}, "SK": {"S": day}}

    def sms_reply(self, provider: str, message_id: str) -> str | None:
        """The reply given to a provider's message id, if it was seen before (providers resend)."""
        response = self.client.get_item(TableName=self.table_name, ConsistentRead=True,
                                        Key=self._sms_message_key(provider, message_id), ProjectionExpression="reply")
        return response["Item"]["reply"]["S"] if "Item" in response else None

    def remember_sms(self, provider: str, message_id: str, reply: str, *, expires_at: int) -> bool:
        """Record the reply to a message that filed nothing; False if the message id was seen already."""
        item = self._sms_message_key(provider, message_id) | {"reply": {"S": reply},
                                                              "expires_at": {"N": str(expires_at)}}
        try:
            self.client.put_item(TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(PK)")
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def sms_reports_on(self, phone_key: str, day: str) -> int:
        response = self.client.get_item(TableName=self.table_name, ConsistentRead=True,
                                        Key=self._sms_quota_key(phone_key, day), ProjectionExpression="filed")
        return int(response["Item"]["filed"]["N"]) if "Item" in response else 0

    def create_sms_report(self, report: dict[str, Any], *, provider: str, message_id: str, reply: str,
                          phone_key: str, day: str, daily_limit: int, expires_at: int) -> None:
        """File a report from an SMS in one transaction with its message id and the phone's daily count, so
        a resent message never files twice and the limit holds under concurrent messages."""
        item = report_key(report["tracking_id"]) | self._item(report | self.index_keys(report))
        message = self._sms_message_key(provider, message_id) | {
            "reply": {"S": reply}, "tracking_id": {"S": report["tracking_id"]}, "expires_at": {"N": str(expires_at)}}
        transaction = [
            {"Put": {"TableName": self.table_name, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Put": {"TableName": self.table_name, "Item": message,
                     "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Update": {"TableName": self.table_name, "Key": self._sms_quota_key(phone_key, day),
                        "UpdateExpression": "ADD filed :one SET expires_at = :expires",
                        "ConditionExpression": "attribute_not_exists(filed) OR filed < :limit",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":limit": {"N": str(daily_limit)},
                                                      ":expires": {"N": str(expires_at)}}}},
        ]
        for attempt in range(SMS_TRANSACTION_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=transaction)
                return
            except self.client.exceptions.TransactionCanceledException as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if reasons[:1] == ["ConditionalCheckFailed"]:
                    raise TrackingIdTaken(report["tracking_id"]) from exc
                if reasons[1:2] == ["ConditionalCheckFailed"]:
                    raise MessageSeen(message_id) from exc
                if reasons[2:3] == ["ConditionalCheckFailed"]:
                    raise DailyLimitReached(phone_key) from exc
                # Two messages from one phone at once contend for its quota item: try again, never drop one.
                if "TransactionConflict" not in reasons or attempt == SMS_TRANSACTION_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))

    def get_reply_channel(self, tracking_id: str) -> str | None:
        """The phone an SMS report came from: read only to check who may ask about it, never for a view."""
        response = self.client.get_item(TableName=self.table_name, Key=report_key(tracking_id),
                                        ProjectionExpression="reply_to")
        return response.get("Item", {}).get("reply_to", {}).get("S")

    # -- statistics ----------------------------------------------------------------------------------------

    def apply_stats(self, event_id: str, day: str, changes: dict[str, dict[str, int]], *, expires_at: int) -> bool:
        """Add ``changes`` (scope → counter → delta) to the day's counters, once per stream event.

        A marker for the event and the counters are one transaction: a redelivered stream record finds the
        marker and changes nothing. Returns False when the event had been applied already.
        """
        items: list[dict[str, Any]] = [{"Put": {
            "TableName": self.table_name, "ConditionExpression": "attribute_not_exists(PK)",
            "Item": {"PK": {"S": f"STATSEEN#{event_id}"}, "SK": {"S": "MARK"}, "expires_at": {"N": str(expires_at)}},
        }}]
        for scope, deltas in changes.items():
            names = {f"#c{i}": counter for i, counter in enumerate(deltas)}
            values = {f":c{i}": {"N": str(delta)} for i, delta in enumerate(deltas.values())}
            items.append({"Update": {
                "TableName": self.table_name, "Key": {"PK": {"S": f"STATS#{scope}"}, "SK": {"S": day}},
                "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(deltas))),
                "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
            }})
        try:
            self.client.transact_write_items(TransactItems=items)
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True

    def stats_applied(self, event_id: str) -> bool:
        """Whether a stream event was counted already (a redelivery), read before trying to count it again."""
        response = self.client.get_item(TableName=self.table_name, ConsistentRead=True, ProjectionExpression="PK",
                                        Key={"PK": {"S": f"STATSEEN#{event_id}"}, "SK": {"S": "MARK"}})
        return "Item" in response

    def read_stats(self, scope: str, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """The daily counter items of ``scope`` from ``first_day`` to ``last_day`` (inclusive)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "KeyConditionExpression": "PK = :pk AND SK BETWEEN :first AND :last",
            "ExpressionAttributeValues": {":pk": {"S": f"STATS#{scope}"}, ":first": {"S": first_day},
                                          ":last": {"S": last_day}},
        }
        buckets = []
        while True:
            page = self.client.query(**kwargs)
            buckets += [{k: v for k, v in self._plain(i).items() if k not in ("PK", "SK")} for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return buckets
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- routing configuration -----------------------------------------------------------------------------

    def _query_partition(self, pk: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
        }
        while True:
            page = self.client.query(**kwargs)
            for item in page.get("Items", []):
                yield self._plain(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    @staticmethod
    def _fields(item: dict[str, Any], cls: type) -> dict[str, Any]:
        return {k: item.get(k) for k in cls.__dataclass_fields__}

    def list_agencies(self) -> list[Agency]:
        return [Agency(**self._fields(i, Agency)) for i in self._query_partition("CONFIG#AGENCY")]

    def list_routes(self) -> list[Route]:
        return [Route(**self._fields(i, Route)) for i in self._query_partition("CONFIG#ROUTE")]

    def list_calendar_overrides(self) -> list[dict[str, Any]]:
        """``[{date, working, reason}]``: single dates an operator declared working or non-working."""
        return [{k: i.get(k) for k in ("date", "working", "reason")} for i in self._query_partition("CONFIG#CALENDAR")]

    def _batch_put(self, items: Iterable[dict[str, Any]]) -> int:
        pending = [{"PutRequest": {"Item": item}} for item in items]
        count = len(pending)
        while pending:
            batch, pending = pending[:25], pending[25:]
            unprocessed = self.client.batch_write_item(RequestItems={self.table_name: batch})
            pending = unprocessed.get("UnprocessedItems", {}).get(self.table_name, []) + pending
        return count

    def _batch_delete(self, keys: Iterable[dict[str, Any]]) -> None:
        pending = [{"DeleteRequest": {"Key": key}} for key in keys]
        while pending:
            batch, pending = pending[:25], pending[25:]
            unprocessed = self.client.batch_write_item(RequestItems={self.table_name: batch})
            pending = unprocessed.get("UnprocessedItems", {}).get(self.table_name, []) + pending

    def _replace_partition(self, pk: str, items: dict[str, dict[str, Any]]) -> None:
        """Make partition ``pk`` hold exactly ``items`` (sort key → attributes): put all, delete the rest."""
        existing = {item["SK"] for item in self._query_partition(pk)}
        self._batch_put({"PK": {"S": pk}, "SK": {"S": sk}} | self._item(values) for sk, values in items.items())
        self._batch_delete({"PK": {"S": pk}, "SK": {"S": sk}} for sk in existing - set(items))

    def replace_agencies(self, agencies: Iterable[Agency]) -> None:
        self._replace_partition("CONFIG#AGENCY", {a.id: asdict(a) for a in agencies})

    def replace_routes(self, routes: Iterable[Route]) -> None:
        self._replace_partition("CONFIG#ROUTE", {f"{r.region_code}#{r.category}": asdict(r) for r in routes})

    def replace_calendar_overrides(self, overrides: Iterable[dict[str, Any]]) -> None:
        self._replace_partition("CONFIG#CALENDAR", {o["date"]: o for o in overrides})

    def agency_has_reports(self, agency_id: str) -> bool:
        page = self.client.query(TableName=self.table_name, IndexName="ByAgency", Limit=1,
                                 KeyConditionExpression="agency_pk = :pk",
                                 ExpressionAttributeValues={":pk": {"S": f"AGENCY#{agency_id}"}})
        return bool(page.get("Items"))

    def put_agencies(self, agencies: Iterable[Agency]) -> int:
        return self._batch_put(
            {"PK": {"S": "CONFIG#AGENCY"}, "SK": {"S": a.id}} | self._item(asdict(a)) for a in agencies
        )

    def put_routes(self, routes: Iterable[Route]) -> int:
        return self._batch_put(
            {"PK": {"S": "CONFIG#ROUTE"}, "SK": {"S": f"{r.region_code}#{r.category}"}} | self._item(asdict(r))
            for r in routes
        )

    def put_calendar_override(self, day: date, *, working: bool, reason: str) -> None:
        item = {"date": day.isoformat(), "working": working, "reason": reason}
        self.client.put_item(
            TableName=self.table_name,
            Item={"PK": {"S": "CONFIG#CALENDAR"}, "SK": {"S": day.isoformat()}} | self._item(item),
        )
