"""The local stack's event source mappings: DynamoDB stream records in batches to the functions the
template attaches to them, with partial-batch failure, retries and a dead-letter file, as Lambda would.

Once every mapping of a table has handled a record (delivered or dead-lettered), ``on_consumed`` tells the
embedded DynamoDB, which forgets it: moto would keep every record of the stream forever.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lapor_cli.template import FunctionSpec, Template

RETRIES = 3


class StreamPoller:
    def __init__(self, template: Template, client: Any, table_names: dict[str, str],
                 invoke: Callable[[FunctionSpec, dict[str, Any]], Any], on_change: Callable[[], None],
                 dead_letters: Path | None, interval: float = 0.5,
                 on_consumed: Callable[[str, int], None] | None = None) -> None:
        self.template, self.client, self.table_names = template, client, table_names
        self.invoke, self.on_change, self.dead_letters, self.interval = invoke, on_change, dead_letters, interval
        self.on_consumed = on_consumed
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # table name -> mapping (function) -> the first sequence number it has not handled yet
        self._positions: dict[str, dict[str, int]] = {}
        self._positions_lock = threading.Lock()

    def start(self) -> None:
        """Read each mapped stream from now on: records of data restored at start-up are not events."""
        for function, table, props in self.template.stream_mappings:
            table_name = self.table_names[table]
            stream_arn = self.client.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
            self._positions.setdefault(table_name, {})[function.logical_id] = 0
            # The iterators are taken here, not in the thread: a write right after start() is an event too.
            thread = threading.Thread(target=self._poll, args=(function, stream_arn, int(props.get("BatchSize", 100)),
                                                                table_name, self._iterators(stream_arn)),
                                      name=f"lapor-stream-{function.logical_id}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _iterators(self, stream_arn: str) -> dict[str, str]:
        shards = self.client_streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        return {shard["ShardId"]: self.client_streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST")["ShardIterator"]
            for shard in shards}

    @property
    def client_streams(self) -> Any:
        if not hasattr(self, "_streams"):
            import boto3

            meta = self.client.meta
            self._streams = boto3.client("dynamodbstreams", endpoint_url=meta.endpoint_url,
                                         region_name=meta.region_name, aws_access_key_id="lapor-local",
                                         aws_secret_access_key="lapor-local")
        return self._streams

    def _poll(self, function: FunctionSpec, stream_arn: str, batch_size: int, table_name: str,
              iterators: dict[str, str]) -> None:
        # As Lambda polls a shard: the next batch at once while there are records, a pause only when there are
        # none. (Pausing after every batch held Notify to 25 records per 0.5 s: a backlog of thousands of records,
        # each with its images, stayed in memory for minutes.)
        busy = False
        while not self._stop.wait(0 if busy else self.interval):
            busy = False
            for shard, iterator in list(iterators.items()):
                page = self.client_streams.get_records(ShardIterator=iterator, Limit=batch_size)
                iterators[shard] = page.get("NextShardIterator") or iterator
                if page["Records"]:
                    busy = True
                    self.deliver(function, [r | {"eventSourceARN": stream_arn} for r in page["Records"]])
                    last = max(int(r["dynamodb"]["SequenceNumber"]) for r in page["Records"])
                    self._consumed(table_name, function.logical_id, last + 1)
                del page  # a page can hold a megabyte of images: not kept through the next wait

    def _consumed(self, table_name: str, function_id: str, before: int) -> None:
        with self._positions_lock:
            positions = self._positions.setdefault(table_name, {})
            positions[function_id] = max(before, positions.get(function_id, 0))
            oldest = min(positions.values())
        if self.on_consumed is not None and oldest:
            self.on_consumed(table_name, oldest)

    def deliver(self, function: FunctionSpec, records: list[dict[str, Any]]) -> None:
        """Invoke with the batch; retry the records the function reports failed; then dead-letter them."""
        pending = records
        for _ in range(RETRIES + 1):
            try:
                result = self.invoke(function, {"Records": pending}) or {}
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            except Exception:  # the whole invocation failed: every record is retried
                traceback.print_exc()
                failed = {r["dynamodb"]["SequenceNumber"] for r in pending}
            pending = [r for r in pending if r["dynamodb"]["SequenceNumber"] in failed]
            self.on_change()
            if not pending:
                return
        if self.dead_letters is not None:
            self.dead_letters.parent.mkdir(parents=True, exist_ok=True)
            with self.dead_letters.open("a", encoding="utf-8") as file:
                for record in pending:
                    file.write(json.dumps({"function": function.logical_id, "record": record}, default=str) + "\n")
        print(f"lapor dev: {len(pending)} stream record(s) failed {RETRIES + 1} times for "
              f"{function.logical_id}; kept in {self.dead_letters}", flush=True)

    def stop(self, timeout: float = 5.0) -> None:
        """Let each mapping finish the batch it is delivering, for ``timeout`` seconds in all (not each)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
