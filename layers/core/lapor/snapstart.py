"""Lambda SnapStart runtime hooks for the request-facing functions (issue #16).

With SnapStart a published version is initialised once, snapshotted, and every new execution environment resumes
from that snapshot. So:

- **Before the snapshot**, :func:`prime` runs representative requests through the handler (routing, request
  validation, the handler's own work, the reply's validation and serialisation) against a DynamoDB client whose
  every call is answered in process: nothing goes over the network, nothing is stored, no metric or log line is
  emitted. What they build (pydantic validators, the resolver's route and dependency caches, botocore's models)
  is in the snapshot, and the first real request pays nothing extra for it.
- **After a restore**, :func:`refresh` drops what copies of one snapshot must not share: the DynamoDB client's
  pooled connections (dead sockets after a real restore, and no two copies may share one TLS session; the client
  itself is kept: besides its configuration it holds the credentials, the very object a new client would get
  from boto3's default session, which caches them, a retry quota and caches of endpoint rules: nothing unique to
  a copy; a new client would cost its build and a slower first call), the other, rarely used clients (built
  again on first use), the configuration cache's clock (``time.monotonic`` values from before the snapshot mean
  nothing after it, and the snapshot may be days old: the version is checked before the configuration is trusted
  again; a filing checks it in its own transaction, so the first one waits for no extra round trip) and Python's
  ``random`` generator (reseeded from the OS; botocore's retry jitter draws from it). Tracking ids, access codes and
  attachment ids come from :mod:`secrets` and ULIDs from ``os.urandom`` (python-ulid), which read the kernel's
  generator on every call; python-ulid's monotonic state (the last ULID's millisecond and randomness) is dropped
  with a new generator. ``uuid.uuid4`` reads ``os.urandom`` too.

Outside Lambda (tests, ``lapor dev``) ``snapshot_restore_py`` is not importable and :func:`install` registers
nothing; :func:`run_before_snapshot` and :func:`run_after_restore` run the same hooks by hand (tests, bench).
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import random
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

try:  # part of Lambda's managed Python runtimes (3.12+); absent elsewhere
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:  # tests, lapor dev: no snapshots, nothing to register
    register_after_restore = register_before_snapshot = None

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

_before: list[Callable[[], None]] = []
_after: list[Callable[[], None]] = []


def install(before: Callable[[], None]) -> bool:
    """Register ``before`` (the function's priming) and :func:`refresh` with the Lambda runtime, when it has
    SnapStart hooks; always keep them for :func:`run_before_snapshot` / :func:`run_after_restore`. True if
    registered with the runtime."""
    _before.append(before)
    first = refresh not in _after
    if first:
        _after.append(refresh)
    if register_before_snapshot is None or register_after_restore is None:
        return False
    register_before_snapshot(before)
    if first:
        register_after_restore(refresh)
    return True


def run_before_snapshot() -> None:
    """What Lambda runs before it takes the snapshot (reverse order of registration, as Lambda does)."""
    for hook in reversed(_before):
        hook()


def run_after_restore() -> None:
    """What Lambda runs in each environment resumed from the snapshot (order of registration)."""
    for hook in _after:
        hook()


def refresh() -> None:
    """After a restore: the DynamoDB client's pooled connections closed (the client kept), the other clients
    forgotten, the configuration cache's clock forgotten, ``random`` reseeded from the OS."""
    from lapor import runtime

    runtime.drop_connections()
    random.seed()  # from os.urandom: copies of one snapshot must not draw the same sequence
    _fresh_ulid_generator()
    if runtime.config_cache.cache_info().currsize:  # a configuration read before the snapshot: checked again
        runtime.config_cache().expire()


def _fresh_ulid_generator() -> None:
    """python-ulid's generator is monotonic: a ULID in the millisecond of the last one it made is that one's
    randomness plus one, not fresh bytes. Copies of one snapshot share that state; a new generator has none."""
    ulid = sys.modules.get("ulid")
    if ulid is not None and hasattr(ulid, "ULIDGenerator"):
        ulid.default_generator = ulid.ULIDGenerator()


# -- priming -------------------------------------------------------------------------------------------------

# What the stub answers per DynamoDB operation: nothing stored, nothing found, every write accepted.
STUB_ANSWERS: dict[str, dict[str, Any]] = {
    "GetItem": {}, "BatchGetItem": {"Responses": {}}, "Query": {"Items": [], "Count": 0, "ScannedCount": 0},
    "PutItem": {}, "UpdateItem": {"Attributes": {}}, "DeleteItem": {}, "TransactWriteItems": {},
    "TransactGetItems": {"Responses": []},
}


@contextlib.contextmanager
def stubbed_dynamodb(client: Any) -> Iterator[list[str]]:
    """Every call on ``client`` answered in process; yields the operations called.

    The answer is an HTTP response handed over at ``before-send`` (where moto's own stub answers), so a priming
    call goes through everything a real one does but the socket: parameters, serialisation, SigV4 signing,
    response parsing, the retry handler and the events after the call. Answering at ``before-call`` instead left
    all of that to the first real request (about 1 ms per call on the bench). The stub stays registered after
    the block, answering nothing: botocore empties a client's handler cache whenever a handler comes or goes, and
    the first request after a restore would fill it again (~20 lookups) instead of finding it as priming left it."""
    stub = _stubs.get(client)
    if stub is None:
        stub = _stubs[client] = _Stub()
        client.meta.events.register_first("before-send.dynamodb", stub, unique_id="lapor-snapstart-stub")
    stub.called = []
    stub.answering = True
    try:
        yield stub.called
    finally:
        stub.answering = False


class _Stub:
    """``stubbed_dynamodb``'s ``before-send`` handler: an HTTP reply while answering, else nothing (the call goes
    on to DynamoDB)."""

    def __init__(self) -> None:
        self.answering = False
        self.called: list[str] = []

    def __call__(self, request: Any, event_name: str, **_: Any) -> Any:
        if not self.answering:
            return None
        from botocore.awsrequest import AWSResponse

        operation = event_name.rsplit(".", 1)[-1]
        self.called.append(operation)
        body = json.dumps(STUB_ANSWERS.get(operation, {})).encode()
        headers = {"x-amzn-RequestId": "snapstart-priming", "Content-Type": "application/x-amz-json-1.0",
                   "Content-Length": str(len(body))}
        return AWSResponse(request.url, 200, headers, _StubBody(body))


_stubs: weakref.WeakKeyDictionary[Any, _Stub] = weakref.WeakKeyDictionary()  # one per client, gone with it


class _StubBody:
    """The raw body botocore reads a response from (``AWSResponse.content`` joins ``stream()``)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class PrimingContext:
    """The parts of the Lambda context a handler reads, for a priming request."""

    function_name = "snapstart-priming"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-southeast-3:000000000000:function:snapstart-priming"
    aws_request_id = "snapstart-priming"
    log_group_name = "/aws/lambda/snapstart-priming"
    log_stream_name = "priming"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def prime(handler: Handler, events: Iterable[dict[str, Any]]) -> list[int]:
    """Run ``events`` through ``handler`` against the stubbed DynamoDB client, silently; their statuses.

    The configuration cache and the stores are forgotten afterwards (they saw the stub's empty answers); then the
    real configuration is read from the table, when it can be, so that the snapshot holds it: after a restore
    the first request checks its version (a filing in its own transaction, others with one Query of the head)
    instead of reading every agency and route (~240 ms of the first request on the bench's moto server).
    Unreachable: the first request reads it.
    """
    from lapor import runtime
    from lapor.observability import logger

    client = runtime.store().client
    runtime.config_cache().prime(PRIMING_CONFIG())
    runtime.config_cache().expire()  # due for its check, as after a restore: the first filing primes that path
    statuses = []
    try:
        # Log lines are formatted as a real request's are (that is primed too) and dropped; EMF metrics print
        # to stdout.
        with stubbed_dynamodb(client), _log_lines_dropped(logger), contextlib.redirect_stdout(_Discard()):
            for event in events:
                statuses.append(handler(copy.deepcopy(event), PrimingContext())["statusCode"])
    finally:
        runtime.reset_caches()
    # What init and priming left behind is garbage or lives as long as the container (botocore's and the
    # resolver's caches): collected (init's frozen objects too: ~640 of them were garbage made while the collector
    # rested). Then the real configuration is read: read after the collection rather than before it, the first
    # request after a restore exceeds a warm one by 1.53 ms instead of 1.92 on the bench (medians of 16 processes).
    # What is left is frozen out of the collections of every copy the snapshot makes (with whatever cyclic garbage
    # the one read left: a failed read's traceback at most).
    gc.unfreeze()
    gc.collect()
    try:
        runtime.config_cache().get()
    except Exception as exc:  # noqa: BLE001 (no table to read before the snapshot: the first request reads it)
        logger.info("configuration not read before the snapshot", extra={"error": type(exc).__name__})
        runtime.reset_caches()
    gc.freeze()
    return statuses


def PRIMING_CONFIG() -> Any:  # noqa: N802 (a constant, made when needed)
    """A national route for every category to one agency: a priming report is routed like a real one."""
    from lapor.config import RoutingConfig
    from lapor.domain.routing import ANY, Agency, Route
    from lapor.domain import reference

    agency = Agency("priming", "Priming", ANY, "national")
    # A version, as a real configuration has: its check takes the `version = :v` form a real filing sends.
    return RoutingConfig(agencies={agency.id: agency},
                         routes={(ANY, c): Route(ANY, c, agency.id) for c in reference.categories()}, version=1)


@contextlib.contextmanager
def _log_lines_dropped(logger: Any) -> Iterator[None]:
    """The logger's handler (Powertools' StreamHandler on stdout) writes to nowhere for the block."""
    handler = logger.logger_handler
    stream = handler.setStream(_Discard())
    try:
        yield
    finally:
        handler.setStream(stream)


class _Discard:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def http_event(method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None,
               route: str | None = None) -> dict[str, Any]:
    """A payload 2.0 event as API Gateway sends it (a documentation address, no real caller)."""
    return {
        "version": "2.0", "routeKey": f"{method} {route or path}", "rawPath": path, "rawQueryString": "",
        "headers": {"host": "snapstart.invalid", "x-forwarded-proto": "https", **(headers or {})},
        "requestContext": {"accountId": "000000000000", "apiId": "priming", "domainName": "snapstart.invalid",
                           "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "192.0.2.1", "userAgent": "lapor-snapstart-priming"},
                           "requestId": "snapstart-priming", "routeKey": f"{method} {route or path}",
                           "stage": "$default", "timeEpoch": 0},
        "body": body, "isBase64Encoded": False,
    }
