"""The local stack's moto transactions (lapor_cli.moto_transactions): all or nothing, at the cost of the items
they touch. moto's own deep-copied every table a transaction names, once per entry."""

from __future__ import annotations

import pytest

from conftest import event_items, report_items


def put(pk: str, sk: str, condition: str | None = None) -> dict:
    entry = {"TableName": "ReportsTable", "Item": {"PK": {"S": pk}, "SK": {"S": sk}, "n": {"N": "1"}}}
    return {"Put": entry | ({"ConditionExpression": condition} if condition else {})}


def stream_length(aws) -> int:
    from moto.dynamodb.models import dynamodb_backends

    [backend] = [b for region in dynamodb_backends.values() for b in region.values() if "ReportsTable" in b.tables]
    return len(backend.tables["ReportsTable"].stream_shard.items)


def test_a_failed_transaction_writes_nothing_and_leaves_no_stream_record(aws):
    aws.put_item(TableName="ReportsTable", Item={"PK": {"S": "REPORT#T"}, "SK": {"S": "META"}, "n": {"N": "0"}})
    before, records = sorted(map(str, report_items(aws))), stream_length(aws)
    with pytest.raises(aws.exceptions.TransactionCanceledException) as failed:
        aws.transact_write_items(TransactItems=[
            put("REPORT#T", "EVENT#1"),  # would succeed alone
            {"Update": {"TableName": "ReportsTable", "Key": {"PK": {"S": "REPORT#T"}, "SK": {"S": "META"}},
                        "UpdateExpression": "SET n = :two", "ConditionExpression": "n = :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":two": {"N": "2"}}}},
        ])
    reasons = [r["Code"] for r in failed.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert sorted(map(str, report_items(aws))) == before and event_items(aws, "T") == []
    assert stream_length(aws) == records


def test_a_transaction_applies_every_entry_and_copies_only_what_it_touches(aws, monkeypatch):
    for n in range(50):  # a table much larger than the transaction
        aws.put_item(TableName="ReportsTable", Item={"PK": {"S": f"REPORT#{n}"}, "SK": {"S": "META"}})
    from moto.dynamodb.models.dynamo_type import Item

    copied = []  # items deep-copied: moto's own backup copied all 50 (twice: once per entry naming the table)
    real = Item.__deepcopy__
    monkeypatch.setattr(Item, "__deepcopy__", lambda self, memo: copied.append(self) or real(self, memo))
    aws.transact_write_items(TransactItems=[put("REPORT#X", "META", "attribute_not_exists(PK)"),
                                            put("REPORT#X", "EVENT#1", "attribute_not_exists(PK)")])
    assert copied == []  # neither item existed before: nothing to copy, and no table copied
    assert len(event_items(aws, "X")) == 1
    with pytest.raises(aws.exceptions.TransactionCanceledException):  # the same again: the conditions fail
        aws.transact_write_items(TransactItems=[put("REPORT#X", "META", "attribute_not_exists(PK)")])


def test_a_table_copied_outside_a_transaction_is_a_real_copy(aws):
    """Only a transaction's backup is narrowed: anything else that deep-copies a table still gets its own."""
    import copy

    from moto.dynamodb.models import dynamodb_backends

    aws.put_item(TableName="ReportsTable", Item={"PK": {"S": "REPORT#C"}, "SK": {"S": "META"}})
    [table] = [b.tables["ReportsTable"] for r in dynamodb_backends.values() for b in r.values()
               if "ReportsTable" in b.tables]
    copied = copy.deepcopy(table)
    assert copied is not table and copied.items is not table.items
    aws.put_item(TableName="ReportsTable", Item={"PK": {"S": "REPORT#D"}, "SK": {"S": "META"}})
    assert len(copied.items) == len(table.items) - 1
