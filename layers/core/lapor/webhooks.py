"""Provider webhook signatures (design §4 "SMS"), checked before anything else is read.

Twilio signs the URL it called plus the sorted form fields with HMAC-SHA1 (HMAC-SHA256 when the request
says so in ``X-Twilio-Webhooks-Signature-Settings``), base64; it is inconsistent about the default port, so
both forms of the URL are tried, as its own ``RequestValidator`` does. The generic webhook signs the raw body:
``X-Signature: sha256=<hex HMAC-SHA256>``. Every comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit, urlunsplit

_TWILIO_HASHES = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}
_DEFAULT_PORTS = {"https": 443, "http": 80}


def secret(value: str) -> str:
    """A secret setting: the value itself, or ``ssm:<name>`` for an SSM SecureString (cached 5 minutes, so a
    rotated token is picked up without a restart)."""
    if not value.startswith("ssm:"):
        return value
    from aws_lambda_powertools.utilities.parameters import get_parameter

    return get_parameter(value.removeprefix("ssm:"), decrypt=True, max_age=300)


def request_url(headers: dict[str, str], raw_path: str, raw_query: str) -> str:
    """The URL as the provider called it, behind API Gateway: forwarded scheme, host, path and query."""
    scheme = headers.get("x-forwarded-proto", "https").split(",")[0].strip()
    return f"{scheme}://{headers.get('host', '')}{raw_path}" + (f"?{raw_query}" if raw_query else "")


def _url_variants(url: str) -> set[str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 443)
    return {urlunsplit(parts._replace(netloc=host)), urlunsplit(parts._replace(netloc=f"{host}:{port}"))}


def twilio_signature(token: str, url: str, form: dict[str, list[str]], algorithm: str = "HMAC_SHA1") -> str:
    payload = url + "".join(name + value for name in sorted(form) for value in sorted(set(form[name])))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), _TWILIO_HASHES[algorithm]).digest()).decode()


def twilio_algorithm(settings_header: str | None) -> str:
    for part in (settings_header or "").split(","):
        name, _, value = part.partition("=")
        if name.strip() == "algorithm" and value.strip():
            return value.strip().upper()
    return "HMAC_SHA1"


def twilio_valid(token: str, url: str, form: dict[str, list[str]], signature: str | None,
                 settings_header: str | None = None) -> bool:
    algorithm = twilio_algorithm(settings_header)
    if not token or not signature or algorithm not in _TWILIO_HASHES:
        return False
    return any(hmac.compare_digest(twilio_signature(token, variant, form, algorithm).encode(), signature.encode())
               for variant in _url_variants(url))


def body_signature(key: str, body: bytes) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def body_valid(key: str, body: bytes, signature: str | None) -> bool:
    return bool(key and signature) and hmac.compare_digest(body_signature(key, body).encode(),
                                                           signature.strip().lower().encode())
