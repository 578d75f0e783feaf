"""Shared fixtures: AWS in process (moto) with the template's tables, seeded, and an API caller."""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from samples import sample_report

ROOT = Path(__file__).resolve().parents[1]

# Never reach a real AWS account or a stray local endpoint from the suite.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "ap-southeast-3", "LAPOR_TABLE_NAME": "ReportsTable",
    "LAPOR_IDEMPOTENCY_TABLE_NAME": "IdempotencyTable", "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "lapor-api", "POWERTOOLS_METRICS_NAMESPACE": "Lapor",
    "LAPOR_CURSOR_SECRET": "test-cursor-secret",
})
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
os.environ.pop("AWS_PROFILE", None)

VALID_REPORT: dict[str, Any] = sample_report()



@pytest.fixture
def aws(monkeypatch):
    """moto in process, with every table of template.yaml created and the reference data seeded, and the sweep's
    queue (``sweep_queue`` reads it)."""
    import boto3
    from moto import mock_aws

    from lapor_cli import moto_transactions

    moto_transactions.install()  # transactions back up the items they touch, not whole tables
    with mock_aws():
        monkeypatch.setenv("LAPOR_SWEEP_QUEUE_URL", boto3.client("sqs").create_queue(QueueName="sweep")["QueueUrl"])
        yield seeded_tables()
    from lapor import runtime

    runtime.reset()


@pytest.fixture(scope="module")
def moto_server():
    """moto as a server on loopback: a client talks to it over HTTP, as to DynamoDB (the in-process mock answers
    inside botocore's own events)."""
    from moto.server import ThreadedMotoServer

    from lapor_cli.localdb import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws_over_http(moto_server, monkeypatch):
    """The suite's ``aws`` on the moto server: the same tables and seed."""
    import urllib.request

    from lapor import runtime
    from lapor_cli import moto_transactions

    # As the suite's ``aws``: a failed transaction writes nothing, stream records included (moto's own rollback
    # leaves the stream wrong: seen, a repeated support counted and the next support's record lost).
    moto_transactions.install()
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")).close()
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", moto_server)
    yield seeded_tables()
    runtime.reset()


def seeded_tables():
    """Every table of template.yaml, created on the current DynamoDB endpoint and seeded; its client."""
    import boto3

    from lapor import runtime
    from lapor_cli.seed import seed
    from lapor_cli.template import create_tables, load_template

    runtime.reset()
    client = boto3.client("dynamodb")
    create_tables(client, load_template(ROOT / "template.yaml"))
    seed(runtime.config_store())
    return client


@dataclass
class ApiResult:
    status: int
    body: Any
    headers: dict[str, str]


def table_items(client: Any, table: str = "ReportsTable") -> list[dict[str, Any]]:
    return [item for page in client.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]


def report_items(client: Any) -> list[dict[str, Any]]:
    """The reports' own items (``SK`` ``META``), without their timeline events."""
    return [i for i in table_items(client) if i["PK"]["S"].startswith("REPORT#") and i["SK"]["S"] == "META"]


def event_items(client: Any, tracking_id: str | None = None) -> list[dict[str, Any]]:
    """Timeline event items (of one report when ``tracking_id`` is given), in timeline order."""
    items = [i for i in table_items(client) if i["PK"]["S"].startswith("REPORT#") and i["SK"]["S"].startswith("EVENT#")
             and (tracking_id is None or i["PK"]["S"] == f"REPORT#{tracking_id}")]
    return sorted(items, key=lambda i: (i["PK"]["S"], i["SK"]["S"]))


@pytest.fixture
def log_lines():
    """Everything the Powertools logger writes, whatever stream it was bound to at import."""
    from lapor.observability import logger

    buffer = io.StringIO()
    handler = logger.registered_handler
    # Assigned, not setStream(): that flushes the stream it had, which may be an earlier test's capsys
    # buffer, closed by now. For the same reason the logger gets the live stdout back, not that stream.
    handler.stream = buffer
    yield buffer
    handler.stream = sys.stdout


@pytest.fixture
def sweep_queue(aws, monkeypatch):
    """The sweep's SQS queue (moto) with 4 due-index shards: ``(sqs client, queue url)``."""
    import boto3

    from lapor import runtime

    monkeypatch.setenv("LAPOR_DUE_INDEX_SHARDS", "4")
    runtime.reset()
    return boto3.client("sqs"), os.environ["LAPOR_SWEEP_QUEUE_URL"]


@pytest.fixture(scope="session")
def issuer(tmp_path_factory):
    """The local stack's token issuer, with keys of its own for this test session."""
    from lapor_cli.issuer import LocalIssuer

    return LocalIssuer(tmp_path_factory.mktemp("issuer"))


@pytest.fixture
def token(issuer):
    """``token(role, agency_id)`` → an ``Authorization`` header value."""
    return lambda role, agency_id=None, **kwargs: "Bearer " + issuer.issue(role, agency_id, **kwargs)


@pytest.fixture
def call_api(aws, issuer):
    """Invoke the route's handler in process with the payload 2.0 event ``lapor dev`` would build.

    Routes the template guards with the JWT authorizer get what API Gateway gives them: 401 without a
    valid token, else the token's claims flattened into ``requestContext.authorizer.jwt.claims``.
    """
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from lapor_cli.devserver import LambdaContext, build_event
    from lapor_cli.issuer import InvalidToken, flatten_claims
    from lapor_cli.template import load_template

    routes = load_template(ROOT / "template.yaml").http_routes

    def call(method: str, path: str, *, json_body: Any = None, body: str | bytes | None = None,
             headers: dict[str, str] | None = None, query: str = "") -> ApiResult:
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body)
            headers.setdefault("Content-Type", "application/json")
        request = Request(EnvironBuilder(method=method, path=path, query_string=query, data=body,
                                         headers=headers).get_environ())
        for route in routes:
            params = route.match(method, path)
            if params is not None:
                break
        else:
            raise AssertionError(f"{method} {path} is not a route of template.yaml")
        event = build_event(request, route, params)
        if route.authorizer is not None:
            try:
                claims = issuer.verify(headers.get("Authorization"))
            except InvalidToken:
                return ApiResult(401, {"message": "Unauthorized"}, {})
            event["requestContext"]["authorizer"] = {"jwt": {"claims": flatten_claims(claims), "scopes": None}}
        module, _, name = route.function.handler.rpartition(".")
        handler = getattr(importlib.import_module(module), name)
        result = handler(event, LambdaContext(route.function.logical_id))
        text = result.get("body") or ""
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = text
        return ApiResult(result["statusCode"], parsed, result.get("headers") or {})

    return call
