"""Property-based fuzzing of every operation in ``GET /openapi.json`` against a real ``lapor dev`` (schemathesis).

Security issue #10, item 8: whatever a client sends, the API answers no 5xx, and every status, content type, body
and header it answers is the one the document gives for that operation. Operator and admin routes are called with
an admin token (the operatorJwt scheme); Open311 filing gets an API key issued through ``POST /admin/apikeys``;
positive SMS webhook cases are signed with the dev secrets. Negative cases (invalid data, a missing token, a wrong
Content-Type) are generated too: whatever 400/401/403/404/409/413/415 they get must be documented like the rest.
Two checks of our own add to schemathesis's: the status a wrong Content-Type gets is documented, and no handler's
invalid response hides as a 422.

The fuzzer replaces agencies, routes and the calendar and sweeps as of any instant, so it gets a stack of its own
(``own_lapor_dev``), never the session's. Bounded for CI: ``MAX_EXAMPLES`` per operation in the fuzzing phase (the
examples and coverage phases add their own cases), derandomized (the same cases every run, given the same
document), no deadline, no example database, no timing health check. Each operation reports as its own
subtest, ``test_fuzz[METHOD /path]``, with a curl line that reproduces each failure. By hand:
``LAPOR_FUZZ_OPERATIONS='^POST /reports'`` fuzzes the operations that regex matches, ``LAPOR_FUZZ_MAX_EXAMPLES``
runs more cases.

A second test checks the other way round: every route of template.yaml is in the document.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import schemathesis
from schemathesis.checks import (  # the registry's names (the OpenAPI ones register on first access)
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from twilio.request_validator import RequestValidator

from lapor_cli.devserver import DEV_SECRETS

from e2e.conftest import ROOT, DevServer
from e2e.helpers import token
from samples import sample_report

pytestmark = pytest.mark.e2e

TIMEOUT = 30
# Fuzzing-phase cases per operation: 25 keeps the whole file near 45 s on 2 idle cores, 70 s on busy ones, once
# every operation passes (the coverage phase's ~900 cases are half of it). LAPOR_FUZZ_MAX_EXAMPLES=300 by hand
# for a deeper run.
MAX_EXAMPLES = int(os.environ.get("LAPOR_FUZZ_MAX_EXAMPLES", "25"))
WRONG_CONTENT_TYPE_PROBES = {"unsupported_content_type", "malformed_content_type"}


def wrong_content_type_status_documented(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A body sent with a wrong or malformed Content-Type (a coverage-phase probe) is exempt from schemathesis's
    conformance checks; the status it gets (415, or whatever else) must be documented all the same."""
    data = case.meta.phase.data if case.meta is not None else None
    if getattr(data, "scenario", None) not in WRONG_CONTENT_TYPE_PROBES or response.status_code >= 500:
        return  # a 5xx is not_a_server_error's
    documented = case.operation.responses.status_codes
    status = str(response.status_code)
    if not {"default", status, f"{status[0]}XX"} & set(documented):
        raise AssertionError(f"Undocumented status code for a body sent as {case.headers.get('Content-Type')!r}\n\n"
                             f"Received: {status}\nDocumented: {', '.join(documented)}")


def no_response_validation_error(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A handler whose own return value fails its response model is a server bug, but Powertools raises it as a
    RequestValidationError unless the resolver sets response_validation_error_http_code, so it would come out as
    a documented 422 with ``loc: ["response", ...]`` that no other check sees. Lapor's resolver sets it to 500
    (not_a_server_error's then); this check keeps guard should that setting go."""
    if response.status_code != 422:
        return
    try:
        details = response.json()["error"]["details"]
    except (ValueError, KeyError, TypeError):
        return
    if isinstance(details, list) and any(isinstance(d, dict) and (d.get("loc") or [None])[0] == "response"
                                         for d in details):
        raise AssertionError("The handler's own response failed its response model, answered as a 422\n\n"
                             f"Details: {details}")


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, wrong_content_type_status_documented, no_response_validation_error]
OPEN311_CREATE = {"/open311/v2/requests.json", "/open311/v2/requests.xml"}
SMS_WEBHOOKS = {"/webhooks/sms/twilio", "/webhooks/sms/generic"}
# Routes of template.yaml that are deliberately not operations of the document.
NOT_DOCUMENTED = {"GET /openapi.json",  # the document itself (include_in_schema=False)
                  # Open311's catch-all: whatever no route serves under /open311/v2, answered with the spec's
                  # errors by the app's not_found (tests/test_open311_errors.py), no operation of its own.
                  "ANY /open311/v2/{proxy+}"}


def _template_routes() -> list[str]:
    from lapor_cli.template import load_template

    routes = {route.route_key for route in load_template(ROOT / "template.yaml").http_routes}
    return sorted(routes - NOT_DOCUMENTED)


@pytest.fixture(scope="module")
def fuzz_data(own_lapor_dev: DevServer) -> dict[str, Any]:
    """What the fuzzer needs to reach past the 404s: an admin token, Open311 keys, reports (one answered)."""
    url = own_lapor_dev.url
    admin = token(own_lapor_dev, "admin")

    def post(path: str, body: Any, headers: dict[str, str] | None = None, status: int = 200) -> dict[str, Any]:
        response = requests.post(f"{url}{path}", json=body, headers=headers, timeout=TIMEOUT)
        assert response.status_code == status, (path, response.status_code, response.text)
        return response.json()

    api_key = post("/admin/apikeys", {"name": "fuzz: Open311 filing"}, admin, 201)
    spare_key = post("/admin/apikeys", {"name": "fuzz: revoked by the fuzzer"}, admin, 201)
    answered = post("/reports", sample_report(), status=201)
    post(f"/reports/{answered['tracking_id']}/responses",
         {"status": "responded", "message": "Lampu sudah diganti oleh petugas pada hari ini."}, admin)
    fresh = post("/reports", sample_report() | {"privacy": "anonymous", "reporter": None}, status=201)
    categories = requests.get(f"{url}/categories", timeout=TIMEOUT).json()["items"]
    regions = requests.get(f"{url}/regions", params={"parent": "64"}, timeout=TIMEOUT).json()["items"]
    return {"admin": admin, "api_key": api_key["key"], "spare_key_id": spare_key["id"],
            "tracking_ids": [answered["tracking_id"], fresh["tracking_id"]],
            "access_codes": [answered["access_code"], fresh["access_code"]],
            "categories": [c["id"] for c in categories], "region_codes": [r["code"] for r in regions]}


@pytest.fixture(scope="module")
def fuzz_schema(own_lapor_dev: DevServer, fuzz_data: dict[str, Any]) -> schemathesis.BaseSchema:
    """The document as the running stack serves it, with the fuzzer's settings and credentials."""
    bearer = fuzz_data["admin"]["Authorization"].removeprefix("Bearer ")
    ids = fuzz_data["tracking_ids"]
    config = SchemathesisConfig.from_dict({
        "suppress-health-check": ["too_slow"],  # timing-dependent: a busy CI machine must not fail it
        "base-url": own_lapor_dev.url,
        "request-timeout": TIMEOUT,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "auth": {"openapi": {"operatorJwt": {"bearer": bearer}}},
        # Half the time a path or header takes a value that exists, so the 200s and their bodies are checked too.
        "dictionaries": {
            "tracking_ids": {"values": ids},
            "request_files": {"values": [f"{i}.{fmt}" for i in ids for fmt in ("json", "xml")]},
            "service_files": {"values": ["infrastructure.json", "infrastructure.xml"]},
            "access_codes": {"values": fuzz_data["access_codes"]},
            "key_ids": {"values": [fuzz_data["spare_key_id"]]},
            "agency_ids": {"values": ["64-72-pupr"]},
            # Seeded agencies a report can be reassigned to.
            "reassign_targets": {"values": ["64-72-dinkes", "64-pupr", "nasional"]},
            "categories": {"values": fuzz_data["categories"]},
            "region_codes": {"values": fuzz_data["region_codes"]},
            "phones": {"values": ["+6281355550101", "0813-5555-0102"]},
            "sms_texts": {"values": ["LAPOR Samarinda infrastruktur: Jalan di Jl. Juanda berlubang besar",
                                     f"CEK {ids[0]}", "INFO"]},
        },
        "parameters": {
            "path.tracking_id": {"dictionary": "tracking_ids", "probability": 0.5},
            "path.request_file": {"dictionary": "request_files", "probability": 0.5},
            "path.service_file": {"dictionary": "service_files", "probability": 0.5},
            "path.key_id": {"dictionary": "key_ids", "probability": 0.5},
            "header.x-access-code": {"dictionary": "access_codes", "probability": 0.5},
            "query.agency_id": {"dictionary": "agency_ids", "probability": 0.5},
            # The document lets any string through; only known categories and regions file a report.
            "body.category": {"dictionary": "categories", "probability": 0.5},
            "body.region_code": {"dictionary": "region_codes", "probability": 0.5},
            "body.agency_id": {"dictionary": "reassign_targets", "probability": 0.5},
            # The Open311 form's name for it (attribute[region_code] cannot be named here: its examples serve).
            "body.service_code": {"dictionary": "categories", "probability": 0.5},
            # SMS webhooks (signed by SmsSigningSession): a sender that is a phone, a command Lapor reads.
            "body.From": {"dictionary": "phones", "probability": 0.5},
            "body.from": {"dictionary": "phones", "probability": 0.5},
            "body.Body": {"dictionary": "sms_texts", "probability": 0.5},
            "body.text": {"dictionary": "sms_texts", "probability": 0.5},
        },
    })
    return schemathesis.openapi.from_url(f"{own_lapor_dev.url}/openapi.json", config=config, timeout=TIMEOUT)


@pytest.fixture(autouse=True)
def _node_id_alias(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """schemathesis 4.32 names each operation's report through ``item._nodeid``, which pytest 9.2 replaced with a
    structured ``item._id``: alias it for this module's tests, so a report still reads ``test_fuzz[GET /path]``.
    A no-op on the pytest versions that still have ``_nodeid``."""
    if hasattr(request.node, "_nodeid"):
        return
    from _pytest.nodeid import coerce_node_id

    monkeypatch.setattr(type(request.node), "_nodeid", property(
        lambda node: str(node._id), lambda node, value: setattr(node, "_id", coerce_node_id(value))), raising=False)


class _TwilioForm(dict):
    def getlist(self, name: str) -> list[str]:  # what RequestValidator reads repeated fields with
        return self[name]


class SmsSigningSession(requests.Session):
    """Signs each SMS webhook request as its provider would, over the bytes actually sent, with the dev secrets
    ``lapor dev`` checks against: so positive cases get past the signature to the parsing behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.headers.clear()  # schemathesis would take a session's default headers for configured ones

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        path = request.path_url.partition("?")[0]
        if path == "/webhooks/sms/twilio":
            form = _TwilioForm(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
            request.headers.pop("X-Twilio-Webhooks-Signature-Settings", None)  # HMAC-SHA1, Twilio's default
            request.headers["X-Twilio-Signature"] = RequestValidator(
                DEV_SECRETS["LAPOR_TWILIO_AUTH_TOKEN"]).compute_signature(request.url, form)
        elif path == "/webhooks/sms/generic":
            key = DEV_SECRETS["LAPOR_SMS_HMAC_SECRET"].encode()
            request.headers["X-Signature"] = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        return super().send(request, **kwargs)


schema = schemathesis.pytest.from_fixture("fuzz_schema")
if os.environ.get("LAPOR_FUZZ_OPERATIONS"):  # a regex on "METHOD /path", to fuzz a few operations by hand
    schema = schema.include(name_regex=os.environ["LAPOR_FUZZ_OPERATIONS"])


@schema.parametrize()
def test_fuzz(case: schemathesis.Case, fuzz_data: dict[str, Any]) -> None:
    """No 5xx; the status, content type, body and headers of every answer as documented for the operation."""
    positive = case.meta is None or case.meta.generation.mode == schemathesis.GenerationMode.POSITIVE
    if positive and case.path in OPEN311_CREATE and isinstance(case.body, dict):
        case.body["api_key"] = fuzz_data["api_key"]  # Open311's form field; negative cases keep what they have
        # Optional in the form (jurisdiction_id may stand in), so mostly left out: without it a case stops at the
        # first 400. Dictionaries cannot name a field with brackets; a generated value is kept.
        case.body.setdefault("attribute[region_code]", fuzz_data["region_codes"][len(case.body) % 2])
    # Positive SMS cases are signed (negative ones keep the signature they were generated with: a 403).
    session = SmsSigningSession() if positive and case.path in SMS_WEBHOOKS else None
    try:
        case.call_and_validate(checks=CHECKS, session=session)
    finally:
        if session is not None:
            session.close()


@pytest.fixture(scope="module")
def document(own_lapor_dev: DevServer) -> dict[str, Any]:
    return requests.get(f"{own_lapor_dev.url}/openapi.json", timeout=TIMEOUT).json()


@pytest.mark.parametrize("route_key", _template_routes())
def test_every_route_of_the_template_is_in_the_document(document: dict[str, Any], route_key: str) -> None:
    method, path = route_key.split(" ", 1)
    assert method.lower() in document["paths"].get(path, {}), f"{route_key} is a route of template.yaml " \
                                                               f"but not an operation of /openapi.json"
