"""Statistics: daily counters per scope and a marker per counted stream event (``keys.py``)."""

from __future__ import annotations

from typing import Any

from lapor.dal import keys
from lapor.dal.table import Table, without_keys


class StatsStore(Table):
    def apply_stats(self, event_id: str, day: str, changes: dict[str, dict[str, int]], *, expires_at: int) -> bool:
        """Add ``changes`` (scope → counter → delta) to the day's counters, once per stream event.

        A marker for the event and the counters are one transaction: a redelivered stream record finds the
        marker and changes nothing. Returns False when the event had been applied already.
        """
        items: list[dict[str, Any]] = [{"Put": {
            "TableName": self.table_name, "ConditionExpression": "attribute_not_exists(PK)",
            "Item": keys.stats_marker_key(event_id) | {"expires_at": {"N": str(expires_at)}},
        }}]
        for scope, deltas in changes.items():
            names = {f"#c{i}": counter for i, counter in enumerate(deltas)}
            values = {f":c{i}": {"N": str(delta)} for i, delta in enumerate(deltas.values())}
            items.append({"Update": {
                "TableName": self.table_name, "Key": keys.key(keys.stats_partition(scope), day),
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
                                        Key=keys.stats_marker_key(event_id))
        return "Item" in response

    def read_stats(self, scope: str, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """The daily counter items of ``scope`` from ``first_day`` to ``last_day`` (inclusive)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "KeyConditionExpression": "PK = :pk AND SK BETWEEN :first AND :last",
            "ExpressionAttributeValues": {":pk": {"S": keys.stats_partition(scope)}, ":first": {"S": first_day},
                                          ":last": {"S": last_day}},
        }
        buckets = []
        while True:
            page = self.client.query(**kwargs)
            buckets += [without_keys(self._plain(i)) for i in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return buckets
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
