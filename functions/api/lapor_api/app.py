"""ApiFunction handler: size check, then the Powertools resolver with one Router per resource."""

from __future__ import annotations

import gc

# Init creates objects that live as long as the container (modules, classes, routes, settings): the cyclic
# collector finds nothing to free among them, yet ran ~180 times while they were made, one of them a full
# collection (~35 ms of ApiFunction's cold start, make bench). It is paused until the end of this module, which
# freezes them out of every later collection and starts it again: the gc module's documented recipe for
# gc.freeze (disable early, freeze before the fork; SnapStart's snapshot is one, lapor.snapstart freezes again
# after priming). A process that had it off already (a test, a benchmark's child) keeps it off.
_collecting = gc.isenabled()
gc.disable()

import base64
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)
from aws_lambda_powertools.logging import correlation_paths

from lapor.errors import LaporError
from lapor.request_body import MAX_JSON_DEPTH, body_size, json_depth_exceeds
from lapor.observability import error_summary, logger, traced_handler
from lapor import snapstart
from lapor.settings import get_settings
from lapor_api import admin, agency, attachments, merge, open311, reference, reports, stats

API_VERSION = "0.1.0"
# Routes whose body must be JSON; Open311 and SMS webhooks take forms and are not listed.
JSON_BODY_ROUTES = frozenset({"POST /reports", "POST /reports/{tracking_id}/feedback",
                              "POST /reports/{tracking_id}/supporters",
                              "POST /reports/{tracking_id}/responses", "POST /reports/{tracking_id}/reassign",
                              "POST /reports/{tracking_id}/reject", "POST /reports/{tracking_id}/merge", "POST /reports/{tracking_id}/attachments",
                              "POST /agency/reports/{tracking_id}/attachments",
                              "POST /reports/{tracking_id}/attachments/{attachment_id}/hide", "PUT /admin/agencies",
                              "PUT /admin/routes",
                              "PUT /admin/calendar", "POST /admin/sweeps", "POST /admin/apikeys"})
# Routes that read a body: only these are size-checked (a GET's body is never read, so never refused).
BODY_ROUTES = JSON_BODY_ROUTES | open311.CREATE_ROUTES.keys()
# A handler whose own reply fails its return model is a bug: a 500, never a 422 blaming the request.
app = APIGatewayHttpResolver(enable_validation=True, response_validation_error_http_code=500)
app.include_router(reports.router)
app.include_router(open311.router)
app.include_router(reference.router)
app.include_router(agency.router)
app.include_router(merge.router)
app.include_router(admin.router)
app.include_router(stats.router)
app.include_router(attachments.router)


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=LaporError(message, code=code, details=details).body())


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    from lapor.sms_openapi import sms_paths

    schema = app.get_openapi_schema(
        title="Lapor", version=API_VERSION,
        security_schemes={"operatorJwt": HTTPBearer(bearerFormat="JWT", description="Cognito ID token of an operator")},
        description="Public complaints, aspirations and information requests, routed to the agency that must answer.",
    )
    document = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    _drop_powertools_validation_responses(document)
    open311.describe(document["paths"])
    # SmsFunction serves the webhooks; this function only describes them, so the document names every route.
    document["paths"] |= sms_paths()
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(document))


# What Powertools documents on its own, and Lapor never answers: its 422 body (Lapor's is ErrorResponse, listed by
# each route that can answer 422 through lapor_api.responses) and the 500 of response_validation_error_http_code.
POWERTOOLS_ONLY_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def _drop_powertools_validation_responses(document: dict[str, Any]) -> None:
    refs = {f"#/components/schemas/{name}" for name in POWERTOOLS_ONLY_SCHEMAS}
    for operations in document["paths"].values():
        for operation in operations.values():
            responses = operation["responses"]
            kept = {status: response for status, response in responses.items()
                    if not {c.get("schema", {}).get("$ref") for c in response.get("content", {}).values()} & refs}
            operation["responses"] = dict(sorted(kept.items()))
    schemas = document.get("components", {}).get("schemas", {})
    for name in POWERTOOLS_ONLY_SCHEMAS:
        schemas.pop(name, None)
    if any(ref in json.dumps(document) for ref in refs):  # nothing may still point at what was dropped
        raise RuntimeError("a route documents a response with a Powertools validation schema")


@app.exception_handler(RequestValidationError)
def invalid_request(exc: RequestValidationError) -> Response:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "invalid_json", "the body is not valid JSON")
    details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors]
    return error_response(422, "validation_error", "the request does not match the schema", details)


@app.exception_handler(ResponseValidationError)
def invalid_response(exc: ResponseValidationError) -> Response:
    # Where and what, never the values: they may be a report's confidential content.
    logger.error("a handler's reply failed its response model",
                 extra={"errors": [{"loc": list(e.get("loc", ())), "type": e.get("type")} for e in exc.errors()]})
    return error_response(500, "internal_error", "something went wrong on our side")


@app.exception_handler(RequestUnsupportedContentType)
def unsupported_content_type(exc: RequestUnsupportedContentType) -> Response:
    return error_response(415, "unsupported_media_type", "this content type is not accepted here")


@app.exception_handler(LaporError)
def lapor_error(exc: LaporError) -> Response:
    return Response(status_code=exc.status, content_type=content_types.APPLICATION_JSON, body=exc.body())


@app.not_found
def not_found(exc: Exception) -> Response:
    return (open311.not_found(app.current_event.path, app.current_event.http_method)
            or error_response(404, "route_not_found", "no such route"))


@app.exception_handler(Exception)
def unexpected(exc: Exception) -> Response:
    logger.error("unhandled error", extra=error_summary(exc))  # no message: it may quote the request
    # Whether anything was stored is not known here (a handler may fail after its write): claim nothing.
    return error_response(500, "internal_error", "something went wrong on our side; the request may or may not "
                                                 "have taken effect")


def _refuse_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """A 4xx for a JSON route's body the resolver must not see: not UTF-8, or nested deeper than a report
    can be (json would recurse until RecursionError, a 500)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return _plain_error(400, "invalid_encoding", "the body is not UTF-8 text")
        # The resolver decodes it again; hand it the text, as API Gateway does for a text content type.
        event["body"], event["isBase64Encoded"] = body, False
    if json_depth_exceeds(body, MAX_JSON_DEPTH):
        return _plain_error(400, "invalid_json", f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    return None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@traced_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Checked before the resolver parses anything, so an oversized or non-JSON body costs nothing.
    route_key = event.get("routeKey")
    limit = get_settings().max_body_bytes
    if route_key in open311.CREATE_ROUTES and open311.is_multipart(event.get("headers") or {}):
        limit = get_settings().max_multipart_bytes  # a form with photos (FixMyStreet), within Lambda's 6 MB
    if route_key in BODY_ROUTES and body_size(event) > limit:
        message = f"the body is over {limit} bytes"
        spec = open311.too_large(route_key, message)  # Open311 clients read the spec's errors, not Lapor's
        if spec is not None:
            return {"statusCode": 413, "headers": {"Content-Type": spec[1]}, "body": spec[0]}
        return _plain_error(413, "payload_too_large", message)
    headers = event.get("headers") or {}
    if "content-type" in headers:
        # Media types are case-insensitive (RFC 9110); Powertools compares them as written.
        media_type, separator, parameters = headers["content-type"].partition(";")
        headers["content-type"] = media_type.strip().lower() + separator + parameters
    if route_key in JSON_BODY_ROUTES:
        media_type = headers.get("content-type", "application/json").partition(";")[0].strip()
        if media_type != "application/json":
            return _plain_error(415, "unsupported_media_type",
                                "send the body as JSON with Content-Type: application/json")
        refused = _refuse_body(event)
        if refused is not None:
            return refused
    return app.resolve(event, context)


def _plain_error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(LaporError(message, code=code).body())}


# -- SnapStart (lapor.snapstart): before the snapshot, the routes a citizen's phone calls first, through routing,
# validation and the handlers, against a DynamoDB client answered in process.
PRIMING_REPORT = json.dumps({
    "kind": "complaint", "category": "infrastructure", "region_code": "64.72", "title": "Priming SnapStart",
    "description": "A request run before the snapshot; the stub stores nothing.", "privacy": "public",
    "location": {"lat": -0.5022, "lon": 117.1536},
    "reporter": {"name": "Lapor", "phone": "0812-3456-7890", "email": "priming@example.invalid"}})


def prime() -> list[int]:
    from lapor.snapstart import http_event
    from lapor.snapstart import prime as run

    json_body = {"content-type": "application/json"}
    # The first filing finds the configuration due for its version check, as the first after a restore does, and
    # the next one does not; both carry an Idempotency-Key, as the web app's filings do, so their transactions
    # have the entries of the first and later real ones (botocore resolves the endpoint once per shape). The third
    # has none, as a client's that sends no key.
    keyed = [json_body | {"idempotency-key": f"snapstart-priming-key-000000{n}"} for n in (1, 2)]
    return run(lambda_handler, [
        http_event("POST", "/reports", PRIMING_REPORT, keyed[0]),
        http_event("POST", "/reports", PRIMING_REPORT, keyed[1]),
        http_event("POST", "/reports", PRIMING_REPORT, json_body),
        http_event("POST", "/reports", '{"kind": "complaint"}', json_body),
        http_event("GET", "/reports/LPR-00000000", route="/reports/{tracking_id}"),
        http_event("GET", "/categories"),
        http_event("GET", "/regions"),
    ])


snapstart.install(prime)
gc.freeze()
if _collecting:
    gc.enable()
