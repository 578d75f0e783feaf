"""What the local stack changes in its embedded moto so that ``lapor dev`` runs for days in bounded memory.

moto is built for tests that last seconds; a long-running stack hit the habits below (issue #11, item 7: three
reports answered ~90 times each, items near 300 KB, took ``lapor dev`` to 900 MB; 10,000 reports to 1.2 GB, and
past two minutes to stop):

- Every model object moto ever creates is appended to its class's ``instances_tracked`` list, for the moto-api
  dashboard, and never let go: every version of every item written, every copy a GetItem, Query or Scan answers
  with, every stream record and shard iterator. The local stack's own once-a-second snapshot (a full Scan) pinned
  a copy of the whole table each time. ``untrack_models`` makes those lists keep nothing; nothing here reads the
  dashboard.
- A table's stream shard keeps every record (old and new image) forever, where DynamoDB keeps 24 hours.
  ``LocalStreamShard.trim`` forgets the records every local consumer has handled; ``LocalDynamo`` calls it.
- A stream record keeps its images as Python dicts, several times the size of their JSON: a backlog of 10,000
  reports and the statistics' writes (~40,000 records) held ~200 MB until the slower stream function caught up.
  ``LocalStreamShard`` keeps each record as its JSON text (``PackedStreamRecord``).
- GetRecords answers ``Limit`` records whatever their size (100 records of two 400 KB images: an 80 MB reply,
  built, serialised and parsed at once), where DynamoDB Streams answers at most 1 MB. ``LocalStreamShard.get``
  stops at 1 MB too (always at least one record).
- TransactWriteItems deep-copies every table it writes to (every item, and the stream shard with every record
  it keeps) so that it can put the copy back if the transaction fails: the statistics count each stream record
  in a transaction on the reports table, so 10,000 reports cost 10,000 copies of a 10,000-report table.
  ``lapor_cli.moto_transactions`` (the tests' and the bench's too) keeps a copy of the items the transaction names
  instead, and restores those; it holds the lock of each ``LocalStreamShard`` it may write to.

Shard iterators (one new per GetRecords, kept forever by moto) are pruned to the newest ``KEEP_ITERATORS``, and
``items_of`` reads a table for the local snapshot without a Scan. All of this leans on moto's internals (5.x):
``tests/test_localstack_memory.py`` fails if an upgrade moves them.

What still grows is data: moto never applies a table's TTL, so the statistics' per-event markers and the notices'
idempotency records (a few KB each; DynamoDB deletes them after days) stay until ``rm -rf .lapor``.
"""

from __future__ import annotations

import collections
import json
import threading
from collections.abc import Iterator
from typing import Any

from moto.core.model_instances import model_data
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodbstreams.models import dynamodbstreams_backends

GET_RECORDS_MAX_BYTES = 1024 * 1024  # DynamoDB Streams' GetRecords answers at most 1 MB
# DynamoDB expires a shard iterator 15 minutes after it is handed out; moto never does. The local pollers take a new
# one on every GetRecords (two mappings, twice a second: ~3,600 in 15 minutes) and use each once.
KEEP_ITERATORS = 4000


def untrack_models(services: tuple[str, ...] = ("dynamodb", "dynamodbstreams")) -> None:
    """Stop moto from keeping every object of these services it ever made (see the module's docstring).

    A zero-length deque takes ``BaseModel.__new__``'s append and keeps nothing. moto's reset (``/moto-api/reset``,
    which the local stack never calls) would put plain lists back.
    """
    for service in services:
        for model in model_data[service].values():
            model.instances_tracked = collections.deque(maxlen=0)


class PackedStreamRecord:
    """A stream record kept as its compact JSON text, read back into the dict moto built on each GetRecords.

    The creation time (a datetime, which moto's serialiser formats) is kept aside as it is."""

    __slots__ = ("created", "size", "text")

    def __init__(self, record: dict[str, Any]) -> None:
        body = dict(record["dynamodb"])
        self.created = body.pop("ApproximateCreationDateTime")
        self.size: int = body["SizeBytes"]
        self.text = json.dumps(record | {"dynamodb": body}, separators=(",", ":"))

    def to_json(self) -> dict[str, Any]:
        record = json.loads(self.text)
        record["dynamodb"]["ApproximateCreationDateTime"] = self.created
        return record


class LocalStreamShard(StreamShard):
    """moto's stream shard, with a lock, records kept as JSON text, a 1 MB GetRecords page, and ``trim``.

    moto numbers records by their position (``starting_sequence_number + index``): trimming drops records from the
    front and moves ``starting_sequence_number`` on by as many, under the lock that ``add`` and ``get`` take too,
    so sequence numbers and positions stay consistent. A transaction holds the lock throughout (re-entrant:
    ``lapor_cli.moto_transactions``), so that no other write's record lands among its own before it knows whether
    to drop them.
    """

    _lock: threading.RLock

    @classmethod
    def install(cls, table: Table) -> LocalStreamShard:
        shard = table.stream_shard
        if not isinstance(shard, cls):
            shard.__class__ = cls
            shard._lock = threading.RLock()
        return shard

    def add(self, old: Any, new: Any) -> None:
        with self._lock:
            super().add(old, new)
            try:
                self.items[-1] = PackedStreamRecord(self.items[-1].record)  # type: ignore[call-overload]
            except (TypeError, ValueError):  # not JSON as it stands (never seen): kept as moto made it
                pass

    def get(self, start: int, quantity: int) -> list[dict[str, Any]]:
        with self._lock:
            # An iterator from before a trim reads from the oldest record kept (DynamoDB's TRIM_HORIZON).
            first = max(start, self.starting_sequence_number) - self.starting_sequence_number
            records: list[dict[str, Any]] = []
            size = 0
            for record in self.items[first : first + quantity]:
                size += record.size if isinstance(record, PackedStreamRecord) else record.record["dynamodb"]["SizeBytes"]
                if records and size > GET_RECORDS_MAX_BYTES:
                    break
                records.append(record.to_json())
            return records

    def trim(self, before: int | None = None) -> int:
        """Forget the records numbered below ``before`` (all of them when None); returns how many."""
        with self._lock:
            end = len(self.items) if before is None else before - self.starting_sequence_number
            count = max(0, min(end, len(self.items)))
            del self.items[:count]
            self.starting_sequence_number += count
            return count

    def kept(self) -> int:
        return len(self.items)


def table(name: str, region: str) -> Table:
    """The moto table ``name`` in ``region``, whichever account moto filed it under."""
    return backend_of(name, region).tables[name]


def items_of(table: Table) -> Iterator[dict[str, Any]]:
    """Every item of ``table`` as DynamoDB JSON, read in process for the local stack's snapshots.

    A Scan through moto's HTTP API took 15 s for 10,000 reports (each page re-walks the table to find its start,
    copies its items and runs them through moto's generic serialiser), every second while requests came in, and
    once more at shutdown. Writers may go on meanwhile: the table's and each partition's dicts are copied first
    (one C call each, atomic under the GIL), and an item updated in place while read is read again.
    """
    for partition in list(table.items.values()):
        for item in list(partition.values()) if table.range_key_attr else [partition]:
            while True:
                try:
                    attributes = item.to_json()["Attributes"]
                    break
                except RuntimeError:  # "dictionary changed size during iteration"
                    continue
            yield attributes


def backend_of(name: str, region: str) -> Any:
    """The moto DynamoDB backend holding table ``name`` in ``region``."""
    for regions in dynamodb_backends.values():
        backend = regions.get(region) if hasattr(regions, "get") else None
        if backend is not None and name in backend.tables:
            return backend
    raise KeyError(f"no table {name!r} in {region}")


def prune_iterators(region: str, keep: int = KEEP_ITERATORS) -> int:
    """Forget all but the newest ``keep`` shard iterators (dicts keep insertion order); returns how many."""
    dropped = 0
    for regions in dynamodbstreams_backends.values():
        backend = regions.get(region) if hasattr(regions, "get") else None
        if backend is None:
            continue
        iterators = backend.shard_iterators
        for arn in list(iterators)[: max(0, len(iterators) - keep)]:
            iterators.pop(arn, None)
            dropped += 1
    return dropped
