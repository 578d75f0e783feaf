"""``Idempotency-Key`` support with Powertools idempotency, keyed on the header and checked on the parsed body.

Imported only when a request carries the header: the utility is slow to import.
"""

from __future__ import annotations

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
            expires_after_seconds=settings.idempotency_expiry_seconds,
        ),
    )


def run_once(key: str, payload: dict[str, Any], action: Callable[[], dict[str, Any]], lambda_context: Any = None
             ) -> dict[str, Any]:
    """``action()`` the first time ``key`` is seen; its stored result on a replay with the same payload."""
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
        return action()

    try:
        return submit_once(request={"key": key, "payload": payload})
    except IdempotencyValidationError as exc:
        raise Unprocessable("this Idempotency-Key was used with a different body",
                            code="idempotency_key_reused") from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly",
                       code="request_in_progress") from exc
