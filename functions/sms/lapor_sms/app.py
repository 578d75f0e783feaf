"""SmsFunction handler: the SMS providers' webhooks (design §4 "SMS").

``POST /webhooks/sms/twilio`` (form-encoded, ``X-Twilio-Signature``, TwiML reply) and
``POST /webhooks/sms/generic`` (JSON, ``X-Signature: sha256=<hex>``, ``{"reply": ...}``). The signature is
checked first: a request without a valid one gets 403 and nothing is parsed, stored or echoed. Only the body's
size (413) and, for a base64 body, its encoding (400) are looked at before, as they must be to check it.
Hostile input gets a 4xx or a clean reply, never a 500: the text is cleaned in the domain
(:func:`lapor.domain.sms.clean_text`) and every reply once more on its way out (:func:`safe_reply`).
The statuses answered here are the ones :mod:`lapor.sms_openapi` documents.
"""

from __future__ import annotations

import gc

# The collector rests while the module loads, then init's objects are frozen out of later collections: why, in
# lapor_api.app. A process that had it off already keeps it off.
_collecting = gc.isenabled()
gc.disable()

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from pydantic import ValidationError

from lapor import runtime, snapstart, webhooks
from lapor.domain.sms import safe_reply
from lapor.errors import LaporError
from lapor.request_body import body_size
from lapor.observability import logger, traced_handler
from lapor.settings import get_settings
from lapor.sms_intake import InboundSms, SmsDesk
from lapor.sms_models import MAX_MESSAGE_ID, MAX_TEXT, TWILIO_REQUIRED, GenericSms


def _json(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def _error(status: int, code: str, message: str, details: Any = None) -> dict[str, Any]:
    return _json(status, {"error": {"code": code, "message": message} | ({"details": details} if details else {})})


def _twiml(reply: str) -> dict[str, Any]:
    reply = safe_reply(reply)  # escape() leaves control characters as they are, and XML 1.0 cannot carry them
    message = f"<Message>{escape(reply)}</Message>" if reply else ""
    return {"statusCode": 200, "headers": {"Content-Type": "text/xml; charset=utf-8"},
            "body": f'<?xml version="1.0" encoding="UTF-8"?><Response>{message}</Response>'}


def _answer(message: InboundSms) -> str:
    desk = SmsDesk(runtime.store(), runtime.sms_store(), runtime.config_cache().get(), get_settings())
    reply, outcome = desk.answer(message)
    logger.info("sms answered", extra={"provider": message.provider, **outcome})
    with single_metric(name="SmsReceived", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="outcome", value=outcome["outcome"])
    return safe_reply(reply)


def _twilio_signed(event: dict[str, Any], headers: dict[str, str], form: dict[str, list[str]]) -> bool:
    try:
        url = webhooks.request_url(headers, event.get("rawPath", ""), event.get("rawQueryString", ""))
        return webhooks.twilio_valid(webhooks.secret(get_settings().twilio_auth_token), url, form,
                                     headers.get("x-twilio-signature"),
                                     headers.get("x-twilio-webhooks-signature-settings"))
    except ValueError:  # a Host no URL can have ("a:b", "[x"): Twilio did not call that
        return False


def twilio(event: dict[str, Any], headers: dict[str, str], body: bytes) -> dict[str, Any]:
    # Leniently: Twilio sends UTF-8, and what it signed is the decoded fields. An undecodable byte becomes one
    # U+FFFD (a run of them one in all, see clean_text) and is never echoed as garbage.
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    if not _twilio_signed(event, headers, form):
        return _error(403, "invalid_signature", "the request is not signed by the SMS provider")
    fields = {name: values[0] for name, values in form.items()}
    missing = [name for name in TWILIO_REQUIRED if not fields.get(name)]
    if missing:
        return _error(400, "missing_fields", "the webhook lacks " + ", ".join(missing), [{"loc": missing}])
    if len(fields["MessageSid"]) > MAX_MESSAGE_ID:  # it becomes part of a table key, which has a size limit
        return _error(400, "invalid_fields", f"MessageSid is over {MAX_MESSAGE_ID} characters",
                      [{"loc": ["MessageSid"]}])
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
        body.decode("utf-8")
    except UnicodeDecodeError:
        return _error(400, "invalid_encoding", "the body is not UTF-8 text")
    try:
        sms = GenericSms.model_validate_json(body)  # a Rust parser with a depth limit: deep nesting is json_invalid
    except ValidationError as exc:  # no input in the details: it may hold a phone number
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            return _error(400, "invalid_json", "the body is not valid JSON (or nests too deeply)")
        details = [{"loc": list(e["loc"]), "type": e["type"]} for e in exc.errors()]
        return _error(422, "validation_error", "the message does not match the generic webhook's schema", details)
    return _json(200, {"reply": _answer(InboundSms("generic", sms.message_id, sms.sender, sms.to, sms.text))})


ROUTES = {"POST /webhooks/sms/twilio": "twilio", "POST /webhooks/sms/generic": "generic"}


def _body(event: dict[str, Any]) -> bytes | None:
    """The body's bytes as the provider sent (and signed) them; None when a base64 body is not base64."""
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return None
    try:  # a str with lone surrogates can only come from bytes decoded with surrogateescape: give them back
        return raw.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return raw.encode("utf-8", "surrogatepass")  # not UTF-8: refused (generic) or decoded leniently (Twilio)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@traced_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    route = ROUTES.get(event.get("routeKey", ""))
    if route is None:
        return _error(404, "not_found", "no such webhook")
    limit = get_settings().max_body_bytes  # an SMS webhook is a few kilobytes; a larger body is not worth an HMAC
    if body_size(event) > limit:
        return _error(413, "payload_too_large", f"the body is over {limit} bytes")
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    body = _body(event)
    if body is None:
        return _error(400, "invalid_encoding", "the body is not valid base64")
    try:
        return twilio(event, headers, body) if route == "twilio" else generic(headers, body)
    except LaporError as error:
        return _json(error.status, error.body())


# -- SnapStart (lapor.snapstart): before the snapshot, both webhooks through their checks. Unsigned (no secret is
# read before the snapshot: SSM is not called), so they stop at the signature; the generic body's model is built.
def prime() -> list[int]:
    from lapor.snapstart import http_event
    from lapor.snapstart import prime as run

    GenericSms.model_validate_json('{"message_id": "priming", "from": "+6281234567890", "to": "+6281100", '
                                   '"text": "LAPOR"}')
    secret, webhooks.secret = webhooks.secret, lambda value: ""  # no provider secret: SSM is never called
    try:
        return run(lambda_handler, [
            http_event("POST", "/webhooks/sms/twilio", "From=%2B6281234567890&Body=LAPOR",
                       {"content-type": "application/x-www-form-urlencoded"}),
            http_event("POST", "/webhooks/sms/generic", '{"message_id": "priming"}',
                       {"content-type": "application/json"}),
        ])
    finally:
        webhooks.secret = secret


snapstart.install(prime)
gc.freeze()
if _collecting:
    gc.enable()
