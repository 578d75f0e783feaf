"""The data-access layer's exact requests: moto does not enforce everything DynamoDB does."""

import pytest

from conftest import VALID_REPORT
from lapor import runtime
from lapor.dal import VIEW_ATTRIBUTES, TrackingIdTaken, due_shard


@pytest.fixture
def sent(aws):
    """Every DynamoDB request the store makes, as (operation, parameters)."""
    calls = []
    client = runtime.store().client
    client.meta.events.register("provide-client-params.dynamodb.*",
                                lambda params, model, **_: calls.append((model.name, dict(params))))
    return calls


def test_a_new_report_is_one_transaction_of_conditional_puts_that_never_overwrite(call_api, sent):
    call_api("POST", "/reports", json_body=VALID_REPORT)  # warms the routing cache
    sent.clear()
    reply = call_api("POST", "/reports", json_body=VALID_REPORT)
    assert reply.status == 201
    # With a location, the reply's possible duplicates, looked up beside the filing's write (a thread): Queries
    # of the geographic index's keys, then the one report filed before (BatchGetItem); nothing else is read.
    duplicates = [p for op, p in sent if op == "Query" and p.get("IndexName") == "NearbyCells"]
    assert 1 <= len(duplicates) <= 4
    assert [op for op, _ in sent if op not in ("Query", "TransactWriteItems")] == ["BatchGetItem"]
    [(operation, params)] = [(op, p) for op, p in sent if op not in ("Query", "BatchGetItem")]
    assert operation == "TransactWriteItems"
    puts = [entry["Put"] for entry in params["TransactItems"]]
    assert {put["ConditionExpression"] for put in puts} == {"attribute_not_exists(PK)"}
    assert {put["Item"]["PK"]["S"] for put in puts} == {f"REPORT#{reply.body['tracking_id']}"}
    # The report first (a taken id fails there), then its filing events in timeline order.
    assert [put["Item"]["SK"]["S"] for put in puts] == ["META", "EVENT#00000001#0", "EVENT#00000001#1"]
    assert [put["Item"]["event"]["M"]["type"]["S"] for put in puts[1:]] == ["submitted", "routed"]


def test_a_change_and_its_event_are_one_transaction_conditional_on_the_version(call_api, sent, token):
    filed = call_api("POST", "/reports", json_body=VALID_REPORT).body
    sent.clear()
    answered = call_api("POST", f"/reports/{filed['tracking_id']}/responses", headers={"Authorization": token(
        "operator", filed["agency"]["id"])}, json_body={"message": "Sedang ditangani.", "status": "in_progress"})
    assert answered.status == 200
    [params] = [params for operation, params in sent if operation == "TransactWriteItems"]
    update, put = params["TransactItems"][0]["Update"], params["TransactItems"][1]["Put"]
    assert update["Key"]["SK"] == {"S": "META"} and "#version = :version" in update["ConditionExpression"]
    assert put["Item"]["SK"] == {"S": "EVENT#00000002#0"} and put["ConditionExpression"] == "attribute_not_exists(PK)"


def test_a_taken_tracking_id_raises_instead_of_overwriting(aws):
    store = runtime.store()
    record = {"tracking_id": "LPR-00000000", "status": "routed", "agency_id": "x", "submitted_at": "t",
              "due_at_utc": "2027-01-01T00:00:00Z", "title": "first", "version": 1, "timeline": []}
    store.create_report(record)
    with pytest.raises(TrackingIdTaken):
        store.create_report(record | {"title": "second"})
    assert store.get_report("LPR-00000000")["title"] == "first"


def test_views_read_a_projection_without_the_reporter(aws, sent):
    runtime.store().get_report("LPR-00000000")
    [(operation, params)] = sent
    assert operation == "GetItem"
    assert set(params["ExpressionAttributeNames"].values()) == set(VIEW_ATTRIBUTES)
    assert "reporter" not in VIEW_ATTRIBUTES


def test_due_index_keys_are_sharded_and_sorted_by_utc_deadline(aws):
    store = runtime.store()
    keys = store.index_keys({"tracking_id": "LPR-ABCDEFGH", "status": "routed", "agency_id": "64-72-pupr",
                             "submitted_at": "2026-11-29T03:00:00Z", "due_at_utc": "2027-01-14T15:59:59Z"})
    assert keys["due_pk"] == f"DUE#{due_shard('LPR-ABCDEFGH', store.due_index_shards)}"
    assert keys["due_sk"] == "2027-01-14T15:59:59Z#LPR-ABCDEFGH"
    assert keys["agency_sk"] == "routed#2026-11-29T03:00:00Z"
    closed = store.index_keys({"tracking_id": "LPR-ABCDEFGH", "status": "responded", "agency_id": "a",
                               "submitted_at": "s", "due_at_utc": "d"})
    assert "due_pk" not in closed and "due_sk" not in closed  # sparse: answered reports leave the index
    shards = {due_shard(f"LPR-{i:08d}", 8) for i in range(200)}
    assert shards == set(range(8))


def test_routing_configuration_is_read_once_per_cache_period(call_api, sent):
    call_api("POST", "/reports", json_body=VALID_REPORT)
    call_api("POST", "/reports", json_body=VALID_REPORT)
    queries = [p["ExpressionAttributeValues"][":pk"]["S"] for op, p in sent if op == "Query"
               and p.get("IndexName") != "NearbyCells"]
    assert sorted(queries) == ["CONFIG#AGENCY", "CONFIG#CALENDAR", "CONFIG#ROUTE", "CONFIG#VERSION"]


def test_calendar_overrides_in_the_table_move_deadlines(call_api, aws, monkeypatch):
    from datetime import date

    monkeypatch.setenv("LAPOR_CONFIG_CACHE_SECONDS", "0")
    runtime.reset()
    before = call_api("POST", "/reports", json_body=VALID_REPORT).body["due_at"]
    due_day = date.fromisoformat(before[:10])
    runtime.config_store().put_calendar_override(due_day, working=False, reason="Banjir: kantor tutup")
    after = call_api("POST", "/reports", json_body=VALID_REPORT).body["due_at"]
    assert date.fromisoformat(after[:10]) > due_day
