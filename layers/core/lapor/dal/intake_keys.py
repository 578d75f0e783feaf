"""Idempotency-Keys of filed reports (``keys.intake_key_key``): written in the report's own transaction.

A key item exists exactly when its report does: a function that dies after the write and before answering
leaves both, and the retry finds the key and answers with the stored reply; never a second report.
"""

from __future__ import annotations

from typing import Any

from lapor.dal import keys
from lapor.dal.table import Table


class IntakeKeyStore(Table):
    def get_intake_key(self, key_hash: str, *, now_epoch: int) -> dict[str, Any] | None:
        """The key's ``payload_hash`` and ``reply`` (sealed), unless it expired (TTL deletes it in time)."""
        response = self.client.get_item(TableName=self.table_name, Key=keys.intake_key_key(key_hash),
                                        ConsistentRead=True)
        item = response.get("Item")
        if not item or int(item["expires_at"]["N"]) <= now_epoch:
            return None
        return {"payload_hash": item["payload_hash"]["S"], "reply": self._plain(item["reply"]["M"])}

    def claim(self, key_hash: str, *, payload_hash: str, reply: dict[str, Any], expires_at: int,
              now_epoch: int) -> dict[str, Any]:
        """The transaction entry that records the key with the report: it fails if the key is held (and not
        expired) by another request."""
        item = keys.intake_key_key(key_hash) | self._item(
            {"payload_hash": payload_hash, "reply": reply, "expires_at": expires_at})
        return {"Put": {"TableName": self.table_name, "Item": item,
                        "ConditionExpression": "attribute_not_exists(PK) OR expires_at <= :now",
                        "ExpressionAttributeValues": {":now": {"N": str(now_epoch)}}}}
