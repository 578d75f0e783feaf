"""Page cursors: the DynamoDB key a listing resumes from, signed, so a client can only hand back a cursor the
server gave out, for the listing it was given for.

An unsigned key could name any item and any index: DynamoDB refuses one that does not fit the query with a
ValidationException (a 500), and one that fits could start a page where the caller was never shown.
``<base64url key>.<base64url HMAC-SHA256 of scope and key>``, the key being JSON; the scope names the listing
(an agency's queue, with its filter), so a cursor of one agency's queue is refused on another's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from lapor.errors import LaporError
from lapor.settings import get_settings

_SIGNATURE_BYTES = 16  # 128 bits: a forged cursor is a guess against the secret


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(scope: str, payload: str) -> bytes:
    from lapor.webhooks import secret  # resolves ssm:<name> on AWS; read only when a listing pages

    key = secret(get_settings().cursor_secret)
    if not key:
        raise RuntimeError("LAPOR_CURSOR_SECRET is not set: cursors cannot be signed")
    return hmac.new(key.encode(), f"{scope}\n{payload}".encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def encode(key: dict[str, Any] | None, scope: str) -> str | None:
    """The cursor for ``key`` (a LastEvaluatedKey) in listing ``scope``; None at the end of the listing."""
    if not key:
        return None
    payload = _b64(json.dumps(key, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_b64(_signature(scope, payload))}"


def decode(cursor: str, scope: str) -> dict[str, Any]:
    """The key a cursor of listing ``scope`` holds; 400 ``invalid_cursor`` for any other string."""
    payload, _, signature = cursor.partition(".")
    try:
        valid = hmac.compare_digest(_unb64(signature), _signature(scope, payload))
        key = json.loads(_unb64(payload)) if valid else None
    except (ValueError, TypeError):  # not base64, not JSON (binascii.Error and JSONDecodeError are ValueErrors)
        key = None
    if not isinstance(key, dict):
        raise LaporError("the cursor is not one this listing gave out", code="invalid_cursor")
    return key
