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


def test_the_api_priming_runs_a_report_through_validation_and_routing_against_the_stub(aws):
    from lapor_api.app import prime

    from conftest import report_items

    before = report_items(aws)
    assert prime() == [201, 201, 422, 404, 200, 200]
    assert report_items(aws) == before  # the stub answered: nothing reached the table


def test_the_snapshot_holds_the_real_configuration_and_a_restore_only_checks_its_version(aws):
    """Priming ends by reading the table's configuration (the snapshot keeps it); after a restore the first
    request checks its version (one Query of the head item) instead of reading every agency and route."""
    from lapor import runtime, snapstart
    from lapor_api.app import prime

    runtime.reset()
    prime()
    calls: list[str] = []

    def count(client):
        client.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))

    count(runtime.config_store().client)
    held = runtime.config_cache().get()
    assert calls == []  # read by the priming: in the snapshot
    assert "priming" not in held.agencies and held.agencies  # the real agencies, not priming's stand-in
    snapstart.refresh()  # the same client, its connections closed; the version checked in a thread
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls == ["Query"]  # the head, one page, read at the restore before any request asked for it
    assert runtime.config_cache().get().version == held.version
    assert calls == ["Query"]  # the request waited for that check instead of making its own


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


def test_after_a_restore_the_version_check_runs_beside_the_first_request():
    """check_soon starts the check in a thread; get waits for it instead of checking again, so the check's round
    trip overlaps what the request does before it needs the configuration."""
    import time

    from lapor.config import ConfigCache, RoutingConfig

    class SlowStore:
        heads = 0

        def head(self):
            SlowStore.heads += 1
            time.sleep(0.3)
            return type("Head", (), {"version": 7})()

    cache = ConfigCache(SlowStore(), ttl_seconds=300)
    cache.prime(RoutingConfig(agencies={}, routes={}, version=7))
    cache.check_soon()
    time.sleep(0.3)  # the first request's own work (validation, its first read)
    started = time.perf_counter()
    assert cache.get().version == 7
    assert time.perf_counter() - started < 0.15 and SlowStore.heads == 1
    assert cache.get().version == 7 and SlowStore.heads == 1  # checked: cached for the TTL again


def test_a_failed_background_check_leaves_the_request_to_check_again():
    from lapor.config import ConfigCache, RoutingConfig

    class FlakyStore:
        heads = 0

        def head(self):
            FlakyStore.heads += 1
            if FlakyStore.heads == 1:
                raise ConnectionError("first attempt")
            return type("Head", (), {"version": 3})()

    cache = ConfigCache(FlakyStore(), ttl_seconds=300)
    cache.prime(RoutingConfig(agencies={}, routes={}, version=3))
    cache.check_soon()
    assert cache.get().version == 3 and FlakyStore.heads == 2


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
