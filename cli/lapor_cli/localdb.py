"""The embedded DynamoDB of the local stack: a moto server whose tables come from ``template.yaml``.

moto keeps its data in memory, so the tables are written to ``.lapor/dynamodb/`` (at most once a second while
requests change them, and on shutdown) and read back on the next start. ``lapor_cli.localmoto`` keeps moto's
memory bounded (no dashboard copies of every item, stream records trimmed once consumed).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3

from lapor_cli.template import Template, create_tables

LOCAL_REGION = "ap-southeast-3"  # Jakarta
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "lapor-local", "AWS_SECRET_ACCESS_KEY": "lapor-local"}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _saved_items(path: Path) -> Iterator[dict[str, Any]]:
    """The items of a snapshot (``{"table": ..., "items": [...]}``), one at a time: the file's text is read whole,
    but never the tables' worth of Python objects that ``json.loads`` would build at once (10,000 reports: 18 MB of
    text, ~150 MB of objects)."""
    text = path.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    start = text.find("[", text.index('"items"'))
    position = start + 1
    while True:
        while text[position] in " \t\r\n,":
            position += 1
        if text[position] == "]":
            return
        item, position = decoder.raw_decode(text, position)
        yield item


class LocalDynamo:
    def __init__(self, template: Template, data_dir: Path | None) -> None:
        self.template = template
        self.data_dir = data_dir
        self.table_names = {logical_id: logical_id for logical_id in template.tables}
        self._server: Any = None
        self.endpoint = ""
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._saver: threading.Thread | None = None
        self._saving = threading.Lock()  # one snapshot at a time (the saver's and the last one at stop may meet)
        self._streams: dict[str, Any] = {}  # table name -> its moto stream shard (lapor_cli.localmoto)

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        from lapor_cli import localmoto

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        localmoto.untrack_models()  # before any table or item exists
        port = free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        self.endpoint = f"http://127.0.0.1:{port}"
        os.environ.update(LOCAL_CREDENTIALS | {"AWS_DEFAULT_REGION": LOCAL_REGION,
                                               "AWS_ENDPOINT_URL_DYNAMODB": self.endpoint})
        self.fresh = self._create_tables()
        if self.data_dir is not None:
            self._saver = threading.Thread(target=self._save_when_dirty, name="lapor-dynamodb-saver", daemon=True)
            self._saver.start()

    def client(self) -> Any:
        return boto3.client("dynamodb", endpoint_url=self.endpoint, region_name=LOCAL_REGION,
                            aws_access_key_id="lapor-local", aws_secret_access_key="lapor-local")

    def _snapshot_path(self, table: str) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "dynamodb" / f"{table}.json"

    def _create_tables(self) -> bool:
        """Create every table; restore saved items. True when nothing was saved before (a fresh stack)."""
        client, fresh = self.client(), True
        names = create_tables(client, self.template, self.table_names)
        self._take_over_tables()
        for name in names:
            if self.data_dir is not None and self._snapshot_path(name).exists():
                fresh = False
                batch: list[dict[str, Any]] = []
                for item in _saved_items(self._snapshot_path(name)):
                    batch.append({"PutRequest": {"Item": item}})
                    if len(batch) == 25:
                        self._restore(client, name, batch)
                        batch = []
                self._restore(client, name, batch)
        return fresh

    def _restore(self, client: Any, name: str, batch: list[dict[str, Any]]) -> None:
        while batch:
            batch = client.batch_write_item(RequestItems={name: batch}).get("UnprocessedItems", {}).get(name, [])
        if name in self._streams:  # the pollers read from the latest record on: restored data are not events
            self._streams[name].trim()

    def _take_over_tables(self) -> None:
        """Take over each table, its stream shard and transactions (see lapor_cli.localmoto)."""
        from lapor_cli import localmoto, moto_transactions

        moto_transactions.install()
        for name in self.table_names.values():
            moto_table = localmoto.table(name, LOCAL_REGION)
            if moto_table.stream_shard is not None:
                self._streams[name] = localmoto.LocalStreamShard.install(moto_table)

    def stream_consumed(self, table: str, before: int) -> None:
        """Every local consumer of ``table``'s stream has handled its records numbered below ``before``: forget
        them (DynamoDB keeps 24 hours; nothing reads them again here), and the shard iterators moto keeps."""
        from lapor_cli import localmoto

        shard = self._streams.get(table)
        if shard is not None:
            shard.trim(before)
        localmoto.prune_iterators(LOCAL_REGION)

    def stream_records_kept(self, table: str) -> int:
        shard = self._streams.get(table)
        return shard.kept() if shard is not None else 0

    def mark_dirty(self) -> None:
        self._dirty.set()

    def _save_when_dirty(self) -> None:
        while not self._stopping.is_set():
            if self._dirty.wait(timeout=0.5):
                self._dirty.clear()
                self.save()
                self._stopping.wait(1.0)

    def save(self) -> None:
        if self.data_dir is None:
            return
        from lapor_cli import localmoto

        with self._saving:
            for name in self.table_names.values():
                path = self._snapshot_path(name)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                # Read from moto in process and written an item at a time: never the whole table in memory at
                # once (10,000 reports are ~50 MB of JSON, several times that as Python objects), nor a Scan
                # through moto's HTTP API (15 s for 10,000 reports, at shutdown too).
                with tmp.open("w", encoding="utf-8") as file:
                    file.write(f'{{"table": {json.dumps(name)}, "items": [')
                    separator = ""
                    for item in localmoto.items_of(localmoto.table(name, LOCAL_REGION)):
                        file.write(separator + json.dumps(item))
                        separator = ", "
                    file.write("]}")
                tmp.replace(path)  # atomic: a crash never leaves half a file

    def stop(self) -> None:
        self._stopping.set()
        if self._saver is not None:
            self._saver.join(timeout=5)
        if self._server is not None:
            self.save()
            self._server.stop()
            self._server = None
