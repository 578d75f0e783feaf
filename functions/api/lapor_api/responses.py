"""The ``responses=`` of every route, built once: success bodies, Lapor's error shape, API Gateway's 401 and
Open311's error list, each with a short description of what really answers it.

A route lists every status it can answer, e.g.
``responses=ok("The report") | errors(NOT_JSON, TOO_LARGE, BAD_MEDIA_TYPE, (404, "No such report"), INVALID)``.
An entry is a status (its default description) or ``(status, description)``; a later entry for the same status
replaces an earlier one, so a route can name its own codes after a shared group.

422 is documented only where a route lists it: Powertools adds its own ``HTTPValidationError`` 422 to every
operation, but Lapor answers validation errors as :class:`ErrorResponse` (app.invalid_request), and routes with
nothing to validate never answer 422 at all. ``app.openapi_document`` drops what Powertools added.
"""

from __future__ import annotations

from typing import Any

from lapor.models import ErrorResponse, Open311Errors, Unauthorized

JSON = "application/json"
XML = "text/xml"  # Open311's XML and Twilio's TwiML, sent as text/xml; charset=utf-8
XML_BODY = {"schema": {"type": "string", "contentMediaType": "text/xml"}}

# Statuses a route may list by number alone.
DEFAULTS = {
    401: "No valid operator token (API Gateway's JWT authorizer answers; the function never runs)",
    403: "The token is not an operator's Cognito ID token (`id_token_required`) or carries no operator role "
         "(`forbidden`)",
    413: "The body is over the deployment's limit, 64 KiB by default (`payload_too_large`); checked first",
    415: "The body is not sent as `application/json` (`unsupported_media_type`)",
    422: "The request does not match the schema (`validation_error`; details give each error's loc and type)",
}

# Shared groups.
NOT_JSON = (400, "The body is not JSON or nests too deeply (`invalid_json`), or is not UTF-8 (`invalid_encoding`)")
TOO_LARGE = 413
BAD_MEDIA_TYPE = 415
INVALID = 422
JSON_BODY = (NOT_JSON, TOO_LARGE, BAD_MEDIA_TYPE, INVALID)  # every route that takes a JSON body
OPERATOR = (401, 403)  # every route behind the JWT authorizer
ADMIN = (401, (403, "The token is not an operator's Cognito ID token (`id_token_required`), or not an admin's "
                    "(`forbidden`)"))

Entry = int | tuple[int, str]  # a status, or a status and its description


def _entries(entries: tuple[Any, ...]) -> dict[int, str]:
    """{status: description}; any tuple other than ``(status, description)`` is a group of entries."""
    described: dict[int, str] = {}
    for entry in entries:
        if isinstance(entry, int):
            described[entry] = DEFAULTS[entry]
        elif len(entry) == 2 and isinstance(entry[0], int) and isinstance(entry[1], str):
            described[entry[0]] = entry[1]
        else:
            described |= _entries(entry)
    return described


def _unauthorized(description: str) -> dict[str, Any]:
    return {"description": description,
            "headers": {"WWW-Authenticate": {"description": "`Bearer`", "required": True,
                                             "schema": {"type": "string"}}},
            "content": {JSON: {"model": Unauthorized}}}


def errors(*entries: Any) -> dict[int, dict[str, Any]]:
    """Lapor's ``{"error": {code, message, details?}}`` for each status (401: API Gateway's ``{message}``)."""
    return {status: _unauthorized(text) if status == 401 else
            {"description": text, "content": {JSON: {"model": ErrorResponse}}}
            for status, text in sorted(_entries(entries).items())}


def ok(description: str, *, status: int = 200, model: Any = None) -> dict[int, dict[str, Any]]:
    """The success response; its body is the handler's return model unless ``model`` names another."""
    return {status: {"description": description} | ({"content": {JSON: {"model": model}}} if model else {})}


def open311_ok(description: str, model: Any, formats: tuple[str, ...]) -> dict[int, dict[str, Any]]:
    """An Open311 success: ``model`` as JSON and/or the same document as XML, by the route's suffix."""
    return {200: {"description": description, "content": _open311_content(model, formats)}}


def open311_errors(formats: tuple[str, ...], *entries: Entry) -> dict[int, dict[str, Any]]:
    """The spec's error list, ``[{code, description}]`` in JSON or ``<errors><error>`` in XML."""
    return {status: {"description": text, "content": _open311_content(Open311Errors, formats)}
            for status, text in sorted(_entries(entries).items())}


def _open311_content(model: Any, formats: tuple[str, ...]) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if "json" in formats:
        content[JSON] = {"model": model}
    if "xml" in formats:
        content[XML] = dict(XML_BODY)
    return content
