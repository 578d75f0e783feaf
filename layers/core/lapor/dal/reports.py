"""Reports: the one item per report (``keys.report_key``) and the indexes that find them (``keys.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from lapor.dal import keys
from lapor.dal.table import Table, _to_dynamo

REPORTER_ATTRIBUTE = "reporter"
# What a report view may read. ``reporter`` is deliberately absent: views never load identity.
VIEW_ATTRIBUTES = (
    "tracking_id", "kind", "category", "region_code", "title", "description", "privacy", "location", "status",
    "agency_id", "agency_name", "escalation_level", "submitted_at", "due_at", "due_at_utc", "version",
    "access_code_hash", "channel", "timeline", "overdue_final", "deadline_working_days", "closes_at_utc",
    "status_notes", "updated_at", "flags",
)
_VIEW_NAMES = {f"#a{i}": name for i, name in enumerate(VIEW_ATTRIBUTES)}
_VIEW_PROJECTION = {"ProjectionExpression": ", ".join(_VIEW_NAMES), "ExpressionAttributeNames": _VIEW_NAMES}
Page = tuple[list[dict[str, Any]], dict | None]


class TrackingIdTaken(Exception):
    """The random tracking id is already used; the caller draws another."""


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

    def new_item(self, report: dict[str, Any]) -> dict[str, Any]:
        """A new report's item with its index keys (filed alone here, or in the SMS store's transaction)."""
        return keys.report_key(report["tracking_id"]) | self._item(report | self.index_keys(report))

    def create_report(self, report: dict[str, Any]) -> None:
        """Store a new report in one conditional write; never overwrites an existing tracking id."""
        try:
            self.client.put_item(
                TableName=self.table_name, Item=self.new_item(report), ConditionExpression="attribute_not_exists(PK)"
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise TrackingIdTaken(report["tracking_id"]) from exc

    def get_report(self, tracking_id: str) -> dict[str, Any] | None:
        """The report as views may see it: without the reporter's identity."""
        response = self.client.get_item(TableName=self.table_name, Key=keys.report_key(tracking_id),
                                        **_VIEW_PROJECTION)
        item = response.get("Item")
        return self._plain(item) if item else None

    def get_reports(self, tracking_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Several reports as views may see them (BatchGetItem, 100 at a time); unknown ids are left out."""
        wanted = list(dict.fromkeys(tracking_ids))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 100):
            request: dict[str, Any] = {self.table_name: {
                "Keys": [keys.report_key(t) for t in wanted[start:start + 100]], **_VIEW_PROJECTION}}
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.table_name, []):
                    report = self._plain(item)
                    found[report["tracking_id"]] = report
                request = response.get("UnprocessedKeys") or {}
        return [found[t] for t in wanted if t in found]

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
                      now_utc: str) -> dict[str, Any]:
        """Apply ``changes`` (``status`` and any other attributes) and append ``event``, in one write
        conditional on the version and status read. Index keys follow: a report that no longer awaits the
        agency leaves the "open by due" index in the same write. Returns the report as written.
        """
        changed = record | changes
        index = self.index_keys(changed)
        sets = changes | {"agency_pk": index["agency_pk"], "agency_sk": index["agency_sk"],
                          "month_pk": index["month_pk"], "month_sk": index["month_sk"], "updated_at": now_utc}
        removes = []
        for pk, sk in (("due_pk", "due_sk"), ("close_pk", "close_sk")):
            if pk in index:
                sets |= {pk: index[pk], sk: index[sk]}
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
                TableName=self.table_name, Key=keys.report_key(record["tracking_id"]), UpdateExpression=update,
                ConditionExpression="#version = :version AND #status = :old_status",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={k: self._serializer.serialize(_to_dynamo(v)) for k, v in values.items()},
            )
        except self.client.exceptions.ConditionalCheckFailedException as exc:
            raise ReportChanged(record["tracking_id"]) from exc
        return changed | {"version": record["version"] + 1, "timeline": [*record.get("timeline", []), event]}

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

    def agency_has_reports(self, agency_id: str) -> bool:
        """Whether any report names the agency (it may not be removed then): a question about reports, read
        from their ByAgency index, so it lives here and the configuration store never reads report indexes."""
        page = self.client.query(TableName=self.table_name, IndexName=keys.BY_AGENCY, Limit=1,
                                 KeyConditionExpression="agency_pk = :pk",
                                 ExpressionAttributeValues={":pk": {"S": keys.agency_partition(agency_id)}})
        return bool(page.get("Items"))

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
