"""DynamoDB transactions in moto at the cost of the items they touch, not of the tables they name.

moto (5.2) backs up a transaction by deep-copying every table it names, once per entry, stream records
included: every change to a report (one transaction: the report and its timeline event) copied the whole
table twice. On the local stack's 10,000-report table that is seconds and hundreds of MB per change.

``install()`` swaps in the same algorithm with a narrower backup: the items the entries name, and how long each
table's stream was. A transaction that fails puts exactly those back and drops the stream records it added, as
DynamoDB (which writes nothing) and moto's own rollback do. For the tests and the bench, which run moto in one
thread; the long-running local stack uses ``lapor_cli.localmoto``'s variant, which also holds the lock of the
stream shard it trims while a transaction runs.
"""

from __future__ import annotations

import copy
from typing import Any

_installed = False


def _item_key(table: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _location(table: Any, key: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr is not None else None
    return hash_value, range_value


def _restore(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    if range_value is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
        return
    if item is None:
        table.items.get(hash_value, {}).pop(range_value, None)
        if hash_value in table.items and not table.items[hash_value]:
            del table.items[hash_value]
    else:
        table.items[hash_value][range_value] = item


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """``DynamoDBBackend.transact_write_items`` with a backup of the touched items only (see the module doc)."""
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.comparisons import get_filter_expression

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    backups: list[tuple[Any, Any, Any, Any]] = []  # (table, hash, range, the item before, deep-copied)
    stream_lengths: dict[str, tuple[Any, int]] = {}
    for entry in transact_items:
        if len(entry) != 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        table = self.get_table(op["TableName"])
        if table.stream_shard is not None:
            stream_lengths.setdefault(table.name, (table.stream_shard, len(table.stream_shard.items)))
        hash_value, range_value = _location(table, _item_key(table, op_type, op))
        backups.append((table, hash_value, range_value,
                        copy.deepcopy(table.get_item(hash_value, range_value))))

    def rollback() -> None:
        for table, hash_value, range_value, item in reversed(backups):
            _restore(table, hash_value, range_value, item)
        for shard, length in stream_lengths.values():
            del shard.items[length:]

    seen: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []
    for entry in transact_items:
        original_item = None
        try:
            op_type, op = next(iter(entry.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            table = self.get_table(table_name)
            key = _item_key(table, op_type, op)
            unique = (str(table_name), str(dict(sorted(key.items()))))
            if unique in seen:
                raise MultipleTransactionsException()
            seen.add(unique)
            condition = op.get("ConditionExpression")
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            current = self.get_item(table_name, key)
            if condition is not None and not get_filter_expression(condition, names, values).expr(current):
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    original_item = current.to_json()["Attributes"]
                raise ConditionalCheckFailed(item=original_item)
            common = {"condition_expression": condition, "expression_attribute_names": names,
                      "expression_attribute_values": values}
            if op_type == "Put":
                self.put_item(table_name, op["Item"], **common)
            elif op_type == "Delete":
                self.delete_item(table_name, key, **common)
            elif op_type == "Update":
                self.update_item(table_name, key, update_expression=op["UpdateExpression"], **common)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            rollback()
            raise
        except ConditionalCheckFailed as error:
            errors.append(("ConditionalCheckFailed", str(error.message), original_item))
        except Exception as error:  # noqa: BLE001 (moto reports any other failure per entry, as DynamoDB does)
            errors.append((type(error).__name__, str(error), original_item))
    if any(code is not None for code, _, _ in errors):
        rollback()
        raise TransactionCanceledException(errors)


def install() -> None:
    """Use the narrow backup in this process's moto (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _installed = True
