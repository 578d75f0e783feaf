"""The SMS webhooks in the OpenAPI document: ``paths`` entries for ``POST /webhooks/sms/twilio`` and
``POST /webhooks/sms/generic``, which SmsFunction serves and ApiFunction's ``GET /openapi.json`` describes.

The bodies' schemas come from the models SmsFunction validates with (:mod:`lapor.sms_models`); the statuses are
exactly the ones the handler answers (tests/test_sms_hostile.py drives it to each). OpenAPI 3.1: the schemas are
JSON Schema 2020-12 as pydantic writes them, inlined so the entries need no ``components``. Pydantic only at
import; nothing here touches AWS.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from lapor.sms_models import MAX_MESSAGE_ID, MAX_TEXT, GenericSms, SmsReply, TwilioSms

TAGS = ["sms"]
TWIML_EXAMPLE = ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Laporan LPR-7K3M9Q2X diterima dan '
                 "akan diteruskan ke instansi terkait. Cek status: CEK LPR-7K3M9Q2X</Message></Response>")


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every ``#/$defs/...`` reference replaced by the definition (the models nest no cycles)."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(copy.deepcopy(definitions[ref.removeprefix("#/$defs/")]))
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return _inline(model.model_json_schema(by_alias=True))


def _error(description: str, codes: dict[str, str]) -> dict[str, Any]:
    """A JSON error response, ``{"error": {"code", "message", "details"?}}``, listing the codes it can carry."""
    from lapor.models import ErrorResponse  # the API's error body: one shape for every Lapor route

    listed = "; ".join(f"`{code}`: {meaning}" for code, meaning in codes.items())
    return {"description": f"{description} ({listed})",
            "content": {"application/json": {
                "schema": _schema(ErrorResponse),
                "examples": {code: {"value": {"error": {"code": code, "message": meaning}}}
                             for code, meaning in codes.items()}}}}


def _header(name: str, description: str, *, required: bool, pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"} | ({"pattern": pattern} if pattern else {})
    return {"name": name, "in": "header", "required": required, "description": description, "schema": schema}


def _common_errors() -> dict[str, Any]:
    return {
        "403": _error("The signature is missing or wrong: nothing was parsed, stored or echoed",
                      {"invalid_signature": "the request is not signed by the SMS provider"}),
        "413": _error("The body is larger than the deployment's limit (LAPOR_MAX_BODY_BYTES, 64 KiB by default); "
                      "checked before the signature", {"payload_too_large": "the body is over the limit"}),
    }


def sms_paths() -> dict[str, Any]:
    """The ``paths`` entries of the two SMS webhooks, to merge into the served document's ``paths``."""
    twilio = {
        "tags": TAGS,
        "operationId": "sms_webhook_twilio",
        "summary": "Twilio's incoming-message webhook: files, checks or explains, and answers in TwiML",
        "description": (
            "Called by Twilio for each SMS to a Lapor number. `X-Twilio-Signature` (HMAC-SHA1, or HMAC-SHA256 when "
            "`X-Twilio-Webhooks-Signature-Settings` says `algorithm=HMAC_SHA256`, over the URL as called plus the "
            "sorted form fields) is checked before anything else is read. Free text or `LAPOR <region> "
            "<category>: <text>` files an anonymous report, `CEK <tracking id>` answers with its status, `INFO` or "
            "`BANTUAN` with help; a resent MessageSid gets the first reply and never files twice. Control "
            "characters and bidi overrides are removed from what is stored and echoed, and bytes that are not "
            "UTF-8 become one U+FFFD. A sender that is not a phone number gets a TwiML reply with no message."
        ),
        "parameters": [
            _header("X-Twilio-Signature", "Twilio's base64 signature of the request.", required=True),
            _header("X-Twilio-Webhooks-Signature-Settings",
                    "e.g. `key=webhooks_sharedkey_1,algorithm=HMAC_SHA256`; HMAC-SHA1 without it.", required=False),
        ],
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
            "schema": _schema(TwilioSms)}}},
        "responses": {
            "200": {"description": "The reply to send to the sender, in Bahasa Indonesia; an empty `<Response/>` "
                                   "when there is none (a sender that is not a phone number)",
                    "content": {"text/xml": {"schema": {"type": "string", "contentMediaType": "text/xml"},
                                             "example": TWIML_EXAMPLE}}},
            "400": _error("The signed form cannot be used", {
                "missing_fields": "MessageSid, From or To is missing or empty",
                "invalid_fields": f"MessageSid is longer than {MAX_MESSAGE_ID} characters",
                "invalid_encoding": "a base64 body is not base64 (checked before the signature)"}),
            **_common_errors(),
        },
    }
    generic = {
        "tags": TAGS,
        "operationId": "sms_webhook_generic",
        "summary": "A generic SMS gateway's webhook: files, checks or explains, and answers with the reply text",
        "description": (
            "For SMS gateways other than Twilio. `X-Signature: sha256=<hex HMAC-SHA256 of the raw body>` is checked "
            "before anything else is read. The commands are Twilio's (free text, `LAPOR <region> <category>: "
            f"<text>`, `CEK <tracking id>`, `INFO`/`BANTUAN`); `text` is at most {MAX_TEXT} characters, and a "
            "resent `message_id` gets the first reply and never files twice. Control characters and bidi "
            "overrides are removed from what is stored and echoed."
        ),
        "parameters": [
            _header("X-Signature", "`sha256=` and the hex HMAC-SHA256 of the raw body with the shared secret.",
                    required=True, pattern="^sha256=[0-9a-fA-F]{64}$"),
        ],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _schema(GenericSms)}}},
        "responses": {
            "200": {"description": "The reply to send to the sender, in Bahasa Indonesia",
                    "content": {"application/json": {"schema": _schema(SmsReply)}}},
            "400": _error("The signed body cannot be read", {
                "invalid_encoding": "the body is not UTF-8 text, or a base64 body is not base64",
                "invalid_json": "the body is not JSON, or nests too deeply"}),
            **_common_errors(),
            "422": _error("The message cannot be answered", {
                "validation_error": "the JSON does not match the schema (details: loc and type of each error)",
                "invalid_sender": "`from` is not a phone number"}),
        },
    }
    return {"/webhooks/sms/twilio": {"post": twilio}, "/webhooks/sms/generic": {"post": generic}}
