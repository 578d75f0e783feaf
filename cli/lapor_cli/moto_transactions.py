"""DynamoDB transactions in moto at the cost of the items they touch, not of the tables they name.

moto (5.x) backs up a transaction by deep-copying every table it names (every item, and the stream shard with
every record it keeps) so that it can put the copy back if the transaction fails. Every change to a report is one
transaction (the report and its timeline event): on the local stack's 10,000-report table that was seconds and
hundreds of MB per change, and the tests paid for a table copy per change too.

``install()`` keeps moto's own TransactWriteItems (its conditions, errors and cancellation reasons) and changes
only its backup: while a transaction runs, a table's deep copy is the table itself, and the wrapper has copied the
items the entries name (or noted that there were none) and how long each stream was. If the transaction fails,
those items are put back and the stream records it wrote are dropped, as DynamoDB (which writes nothing) and moto's
own rollback do. Transactions run one at a time, each holding the locks of the stream shards it may write to (the
local stack's shards have one, ``lapor_cli.localmoto``), so no other write's record lands among its own before it
knows whether to drop them. Used by the tests, the bench and ``lapor dev``; ``tests/test_moto_transactions.py``
fails if a moto upgrade moves what this leans on.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from typing import Any

_transacting = threading.local()
_one_at_a_time = threading.RLock()
_installed = False


def _table_deepcopy(table: Any, memo: dict[int, Any]) -> Any:
    """The table itself during a transaction (the wrapper keeps what a rollback needs); else a real deep copy."""
    if getattr(_transacting, "active", False):
        return table
    copied = table.__class__.__new__(table.__class__)
    memo[id(table)] = copied
    for name, value in table.__dict__.items():
        setattr(copied, name, copy.deepcopy(value, memo))
    return copied


def _named_items(backend: Any, transact_items: list[dict[str, Any]]) -> tuple[dict[str, Any], list[tuple]]:
    """The tables the entries name and, for each entry, (table, hash, range, a copy of its item or None)."""
    tables: dict[str, Any] = {}
    saved: list[tuple[Any, Any, Any, Any]] = []
    for entry in transact_items:
        try:
            _, op = next(iter(entry.items()))
            table = backend.tables[op["TableName"]]
            key = op["Key"] if "Key" in op else {
                name: op["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name}
            hash_value, range_value = backend.get_keys_value(table, key)
        except Exception:  # noqa: BLE001 (malformed: moto refuses it itself, and it writes nothing)
            continue
        tables[table.name] = table
        saved.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
    return tables, saved


def _put_back(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    """Make ``item`` (None: nothing) the table's item at this key again, without a stream record."""
    if item is not None:
        if range_value is not None:
            table.items.setdefault(hash_value, {})[range_value] = item
        else:
            table.items[hash_value] = item
    elif range_value is not None:
        table.items.get(hash_value, {}).pop(range_value, None)
        if hash_value in table.items and not table.items[hash_value]:
            del table.items[hash_value]
    else:
        table.items.pop(hash_value, None)


def transact_write_items(backend: Any, transact_items: list[dict[str, Any]], original: Any) -> None:
    """moto's TransactWriteItems, backed up and rolled back item by item (see the module doc)."""
    tables, saved = _named_items(backend, transact_items)
    shards = [t.stream_shard for _, t in sorted(tables.items()) if t.stream_shard is not None]
    with _one_at_a_time, contextlib.ExitStack() as locks:
        for shard in shards:
            if hasattr(shard, "_lock"):
                locks.enter_context(shard._lock)
        marks = [(shard, len(shard.items)) for shard in shards]
        _transacting.active = True
        try:
            return original(backend, transact_items)
        except BaseException:
            for table, hash_value, range_value, item in reversed(saved):
                _put_back(table, hash_value, range_value, item)
            for shard, mark in marks:
                del shard.items[mark:]
            raise
        finally:
            _transacting.active = False


def install() -> None:
    """Use the narrow backup in this process's moto, for every backend and table (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items

    def narrow(self: Any, transact_items: list[dict[str, Any]]) -> None:
        return transact_write_items(self, transact_items, original)

    DynamoDBBackend.transact_write_items = narrow  # type: ignore[method-assign]
    Table.__deepcopy__ = _table_deepcopy  # type: ignore[attr-defined]
    _installed = True
