"""``Idempotency-Key`` for filing: the key and the report are one transaction, so a report is filed exactly once
per key even when a function dies between writing and answering.

A request with a key first reads the key (a replay answers with the stored reply). Otherwise it files the
report, and the report's own transaction also records the key with the reply: both exist or neither does. A
retry after a crash finds the key; two requests racing with one key cannot both win (the loser answers with
the winner's reply). A request refused before the write (a 4xx) records nothing, so the key stays free.

The stored reply must give a replay the same access code, yet the code may not be stored in clear. It is kept
sealed with a pad derived from the Idempotency-Key, which the table holds only as a SHA-256 hash: reading the
table reveals no code, and whoever holds the key and the body could replay the request and read it anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from lapor import runtime
from lapor.dal import WriteRefused
from lapor.errors import Conflict, Unprocessable
from lapor.settings import get_settings

# ``file(also_write)`` files the report, adding ``also_write(reply)`` to its transaction, and returns the reply.
Filer = Callable[[Callable[[dict[str, Any]], list[dict[str, Any]]]], dict[str, Any]]


def _pad(key: str, tracking_id: str, length: int) -> bytes:
    pad = hmac.new(key.encode(), f"lapor-access-code:{tracking_id}".encode(), hashlib.sha256).digest()
    if length > len(pad):
        raise ValueError("access code longer than its pad")
    return pad[:length]


def seal(key: str, reply: dict[str, Any]) -> dict[str, Any]:
    code = reply["access_code"].encode()
    sealed = bytes(a ^ b for a, b in zip(code, _pad(key, reply["tracking_id"], len(code)), strict=True))
    return reply | {"access_code": "sealed:" + base64.b64encode(sealed).decode()}


def unseal(key: str, reply: dict[str, Any]) -> dict[str, Any]:
    sealed = base64.b64decode(reply["access_code"].removeprefix("sealed:"))
    code = bytes(a ^ b for a, b in zip(sealed, _pad(key, reply["tracking_id"], len(sealed)), strict=True))
    return reply | {"access_code": code.decode()}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def file_once(key: str, payload: dict[str, Any], file: Filer) -> dict[str, Any]:
    """``file`` the first time ``key`` is seen; the stored reply when the same key comes with the same payload;
    422 ``idempotency_key_reused`` with another payload."""
    store, now = runtime.intake_keys(), int(time.time())
    key_hash = _sha256(key)
    # The parsed body, canonically: white space or key order in the JSON do not make another request.
    payload_hash = _sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False))

    def replay(found: dict[str, Any]) -> dict[str, Any]:
        if not hmac.compare_digest(found["payload_hash"], payload_hash):
            raise Unprocessable("this Idempotency-Key was used with a different body", code="idempotency_key_reused")
        return unseal(key, found["reply"])

    found = store.get_intake_key(key_hash, now_epoch=now)
    if found:
        return replay(found)

    def claim(reply: dict[str, Any]) -> list[dict[str, Any]]:
        return [store.claim(key_hash, payload_hash=payload_hash, reply=seal(key, reply),
                            expires_at=now + get_settings().idempotency_expiry_seconds, now_epoch=now)]

    try:
        return file(claim)
    except WriteRefused as exc:  # another request with this key filed meanwhile, or is writing right now
        found = store.get_intake_key(key_hash, now_epoch=now)
        if found:
            return replay(found)
        raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly",
                       code="request_in_progress") from exc
