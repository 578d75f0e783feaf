"""What every store shares: the table, its (lazily built) client and plain-Python <-> DynamoDB values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

from lapor.dal import keys


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


def new_client() -> Any:
    # boto3 is imported on first use, not at import time: cold starts that never touch the table skip it.
    import boto3

    return boto3.client("dynamodb")


def without_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("PK", "SK")}


class Table:
    """One aggregate's view of the table. ``client`` is used as given; otherwise ``connect`` builds one on
    first use (runtime passes one shared factory, so every store of a function talks through one client)."""

    def __init__(self, table_name: str, *, client: Any = None, connect: Callable[[], Any] | None = None) -> None:
        self.table_name = table_name
        self._client = client
        self._connect = connect or new_client
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def plain(self, item: dict[str, Any]) -> dict[str, Any]:
        """A DynamoDB-typed item (from a stream record, say) as plain Python values."""
        return self._plain(item)

    def _item(self, values: dict[str, Any]) -> dict[str, Any]:
        return {k: self._serializer.serialize(v) for k, v in _to_dynamo(values).items()}

    def _plain(self, item: dict[str, Any]) -> dict[str, Any]:
        return _from_dynamo({k: self._deserializer.deserialize(v) for k, v in item.items()})

    def _query_partition(self, pk: str, *, consistent: bool = False, **projection: Any) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": consistent,
            **projection,
        }
        while True:
            page = self.client.query(**kwargs)
            for item in page.get("Items", []):
                yield self._plain(item)
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _batch_write(self, requests: Iterable[dict[str, Any]]) -> int:
        """BatchWriteItem 25 at a time, resending what DynamoDB left unprocessed; the number of requests."""
        pending = list(requests)
        count = len(pending)
        while pending:
            batch, pending = pending[:25], pending[25:]
            unprocessed = self.client.batch_write_item(RequestItems={self.table_name: batch})
            pending = unprocessed.get("UnprocessedItems", {}).get(self.table_name, []) + pending
        return count

    def _batch_put(self, items: Iterable[dict[str, Any]]) -> int:
        return self._batch_write({"PutRequest": {"Item": item}} for item in items)

    def _batch_delete(self, item_keys: Iterable[dict[str, Any]]) -> None:
        self._batch_write({"DeleteRequest": {"Key": key}} for key in item_keys)

    def _replace_partition(self, pk: str, items: dict[str, dict[str, Any]]) -> None:
        """Make partition ``pk`` hold exactly ``items`` (sort key → attributes): put all, delete the rest."""
        # Consistent: an item the previous save just put must be seen to be deleted.
        existing = {item["SK"] for item in self._query_partition(pk, consistent=True)}
        self._batch_put(keys.key(pk, sk) | self._item(values) for sk, values in items.items())
        self._batch_delete(keys.key(pk, sk) for sk in existing - set(items))
