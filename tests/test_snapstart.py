"""SnapStart's hooks (lapor.snapstart): priming stores nothing and calls nothing, the hooks are no-ops outside
Lambda, and copies restored from one snapshot draw different ids (issue #16)."""

from __future__ import annotations

import json
import os
import random
import time

import pytest


def test_outside_lambda_nothing_is_registered_with_a_runtime():
    from lapor import snapstart

    assert snapstart.register_before_snapshot is None and snapstart.register_after_restore is None
    assert snapstart.install(lambda: None) is False
    snapstart._before.pop()


def test_the_api_priming_runs_a_report_through_validation_and_routing_against_the_stub(aws_over_http):
    """Over HTTP, as on AWS (moto's in-process mock would answer inside botocore's events beside the stub)."""
    from lapor_api.app import prime

    from conftest import table_items

    from lapor import runtime

    def entry(action: dict) -> str:  # "Put INTAKE", "ConditionCheck CONFIG", ...
        (kind, body), = action.items()
        return f"{kind} {(body.get('Item') or body['Key'])['PK']['S'].split('#')[0]}"

    entries: list[list[str]] = []
    runtime.dynamodb().meta.events.register(
        "before-parameter-build.dynamodb.TransactWriteItems",
        lambda params, **_: entries.append([entry(e) for e in params["TransactItems"]]))
    before = table_items(aws_over_http)
    assert prime() == [201, 201, 201, 422, 404, 200, 200]
    assert table_items(aws_over_http) == before  # the stub answered: nothing reached the table
    # The first filing checks the configuration's version in its transaction, as the first after a restore does;
    # the first two carry an Idempotency-Key, as the web app's filings do.
    assert ["ConditionCheck CONFIG" in e for e in entries] == [True, False, False]
    assert ["Put INTAKE" in e for e in entries] == [True, True, False]


def test_the_stub_answers_after_signing_and_its_reply_is_parsed_without_a_socket(monkeypatch):
    """Priming goes through all a real call does but the network: the request is signed, the stub's HTTP reply
    parsed; the endpoint here refuses every connection, and botocore is told not to retry."""
    import boto3
    from botocore.config import Config

    from lapor.snapstart import stubbed_dynamodb

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("dynamodb", region_name="ap-southeast-3", endpoint_url="http://127.0.0.1:9",
                          config=Config(retries={"total_max_attempts": 1}, connect_timeout=1))
    signed = []
    client.meta.events.register("before-send.dynamodb", lambda request, **_: signed.append(
        "Authorization" in request.headers))
    with stubbed_dynamodb(client) as called:
        assert client.query(TableName="t", KeyConditionExpression="PK = :pk",
                            ExpressionAttributeValues={":pk": {"S": "x"}})["Items"] == []
        reply = client.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": {"PK": {"S": "x"}}}}])
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 200 and called == ["Query", "TransactWriteItems"]
    assert signed == [True, True]
    with pytest.raises(Exception, match="127.0.0.1:9"):  # without the stub: no server there
        client.get_item(TableName="t", Key={"PK": {"S": "x"}})


def test_after_priming_the_clients_handler_cache_is_kept():
    """botocore empties a client's handler cache whenever a handler is registered or unregistered: the stub stays
    registered, answering nothing, so the first request after a restore finds the cache priming filled."""
    import boto3

    from lapor.snapstart import stubbed_dynamodb

    client = boto3.client("dynamodb", region_name="ap-southeast-3", aws_access_key_id="testing",
                          aws_secret_access_key="testing", endpoint_url="http://127.0.0.1:9")
    emitter = client.meta.events._emitter  # botocore's HierarchicalEmitter: it replaces the cache to empty it
    with stubbed_dynamodb(client):
        client.get_item(TableName="t", Key={"PK": {"S": "x"}})
    cache = emitter._lookup_cache
    filled = dict(cache)
    assert "before-send.dynamodb.GetItem" in filled
    with stubbed_dynamodb(client) as called:  # a second priming: the same stub, no new registration
        client.get_item(TableName="t", Key={"PK": {"S": "x"}})
    assert called == ["GetItem"] and emitter._lookup_cache is cache and dict(cache) == filled


def test_priming_formats_log_lines_and_drops_them(capsys):
    """The first real request's log line costs no formatter set-up: priming formatted its own, written nowhere."""
    from lapor import snapstart
    from lapor.observability import logger

    handler = logger.logger_handler
    stream = handler.stream
    formatted = []
    original = handler.format
    handler.format = lambda record: formatted.append(record) or original(record)
    try:
        with snapstart._log_lines_dropped(logger):
            logger.info("priming line")
    finally:
        del handler.format
    assert [r.getMessage() for r in formatted] == ["priming line"]
    assert handler.stream is stream and "priming line" not in capsys.readouterr().out


def test_the_snapshot_holds_the_real_configuration_and_a_restore_only_checks_its_version(aws, call_api):
    """Priming ends by reading the table's configuration (the snapshot keeps it). After a restore nothing is read
    at once; the first filing checks the version in its own transaction (tests/test_config_fence.py), and a
    request that reads the configuration otherwise checks it with one Query of the head item, not every agency
    and route."""
    from lapor import runtime, snapstart
    from lapor_api.app import prime

    from conftest import VALID_REPORT

    runtime.reset()
    prime()
    calls: list[str] = []
    runtime.store().client.meta.events.register(  # not the duplicates lookup's index Queries and BatchGetItem
        "before-parameter-build.dynamodb",
        lambda model, params, **_: None if "IndexName" in params or model.name == "BatchGetItem"
        else calls.append(model.name))
    held = runtime.config_cache().get()
    assert calls == []  # read by the priming: in the snapshot
    assert "priming" not in held.agencies and held.agencies  # the real agencies, not priming's stand-in
    snapstart.refresh()  # the same client, its connections closed, the version due for a check
    assert calls == []
    assert call_api("POST", "/reports", json_body=VALID_REPORT).status == 201
    assert calls == ["TransactWriteItems"]  # the check rode on the filing
    runtime.config_cache().expire()
    calls.clear()
    assert runtime.config_cache().get() is held and calls == ["Query"]  # the head only


def test_the_sms_priming_stops_at_the_signature_without_reading_a_secret(aws, monkeypatch):
    monkeypatch.setenv("LAPOR_TWILIO_AUTH_TOKEN", "ssm:/lapor/never-read")
    monkeypatch.setenv("LAPOR_SMS_HMAC_SECRET", "ssm:/lapor/never-read")
    from lapor import runtime
    from lapor_sms.app import prime

    runtime.reset()
    assert prime() == [403, 403]




@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_copies_restored_from_one_snapshot_draw_different_ids(aws):
    """Init and the before-snapshot hooks once; two forks stand for two environments restored from the snapshot,
    each runs the after-restore hooks and draws tracking ids, access codes, ULIDs and random numbers."""
    import lapor_api.app  # noqa: F401 (init: registers the API's priming)
    from lapor import snapstart
    from lapor.domain.ids import new_access_code, new_tracking_id
    from ulid import ULID

    snapstart.run_before_snapshot()
    random.seed(16)  # a seeded generator in the snapshot: what the restore hook must not let the copies share
    drawn = []
    for _ in range(2):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            try:
                os.close(read)
                snapstart.run_after_restore()
                result = {"tracking": [new_tracking_id() for _ in range(5)],
                          "codes": [new_access_code() for _ in range(5)],
                          "ulids": [str(ULID()) for _ in range(5)], "random": [random.random() for _ in range(5)]}
                os.write(write, json.dumps(result).encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            drawn.append(json.loads(pipe.read()))
        os.waitpid(pid, 0)
    first, second = drawn
    for kind in ("tracking", "codes", "ulids", "random"):
        assert len(first[kind]) == 5 and not set(first[kind]) & set(second[kind]), kind


def test_a_restore_keeps_the_dynamodb_client_and_closes_its_pooled_connections(aws):
    """A socket in the snapshot is dead after a real restore, and copies must not share one; the client, which
    holds nothing unique to a copy, is kept (building a new one costs the first request)."""
    from lapor import runtime, snapstart

    runtime.reset()
    client = runtime.store().client
    manager = client._endpoint.http_session._manager
    manager.connection_from_url("https://dynamodb.ap-southeast-3.amazonaws.com/")  # a pool, as a real call leaves
    assert len(manager.pools) == 1
    snapstart.refresh()
    assert runtime.store().client is client and runtime.config_store().client is client
    assert len(manager.pools) == 0
    assert runtime.store().get_report("LPR-00000000") is None  # still usable: it opens a new connection


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_copies_restored_from_one_snapshot_do_not_continue_one_ulid_sequence():
    """python-ulid is monotonic: a ULID in the millisecond of the previous one is that one plus one. Two copies of
    a snapshot that made a ULID must not both continue from it."""
    import time

    from lapor import snapstart
    from ulid import ULID

    at = time.time()
    ULID.from_timestamp(at)  # made before the snapshot: its randomness is in the generator's state
    drawn = []
    for _ in range(2):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read)
                snapstart.run_after_restore()
                os.write(write, str(ULID.from_timestamp(at)).encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            drawn.append(pipe.read())
        os.waitpid(pid, 0)
    assert drawn[0] and drawn[1] and drawn[0] != drawn[1]
