"""``lapor dev``'s embedded DynamoDB stays bounded however long it runs (issue #11, item 7).

moto kept every stream record forever, answered GetRecords with any number of megabytes, and pinned every item
version ever written or read in its dashboard lists: a stack with large reports grew to gigabytes. These tests run
the local stack's own ``LocalDynamo`` and ``StreamPoller`` (a moto server in this process, as ``lapor dev`` runs it),
with the stream functions replaced by a recorder.
"""

from __future__ import annotations

import gc
import os
import threading
import time

import boto3
import pytest

from conftest import ROOT

TABLE = "ReportsTable"


@pytest.fixture
def local_dynamo(tmp_path):
    from moto.moto_api._internal.models import moto_api_backend

    from lapor_cli.localdb import LocalDynamo
    from lapor_cli.template import load_template

    saved = dict(os.environ)
    moto_api_backend.reset()  # moto's state is per process: start from nothing, as lapor dev does
    database = LocalDynamo(load_template(ROOT / "template.yaml"), tmp_path)
    database.start()
    try:
        yield database
    finally:
        database.stop()
        moto_api_backend.reset()
        os.environ.clear()
        os.environ.update(saved)


class Recorder:
    """Stands in for the stream functions: remembers every sequence number each one was handed."""

    def __init__(self) -> None:
        self.seen: dict[str, list[int]] = {}
        self.lock = threading.Lock()

    def __call__(self, function, event):
        with self.lock:
            self.seen.setdefault(function.logical_id, []).extend(
                int(r["dynamodb"]["SequenceNumber"]) for r in event["Records"])
        return {"batchItemFailures": []}


def wait_until(condition, what: str, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"waited {seconds} s for {what}")


def put(client, n: int, size: int = 10) -> None:
    client.put_item(TableName=TABLE, Item={"PK": {"S": f"REPORT#{n}"}, "SK": {"S": "META"},
                                           "body": {"S": "x" * size}})


def test_the_stream_forgets_what_every_mapping_has_handled(local_dynamo):
    from lapor_cli.streams import StreamPoller
    from lapor_cli.template import load_template

    template = load_template(ROOT / "template.yaml")
    mapped = {function.logical_id for function, table, _ in template.stream_mappings if table == TABLE}
    assert len(mapped) >= 2  # statistics and notices read the same stream
    recorder = Recorder()
    poller = StreamPoller(template, local_dynamo.client(), local_dynamo.table_names, recorder, lambda: None, None,
                          interval=0.05, on_consumed=local_dynamo.stream_consumed)
    poller.start()
    try:
        client = local_dynamo.client()
        writes = 400
        for n in range(writes):
            put(client, n)
        wait_until(lambda: all(len(recorder.seen.get(f, [])) >= writes for f in mapped), "every record delivered")
        # Each mapping got every record once, in order; and the shard kept none of them once both had.
        for function in mapped:
            seen = recorder.seen[function]
            assert len(seen) == writes and seen == sorted(set(seen)), function
        wait_until(lambda: local_dynamo.stream_records_kept(TABLE) == 0, "the shard to forget handled records", 5)
        # New records still flow after a trim, numbered on from the last.
        put(client, writes)
        wait_until(lambda: all(len(recorder.seen[f]) == writes + 1 for f in mapped), "the record after the trim")
        assert all(recorder.seen[f][-1] == recorder.seen[f][-2] + 1 for f in mapped)
    finally:
        poller.stop()


def test_get_records_answers_at_most_a_megabyte(local_dynamo):
    client = local_dynamo.client()
    streams = boto3.client("dynamodbstreams", endpoint_url=local_dynamo.endpoint, region_name="ap-southeast-3",
                           aws_access_key_id="lapor-local", aws_secret_access_key="lapor-local")
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    for n in range(8):
        put(client, n, size=300_000)  # INSERT records of one 300 KB image each
    pages = []
    while sum(pages) < 8:
        page = streams.get_records(ShardIterator=iterator, Limit=100)
        iterator = page["NextShardIterator"]
        assert page["Records"], "a page came back empty before every record was read"
        assert sum(r["dynamodb"]["SizeBytes"] for r in page["Records"]) <= 1024 * 1024
        pages.append(len(page["Records"]))
    assert pages == [3, 3, 2]


def test_moto_keeps_no_copy_of_the_items_it_answered_with(local_dynamo):
    from moto.dynamodb.models.dynamo_type import Item

    def live_items() -> int:
        gc.collect()
        return sum(type(o) is Item for o in gc.get_objects())

    client = local_dynamo.client()
    put(client, 0, size=1000)
    before = live_items()
    key = {"PK": {"S": "REPORT#0"}, "SK": {"S": "META"}}
    for n in range(200):  # what a busy report sees: updates, reads, queries, and the snapshot's scans
        client.update_item(TableName=TABLE, Key=key, UpdateExpression="SET n = :n",
                           ExpressionAttributeValues={":n": {"N": str(n)}})
        client.get_item(TableName=TABLE, Key=key)
        client.query(TableName=TABLE, KeyConditionExpression="PK = :pk",
                     ExpressionAttributeValues={":pk": {"S": "REPORT#0"}})
        client.scan(TableName=TABLE, Limit=50)
    assert live_items() - before < 20  # moto's dashboard list kept ~1,000 (every version and every answer)


def test_a_transaction_copies_the_items_it_names_not_the_table(local_dynamo, monkeypatch):
    from moto.dynamodb.models.dynamo_type import Item

    client = local_dynamo.client()
    for start in range(0, 2000, 25):
        client.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": {
            "PK": {"S": f"REPORT#{n}"}, "SK": {"S": "META"}, "body": {"S": "x" * 100}}}} for n in range(start, start + 25)]})
    copies = []
    real = Item.__deepcopy__
    monkeypatch.setattr(Item, "__deepcopy__", lambda self, memo: copies.append(1) or real(self, memo))
    client.transact_write_items(TransactItems=[
        {"Put": {"TableName": TABLE, "Item": {"PK": {"S": "STATS#x"}, "SK": {"S": "MARK"}},
                 "ConditionExpression": "attribute_not_exists(PK)"}},
        {"Update": {"TableName": TABLE, "Key": {"PK": {"S": "STATS#x"}, "SK": {"S": "DAY"}},
                    "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}}])
    assert len(copies) < 10  # moto copied all 2,000 items (and the stream) to be able to roll back
    item = client.get_item(TableName=TABLE, Key={"PK": {"S": "STATS#x"}, "SK": {"S": "DAY"}})["Item"]
    assert item["n"] == {"N": "1"}


def test_a_failed_transaction_leaves_neither_items_nor_stream_records(local_dynamo):
    from botocore.exceptions import ClientError

    client = local_dynamo.client()
    put(client, 1)
    kept = local_dynamo.stream_records_kept(TABLE)
    with pytest.raises(ClientError, match="TransactionCanceled"):
        client.transact_write_items(TransactItems=[  # the first two apply, the third fails: all three undone
            {"Put": {"TableName": TABLE, "Item": {"PK": {"S": "REPORT#2"}, "SK": {"S": "META"}}}},
            {"Update": {"TableName": TABLE, "Key": {"PK": {"S": "REPORT#1"}, "SK": {"S": "META"}},
                        "UpdateExpression": "SET body = :b", "ExpressionAttributeValues": {":b": {"S": "changed"}}}},
            {"Put": {"TableName": TABLE, "Item": {"PK": {"S": "REPORT#1"}, "SK": {"S": "OTHER"}},
                     "ConditionExpression": "attribute_exists(PK)"}}])
    assert "Item" not in client.get_item(TableName=TABLE, Key={"PK": {"S": "REPORT#2"}, "SK": {"S": "META"}})
    item = client.get_item(TableName=TABLE, Key={"PK": {"S": "REPORT#1"}, "SK": {"S": "META"}})["Item"]
    assert item["body"] == {"S": "x" * 10}
    assert local_dynamo.stream_records_kept(TABLE) == kept
    put(client, 3)  # and the stream goes on
    assert local_dynamo.stream_records_kept(TABLE) == kept + 1


def test_the_snapshot_holds_what_a_scan_reads_and_restores_it(local_dynamo, tmp_path):
    import json

    from lapor_cli.localdb import LocalDynamo
    from lapor_cli.template import load_template

    client = local_dynamo.client()
    item = {"PK": {"S": "REPORT#1"}, "SK": {"S": "META"}, "n": {"N": "12.5"}, "ok": {"BOOL": True},
            "none": {"NULL": True}, "tags": {"SS": ["a", "b"]}, "nums": {"NS": ["1", "2"]},
            "timeline": {"L": [{"M": {"type": {"S": "submitted"}, "at": {"S": "2027-01-01T00:00:00Z"},
                                      "rating": {"N": "5"}, "extra": {"M": {"deep": {"L": [{"S": "x"}]}}}}}]}}
    client.put_item(TableName=TABLE, Item=item)
    put(client, 2)
    local_dynamo.save()
    saved = json.loads((tmp_path / "dynamodb" / f"{TABLE}.json").read_text(encoding="utf-8"))
    scanned = client.scan(TableName=TABLE)["Items"]

    def canonical(items):
        return sorted(json.dumps(i, sort_keys=True) for i in items)

    for found in (saved["items"], scanned):  # sets come back in any order
        for i in found:
            for name in ("tags", "nums"):
                if name in i:
                    i[name] = {k: sorted(v) for k, v in i[name].items()}
    assert canonical(saved["items"]) == canonical(scanned)
    local_dynamo.stop()
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()  # a new process, as far as moto can tell
    again = LocalDynamo(load_template(ROOT / "template.yaml"), tmp_path)
    again.start()
    try:
        assert not again.fresh
        restored = again.client().get_item(TableName=TABLE, Key={"PK": item["PK"], "SK": item["SK"]})["Item"]
        assert restored["timeline"] == item["timeline"] and restored["n"] == item["n"]
        assert len(again.client().scan(TableName=TABLE)["Items"]) == 2
    finally:
        again.stop()


@pytest.mark.parametrize("count", [0, 1, 3])
def test_a_snapshot_is_read_an_item_at_a_time_in_the_format_it_always_had(tmp_path, count):
    import json

    from lapor_cli.localdb import _saved_items

    items = [{"PK": {"S": f"REPORT#{n}"}, "SK": {"S": "META"}, "t": {"S": "a, ] [ \"quoted\" }"}} for n in range(count)]
    for text in (json.dumps({"table": TABLE, "items": items}),  # as snapshots were written before
                 json.dumps({"table": TABLE, "items": items}, indent=1)):
        path = tmp_path / "snapshot.json"
        path.write_text(text, encoding="utf-8")
        assert list(_saved_items(path)) == items


def test_stream_records_read_back_as_moto_wrote_them(local_dynamo):
    """Kept as JSON text, a record still reads back whole: event, keys, both images, number and time."""
    from datetime import datetime

    client = local_dynamo.client()
    streams = boto3.client("dynamodbstreams", endpoint_url=local_dynamo.endpoint, region_name="ap-southeast-3",
                           aws_access_key_id="lapor-local", aws_secret_access_key="lapor-local")
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    key = {"PK": {"S": "REPORT#1"}, "SK": {"S": "META"}}
    first = key | {"n": {"N": "1"}, "tags": {"SS": ["a"]}, "timeline": {"L": [{"M": {"type": {"S": "submitted"}}}]}}
    client.put_item(TableName=TABLE, Item=first)
    client.update_item(TableName=TABLE, Key=key, UpdateExpression="SET n = :two",
                       ExpressionAttributeValues={":two": {"N": "2"}})
    client.delete_item(TableName=TABLE, Key=key)
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    inserted, modified, removed = (r["dynamodb"] for r in records)
    assert inserted["Keys"] == key and inserted["NewImage"] == first and "OldImage" not in inserted
    assert modified["OldImage"] == first and modified["NewImage"] == first | {"n": {"N": "2"}}
    assert removed["OldImage"] == first | {"n": {"N": "2"}} and "NewImage" not in removed
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], datetime) for r in records)
