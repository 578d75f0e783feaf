"""A filing checks the configuration's version in its own transaction (``ConfigCache.for_write``), not with a Query
of the head before it: after the cache's TTL and after a SnapStart restore (issue #16)."""

from __future__ import annotations

import pytest

from conftest import VALID_REPORT


def sent(client):
    """The calls ``client`` sends to the table itself, as (operation, partition keys); the possible-duplicates
    lookup beside a filing (index Queries, then a BatchGetItem of what they found) left out."""
    calls: list[tuple[str, list[str]]] = []

    def record(params, model, **_):
        if model.name == "TransactWriteItems":
            entries = [next(iter(e.values())) for e in params["TransactItems"]]
            calls.append((model.name, [(e.get("Key") or e["Item"])["PK"]["S"] for e in entries]))
        elif "IndexName" not in params and model.name != "BatchGetItem":  # not the duplicates lookup's reads
            key = params.get("Key") or {}
            calls.append((model.name, [key.get("PK", {}).get("S") or params.get("ExpressionAttributeValues", {})
                                       .get(":pk", {}).get("S")]))

    client.meta.events.register("before-parameter-build.dynamodb", record)
    return calls


@pytest.fixture
def held(aws):
    """The API's configuration cache, read once and then due for its version check (as after a restore)."""
    from lapor import runtime

    runtime.reset()
    cache = runtime.config_cache()
    config = cache.get()
    cache.expire()
    return config


def test_a_due_check_rides_on_the_filing_transaction_and_counts_as_a_check(aws, call_api, held):
    from lapor import runtime

    calls = sent(runtime.store().client)
    filed = call_api("POST", "/reports", json_body=VALID_REPORT)
    assert filed.status == 201 and filed.body["agency"]["id"] == "64-72-pupr"
    assert [op for op, _ in calls] == ["TransactWriteItems"]  # no Query of the head before the write
    (_, partitions), = calls
    assert partitions.count("CONFIG#VERSION") == 1  # the ConditionCheck, beside the report's own items
    calls.clear()
    assert runtime.config_cache().get() is held and calls == []  # the write proved the version: trusted again
    calls.clear()
    assert call_api("POST", "/reports", json_body=VALID_REPORT).status == 201
    (_, partitions), = calls
    assert "CONFIG#VERSION" not in partitions  # within the TTL: a filing carries no check


def test_a_configuration_changed_since_it_was_read_refuses_the_write_and_the_report_follows_the_new_one(
        aws, call_api, held):
    """Without the check in the transaction the report would go to the agency the held configuration names."""
    from lapor import runtime
    from lapor.domain.routing import Route

    runtime.config_store().put_routes([Route("64.72", "infrastructure", "64-72-dishub")])  # another container
    calls = sent(runtime.store().client)
    filed = call_api("POST", "/reports", json_body=VALID_REPORT)
    assert filed.status == 201 and filed.body["agency"]["id"] == "64-72-dishub"
    ops = [op for op, _ in calls]
    assert ops[0] == "TransactWriteItems" and ops[-1] == "TransactWriteItems" and "Query" in ops
    assert "CONFIG#VERSION" not in calls[-1][1]  # the retry was routed by the configuration it just read
    from conftest import report_items

    assert [i["agency_id"]["S"] for i in report_items(aws)] == ["64-72-dishub"]  # the refused write left nothing
    assert runtime.config_cache().get().version > held.version


def test_an_idempotent_filing_with_a_due_check_replays_and_the_caller_entry_keeps_its_index(aws, call_api, held):
    """The key's claim follows the check in the transaction; a refused claim is still the caller's entry 0."""
    from lapor import runtime
    from lapor.dal import WriteRefused
    from lapor.intake import submit_report_routed
    from lapor.intake_models import ReportIn
    from lapor.dal import keys

    key = {"idempotency-key": "0b6f3c1e-7a0d-4c55-9a2e-1f4b7d9c2e10"}
    first = call_api("POST", "/reports", json_body=VALID_REPORT, headers=key)
    runtime.config_cache().expire()
    again = call_api("POST", "/reports", json_body=VALID_REPORT, headers=key)
    assert first.status == 201 and again.body["tracking_id"] == first.body["tracking_id"]

    runtime.config_cache().expire()
    never = {"ConditionCheck": {"TableName": runtime.store().table_name, "Key": keys.report_key("LPR-00000000"),
                                "ConditionExpression": "attribute_exists(PK)"}}  # no such report
    with pytest.raises(WriteRefused) as refused:
        submit_report_routed(ReportIn.model_validate(VALID_REPORT), channel="web", store=runtime.store(),
                             configuration=runtime.config_cache(), default_deadline_days=30,
                             also_write=lambda reply: [never])
    assert refused.value.index == 0


def test_a_configuration_never_versioned_is_checked_as_such(aws):
    """Version 0 (no head yet) is a condition that no version was written."""
    from lapor import runtime

    store = runtime.config_store()
    assert store.version_condition(0)["ConditionCheck"]["ConditionExpression"] == "attribute_not_exists(#v)"
    assert store.version_condition(5)["ConditionCheck"]["ExpressionAttributeValues"] == {":v": {"N": "5"}}


def test_the_filing_calls_are_granted_to_the_api_function(aws, call_api, held):
    from lapor import runtime

    from iam_calls import not_granted, table_calls

    with table_calls(runtime.store().client) as calls:
        assert call_api("POST", "/reports", json_body=VALID_REPORT).status == 201
    assert ("ConditionCheckItem", "CONFIG#VERSION") in calls
    assert not_granted("ApiFunction", calls) == []


def test_a_configuration_never_versioned_fences_on_no_version_and_a_first_save_refuses_it(aws, call_api):
    """Version 0, no head item yet: the check is that no version was written; the first bump makes it fail."""
    from lapor import runtime
    from lapor.dal import keys
    from lapor.domain.routing import Route

    aws.delete_item(TableName=runtime.store().table_name, Key=keys.config_head_key())
    runtime.reset()
    cache = runtime.config_cache()
    assert cache.get().version == 0
    cache.expire()
    assert call_api("POST", "/reports", json_body=VALID_REPORT).body["agency"]["id"] == "64-72-pupr"
    runtime.config_store().put_routes([Route("64.72", "infrastructure", "64-72-dishub")])  # version 1
    cache.expire()
    assert call_api("POST", "/reports", json_body=VALID_REPORT).body["agency"]["id"] == "64-72-dishub"


class _HeldOnce:
    """The client, with one call of ``operation`` answered by ``error`` first (what DynamoDB does while a
    transaction holds an item the call names)."""

    def __init__(self, real, operation, error, times=1):
        self._real, self._operation, self._error, self.left = real, operation, error, times

    def __getattr__(self, name):
        attribute = getattr(self._real, name)
        if name != self._operation:
            return attribute

        def call(**params):
            if self.left:
                self.left -= 1
                raise self._error(params)
            return attribute(**params)
        return call


def _conflict(client, operation, reasons=None):
    from botocore.exceptions import ClientError

    if reasons is None:
        code = "TransactionConflictException"
        return lambda params: client.exceptions.TransactionConflictException(
            {"Error": {"Code": code, "Message": "held"}}, operation)
    return lambda params: client.exceptions.TransactionCanceledException(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
         "CancellationReasons": [{"Code": "TransactionConflict" if "ConditionCheck" in e else "None"}
                                 for e in params["TransactItems"]]}, operation)


def test_a_filing_whose_check_met_an_admin_save_writing_the_head_reads_it_consistently_and_files(
        aws, call_api, held, monkeypatch, caplog):
    """TransactionConflict on the check: nothing was written; the head is read again (strongly consistent) and the
    report filed by the configuration it names, without a check (it was just read)."""
    from lapor import runtime

    store = runtime.store()
    reads = []
    config_store = runtime.config_store()
    head = config_store.head
    monkeypatch.setattr(config_store, "head", lambda **kw: reads.append(kw) or head(**kw))
    store._client = _HeldOnce(store.client, "transact_write_items",
                              _conflict(store.client, "TransactWriteItems", reasons=True))
    filed = call_api("POST", "/reports", json_body=VALID_REPORT)
    assert filed.status == 201 and store._client.left == 0
    assert reads == [{"consistent": True}]
    assert any(r.getMessage() == "configuration check refused a filing" and r.reason == "TransactionConflict"
               for r in caplog.records)
    from conftest import report_items

    assert len(report_items(aws)) == 1


def test_an_admin_save_is_tried_again_while_a_filing_s_check_holds_the_head(aws):
    import time as clock

    from lapor import runtime
    from lapor.dal.configuration import HEAD_WRITE_ATTEMPTS

    store = runtime.config_store()
    real = store.client
    store._client = _HeldOnce(real, "update_item", _conflict(real, "UpdateItem"), times=2)
    before = store.head(consistent=True).version
    saved = store.replace_calendar_overrides([{"date": "2027-03-02", "working": False, "reason": "Banjir"}],
                                             read=store.head(consistent=True), by="admin:a", now=clock.time())
    assert saved == before + 2 and store.head(consistent=True).saving is None and store._client.left == 0
    store._client = _HeldOnce(real, "update_item", _conflict(real, "UpdateItem"), times=HEAD_WRITE_ATTEMPTS)
    with pytest.raises(real.exceptions.TransactionConflictException):
        store.replace_calendar_overrides([], read=store.head(consistent=True), by="admin:a", now=clock.time())
    assert store.head(consistent=True).version == saved  # nothing written


def test_the_routed_filing_refuses_a_writer_of_its_own():
    from lapor.intake import submit_report_routed

    with pytest.raises(TypeError):
        submit_report_routed(None, configuration=None, write=lambda filed: None)
