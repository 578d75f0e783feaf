"""SmsFunction handler: the SMS providers' webhooks (design §4 "SMS").

``POST /webhooks/sms/twilio`` (form-encoded, ``X-Twilio-Signature``, TwiML reply) and
``POST /webhooks/sms/generic`` (JSON, ``X-Signature: sha256=<hex>``, ``{"reply": ...}``). The signature is
checked first: a request without a valid one gets 403 and nothing is parsed, stored or echoed.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lapor import runtime, webhooks
from lapor.errors import LaporError
from lapor.observability import logger, traced_handler
from lapor.settings import get_settings
from lapor.sms_intake import InboundSms, SmsDesk

MAX_TEXT = 1600  # the longest SMS providers deliver (concatenated parts)


class GenericSms(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    message_id: str = Field(min_length=1, max_length=128)
    sender: str = Field(alias="from", min_length=3, max_length=32)
    to: str = Field(min_length=1, max_length=32)
    text: str = Field("", max_length=MAX_TEXT)
    received_at: str | None = None


def _json(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def _error(status: int, code: str, message: str, details: Any = None) -> dict[str, Any]:
    return _json(status, {"error": {"code": code, "message": message} | ({"details": details} if details else {})})


def _twiml(reply: str) -> dict[str, Any]:
    message = f"<Message>{escape(reply)}</Message>" if reply else ""
    return {"statusCode": 200, "headers": {"Content-Type": "text/xml; charset=utf-8"},
            "body": f'<?xml version="1.0" encoding="UTF-8"?><Response>{message}</Response>'}


def _answer(message: InboundSms) -> str:
    desk = SmsDesk(runtime.store(), runtime.config_cache().get(), get_settings())
    reply, outcome = desk.answer(message)
    logger.info("sms answered", extra={"provider": message.provider, **outcome})
    with single_metric(name="SmsReceived", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="outcome", value=outcome["outcome"])
    return reply


def twilio(event: dict[str, Any], headers: dict[str, str], body: bytes) -> dict[str, Any]:
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    url = webhooks.request_url(headers, event.get("rawPath", ""), event.get("rawQueryString", ""))
    if not webhooks.twilio_valid(webhooks.secret(get_settings().twilio_auth_token), url, form,
                                 headers.get("x-twilio-signature"), headers.get("x-twilio-webhooks-signature-settings")):
        return _error(403, "invalid_signature", "the request is not signed by the SMS provider")
    fields = {name: values[0] for name, values in form.items()}
    missing = [name for name in ("MessageSid", "From", "To") if not fields.get(name)]
    if missing:
        return _error(400, "missing_fields", "the webhook lacks " + ", ".join(missing), [{"loc": missing}])
    message = InboundSms("twilio", fields["MessageSid"], fields["From"], fields["To"], fields.get("Body", "")[:MAX_TEXT])
    try:
        return _twiml(_answer(message))
    except LaporError as error:  # e.g. an alphanumeric sender: Twilio wants TwiML, so answer with no message
        logger.info("sms not answered", extra={"provider": "twilio", "code": error.code})
        return _twiml("")


def generic(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    if not webhooks.body_valid(webhooks.secret(get_settings().sms_hmac_secret), body, headers.get("x-signature")):
        return _error(403, "invalid_signature", "the request is not signed by the SMS provider")
    try:
        sms = GenericSms.model_validate_json(body)
    except ValidationError as exc:  # no input in the details: it may hold a phone number
        details = [{"loc": list(e["loc"]), "type": e["type"]} for e in exc.errors()]
        return _error(422, "validation_error", "the message does not match the generic webhook's schema", details)
    return _json(200, {"reply": _answer(InboundSms("generic", sms.message_id, sms.sender, sms.to, sms.text))})


ROUTES = {"POST /webhooks/sms/twilio": "twilio", "POST /webhooks/sms/generic": "generic"}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@traced_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
    route = ROUTES.get(event.get("routeKey", ""))
    try:
        if route == "twilio":
            return twilio(event, headers, body)
        if route == "generic":
            return generic(headers, body)
    except LaporError as error:
        return _json(error.status, error.body())
    return _error(404, "not_found", "no such webhook")
