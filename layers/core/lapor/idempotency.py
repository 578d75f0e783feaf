"""``Idempotency-Key`` support with Powertools idempotency, keyed on the header and checked on the parsed body.

The stored reply must give a replay the same access code, yet the code may not be stored in clear. It is kept
sealed with a pad derived from the Idempotency-Key, which the table holds only as a SHA-256 hash: reading the
table reveals no code, and whoever holds the key and the body could replay the request and read it anyway.

Imported only when a request carries the header: the utility is slow to import.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from lapor.errors import Conflict, Unprocessable
from lapor.settings import get_settings


@lru_cache(maxsize=1)
def _persistence_and_config() -> tuple[Any, Any]:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

    settings = get_settings()
    return (
        DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name),
        IdempotencyConfig(
            event_key_jmespath="key",
            # Same key with another (parsed) body is refused rather than answered with the first report.
            payload_validation_jmespath="payload",
            raise_on_no_idempotency_key=True,
            hash_function="sha256",
            expires_after_seconds=settings.idempotency_expiry_seconds,
        ),
    )


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


def run_once(key: str, payload: dict[str, Any], action: Callable[[], dict[str, Any]], lambda_context: Any = None
             ) -> dict[str, Any]:
    """``action()`` the first time ``key`` is seen; its stored result on a replay with the same payload.

    ``action`` returns a ``POST /reports`` reply; its access code is stored sealed (see the module's doc).
    """
    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    persistence, config = _persistence_and_config()
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
    def submit_once(request: dict[str, Any]) -> dict[str, Any]:
        return seal(key, action())

    try:
        return unseal(key, submit_once(request={"key": key, "payload": payload}))
    except IdempotencyValidationError as exc:
        raise Unprocessable("this Idempotency-Key was used with a different body",
                            code="idempotency_key_reused") from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly",
                       code="request_in_progress") from exc
