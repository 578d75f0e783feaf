"""Open311 API keys: one item per key (``keys.api_key_key``), kept after revocation for the record."""

from __future__ import annotations

from typing import Any

from lapor.dal import keys
from lapor.dal.table import Table, without_keys


class ApiKeyStore(Table):
    def put_api_key(self, record: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.table_name, ConditionExpression="attribute_not_exists(PK)",
                             Item=keys.api_key_key(record["id"]) | self._item(record))

    def get_api_key(self, key_id: str) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.table_name, ConsistentRead=True,
                                        Key=keys.api_key_key(key_id))
        item = response.get("Item")
        return without_keys(self._plain(item)) if item else None

    def list_api_keys(self) -> list[dict[str, Any]]:
        return [without_keys(i) for i in self._query_partition(keys.API_KEYS)]

    def revoke_api_key(self, key_id: str, *, revoked_at: str, by: str) -> bool:
        """Mark a key revoked (kept for the record); False if there is no such key."""
        try:
            self.client.update_item(
                TableName=self.table_name, Key=keys.api_key_key(key_id),
                UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :at), revoked_by = if_not_exists("
                                 "revoked_by, :by)", ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues={":at": {"S": revoked_at}, ":by": {"S": by}})
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True
