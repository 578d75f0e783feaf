"""Reports: the report item (``keys.report_key``), one item per timeline event (``keys.event_key``) and the
indexes that find reports (``keys.py``).

Every change is one transaction: the report, conditional on the version and status read, and its event. The
report item keeps only the events of its latest change (``latest_events``, for the stream consumers), so it
stays small however long the timeline grows.
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from lapor.dal import keys
from lapor.dal.table import Table, _to_dynamo, without_keys

REPORTER_ATTRIBUTE = "reporter"
# What ``index_keys`` needs of a report, read by ``reindex``.
REINDEX_READS = ("tracking_id", "category", "status", "region_code", "privacy", "submitted_at", "agency_id",
                 "due_at_utc", "closes_at_utc", "overdue_final", "version", "location")
SUPPORT_ATTEMPTS = 4  # a support's transaction, tried again while other writes hold the report
# Index items a page of Open311's filtered listings reads per key when it merges several keys.
SERVICE_PAGE_SIZE = 100
# What a report view may read. ``reporter`` is deliberately absent: views never load identity.
VIEW_ATTRIBUTES = (
    "tracking_id", "kind", "category", "region_code", "title", "description", "privacy", "location", "status",
    "agency_id", "agency_name", "escalation_level", "submitted_at", "due_at", "due_at_utc", "version",
    "access_code_hash", "channel", "overdue_final", "deadline_working_days", "closes_at_utc",
    "status_notes", "updated_at", "answer_id", "answered_at", "first_answered_at", "reopens",
    "rated_answer_id", "flags", "attachments_ready", "attachments_freed", "media_url", "media_key",
    "address", "supporters", "merged_into", "resolution", "status_before_merge", "absorbed",
)
# What a line of an agency's queue needs of a report read by id (``ByAgency`` projects the same, but
# ``supporters``): the queue sorted by supporters reads its lines from the report items (``BySupport`` is KEYS_ONLY).
QUEUE_ATTRIBUTES = (
    "tracking_id", "kind", "category", "region_code", "title", "privacy", "status", "agency_id", "agency_name",
    "escalation_level", "submitted_at", "due_at", "due_at_utc", "version", "overdue_final", "supporters",
)
# An event item holds its event as one map, so that a view's projection names it without knowing its fields.
EVENT_ATTRIBUTE = "event"
# An attachment item holds its attachment as one map, likewise.
ATTACHMENT_ATTRIBUTE = "attachment"


def _projection(*names: str) -> dict[str, Any]:
    aliases = {f"#a{i}": name for i, name in enumerate(names)}
    return {"ProjectionExpression": ", ".join(aliases), "ExpressionAttributeNames": aliases}


_VIEW_PROJECTION = _projection(*VIEW_ATTRIBUTES)
_QUEUE_PROJECTION = _projection(*QUEUE_ATTRIBUTES)
_TIMELINE_PROJECTION = _projection(*VIEW_ATTRIBUTES, EVENT_ATTRIBUTE, ATTACHMENT_ATTRIBUTE, "SK")
Page = tuple[list[dict[str, Any]], dict | None]


class TrackingIdTaken(Exception):
    """The random tracking id is already used; the caller draws another."""


class WriteRefused(Exception):
    """The condition of one of the entries a caller added to a report's transaction failed (its index), or
    another transaction held its item (``code``: DynamoDB's cancellation reason, when known)."""

    def __init__(self, index: int, code: str | None = None) -> None:
        super().__init__(index)
        self.index = index
        self.code = code


class ReportBusy(Exception):
    """Other writes held the report's item through every attempt (a burst of supports): nothing was written."""


class ReportChanged(Exception):
    """A conditional update lost a race: the report is no longer at the version (or status) it was read at."""


def _months(first: str, last: str) -> list[str]:
    """``yyyy-mm`` from ``first`` to ``last`` inclusive."""
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


class ReportStore(Table):
    def __init__(self, table_name: str, *, due_index_shards: int, **connection: Any) -> None:
        super().__init__(table_name, **connection)
        self.due_index_shards = due_index_shards

    def index_keys(self, report: dict[str, Any]) -> dict[str, str]:
        return keys.index_keys(report, self.due_index_shards)

    def new_items(self, report: dict[str, Any]) -> list[dict[str, Any]]:
        """A new report's items: the report with its index keys, then one item per event of ``timeline``."""
        events = report["timeline"]
        item = keys.report_key(report["tracking_id"]) | self._item(
            {k: v for k, v in report.items() if k != "timeline"} | {"latest_events": events}
            | self.index_keys(report))
        return [item] + [self._event_item(report["tracking_id"], report["version"], n, event, report["privacy"])
                         for n, event in enumerate(events)]

    def filing_writes(self, report: dict[str, Any]) -> list[dict[str, Any]]:
        """A new report as transaction entries, the report first: it never overwrites a tracking id in use
        (the entry whose condition fails is then the first). Filed alone here, or in a caller's transaction."""
        return [{"Put": {"TableName": self.table_name, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}
                for item in self.new_items(report)]

    def create_report(self, report: dict[str, Any], *, also: list[dict[str, Any]] = ()) -> None:
        """Store a new report (and ``also``, more transaction entries) in one transaction.

        Raises TrackingIdTaken when the id is in use, WriteRefused(i) when ``also[i]``'s condition fails (or
        another transaction holds that item)."""
        filing = self.filing_writes(report)
        try:
            self.client.transact_write_items(TransactItems=filing + list(also))
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in reasons[:len(filing)]:
                raise TrackingIdTaken(report["tracking_id"]) from exc
            # A failed condition, or another transaction writing that item at this moment.
            refused = [(i, code) for i, code in enumerate(reasons[len(filing):])
                       if code in ("ConditionalCheckFailed", "TransactionConflict")]
            if refused:
                raise WriteRefused(*refused[0]) from exc
            raise

    def _event_item(self, tracking_id: str, version: int, n: int, event: dict[str, Any],
                    privacy: str | None = None) -> dict[str, Any]:
        return keys.event_key(tracking_id, version, n) | self._item(
            {EVENT_ATTRIBUTE: event} | keys.update_keys(tracking_id, version, event, privacy))

    def get_report(self, tracking_id: str, *, timeline: bool = False) -> dict[str, Any] | None:
        """The report as views may see it: without the reporter's identity; with ``timeline``, its events in
        order and its ``attachments`` (one strongly consistent Query of the report's partition: the report, its
        event items and its attachment slots)."""
        if not timeline:
            response = self.client.get_item(TableName=self.table_name, Key=keys.report_key(tracking_id),
                                            **_VIEW_PROJECTION)
            item = response.get("Item")
            return self._plain(item) if item else None
        report, events, attachments = None, [], []
        for item in self._query_partition(keys.report_partition(tracking_id), consistent=True,
                                          **_TIMELINE_PROJECTION):
            if item["SK"] == "META":
                report = without_keys(item)
            elif item["SK"].startswith(keys.EVENT_PREFIX):
                events.append(item[EVENT_ATTRIBUTE])
            elif item["SK"].startswith(keys.ATTACHMENT_PREFIX):
                attachments.append(item[ATTACHMENT_ATTRIBUTE] | {"slot": int(item["SK"][len(keys.ATTACHMENT_PREFIX):])})
        return report | {"timeline": events, "attachments": attachments} if report else None

    # -- attachments (at most ``len(slots)`` per report, one item per slot in the report's partition) --------

    def list_attachments(self, tracking_id: str) -> list[dict[str, Any]]:
        """A report's attachments (each with its ``slot``), in slot order; strongly consistent."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "ConsistentRead": True,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": keys.report_partition(tracking_id)},
                                          ":prefix": {"S": keys.ATTACHMENT_PREFIX}},
        }
        items = self.client.query(**kwargs).get("Items", [])  # at most a handful of small items: one page
        return [self._plain(i)[ATTACHMENT_ATTRIBUTE] | {"slot": int(i["SK"]["S"][len(keys.ATTACHMENT_PREFIX):])}
                for i in items]

    def claim_attachment_slot(self, tracking_id: str, slot: int, attachment: dict[str, Any], *,
                              now_epoch: int) -> bool:
        """Put ``attachment`` (status ``pending``) in ``slot`` if the slot is free: empty, rejected, removed by
        the reporter with ``frees_slot``, or pending with its upload window past (``attachments.slot_free``).
        False when another request took it first."""
        try:
            self.client.put_item(
                TableName=self.table_name, Item=keys.attachment_key(tracking_id, slot)
                | self._item({ATTACHMENT_ATTRIBUTE: attachment}),
                ConditionExpression="attribute_not_exists(PK) OR #a.#st = :rejected "
                                    "OR (#a.#st = :removed AND #a.#free = :true) "
                                    "OR (#a.#st = :pending AND #a.#exp < :now)",
                ExpressionAttributeNames={"#a": ATTACHMENT_ATTRIBUTE, "#st": "status", "#exp": "upload_expires_at",
                                          "#free": "frees_slot"},
                ExpressionAttributeValues={":rejected": {"S": "rejected"}, ":pending": {"S": "pending"},
                                           ":removed": {"S": "removed"}, ":true": {"BOOL": True},
                                           ":now": {"N": str(now_epoch)}})
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _attachment_update(self, tracking_id: str, slot: int, attachment_id: str, changes: dict[str, Any], *,
                           expected_status: str = "pending") -> dict[str, Any]:
        """An UpdateItem of one attachment, conditional on it being ``attachment_id`` and still
        ``expected_status`` (pending, unless said)."""
        if not expected_status.isalpha():
            raise ValueError(f"not a status: {expected_status!r}")
        names = {"#a": ATTACHMENT_ATTRIBUTE, "#st": "status", "#id": "attachment_id"}
        names |= {f"#c{i}": name for i, name in enumerate(changes)}
        values = {f":{expected_status}": expected_status, ":id": attachment_id}
        values |= {f":c{i}": v for i, v in enumerate(changes.values())}
        return {
            "TableName": self.table_name, "Key": keys.attachment_key(tracking_id, slot),
            "UpdateExpression": "SET " + ", ".join(f"#a.#c{i} = :c{i}" for i in range(len(changes))),
            "ConditionExpression": f"#a.#st = :{expected_status} AND #a.#id = :id",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {k: self._serializer.serialize(_to_dynamo(v)) for k, v in values.items()},
        }

    def reject_attachment(self, tracking_id: str, slot: int, attachment_id: str, reason: str) -> bool:
        """Mark a pending attachment ``rejected`` with ``reason``; False if it is no longer pending."""
        try:
            self.client.update_item(**self._attachment_update(tracking_id, slot, attachment_id,
                                                              {"status": "rejected", "reason": reason}))
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def attachment_ready(self, record: dict[str, Any], slot: int, attachment_id: str, changes: dict[str, Any], *,
                         event: dict[str, Any], now_utc: str,
                         report_changes: dict[str, Any] | None = None) -> dict[str, Any]:
        """Mark a pending attachment ``ready`` (with ``changes``) and add ``event`` to the timeline, in one
        transaction with the report's change (``report_changes``, e.g. its ``media_key``). Raises WriteRefused(0)
        when the attachment is no longer pending (a redelivered S3 event, or removed or hidden meanwhile),
        ReportChanged when the report moved on since it was read."""
        update = self._attachment_update(record["tracking_id"], slot, attachment_id, changes | {"status": "ready"})
        # The report counts its ready attachments: the public view reads the slots only when there is one.
        counted = {"attachments_ready": record.get("attachments_ready", 0) + 1} | (report_changes or {})
        return self.record_change(record, counted, event=event, now_utc=now_utc, also=[{"Update": update}])

    def change_attachment(self, record: dict[str, Any], slot: int, attachment_id: str, *, expected_status: str,
                          changes: dict[str, Any], report_changes: dict[str, Any], event: dict[str, Any],
                          now_utc: str) -> dict[str, Any]:
        """Apply ``changes`` to an attachment still ``expected_status`` (its removal or hiding) and
        ``report_changes`` to the report with ``event`` on its timeline, in one transaction. Raises WriteRefused(0)
        when the attachment changed since it was read, ReportChanged when the report did."""
        update = self._attachment_update(record["tracking_id"], slot, attachment_id, changes,
                                         expected_status=expected_status)
        return self.record_change(record, report_changes, event=event, now_utc=now_utc, also=[{"Update": update}])

    def get_reports(self, tracking_ids: Iterable[str], *, projection: dict[str, Any] | None = None
                    ) -> list[dict[str, Any]]:
        """Several reports as views may see them (BatchGetItem, 100 at a time); unknown ids are left out.
        ``projection``: fewer attributes (``_QUEUE_PROJECTION``), never more than a view's."""
        wanted = list(dict.fromkeys(tracking_ids))
        found = self._reports_by_id(wanted, projection or _VIEW_PROJECTION)
        return [found[t] for t in wanted if t in found]

    def _reports_by_id(self, tracking_ids: Iterable[str], projection: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Report items by tracking id, ``projection`` (naming ``tracking_id``) of each: BatchGetItem, 100 keys a
        call, what DynamoDB leaves unprocessed sent again; unknown ids are left out."""
        wanted = list(dict.fromkeys(tracking_ids))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {self.table_name: {
                "Keys": [keys.report_key(t) for t in wanted[start:start + 100]], **projection}}
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.table_name, []):
                    report = self._plain(item)
                    found[report["tracking_id"]] = report
                request = response.get("UnprocessedKeys") or {}
        return found

    def get_timeline(self, tracking_id: str) -> list[dict[str, Any]]:
        """A report's events in order (strongly consistent: a change just written is on it)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "ConsistentRead": True, "ProjectionExpression": "#e",
            "ExpressionAttributeNames": {"#e": EVENT_ATTRIBUTE},
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :events)",
            "ExpressionAttributeValues": {":pk": {"S": keys.report_partition(tracking_id)},
                                          ":events": {"S": keys.EVENT_PREFIX}},
        }
        events = []
        while True:
            page = self.client.query(**kwargs)
            events += [self._plain(item)[EVENT_ATTRIBUTE] for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return events
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get_reporter(self, tracking_id: str) -> dict[str, Any] | None:
        """The reporter's identity, read on purpose and only for those entitled to it (never for anonymous)."""
        response = self.client.get_item(
            TableName=self.table_name, Key=keys.report_key(tracking_id), ProjectionExpression="#r",
            ExpressionAttributeNames={"#r": REPORTER_ATTRIBUTE},
        )
        item = response.get("Item")
        return self._plain(item)[REPORTER_ATTRIBUTE] if item else None

    def get_reply_channel(self, tracking_id: str) -> str | None:
        """The phone an SMS report came from: read only to check who may ask about it, never for a view."""
        response = self.client.get_item(TableName=self.table_name, Key=keys.report_key(tracking_id),
                                        ProjectionExpression="reply_to")
        return response.get("Item", {}).get("reply_to", {}).get("S")

    def record_change(self, record: dict[str, Any], changes: dict[str, Any], *, event: dict[str, Any],
                      now_utc: str, also: list[dict[str, Any]] = (), remove: Iterable[str] = (),
                      without_duplicates: bool = False) -> dict[str, Any]:
        """Apply ``changes`` (``status`` and any other attributes) and add ``event`` to the timeline, in one
        transaction conditional on the version and status read. Index keys follow: a report that no longer
        awaits the agency leaves the "open by due" index in the same write. Returns the report as written
        (with ``timeline`` extended when ``record`` carried one). ``also``: more entries for the transaction;
        WriteRefused(i) when ``also[i]``'s condition fails. ``remove``: attributes the change takes away (an
        undone merge's ``merged_into``), never an index key (those follow the state).
        """
        remove = [name for name in remove if name not in changes]
        if set(remove) & {*keys.REPORT_INDEX_ATTRIBUTES, *keys.COUNTED_INDEX_ATTRIBUTES}:
            raise ValueError("index keys follow the report's state; they are not removed by name")
        changed = {k: v for k, v in record.items() if k not in remove} | changes
        version = record["version"] + 1
        index = self.index_keys(changed)
        sets = changes | {"agency_pk": index["agency_pk"], "agency_sk": index["agency_sk"],
                          "month_pk": index["month_pk"], "month_sk": index["month_sk"], "updated_at": now_utc,
                          "latest_events": [event]}
        removes = []
        for pk, sk in (("due_pk", "due_sk"), ("close_pk", "close_sk")):
            if pk in index:
                sets |= {pk: index[pk], sk: index[sk]}
            else:
                removes += [pk, sk]
        # The public listing follows the status too (a rejected report leaves it); a report filed before the
        # public indexes existed joins them at its next change. A record read from an index that does not project
        # ``privacy`` (the sweep's ByDue and ByClosing) leaves them as they are: the sweep never rejects, and
        # region and filing time, all the keys depend on, never change.
        if "privacy" in changed:
            for name in (*keys.PUBLIC_PK.values(), keys.PUBLIC_SK):
                if name in index:
                    sets[name] = index[name]
                else:
                    removes.append(name)
        # Open311's filtered listings follow the status, category and privacy (as above); the sweep's records carry
        # neither category nor privacy and leave them be: escalating keeps a report open, closing an answered one
        # keeps it closed, in Open311's terms (``lifecycle.open311_status``).
        if "privacy" in changed and "category" in changed:
            for name in keys.SERVICE_PK.values():
                if name in index:
                    sets[name] = index[name]
                else:
                    removes.append(name)
        # The geographic index: a closed or rejected report leaves it whatever record it was read from (the
        # sweep closes reports read from ByClosing, which projects neither ``privacy`` nor ``location``); an open
        # one joins or stays only when the record read says it is public and located.
        if changed["status"] not in keys.NEARBY_STATUSES:
            removes += [keys.NEARBY_PK, keys.NEARBY_SK]
        elif "privacy" in changed:
            if keys.NEARBY_PK in index:
                sets |= {keys.NEARBY_PK: index[keys.NEARBY_PK], keys.NEARBY_SK: index[keys.NEARBY_SK]}
            else:
                removes += [keys.NEARBY_PK, keys.NEARBY_SK]
        names = {f"#s{i}": name for i, name in enumerate(sets)} | {"#version": "version", "#status": "status"}
        names |= {f"#r{i}": name for i, name in enumerate(remove)}
        removes += [f"#r{i}" for i in range(len(remove))]
        values = {f":s{i}": value for i, value in enumerate(sets.values())}
        values |= {":version": record["version"], ":old_status": record["status"], ":one": 1}
        if without_duplicates:
            names["#absorbed"], values[":zero"] = "absorbed", 0
        update = "SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(sets))) + ", #version = #version + :one"
        if removes:
            update += " REMOVE " + ", ".join(removes)
        report_update = {
            "TableName": self.table_name, "Key": keys.report_key(record["tracking_id"]), "UpdateExpression": update,
            "ConditionExpression": "#version = :version AND #status = :old_status" + (
                # A merge: no report was merged into this one meanwhile (``absorbed`` moves without ``version``).
                " AND (attribute_not_exists(#absorbed) OR #absorbed = :zero)" if without_duplicates else ""),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {k: self._serializer.serialize(_to_dynamo(v)) for k, v in values.items()},
        }
        event_put = {"TableName": self.table_name,
                     "Item": self._event_item(record["tracking_id"], version, 0, event, changed.get("privacy")),
                     "ConditionExpression": "attribute_not_exists(PK)"}
        try:
            self.client.transact_write_items(TransactItems=[{"Update": report_update}, {"Put": event_put},
                                                            *also])
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            refused = [i for i, code in enumerate(reasons[2:]) if code == "ConditionalCheckFailed"]
            if refused and "ConditionalCheckFailed" not in reasons[:2]:
                raise WriteRefused(refused[0]) from exc
            # A failed condition, or another transaction on the report at this moment: either way it is no
            # longer the report that was read.
            raise ReportChanged(record["tracking_id"]) from exc
        written = changed | {"version": version, "latest_events": [event]}
        if "timeline" in record:
            written["timeline"] = [*record["timeline"], event]
        return written

    # -- merged duplicates: ``absorbed`` on the master, an ``ABSORBED#`` item per duplicate in its partition -----

    def merge_entries(self, master: str, duplicate: str, *, merged_at: str) -> list[dict[str, Any]]:
        """What a merge writes beside the duplicate's change (``record_change(also=...)``): the master, on
        condition that it exists, is not rejected and is not merged itself (no chains), counts one more
        ``absorbed``; the ``ABSORBED#<duplicate>`` item in the master's partition. WriteRefused(0) when the
        master no longer qualifies."""
        return [
            {"Update": {
                "TableName": self.table_name, "Key": keys.report_key(master),
                "UpdateExpression": "ADD #absorbed :one",
                "ConditionExpression": "attribute_exists(PK) AND #status <> :rejected "
                                       "AND attribute_not_exists(#merged)",
                "ExpressionAttributeNames": {"#absorbed": "absorbed", "#status": "status", "#merged": "merged_into"},
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":rejected": {"S": "rejected"}}}},
            # A link a merge undone left (``undone_at``) is replaced: the pair merged again.
            {"Put": {
                "TableName": self.table_name, "ConditionExpression": "attribute_not_exists(PK) OR attribute_exists(undone_at)",
                "Item": keys.absorbed_key(master, duplicate) | self._item({"tracking_id": duplicate,
                                                                           "merged_at": merged_at})}},
        ]

    def unmerge_entries(self, master: str, duplicate: str, *, undone_at: str) -> list[dict[str, Any]]:
        """What undoing a merge writes beside the duplicate's change: the master counts one less ``absorbed``;
        the ``ABSORBED#<duplicate>`` item is marked ``undone_at`` (kept, not deleted: no function may delete items
        of the reports table, docs/security.md), so the master's notices no longer reach that reporter.
        WriteRefused(0) if the master is not there."""
        return [
            {"Update": {
                "TableName": self.table_name, "Key": keys.report_key(master),
                "UpdateExpression": "ADD #absorbed :minus_one",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeNames": {"#absorbed": "absorbed"},
                "ExpressionAttributeValues": {":minus_one": {"N": "-1"}}}},
            {"Update": {"TableName": self.table_name, "Key": keys.absorbed_key(master, duplicate),
                        "UpdateExpression": "SET undone_at = :at",
                        "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(undone_at)",
                        "ExpressionAttributeValues": {":at": {"S": undone_at}}}},
        ]

    def absorbed_reply_channels(self, master: str) -> list[dict[str, Any]]:
        """The reports merged into ``master`` with the phone each was sent from (``reply_to``, SMS reports only):
        one Query of the master's ``ABSORBED#`` items, then one BatchGetItem projecting ``tracking_id`` and
        ``reply_to`` alone. For NotifyFunction: nothing here reaches a view or a log."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "ProjectionExpression": "tracking_id",
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "FilterExpression": "attribute_not_exists(undone_at)",  # merges undone: no longer told
            "ExpressionAttributeValues": {":pk": {"S": keys.report_partition(master)},
                                          ":prefix": {"S": keys.ABSORBED_PREFIX}},
        }
        duplicates: list[str] = []
        while True:
            page = self.client.query(**kwargs)
            duplicates += [item["tracking_id"]["S"] for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        found = self._reports_by_id(duplicates, _projection("tracking_id", "reply_to"))
        return [found[t] for t in duplicates if t in found]

    # -- reading through the indexes -----------------------------------------------------------------------

    def _page_before(self, index: str, key: str, partition: str, before: str, limit: int,
                     start_key: dict[str, Any] | None) -> Page:
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
                     start_key: dict[str, Any] | None = None) -> Page:
        """One page of shard ``shard`` of the ``ByDue`` index: reports due before ``before`` (a UTC instant),
        oldest deadline first. Only overdue reports are read, however large the table."""
        return self._page_before(keys.BY_DUE, "due", keys.due_partition(shard), before, limit, start_key)

    def closing_page(self, shard: int, before: str, *, limit: int = 100,
                     start_key: dict[str, Any] | None = None) -> Page:
        """One page of shard ``shard`` of ``ByClosing``: answered reports whose reporter stayed silent until
        ``before`` (a UTC instant), the longest-waiting first."""
        return self._page_before(keys.BY_CLOSING, "close", keys.closing_partition(shard), before, limit, start_key)

    def list_agency_reports(self, agency_id: str, *, status: str | None = None, limit: int = 50,
                            start_key: dict[str, Any] | None = None) -> Page:
        """One page of an agency's queue, newest first, from the ByAgency index (never a Scan)."""
        condition, values = "agency_pk = :pk", {":pk": {"S": keys.agency_partition(agency_id)}}
        if status:
            condition += " AND begins_with(agency_sk, :status)"
            values[":status"] = {"S": keys.agency_status_prefix(status)}
        kwargs: dict[str, Any] = {"TableName": self.table_name, "IndexName": keys.BY_AGENCY,
                                  "KeyConditionExpression": condition, "ExpressionAttributeValues": values,
                                  "ScanIndexForward": False, "Limit": limit}
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        page = self.client.query(**kwargs)
        return [self._plain(i) for i in page.get("Items", [])], page.get("LastEvaluatedKey")

    def list_agency_reports_by_support(self, agency_id: str, *, status: str | None = None, limit: int = 50,
                                       start_key: dict[str, Any] | None = None, max_queries: int = 5) -> Page:
        """One page of an agency's queue, most supported first, never a Scan nor the whole queue: first the
        reports with supporters, from ``BySupport`` (``agency_pk``, sort ``supporters`` descending; equal counts in
        the index's own order, stable from page to page), each read by id (BatchGetItem of ``QUEUE_ATTRIBUTES``:
        the index is KEYS_ONLY); then those without, in ``ByAgency``'s order (the default queue's), skipping the
        ones with supporters (read with ``supporter_counts``). ``status`` keeps a report read from ``BySupport``
        only if it is in that status (the index cannot hold the status: a filtered page reads the agency's
        supported reports of other statuses it passes) and narrows ``ByAgency`` to the status's key range.

        ``start_key`` / the key returned: ``{"phase": "supported", "key": <BySupport key>}`` or ``{"phase":
        "rest"[, "key": <ByAgency key>]}``. Each Query asks for just the lines still missing, and at most
        ``max_queries`` are made: a filtered page may hold fewer than ``limit`` lines and still a next key. A
        report that gets its first supporter while a client pages moves from the second part to the first (it
        may then be missed, or shown twice, by that client)."""
        position: dict[str, Any] | None = start_key or {"phase": "supported"}
        found: list[dict[str, Any]] = []
        queries = 0
        while position and len(found) < limit and queries < max_queries:
            queries += 1
            missing = limit - len(found)
            if position["phase"] == "supported":
                kwargs: dict[str, Any] = {
                    "TableName": self.table_name, "IndexName": keys.BY_SUPPORT, "ScanIndexForward": False,
                    "KeyConditionExpression": "agency_pk = :pk", "Limit": missing,
                    "ExpressionAttributeValues": {":pk": {"S": keys.agency_partition(agency_id)}}}
                if position.get("key"):
                    kwargs["ExclusiveStartKey"] = position["key"]
                page = self.client.query(**kwargs)
                ids = [item["PK"]["S"].removeprefix("REPORT#") for item in page.get("Items", [])]
                # The index lags its table a little: the item read by id decides agency and status.
                found += [report for report in self.get_reports(ids, projection=_QUEUE_PROJECTION)
                          if report.get("agency_id") == agency_id and report.get("supporters")
                          and (status is None or report["status"] == status)]
                last = page.get("LastEvaluatedKey")
                position = {"phase": "supported", "key": last} if last else {"phase": "rest"}
            else:
                items, last = self.list_agency_reports(agency_id, status=status, limit=missing,
                                                       start_key=position.get("key"))
                counts = self.supporter_counts(i["tracking_id"] for i in items)
                found += [i | {"supporters": 0} for i in items if not counts.get(i["tracking_id"])]
                position = {"phase": "rest", "key": last} if last else None
        return found, position

    def agency_reports_since(self, agency_id: str, statuses: Iterable[str], since: str, *, category: str,
                             limit: int, exclude_public: bool = False) -> tuple[list[dict[str, Any]], int]:
        """An agency's reports of ``category`` in ``statuses`` filed since ``since`` (a UTC instant), newest first
        per status: one Query of ByAgency per status (the key range ``keys.agency_since_range``), one page of at
        most ``limit`` index items each, ``category`` (and with ``exclude_public``, ``privacy <> public``) filtered
        by DynamoDB on what the range holds. Never a Scan; the items are the index's projection (no location, no
        reporter). Returns the items and the index items read (``ScannedCount``: what the Queries cost)."""
        found: list[dict[str, Any]] = []
        read = 0
        for status in dict.fromkeys(statuses):
            low, high = keys.agency_since_range(status, since)
            names = {"#category": "category"}
            values = {":pk": {"S": keys.agency_partition(agency_id)}, ":low": {"S": low}, ":high": {"S": high},
                      ":category": {"S": category}}
            condition = "#category = :category"
            if exclude_public:
                names["#privacy"], values[":public"] = "privacy", {"S": "public"}
                condition += " AND #privacy <> :public"
            page = self.client.query(
                TableName=self.table_name, IndexName=keys.BY_AGENCY, ScanIndexForward=False, Limit=limit,
                KeyConditionExpression="agency_pk = :pk AND agency_sk BETWEEN :low AND :high",
                FilterExpression=condition, ExpressionAttributeNames=names, ExpressionAttributeValues=values)
            read += page.get("ScannedCount", 0)
            found += map(self._plain, page.get("Items", []))
        return found, read

    def list_public_reports(self, region_code: str, *, category: str | None = None, status: str | None = None,
                            limit: int = 20, start_key: dict[str, Any] | None = None,
                            max_queries: int = 5) -> Page:
        """One page of a region's public reports (everything below it included), newest first: a Query of the
        public index of the region's level, never a Scan. ``category`` and ``status`` filter what the key range
        holds; each Query asks for just the items still missing, so the page never skips one, and at most
        ``max_queries`` are made: a page with a filter may hold fewer than ``limit`` items and still a next key."""
        level = keys.public_level(region_code)
        pk = keys.PUBLIC_PK[level]
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "IndexName": keys.PUBLIC_INDEXES[level], "ScanIndexForward": False,
            "KeyConditionExpression": "#pk = :pk", "ExpressionAttributeNames": {"#pk": pk},
            "ExpressionAttributeValues": {":pk": {"S": keys.public_partition(region_code)}},
        }
        filters = []
        for name, value in (("category", category), ("status", status)):
            if value is not None:
                filters.append(f"#{name} = :{name}")
                kwargs["ExpressionAttributeNames"][f"#{name}"] = name
                kwargs["ExpressionAttributeValues"][f":{name}"] = {"S": value}
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        items: list[dict[str, Any]] = []
        last_key = start_key
        for _ in range(max_queries):
            if last_key:
                kwargs["ExclusiveStartKey"] = last_key
            page = self.client.query(**kwargs | {"Limit": limit - len(items)})
            # Defence in depth: the index holds only public reports; anything else is never returned.
            items += [i for i in map(self._plain, page.get("Items", [])) if i.get("privacy") == "public"]
            last_key = page.get("LastEvaluatedKey")
            if not last_key or len(items) >= limit:
                break
        return items, last_key

    def nearby_reports(self, lat: float, lon: float, radius_m: float, *, category: str | None = None,
                       since: str | None = None, exclude: str | None = None, limit: int = 100,
                       nearest_first: bool = False, max_ranges: int = 8,
                       finest: int = keys.NEARBY_RANGE_PRECISIONS[0],
                       parallel: bool = True) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """The public, open, located reports within ``radius_m`` metres of the point (each with ``distance_m``),
        newest first (or nearest first), at most ``limit``, and what it cost: ``queries`` (Query pages),
        ``index_items`` (index entries read) and ``items`` (reports read). The index is keys only: one Query per
        sort-key range of ``keys.nearby_ranges`` (at most ``max_ranges``; parts of the cells the circle touches),
        never a Scan; each entry's key says where the report is (to a few cm), its category and filing time, so
        ``category``, ``since`` (a UTC instant) and ``exclude`` (a tracking id) and the distance are decided
        before any report is read (``parallel``: the ranges' Queries in threads of their own, at once); then only the reports to return are read (BatchGetItem), and their stored
        location decides exactly (haversine)."""
        from lapor.domain.geo import haversine_m

        cost = {"queries": 0, "index_items": 0, "items": 0}

        def read_range(key_range: tuple[str, str, str]) -> tuple[list[dict[str, Any]], int, int]:
            """A range's index entries, its Query pages and the entries read (no counter shared by threads)."""
            partition, low, high = key_range
            kwargs: dict[str, Any] = {
                "TableName": self.table_name, "IndexName": keys.NEARBY,
                "KeyConditionExpression": "near_pk = :pk AND near_sk BETWEEN :low AND :high",
                "ExpressionAttributeValues": {":pk": {"S": partition}, ":low": {"S": low}, ":high": {"S": high}}}
            entries, pages, scanned = [], 0, 0
            while True:
                page = self.client.query(**kwargs)
                pages, scanned = pages + 1, scanned + page.get("ScannedCount", 0)
                entries += map(keys.nearby_entry, map(self._plain, page.get("Items", [])))
                if not page.get("LastEvaluatedKey"):
                    return entries, pages, scanned
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        ranges = keys.nearby_ranges(lat, lon, radius_m, max_ranges, finest)
        if len(ranges) == 1 or not parallel:
            read = [read_range(key_range) for key_range in ranges]
        else:  # the ranges' Queries at once: one round trip's wait, not one per range
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=len(ranges), thread_name_prefix="nearby") as pool:
                read = list(pool.map(read_range, ranges))
        cost["queries"], cost["index_items"] = sum(r[1] for r in read), sum(r[2] for r in read)
        candidates = []
        for entry in (e for entries, _, _ in read for e in entries):
            if ((category is not None and entry["category"] != category)
                    or (since is not None and entry["submitted_at"] < since) or entry["tracking_id"] == exclude):
                continue
            # The key's point is within a few cm of the stored one: the stored one decides below.
            entry["distance_m"] = haversine_m(lat, lon, entry["lat"], entry["lon"])
            if entry["distance_m"] <= radius_m + 0.5:
                candidates.append(entry)
        if nearest_first:
            candidates.sort(key=lambda e: (e["distance_m"], e["tracking_id"]))
        else:
            candidates.sort(key=lambda e: (e["submitted_at"], e["tracking_id"]), reverse=True)
        found: list[dict[str, Any]] = []
        start = 0
        while start < len(candidates) and len(found) < limit:  # in the order wanted, as many as still missing
            batch, start = candidates[start:start + min(100, limit - len(found))], start + min(100, limit - len(found))
            reports = self.get_reports(e["tracking_id"] for e in batch)
            cost["items"] += len(reports)
            for item in reports:
                # Defence in depth: only public, open, located reports are ever returned.
                if (item.get("privacy") != "public" or item.get("status") not in keys.NEARBY_STATUSES
                        or not item.get("location")):
                    continue
                distance = haversine_m(lat, lon, float(item["location"]["lat"]), float(item["location"]["lon"]))
                if distance <= radius_m:
                    found.append(item | {"distance_m": distance})
        if nearest_first:
            found.sort(key=lambda i: (i["distance_m"], i["tracking_id"]))
        else:
            found.sort(key=lambda i: (i["submitted_at"], i["tracking_id"]), reverse=True)
        return found[:limit], cost

    def add_supporter(self, tracking_id: str, device_key: str) -> bool:
        """One more supporter of the report, unless this device key supported it already (then nothing is
        written): one transaction of a conditional put of the device's hashed key and an ADD to the report item's
        ``supporters`` (a counter: ``version`` is left alone, so no operator's write goes stale for a citizen's
        support). Whether it counted."""
        items = [
            {"Put": {"TableName": self.table_name, "Item": keys.supporter_key(tracking_id, device_key),
                     "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Update": {"TableName": self.table_name, "Key": keys.report_key(tracking_id),
                        "UpdateExpression": "ADD supporters :one", "ConditionExpression": "attribute_exists(PK)",
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        ]
        for attempt in range(SUPPORT_ATTEMPTS):
            try:
                self.client.transact_write_items(TransactItems=items)
                return True
            except self.client.exceptions.TransactionCanceledException as error:
                reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
                if reasons[:1] == ["ConditionalCheckFailed"]:
                    return False
                # Supports of a popular report at the same moment (or an operator's write) contend for its
                # item: try again, never drop one; then the caller answers 409 ``busy``.
                if "TransactionConflict" not in reasons or attempt == SUPPORT_ATTEMPTS - 1:
                    raise ReportBusy(tracking_id) from error
                time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))
        raise AssertionError("unreachable")

    def supporter_counts(self, tracking_ids: Iterable[str]) -> dict[str, int]:
        """Each report's supporters (0 when none): the public indexes cannot project ``supporters`` (the table's
        projections are at DynamoDB's 100 attributes), so the listing reads it from the report items
        (BatchGetItem, 100 at a time, this one attribute)."""
        wanted = list(dict.fromkeys(tracking_ids))
        found = self._reports_by_id(wanted, _projection("tracking_id", "supporters"))
        return {t: int(found.get(t, {}).get("supporters", 0)) for t in wanted}

    def agency_has_reports(self, agency_id: str) -> bool:
        """Whether any report names the agency (it may not be removed then): a question about reports, read
        from their ByAgency index, so it lives here and the configuration store never reads report indexes."""
        page = self.client.query(TableName=self.table_name, IndexName=keys.BY_AGENCY, Limit=1,
                                 KeyConditionExpression="agency_pk = :pk",
                                 ExpressionAttributeValues={":pk": {"S": keys.agency_partition(agency_id)}})
        return bool(page.get("Items"))

    def public_reports_filed_between(self, region_code: str, start_utc: str, end_utc: str
                                     ) -> Iterator[dict[str, Any]]:
        """A region's public reports (everything below it included) filed from ``start_utc`` to ``end_utc``
        (inclusive), newest first: one key range of the public index of the region's level, page by page as the
        caller reads on. Index items: the listing's fields, not the description (``get_reports`` has it)."""
        level = keys.public_level(region_code)
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "IndexName": keys.PUBLIC_INDEXES[level], "ScanIndexForward": False,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :start AND :end",
            "ExpressionAttributeNames": {"#pk": keys.PUBLIC_PK[level], "#sk": keys.PUBLIC_SK},
            "ExpressionAttributeValues": {":pk": {"S": keys.public_partition(region_code)},
                                          ":start": {"S": start_utc}, ":end": {"S": end_utc + "~"}},
        }
        while True:
            page = self.client.query(**kwargs)
            # Defence in depth: the index holds only public reports; anything else is never returned.
            yield from (i for i in map(self._plain, page.get("Items", [])) if i.get("privacy") == "public")
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def reindex(self) -> dict[str, int]:
        """Give every report the index keys its state calls for, and no others (``lapor reindex``, after an upgrade
        adds an index: reports written before carry none of its keys until their next change). A Scan of the report
        items (the deployment's one Scan, run by hand), then one UpdateItem per report whose keys differ, on the
        version read: a change meanwhile writes the keys itself and wins. Counts: reports, updated, changed."""
        names = {f"#a{i}": name for i, name in enumerate((*REINDEX_READS, *keys.REPORT_INDEX_ATTRIBUTES))}
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "FilterExpression": "SK = :meta AND begins_with(PK, :report)",
            "ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {":meta": {"S": "META"}, ":report": {"S": keys.report_partition("")}},
        }
        counts = {"reports": 0, "updated": 0, "changed_meanwhile": 0}
        while True:
            page = self.client.scan(**kwargs)
            for report in map(self._plain, page.get("Items", [])):
                counts["reports"] += 1
                wanted = self.index_keys(report)
                sets = {name: value for name, value in wanted.items() if report.get(name) != value}
                removes = [name for name in keys.REPORT_INDEX_ATTRIBUTES if name in report and name not in wanted]
                if not sets and not removes:
                    continue
                update = " ".join(part for part in (
                    "SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(sets))) if sets else "",
                    "REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes))) if removes else "") if part)
                try:
                    self.client.update_item(
                        TableName=self.table_name, Key=keys.report_key(report["tracking_id"]), UpdateExpression=update,
                        ConditionExpression="#version = :version",
                        ExpressionAttributeNames={"#version": "version"} | {f"#s{i}": n for i, n in enumerate(sets)}
                        | {f"#r{i}": n for i, n in enumerate(removes)},
                        ExpressionAttributeValues={":version": {"N": str(report["version"])}}
                        | {f":s{i}": {"S": v} for i, v in enumerate(sets.values())})
                    counts["updated"] += 1
                except self.client.exceptions.ConditionalCheckFailedException:
                    counts["changed_meanwhile"] += 1
            if "LastEvaluatedKey" not in page:
                return counts
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def newest_by_service(self, categories: Iterable[str], states: Iterable[str], start_utc: str, end_utc: str, *,
                          limit: int, region_code: str | None = None) -> list[str]:
        """The tracking ids of the newest ``limit`` reports filed from ``start_utc`` to ``end_utc`` (inclusive) in
        any of ``categories`` and Open311 ``states``, in the whole deployment or (``region_code``, a kabupaten/kota or
        kecamatan) that region's public ones: one key range of a ``ByService*`` index per category and state, merged
        newest first. Each range is read a page at a time as the merge reaches it, so what is read beyond the ids
        returned is at most the rest of one page per key."""
        level = keys.public_level(region_code) if region_code else 0
        partitions = [keys.service_partition(category, state, region_code)
                      for category in dict.fromkeys(categories) for state in dict.fromkeys(states)]
        # One key: read exactly what is returned. Several: pages small enough that their leftovers stay small.
        page_size = limit if len(partitions) == 1 else min(limit, SERVICE_PAGE_SIZE)
        ranges = [self._service_range(level, partition, start_utc, end_utc, page_size) for partition in partitions]
        newest = heapq.merge(*ranges, reverse=True)
        return [sort_key.rpartition("#")[2] for sort_key in itertools.islice(newest, limit)]

    def _service_range(self, level: int, partition: str, start_utc: str, end_utc: str, page_size: int
                       ) -> Iterator[str]:
        """One key's ``month_sk`` values in the window, newest first, a page per Query as the caller reads on."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "IndexName": keys.SERVICE_INDEXES[level], "ScanIndexForward": False,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :start AND :end", "Limit": page_size,
            "ExpressionAttributeNames": {"#pk": keys.SERVICE_PK[level], "#sk": keys.SERVICE_SK},
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":start": {"S": start_utc},
                                          ":end": {"S": end_utc + "~"}},
        }
        while True:
            page = self.client.query(**kwargs)
            yield from (item[keys.SERVICE_SK]["S"] for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def public_updates_between(self, start_utc: str, end_utc: str, *, limit: int) -> list[dict[str, Any]]:
        """At most ``limit`` answers and closures (``keys.UPDATE_EVENTS``) from ``start_utc`` to ``end_utc``
        (inclusive), oldest first, each ``{tracking_id, version, event}``: a Query of PublicUpdates per UTC day of
        the window, never a Scan. Their reports' privacy and status are the caller's to check."""
        first, last = datetime.fromisoformat(start_utc[:10]).date(), datetime.fromisoformat(end_utc[:10]).date()
        found: list[dict[str, Any]] = []
        day = first
        while day <= last and len(found) < limit:
            kwargs: dict[str, Any] = {
                "TableName": self.table_name, "IndexName": keys.BY_UPDATE,
                "KeyConditionExpression": "update_pk = :pk AND update_sk BETWEEN :start AND :end",
                "ExpressionAttributeValues": {":pk": {"S": keys.update_partition(day.isoformat())},
                                              ":start": {"S": start_utc}, ":end": {"S": end_utc + "~"}},
            }
            while len(found) < limit:
                page = self.client.query(**kwargs | {"Limit": limit - len(found)})
                for item in map(self._plain, page.get("Items", [])):
                    _, tracking_id, version = item["update_sk"].rsplit("#", 2)
                    found.append({"tracking_id": tracking_id, "version": int(version), "event": item[EVENT_ATTRIBUTE]})
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            day += timedelta(days=1)
        return found

    def reports_filed_between(self, start_utc: str, end_utc: str, *, newest_first: bool = True
                              ) -> Iterator[dict[str, Any]]:
        """Reports filed from ``start_utc`` to ``end_utc`` (inclusive), month partition by month partition of
        ``ByMonth``, page by page as the caller reads on (it stops when it has enough)."""
        months = _months(start_utc[:7], end_utc[:7])
        for month in reversed(months) if newest_first else months:
            kwargs: dict[str, Any] = {
                "TableName": self.table_name, "IndexName": keys.BY_MONTH, "ScanIndexForward": not newest_first,
                "KeyConditionExpression": "month_pk = :pk AND month_sk BETWEEN :start AND :end",
                "ExpressionAttributeValues": {":pk": {"S": keys.month_partition(month)}, ":start": {"S": start_utc},
                                              ":end": {"S": end_utc + "~"}},
            }
            while True:
                page = self.client.query(**kwargs)
                yield from (self._plain(i) for i in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
