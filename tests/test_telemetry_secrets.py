"""Nothing secret reaches a trace, a log line or a metric, from any function (issue #10, item 1).

The suite runs with POWERTOOLS_TRACE_DISABLED, so the tracer is spied on instead: every Powertools ``Tracer``
gets a recording provider in place of X-Ray's, which keeps everything a subsegment is handed (annotations,
metadata, exceptions). Like ``aws_xray_sdk``'s subsegment context manager, it also records an exception that
escapes a subsegment: X-Ray keeps its message as the trace's ``cause`` whatever ``capture_error`` says.

Every test drives real handlers with secrets in their input (reporter name, phone in every form, email,
confidential text, access codes, API keys, tokens, SMS numbers, webhook secrets), then looks for each secret in
all that was recorded: the spy's records, the Powertools logger's lines (at DEBUG, which the template allows),
what the standard library loggers emit at WARNING and above (what reaches CloudWatch from the Lambda runtime's
root handler), and everything printed (EMF metrics, their dimensions and values). It also checks the other way:
that each handler invocation was traced (its subsegment with the ColdStart and Service annotations), and that the
secrets were really there to leak (the handlers' replies carry them).
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterable
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from conftest import VALID_REPORT
from lapor.observability import HandlerFailed

# ---------------------------------------------------------------------------------------------------------------
# The secrets. Distinctive values, so a hit is a leak and not a coincidence.

NAME = "Kirana Sembiring"
EMAIL = "kirana.sembiring@contoh.id"
WEB_PHONE = "+6285790461357"  # typed into the web form as 0857-9046-1357
SMS_PHONE = "+6281338250964"  # an SMS reporter's number
OPEN311_PHONE = "+6287861204493"  # given to an Open311 client
TITLE_MARK = "JUDULZ9W4"
TEXT_MARK = "SAKSIQ7X2K"
COMMENT_MARK = "KOMENTARV3N8"
ANSWER_MARK = "JAWABANM5P1"
REASON_MARK = "ALASANR2D6"
TWILIO_TOKEN = "twilio-token-ZK81QF"
HMAC_SECRET = "hmac-secret-PL27WX"
TWILIO_URL = "http://localhost/webhooks/sms/twilio"
LONG_AGO = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def phone_forms(e164: str) -> set[str]:
    """``+6285790461357`` as people and systems write it: +62…, 62…, 0…, 0857-9046-1357, 0857 9046 1357, and
    its last eight digits alone or grouped."""
    national = "0" + e164[3:]
    groups = (national[:4], national[4:8], national[8:])
    return {e164, e164[1:], national, e164[3:], "-".join(groups), " ".join(groups), national[4:],
            f"{national[4:8]}-{national[8:]}", f"{national[4:8]} {national[8:]}"}


def local(e164: str) -> str:
    national = "0" + e164[3:]
    return f"{national[:4]}-{national[4:8]}-{national[8:]}"


IDENTITY = {NAME, "Sembiring", EMAIL, "kirana.sembiring", *phone_forms(WEB_PHONE), *phone_forms(OPEN311_PHONE)}
CONTENT = {TITLE_MARK, TEXT_MARK, COMMENT_MARK, ANSWER_MARK, REASON_MARK}
PRIVACIES = ["public", "confidential", "anonymous"]


def report_body(privacy: str) -> dict[str, Any]:
    """A report with identity (unless anonymous: identity is refused there) and marked content."""
    body = dict(VALID_REPORT, privacy=privacy, title=f"Pungutan liar di loket KTP {TITLE_MARK}",
                description=f"Petugas loket meminta uang pelicin; saksi dengan kode {TEXT_MARK} siap bersaksi.")
    if privacy == "anonymous":
        body.pop("reporter", None)
    else:
        body["reporter"] = {"name": NAME, "phone": local(WEB_PHONE), "email": EMAIL}
    return body


# ---------------------------------------------------------------------------------------------------------------
# The spy.

def _dump(value: Any) -> str:
    """Every way a recorded value could be rendered: as aws_xray_sdk serializes it (json, default=str), repr, and
    an exception's message and traceback."""
    parts = [repr(value)]
    for default in (str, repr):
        try:
            parts.append(json.dumps(value, default=default, ensure_ascii=False))
        except (TypeError, ValueError):
            pass
    if isinstance(value, BaseException):
        parts.append(str(value))
        parts.append("".join(traceback.format_exception(type(value), value, value.__traceback__)))
    return "\n".join(parts)


class RecordingSegment(BaseSegment):
    def __init__(self, name: str | None) -> None:
        self.name = name
        self.annotations: dict[str, Any] = {}
        self.metadata: list[tuple[str, str, Any]] = []
        self.exceptions: list[tuple[BaseException, Any]] = []

    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata.append((namespace, key, value))

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        self.exceptions.append((exception, stack))

    def text(self) -> str:
        lines = [f"subsegment {self.name}"]
        lines += [f"annotation {key}={_dump(value)}" for key, value in self.annotations.items()]
        lines += [f"metadata {namespace}/{key}={_dump(value)}" for namespace, key, value in self.metadata]
        for exception, stack in self.exceptions:
            lines.append(f"exception {type(exception).__name__}: {_dump(exception)}")
            lines.append(f"stack {_dump(stack)}")
        return "\n".join(lines)


class RecordingProvider(BaseProvider):
    """X-Ray's place in every Tracer: keeps each subsegment and all it is handed."""

    def __init__(self) -> None:
        self.segments: list[RecordingSegment] = []
        self.loose = RecordingSegment("(no subsegment)")  # tracer.put_annotation/put_metadata outside one
        self._open: list[RecordingSegment] = []

    @contextmanager
    def in_subsegment(self, name=None, **kwargs):
        segment = RecordingSegment(name)
        self.segments.append(segment)
        self._open.append(segment)
        try:
            yield segment
        except BaseException as exc:
            # aws_xray_sdk's SubsegmentContextManager.__exit__ records the escaping exception (message, stack).
            segment.add_exception(exc, traceback.extract_tb(exc.__traceback__))
            raise
        finally:
            self._open.pop()

    @asynccontextmanager
    async def in_subsegment_async(self, name=None, **kwargs):
        with self.in_subsegment(name, **kwargs) as segment:
            yield segment

    def _current(self) -> RecordingSegment:
        return self._open[-1] if self._open else self.loose

    def put_annotation(self, key: str, value: Any) -> None:
        self._current().put_annotation(key, value)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self._current().put_metadata(key, value, namespace)

    def patch(self, modules: Any) -> None:
        pass

    def patch_all(self) -> None:
        pass

    def text(self) -> str:
        return "\n".join(segment.text() for segment in [self.loose, *self.segments])


STDLIB_FORMAT = logging.Formatter("%(levelname)s %(name)s %(message)s")


class Telemetry:
    """All a test's invocations left behind: trace, log lines, printed output (EMF metrics)."""

    def __init__(self, provider: RecordingProvider, log_lines: Any, capsys: Any, caplog: Any) -> None:
        from lapor.observability import logger

        self.provider, self._log_lines, self._capsys, self._caplog = provider, log_lines, capsys, caplog
        self._service = logger.name
        self._out: list[str] = []
        self._err: list[str] = []

    def _read(self) -> None:
        printed = self._capsys.readouterr()
        self._out.append(printed.out)
        self._err.append(printed.err)

    def sources(self) -> dict[str, str]:
        self._read()
        return {
            "trace": self.provider.text(),
            "log line": self._log_lines.getvalue(),
            "stdout (EMF metrics)": "".join(self._out),
            "stderr": "".join(self._err),
            # Other loggers (Powertools' own, boto): the Lambda runtime's root handler prints WARNING and above.
            # The function logger's records propagate too, but Powertools filters them out of root's handlers.
            "stdlib log (WARNING+)": "\n".join(STDLIB_FORMAT.format(r) for r in self._caplog.records
                                               if r.name != self._service),
        }

    def metrics(self) -> list[dict[str, Any]]:
        self._read()
        return [json.loads(line) for line in "".join(self._out).splitlines() if line.startswith('{"_aws"')]

    def leaks(self, secrets: Iterable[str], only: Iterable[str] | None = None) -> list[str]:
        found = []
        for source, text in self.sources().items():
            if only is not None and source not in only:
                continue
            for secret in sorted(set(secrets)):
                at = text.find(secret)
                if at >= 0:
                    found.append(f"{secret!r} in {source}: …{text[max(0, at - 120):at + 80]!r}…")
        return found

    def assert_clean(self, secrets: Iterable[str], only: Iterable[str] | None = None) -> None:
        leaks = self.leaks(secrets, only)
        assert not leaks, "secrets reached telemetry:\n" + "\n".join(leaks)

    def assert_traced(self, handler: str, times: int) -> None:
        """``handler`` ran ``times`` times, each in its subsegment with the cold start and service annotations."""
        segments = [s for s in self.provider.segments if s.name == f"## {handler}"]
        assert len(segments) == times, [s.name for s in self.provider.segments]
        for segment in segments:
            assert isinstance(segment.annotations.get("ColdStart"), bool), segment.annotations
            assert segment.annotations.get("Service"), segment.annotations


@pytest.fixture
def telemetry(monkeypatch, log_lines, capsys, caplog):
    """Every Tracer records into a spy; the function logger logs at DEBUG; stdlib WARNING+ is kept."""
    from aws_lambda_powertools import Tracer

    from lapor.observability import logger

    provider = RecordingProvider()
    # Tracer state is shared and set at import: the class-level config, and each instance's provider (the shared
    # tracer of lapor.observability, or any a function might make itself, in a module or in a closure). A data
    # descriptor on the class takes precedence over every instance's own attribute: all of them record here.
    # A Tracer made during the test keeps what it was given in its own attributes, for after the test.
    monkeypatch.setitem(Tracer._config, "provider", provider)
    # lapor.observability makes its Tracer only while tracing is on (its X-Ray import is a cold start cost): here it
    # is on, and the Tracer made for the test is forgotten after it.
    monkeypatch.setattr(Tracer, "_is_tracer_disabled", staticmethod(lambda: False))
    monkeypatch.setattr("lapor.observability._tracer", None)
    for name, value in (("provider", provider), ("disabled", False)):
        monkeypatch.setattr(Tracer, name, property(lambda self, value=value: value,
                                                   lambda self, given, name=name: vars(self).__setitem__(name, given)),
                            raising=False)
    level = logger.log_level
    logger.setLevel(logging.DEBUG)
    caplog.set_level(logging.WARNING)
    yield Telemetry(provider, log_lines, capsys, caplog)
    logger.setLevel(level)


@pytest.fixture
def api(call_api, telemetry):
    """``call_api``, counting the calls that reach ApiFunction or SmsFunction."""

    def call(method: str, path: str, **kwargs: Any):
        result = call_api(method, path, **kwargs)
        key = "sms" if path.startswith("/webhooks/sms/") else "api"
        call.counts[key] += 1
        return result

    call.counts = {"api": 0, "sms": 0}
    return call


@pytest.fixture
def tokens(token):
    """Authorization header values by role, each a secret (a bearer token)."""
    return {"operator": token("operator", "64-72-pupr"), "dinkes": token("operator", "64-72-dinkes"),
            "supervisor": token("supervisor", "64-inspektorat"), "admin": token("admin"),
            "stranger": token("operator", "64-71-pupr")}


def token_secrets(tokens: dict[str, str]) -> set[str]:
    secrets = set()
    for value in tokens.values():
        jwt = value.removeprefix("Bearer ")
        secrets |= {jwt, jwt.rsplit(".", 1)[1]}  # the whole token and its signature
    return secrets


def auth(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": tokens[role]}


# ---------------------------------------------------------------------------------------------------------------
# The spy itself: it sees what a default capture records, so a clean result means something.

def test_the_spy_records_what_a_default_capture_lambda_handler_would(telemetry):
    from lapor.observability import traced_handler, tracer

    def lambda_handler(event, context):
        return {"statusCode": 201, "body": json.dumps({"access_code": "ACCESSCODE-CANARY", "name": NAME})}

    tracer.capture_lambda_handler(lambda_handler)({}, None)  # the regression issue #10 is about
    assert telemetry.leaks({"ACCESSCODE-CANARY", NAME}, only=["trace"])
    assert any("lambda_handler response" in key for _, key, _ in telemetry.provider.segments[0].metadata)

    telemetry.provider.segments.clear()
    traced_handler(lambda_handler)({}, None)  # the fix
    telemetry.assert_clean({"ACCESSCODE-CANARY", NAME})
    telemetry.assert_traced("lambda_handler", 1)


# ---------------------------------------------------------------------------------------------------------------
# ApiFunction: every route, every privacy level.

@pytest.mark.parametrize("privacy", PRIVACIES)
def test_citizen_and_operator_routes_record_no_secret(api, tokens, telemetry, privacy):
    import uuid

    idempotency_key = str(uuid.uuid4())  # whoever holds it and the body can replay the request and read the code
    created = api("POST", "/reports", json_body=report_body(privacy), headers={"Idempotency-Key": idempotency_key})
    assert created.status == 201, created.body
    tid, code = created.body["tracking_id"], created.body["access_code"]
    replay = api("POST", "/reports", json_body=report_body(privacy), headers={"Idempotency-Key": idempotency_key})
    assert replay.body["access_code"] == code  # the replay hands the code out again: a second chance to leak it
    other = api("POST", "/reports", json_body=report_body(privacy)).body  # rejected below

    public = api("GET", f"/reports/{tid}")
    own = api("GET", f"/reports/{tid}", headers={"X-Access-Code": code})
    queue = api("GET", "/agency/reports", headers=auth(tokens, "operator"), query="status=routed")
    view = api("GET", f"/agency/reports/{tid}", headers=auth(tokens, "operator"))
    supervised = api("GET", f"/agency/reports/{tid}", headers=auth(tokens, "supervisor"))
    acknowledged = api("POST", f"/reports/{tid}/responses", headers=auth(tokens, "operator"),
                       json_body={"message": f"Sedang kami periksa {ANSWER_MARK}", "status": "in_progress",
                                  "version": view.body["version"]})
    reassigned = api("POST", f"/reports/{tid}/reassign", headers=auth(tokens, "admin"),
                     json_body={"agency_id": "64-72-dinkes", "reason": f"Bukan urusan jalan {REASON_MARK}"})
    answered = api("POST", f"/reports/{tid}/responses", headers=auth(tokens, "dinkes"),
                   json_body={"message": f"Petugas sudah ditegur {ANSWER_MARK}", "status": "responded"})
    feedback = api("POST", f"/reports/{tid}/feedback", headers={"X-Access-Code": code},
                   json_body={"rating": 2, "comment": f"Belum tuntas {COMMENT_MARK}", "reopen": True})
    rejected = api("POST", f"/reports/{other['tracking_id']}/reject", headers=auth(tokens, "admin"),
                   json_body={"reason": f"Di luar kewenangan {REASON_MARK}"})
    stats = api("GET", "/stats", query="region=64.72")
    for result in (public, own, queue, view, supervised, acknowledged, reassigned, answered, feedback, rejected, stats):
        assert result.status == 200, result.body

    # The secrets were there to leak: in the replies a default capture would have put in the trace.
    assert TEXT_MARK in json.dumps(own.body) and COMMENT_MARK in json.dumps(feedback.body)
    if privacy != "anonymous":
        assert NAME in json.dumps(view.body) and EMAIL in json.dumps(view.body)
    secrets = IDENTITY | CONTENT | token_secrets(tokens) | {code, other["access_code"], idempotency_key}
    telemetry.assert_clean(secrets)
    telemetry.assert_traced("lambda_handler", api.counts["api"])
    assert [m["channel"] for m in telemetry.metrics() if "ReportSubmitted" in m] == ["web", "web"]


def test_reference_routes_record_no_secret(api, telemetry, tokens):
    for path, query in (("/categories", ""), ("/regions", "parent=64"), ("/openapi.json", ""),
                        ("/stats", "region=64.72&from=2026-01-01&to=2026-12-31")):
        assert api("GET", path, query=query, headers=auth(tokens, "operator")).status == 200, path
    telemetry.assert_clean(token_secrets(tokens))
    telemetry.assert_traced("lambda_handler", api.counts["api"])


def test_admin_routes_and_api_keys_record_no_secret(api, tokens, telemetry):
    admin = auth(tokens, "admin")
    started = api("POST", "/admin/sweeps", headers=admin, json_body={})
    assert started.status == 202  # handed to the sweep queue
    calls = [api("POST", "/admin/sweeps", headers=admin, json_body={"dry_run": True}),
             api("GET", f"/admin/sweeps/{started.body['id']}", headers=admin),
             api("GET", "/admin/sweeps", headers=admin)]
    for path in ("/admin/agencies", "/admin/routes", "/admin/calendar"):  # after the sweeps: they reload all
        current = api("GET", path, headers=admin)
        calls += [current, api("PUT", path, headers=admin, json_body=current.body)]
    calls.append(api("PUT", "/admin/calendar", headers=admin, json_body={"items": [
        {"date": "2026-12-31", "working": False, "reason": "Cuti bersama tambahan"}]}))
    key = api("POST", "/admin/apikeys", headers=admin, json_body={"name": "Aplikasi warga"})
    assert key.status == 201
    key_id, secret = key.body["key"].split("_")[1], key.body["key"].split("_", 2)[2]
    calls.append(api("GET", "/admin/apikeys", headers=admin))
    calls.append(api("POST", f"/admin/apikeys/{key_id}/revoke", headers=admin))
    for result in calls:
        assert result.status == 200, result.body
    telemetry.assert_clean(token_secrets(tokens) | {key.body["key"], secret})
    telemetry.assert_traced("lambda_handler", api.counts["api"])
    # The run's escalations are counted by the workers of its shards (the sweep-worker test), not here.
    assert not [m for m in telemetry.metrics() if "ReportsEscalated" in m]


def open311_form(api_key: str, privacy: str) -> dict[str, str]:
    return {"api_key": api_key, "service_code": "infrastructure", "attribute[region_code]": "64.72",
            "attribute[privacy]": privacy, "description": f"Jalan berlubang di depan Pasar Segiri {TEXT_MARK}",
            "lat": "-0.4948", "long": "117.1436", "first_name": "Kirana", "last_name": "Sembiring",
            "email": EMAIL, "phone": local(OPEN311_PHONE)}


@pytest.mark.parametrize("privacy", PRIVACIES)
def test_open311_routes_record_no_secret(api, tokens, telemetry, privacy):
    from urllib.parse import urlencode

    key = api("POST", "/admin/apikeys", headers=auth(tokens, "admin"), json_body={"name": "FixMyStreet"}).body["key"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    results = []
    for fmt in ("json", "xml"):
        filed = api("POST", f"/open311/v2/requests.{fmt}", body=urlencode(open311_form(key, privacy)), headers=form)
        results.append(filed)
    tid = results[0].body[0]["service_request_id"]
    for path, query in (("services.json", ""), ("services.xml", ""), ("services/infrastructure.json", ""),
                        ("services/infrastructure.xml", ""), ("requests.json", "service_code=infrastructure"),
                        ("requests.xml", f"service_request_id={tid}"), (f"requests/{tid}.json", ""),
                        (f"requests/{tid}.xml", "")):
        results.append(api("GET", f"/open311/v2/{path}", query=query))
    for result in results:
        assert result.status == 200, result.body
    telemetry.assert_clean(IDENTITY | CONTENT | token_secrets(tokens) | {key, key.split("_", 2)[2]})
    telemetry.assert_traced("lambda_handler", api.counts["api"])


def test_error_replies_record_no_secret(api, tokens, telemetry):
    created = api("POST", "/reports", json_body=report_body("confidential")).body
    tid, code = created["tracking_id"], created["access_code"]
    other_code = api("POST", "/reports", json_body=report_body("public")).body["access_code"]
    key = api("POST", "/admin/apikeys", headers=auth(tokens, "admin"), json_body={"name": "Klien"}).body["key"]
    api("POST", f"/admin/apikeys/{key.split('_')[1]}/revoke", headers=auth(tokens, "admin"))
    secret_json = json.dumps(report_body("confidential"))
    from urllib.parse import urlencode

    statuses = [
        # identity on an anonymous report: refused
        api("POST", "/reports", json_body=report_body("confidential") | {"privacy": "anonymous"}).status,
        # invalid values next to secrets (the validation details must not echo the input)
        api("POST", "/reports", json_body=report_body("public") | {"region_code": "64.99"}).status,
        api("POST", "/reports", json_body=report_body("public") | {"reporter": {
            "name": NAME, "phone": local(WEB_PHONE), "email": f"not-an-email {EMAIL}"}}).status,
        api("POST", "/reports", json_body=report_body("public") | {"privacy": f"secret {TEXT_MARK}"}).status,
        # not JSON, not declared JSON, too large
        api("POST", "/reports", body=secret_json[:-3], headers={"Content-Type": "application/json"}).status,
        api("POST", "/reports", body=secret_json, headers={"Content-Type": "text/plain"}).status,
        api("POST", "/reports", body=secret_json + " " * 70_000, headers={"Content-Type": "application/json"}).status,
        # someone else's code, a code for no report
        api("GET", f"/reports/{tid}", headers={"X-Access-Code": other_code}).status,
        api("POST", f"/reports/{tid}/feedback", headers={"X-Access-Code": other_code},
            json_body={"rating": 1, "comment": COMMENT_MARK}).status,
        api("POST", f"/reports/{tid}/feedback", headers={"X-Access-Code": code},  # not answered yet
            json_body={"rating": 1, "comment": COMMENT_MARK}).status,
        # an agency outside the chain, a stale version, a non-admin reassigning
        api("GET", f"/agency/reports/{tid}", headers=auth(tokens, "stranger")).status,
        api("POST", f"/reports/{tid}/responses", headers=auth(tokens, "operator"),
            json_body={"message": ANSWER_MARK, "status": "responded", "version": 99}).status,
        api("POST", f"/reports/{tid}/reassign", headers=auth(tokens, "operator"),
            json_body={"agency_id": "64-72-dinkes", "reason": REASON_MARK}).status,
        api("PUT", "/admin/calendar", headers=auth(tokens, "admin"), json_body={"items": [
            {"date": "2026-12-31", "working": False, "reason": REASON_MARK},
            {"date": "2026-12-31", "working": True, "reason": REASON_MARK}]}).status,
        # Open311 with a revoked key, with a made-up key
        api("POST", "/open311/v2/requests.json", body=urlencode(open311_form(key, "public")),
            headers={"Content-Type": "application/x-www-form-urlencoded"}).status,
        api("POST", "/open311/v2/requests.xml", body=urlencode(open311_form("lpk_NOSUCHKEY_guessed0secret", "public")),
            headers={"Content-Type": "application/x-www-form-urlencoded"}).status,
    ]
    assert all(400 <= status < 500 for status in statuses), statuses
    telemetry.assert_clean(IDENTITY | CONTENT | token_secrets(tokens) | {
        code, other_code, key, key.split("_", 2)[2], "guessed0secret"})
    telemetry.assert_traced("lambda_handler", api.counts["api"])


class StoreFailure(RuntimeError):
    """An unexpected error whose message quotes what it was handling, as driver errors sometimes do."""


def quoting_secrets(*_args: Any, **_kwargs: Any) -> Any:
    raise StoreFailure(f"could not read item for {NAME} {WEB_PHONE} {EMAIL} {TEXT_MARK}")


@pytest.fixture
def broken_store(api, monkeypatch):
    """A filed report, then a store whose reads fail with an error quoting the reporter's secrets."""
    from lapor.dal import ReportStore

    created = api("POST", "/reports", json_body=report_body("confidential")).body
    monkeypatch.setattr(ReportStore, "get_report", quoting_secrets)
    return created


def test_an_unexpected_error_in_a_route_reaches_neither_the_client_nor_the_trace(api, broken_store, telemetry):
    failed = api("GET", f"/reports/{broken_store['tracking_id']}", headers={"X-Access-Code": broken_store["access_code"]})
    assert failed.status == 500 and failed.body["error"]["code"] == "internal_error"
    secrets = IDENTITY | CONTENT | {broken_store["access_code"]}
    assert not [s for s in secrets if s in json.dumps(failed.body)], failed.body
    telemetry.assert_clean(secrets, only=["trace", "stdout (EMF metrics)"])
    telemetry.assert_traced("lambda_handler", api.counts["api"])


def test_an_unexpected_error_in_a_route_reaches_no_log_line(api, broken_store, telemetry):
    assert api("GET", f"/reports/{broken_store['tracking_id']}").status == 500
    telemetry.assert_clean(IDENTITY | CONTENT | {broken_store["access_code"]})


# ---------------------------------------------------------------------------------------------------------------
# SmsFunction: the sender's number, in every form, and the webhook secrets.

@pytest.fixture
def sms(api, monkeypatch):
    """``sms.twilio(text, ...)`` and ``sms.generic(payload)``: webhook calls signed with this test's secrets."""
    import hashlib
    import hmac
    from urllib.parse import urlencode

    from twilio.request_validator import RequestValidator

    from lapor import runtime

    monkeypatch.setenv("LAPOR_TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("LAPOR_SMS_HMAC_SECRET", HMAC_SECRET)
    monkeypatch.setenv("LAPOR_SMS_NUMBERS", json.dumps({"+621708": "64.71"}))
    runtime.reset()
    counter = iter(range(10_000))

    class Sms:
        @staticmethod
        def twilio(text, *, sender=SMS_PHONE, sid=None, token=TWILIO_TOKEN):
            params = {"MessageSid": sid or f"SM{next(counter):032d}", "AccountSid": "AC" + "0" * 32,
                      "From": sender, "To": "+621708", "Body": text, "NumMedia": "0"}
            signature = RequestValidator(token).compute_signature(TWILIO_URL, params)
            return api("POST", "/webhooks/sms/twilio", body=urlencode(params), headers={
                "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})

        @staticmethod
        def generic(payload, *, secret=HMAC_SECRET):
            raw = json.dumps(payload).encode()
            signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
            return api("POST", "/webhooks/sms/generic", body=raw,
                       headers={"Content-Type": "application/json", "X-Signature": signature})

    yield Sms
    runtime.reset()


SMS_SECRETS = phone_forms(SMS_PHONE) | {TWILIO_TOKEN, HMAC_SECRET, TEXT_MARK}


def test_sms_webhooks_record_no_phone_number(api, sms, telemetry):
    import re

    filed = sms.twilio(f"LAPOR KAB. BERAU Kesehatan: Puskesmas tutup sejak pagi, saksi {TEXT_MARK}", sid="SM-FILE")
    tid = re.search(r"LPR-[0-9A-Z]{8}", filed.body).group(0)
    results = [
        filed,
        sms.twilio(f"LAPOR KAB. BERAU Kesehatan: Puskesmas tutup sejak pagi, saksi {TEXT_MARK}", sid="SM-FILE"),
        sms.twilio(f"CEK {tid}"),
        sms.twilio("INFO"),
        sms.twilio(f"Jalan rusak di depan rumah, saksi {TEXT_MARK}"),  # free text, filed for triage
        sms.twilio("LAPOR NEGERI ANTAH Kesehatan: ada masalah"),  # a region that does not exist
        sms.twilio("INFO", sender="LAPORKU"),  # an alphanumeric sender: no reply
        sms.generic({"message_id": "gen-1", "from": local(SMS_PHONE), "to": "1708",
                     "text": f"Sampah menumpuk di pasar, saksi {TEXT_MARK}"}),
        sms.generic({"message_id": "gen-2", "from": SMS_PHONE[1:], "to": "1708", "text": f"CEK {tid}"}),
    ]
    assert all(r.status == 200 for r in results), [(r.status, r.body) for r in results]
    refused = [
        sms.twilio(f"LAPOR {TEXT_MARK}", token="forged-token"),  # 403
        sms.generic({"message_id": "gen-3", "from": local(SMS_PHONE), "text": TEXT_MARK}),  # 422: no "to"
        sms.generic({"message_id": "gen-4", "from": "12", "to": "1708", "text": TEXT_MARK}),  # 422: too short
        sms.generic({"message_id": "gen-5", "from": "kirim-dari-web", "to": "1708", "text": TEXT_MARK}),  # no number
        sms.generic({"message_id": "gen-6", "from": local(SMS_PHONE), "to": "1708", "text": "x"}, secret="forged"),
    ]
    assert [r.status for r in refused] == [403, 422, 422, 422, 403], [(r.status, r.body) for r in refused]
    assert {m["outcome"] for m in telemetry.metrics() if "SmsReceived" in m} >= {"filed", "duplicate", "check", "help"}
    telemetry.assert_clean(SMS_SECRETS)
    telemetry.assert_traced("lambda_handler", api.counts["sms"])


def test_an_unexpected_error_in_the_sms_function_records_no_phone(sms, telemetry, monkeypatch):
    from lapor.dal import SmsStore

    def failing(*_args, **_kwargs):
        raise StoreFailure(f"conditional write failed for reply_to={SMS_PHONE} text={TEXT_MARK}")

    monkeypatch.setattr(SmsStore, "sms_reply", failing)
    with pytest.raises(HandlerFailed, match=r"^StoreFailure at "):  # type and place, never the message
        sms.twilio(f"LAPOR Jalan rusak {TEXT_MARK}")
    telemetry.assert_traced("lambda_handler", 1)
    telemetry.assert_clean(SMS_SECRETS)


# ---------------------------------------------------------------------------------------------------------------
# The stream functions (NotifyFunction, StatsFunction) and the sweep (coordinator and worker).

def raw_item(client, tracking_id: str) -> dict[str, Any]:
    return client.get_item(TableName="ReportsTable", Key={"PK": {"S": f"REPORT#{tracking_id}"},
                                                          "SK": {"S": "META"}})["Item"]


def stream_record(old: dict | None, new: dict, sequence: int) -> dict[str, Any]:
    """A DynamoDB stream record as Lambda delivers it (NEW_AND_OLD_IMAGES)."""
    change = {"Keys": {"PK": new["PK"], "SK": new["SK"]}, "NewImage": new, "SequenceNumber": str(sequence),
              "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if old:
        change["OldImage"] = old
    return {"eventID": f"e{sequence}", "eventName": "MODIFY" if old else "INSERT", "eventSource": "aws:dynamodb",
            "awsRegion": "ap-southeast-3", "dynamodb": change,
            "eventSourceARN": "arn:aws:dynamodb:ap-southeast-3:000000000000:table/ReportsTable/stream/x"}


def file_report(privacy: str, channel: str = "web", at: datetime = LONG_AGO) -> str:
    """A report filed long ago (overdue now); by SMS it is anonymous with the sender's number as reply channel."""
    from lapor import runtime
    from lapor.intake import submit_report
    from lapor.models import ReportIn

    body = report_body("anonymous" if channel == "sms" else privacy)
    return submit_report(ReportIn.model_validate(body), channel=channel, store=runtime.store(),
                         config=runtime.config_cache().get(), default_deadline_days=30, now=at,
                         extra={"reply_to": SMS_PHONE} if channel == "sms" else None)["tracking_id"]


def changes(aws) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Reports at every privacy level and one by SMS, filed and then escalated: their stream records."""
    from lapor import runtime, sweep

    reports = {privacy: file_report(privacy) for privacy in PRIVACIES} | {"sms": file_report("", channel="sms")}
    filed = {kind: raw_item(aws, tid) for kind, tid in reports.items()}
    sweep.run_sweep(runtime.store(), runtime.config_cache().get(), as_of=datetime.now(UTC), dry_run=False, shards=8)
    records = [stream_record(None, item, n) for n, item in enumerate(filed.values(), 1)]
    records += [stream_record(filed[kind], raw_item(aws, tid), n)
                for n, (kind, tid) in enumerate(reports.items(), len(records) + 1)]
    assert SMS_PHONE in json.dumps(records)  # the reply channel is in the images the functions read
    return records, reports


STREAM_SECRETS = IDENTITY | CONTENT | phone_forms(SMS_PHONE)


@pytest.fixture
def lambda_context():
    from lapor_cli.devserver import LambdaContext

    return lambda name, timeout=60: LambdaContext(name, timeout_seconds=timeout)


@pytest.fixture
def aws_notices(aws, monkeypatch):
    """NotifyFunction's real transport (SNS SMS, EventBridge) on moto."""
    from lapor import runtime

    monkeypatch.setenv("LAPOR_NOTIFY_TRANSPORT", "aws")
    monkeypatch.setenv("LAPOR_EVENT_BUS_NAME", "default")
    runtime.reset()
    yield aws
    runtime.reset()


def test_notify_records_no_phone_nor_identity(aws_notices, telemetry, lambda_context):
    from lapor_notify.app import lambda_handler

    records, _ = changes(aws_notices)
    assert lambda_handler({"Records": records}, lambda_context("NotifyFunction")) == {"batchItemFailures": []}
    assert lambda_handler({"Records": records}, lambda_context("NotifyFunction")) == {"batchItemFailures": []}
    channels = [m["channel"] for m in telemetry.metrics() if "NoticesSent" in m]
    assert "sms" in channels and "agency" in channels  # the reporter was texted: the number was used
    telemetry.assert_clean(STREAM_SECRETS)
    telemetry.assert_traced("lambda_handler", 2)


@pytest.mark.parametrize("alone", [True, False], ids=["whole batch fails", "one record fails"])
def test_a_failed_sms_notice_records_no_phone(aws_notices, telemetry, lambda_context, monkeypatch, alone):
    """SNS refuses a number with its digits in the message; the record fails (alone or with the whole batch)."""
    from botocore.exceptions import ClientError

    from lapor import notify
    from lapor_notify.app import lambda_handler

    records, reports = changes(aws_notices)
    real = notify.AwsTransport.send

    def refusing(self, notice):
        if notice.channel == "sms":
            raise ClientError({"Error": {"Code": "InvalidParameter", "Message": (
                f"Invalid parameter: PhoneNumber Reason: {notice.address} is not valid to publish to")}}, "Publish")
        real(self, notice)

    monkeypatch.setattr(notify.AwsTransport, "send", refusing)
    sms_escalated = records[-1]
    assert reports["sms"] in json.dumps(sms_escalated)
    if alone:
        with pytest.raises(HandlerFailed, match=r"^BatchProcessingError at "):
            lambda_handler({"Records": [sms_escalated]}, lambda_context("NotifyFunction"))
    else:
        assert lambda_handler({"Records": records}, lambda_context("NotifyFunction")) == {
            "batchItemFailures": [{"itemIdentifier": sms_escalated["dynamodb"]["SequenceNumber"]}]}
    telemetry.assert_clean(STREAM_SECRETS)
    telemetry.assert_traced("lambda_handler", 1)


def test_stats_records_no_secret(aws, telemetry, lambda_context):
    from lapor_stream.app import lambda_handler

    records, _ = changes(aws)
    assert lambda_handler({"Records": records}, lambda_context("StatsFunction")) == {"batchItemFailures": []}
    assert lambda_handler({"Records": records}, lambda_context("StatsFunction")) == {"batchItemFailures": []}
    telemetry.assert_clean(STREAM_SECRETS)
    telemetry.assert_traced("lambda_handler", 2)


def sqs_records(sqs, url) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for m in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
             "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
             "eventSource": "aws:sqs", "awsRegion": "ap-southeast-3",
             "eventSourceARN": "arn:aws:sqs:ap-southeast-3:000000000000:sweep"} for m in messages]


def test_sweep_coordinator_and_worker_record_no_secret(sweep_queue, telemetry, lambda_context):
    from lapor import runtime
    from lapor_sweep.app import coordinator_handler, worker_handler

    sqs, url = sweep_queue
    late = [file_report(privacy) for privacy in PRIVACIES] + [file_report("", channel="sms")]
    started = coordinator_handler({}, lambda_context("SweepFunction", 30))
    workers = 0
    while records := sqs_records(sqs, url):
        assert worker_handler({"Records": records}, lambda_context("SweepWorkerFunction", 300)) == {
            "batchItemFailures": []}
        workers += 1
    assert [runtime.store().get_report(t)["escalation_level"] for t in late] == [1] * len(late)
    assert started["shards"] == 4
    telemetry.assert_clean(STREAM_SECRETS)
    telemetry.assert_traced("coordinator_handler", 1)
    telemetry.assert_traced("worker_handler", workers)
    assert sum(m.get("ReportsEscalated", [0])[0] for m in telemetry.metrics()) == len(late)


# A record whose processing fails with an error that quotes the report (a driver error, a bug): when every
# record of the batch fails, Powertools raises BatchProcessingError, whose message carries each record's
# traceback and error message; traced_handler lets only its type and place leave the handler.


def _failing_stats(monkeypatch, aws):
    import lapor_stream.app

    monkeypatch.setattr(lapor_stream.app.stats, "delta", quoting_secrets_phone)
    record = stream_record(None, raw_item(aws, file_report("", channel="sms")), 1)
    return lapor_stream.app.lambda_handler, [record], "StatsFunction", "lambda_handler"


def _failing_notify(monkeypatch, aws):
    import lapor_notify.app

    monkeypatch.setattr(lapor_notify.app, "notices_for", quoting_secrets_phone)
    record = stream_record(None, raw_item(aws, file_report("", channel="sms")), 1)
    return lapor_notify.app.lambda_handler, [record], "NotifyFunction", "lambda_handler"


def _failing_worker(monkeypatch, aws):
    import lapor_sweep.app

    monkeypatch.setattr(lapor_sweep.app.sweep, "sweep_shard", quoting_secrets_phone)
    body = json.dumps({"run_id": "run-1", "shard": 0, "as_of": "2027-01-15T00:00:00Z", "dry_run": False,
                       "cursor": None})
    record = {"messageId": "m-1", "receiptHandle": "r-1", "body": body, "attributes": {}, "messageAttributes": {},
              "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "ap-southeast-3",
              "eventSourceARN": "arn:aws:sqs:ap-southeast-3:000000000000:sweep"}
    return lapor_sweep.app.worker_handler, [record], "SweepWorkerFunction", "worker_handler"


def quoting_secrets_phone(*_args: Any, **_kwargs: Any) -> Any:
    raise StoreFailure(f"could not process report of reply_to={SMS_PHONE} reporter={NAME} {TEXT_MARK}")


@pytest.mark.parametrize("setup", [
    pytest.param(_failing_stats, id="stats"),
    pytest.param(_failing_notify, id="notify"),
    pytest.param(_failing_worker, id="sweep-worker"),
])
def test_a_record_failing_with_an_error_quoting_it_records_no_secret(aws, telemetry, monkeypatch, lambda_context,
                                                                     setup):
    handler, records, function, handler_name = setup(monkeypatch, aws)
    with pytest.raises(HandlerFailed, match=r"^BatchProcessingError at "):  # still a failure: the batch retries
        handler({"Records": records}, lambda_context(function))
    telemetry.assert_traced(handler_name, 1)
    telemetry.assert_clean(STREAM_SECRETS)
