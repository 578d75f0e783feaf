"""``lapor dev``: HTTP requests in, API Gateway HTTP API (payload 2.0) events to the real handlers, responses out."""

from __future__ import annotations

import base64
import importlib
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from lapor_cli.issuer import InvalidToken, LocalIssuer, flatten_claims
from lapor_cli.site import serve_site
from lapor_cli.template import FunctionSpec, HttpRoute, Template

# The local stack's secrets (webhooks, page cursors), unless set in the environment: for
# development only (on AWS they live in SSM Parameter Store).
DEV_SECRETS = {"LAPOR_TWILIO_AUTH_TOKEN": "lapor-dev-twilio-token", "LAPOR_SMS_HMAC_SECRET": "lapor-dev-sms-secret",
               "LAPOR_CURSOR_SECRET": "lapor-dev-cursor-secret"}
TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml",
              "application/problem+json", "application/javascript")


class LambdaContext:
    """The parts of the Lambda context object that handlers and Powertools read."""

    def __init__(self, function_name: str, timeout_seconds: float = 10.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:ap-southeast-3:000000000000:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def build_event(request: Request, route: HttpRoute, path_parameters: dict[str, str]) -> dict[str, Any]:
    """The payload 2.0 event API Gateway would send for ``request`` on ``route``."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        if key == "cookie":
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    remote = request.remote_addr or "127.0.0.1"
    headers.setdefault("x-forwarded-for", remote)
    headers.setdefault("x-forwarded-proto", request.scheme)
    default_port = "443" if request.scheme == "https" else "80"
    headers.setdefault("x-forwarded-port", request.host.rsplit(":", 1)[-1] if ":" in request.host else default_port)
    raw_body = request.get_data()
    content_type = headers.get("content-type", "")
    is_text = not raw_body or content_type.startswith(TEXT_TYPES)
    if is_text:
        try:
            body: str | None = raw_body.decode("utf-8")
        except UnicodeDecodeError:
            is_text = False
    if not is_text:
        body = base64.b64encode(raw_body).decode("ascii")
    query: dict[str, str] = {k: ",".join(v) for k, v in request.args.lists()}
    cookies = [c.strip() for c in request.headers.get("cookie", "").split(";") if c.strip()]
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string.decode("latin-1"),
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": request.host.split(".")[0],
            "http": {"method": request.method, "path": request.path, "protocol": request.environ.get(
                "SERVER_PROTOCOL", "HTTP/1.1"), "sourceIp": remote, "userAgent": request.headers.get("user-agent", "")},
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": not is_text,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if raw_body:
        event["body"] = body
    return event


def build_response(result: Any) -> Response:
    """A Lambda result, read as API Gateway reads a payload 2.0 response."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return Response(json.dumps(result), status=200, content_type="application/json")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    response = Response(data, status=int(result["statusCode"]))
    response.headers.clear()
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    response.headers.setdefault("Content-Type", "application/json")
    return response


class DevApp:
    """A WSGI app that dispatches to the template's functions, one invocation at a time, as one Lambda would."""

    def __init__(self, template: Template, table_names: dict[str, str], on_change: Callable[[], None],
                 issuer: LocalIssuer) -> None:
        self.template = template
        self.issuer = issuer
        self.routes = template.http_routes
        self.table_names = table_names
        self.on_change = on_change
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()
        self.secrets: dict[str, str] = {}

    def environment(self, function: FunctionSpec) -> dict[str, str]:
        """The function's variables from the template, plus those Lambda itself sets.

        Secrets kept in SSM on AWS (``ssm:<name>``) come from the environment locally, or the documented
        development defaults (DEV_SECRETS), which the SMS tests sign with.
        """
        variables = {k: self.template.resolve(v, self.table_names) for k, v in function.environment.items()}
        variables |= {k: self.secrets.setdefault(k, os.environ.get(k, DEV_SECRETS.get(k, "")))
                      for k, v in variables.items() if v.startswith("ssm:")}
        return variables | {"AWS_LAMBDA_FUNCTION_NAME": function.logical_id, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}

    def handler(self, function: FunctionSpec) -> Callable[..., Any]:
        if function.logical_id not in self._handlers:
            code_dir = str((self.template.root / function.code_uri).resolve())
            if code_dir not in sys.path:
                sys.path.insert(0, code_dir)
            module_name, _, attribute = function.handler.rpartition(".")
            self._handlers[function.logical_id] = getattr(importlib.import_module(module_name), attribute)
        return self._handlers[function.logical_id]

    def invoke(self, function: FunctionSpec, event: dict[str, Any]) -> Any:
        """Run ``function`` on ``event`` with its environment, one invocation at a time, as Lambda would."""
        with self._lock:
            os.environ.update(self.environment(function))
            return self.handler(function)(event, LambdaContext(function.logical_id))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        for route in self.routes:
            params = route.match(request.method, request.path)
            if params is not None:
                break
        else:
            site = serve_site(request, self.template.root)  # the web app's files (lapor_cli/site.py)
            if site is not None:
                return site(environ, start_response)
            # What API Gateway answers for a route it does not have.
            return Response('{"message":"Not Found"}', status=404, content_type="application/json")(
                environ, start_response)
        event = build_event(request, route, params)
        if route.authorizer is not None:
            # As API Gateway's JWT authorizer: a missing, forged or expired token never reaches the function.
            try:
                claims = self.issuer.verify(request.headers.get("Authorization"))
            except InvalidToken:
                return Response('{"message":"Unauthorized"}', status=401, content_type="application/json",
                                headers={"WWW-Authenticate": "Bearer"})(environ, start_response)
            event["requestContext"]["authorizer"] = {"jwt": {"claims": flatten_claims(claims), "scopes": None}}
        try:
            result = self.invoke(route.function, event)
        except Exception:  # the function crashed: API Gateway answers 500 without details
            traceback.print_exc()
            result = {"statusCode": 500, "body": '{"message":"Internal Server Error"}'}
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            self.on_change()
        return build_response(result)(environ, start_response)


class AccessLog:
    """WSGI middleware: one line per request once its answer is sent, ``GET /reports/LPR-KCPAX3WT 200 12 ms``.

    The method, the path (percent-encoded as sent, so that no byte of it can forge a line), the status and the
    milliseconds: never the query string (presigned URLs carry their signature there) nor a header value."""

    def __init__(self, app: Callable[..., Any], write: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.write = write or (lambda line: print(line, flush=True))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        from urllib.parse import quote

        from werkzeug.wsgi import ClosingIterator

        started = time.perf_counter()
        status = ["-"]
        # Read now: an app mounted under a prefix (the local S3) may rewrite the environ.
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")

        def capture(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = line.split(" ", 1)[0]
            return start_response(line, headers, exc_info)

        def log() -> None:
            shown = quote(path.encode("latin-1", "replace").decode("utf-8", "replace"), safe="/:@!$&'()*+,;=-._~")
            method = quote(str(environ.get("REQUEST_METHOD", "-"))[:16], safe="")
            self.write(f"{method} {shown[:300]} {status[0]} {(time.perf_counter() - started) * 1000:.0f} ms")

        try:
            return ClosingIterator(self.app(environ, capture), [log])
        except BaseException:
            status[0] = "500"
            log()
            raise


def serve(app: Callable[..., Any], host: str, port: int, on_ready: Callable[[str], None]) -> None:
    """Serve ``app`` (the API, and what ``lapor dev`` mounts beside it) with one access-log line per request."""
    from werkzeug.serving import make_server

    server = make_server(host, port, AccessLog(app), threaded=True)
    url = f"http://{host}:{server.server_port}"
    on_ready(url)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def project_root() -> Path:
    """The folder holding template.yaml: the current one or one of its parents."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "template.yaml").exists():
            return folder
    raise SystemExit("lapor: no template.yaml here or in a parent folder; run it from the Lapor checkout")
