"""moto enforces no IAM: record what a code path sends to the reports table (action, partition key) and check
each call against a function's statements in template.yaml (``dynamodb:LeadingKeys``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from fnmatch import fnmatch
from typing import Any

from test_template_security import leading_keys, on_table, statements

TRANSACTION_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                       "ConditionCheck": "ConditionCheckItem"}


@contextlib.contextmanager
def table_calls(*clients: Any, table: str = "ReportsTable") -> Iterator[list[tuple[str, str]]]:
    """Every call the ``clients`` send to ``table`` while the block runs, as (IAM action, partition key); a
    transaction as its items, a batch read as its keys. Index queries are left out (granted by index name)."""
    calls: list[tuple[str, str]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems":
            for entry in params["TransactItems"]:
                (kind, write), = entry.items()
                if write["TableName"] == table:
                    calls.append((TRANSACTION_ACTIONS[kind], (write.get("Key") or write["Item"])["PK"]["S"]))
        elif model.name == "BatchGetItem":
            calls.extend(("BatchGetItem", k["PK"]["S"]) for k in params["RequestItems"].get(table, {}).get("Keys", []))
        elif params.get("TableName") != table:
            return
        elif "Key" in params:
            calls.append((model.name, params["Key"]["PK"]["S"]))
        elif model.name == "Query" and "IndexName" not in params:
            calls.append(("Query", params["ExpressionAttributeValues"][":pk"]["S"]))

    unique = f"iam-calls-{id(calls)}"
    for client in clients:
        client.meta.events.register("before-parameter-build.dynamodb", record, unique_id=unique)
    try:
        yield calls
    finally:
        for client in clients:
            client.meta.events.unregister("before-parameter-build.dynamodb", unique_id=unique)


def not_granted(function: str, calls: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The calls ``function``'s Allow statements on the reports table do not cover (action and key prefix)."""
    granted = [(action.removeprefix("dynamodb:"), key) for statement in statements(function)
               if statement["Effect"] == "Allow" and on_table(statement)
               for action in statement["Action"] for key in leading_keys(statement) or ()]
    return sorted({(action, pk.split("#")[0]) for action, pk in calls
                   if not any(a == action and fnmatch(pk, key) for a, key in granted)})
