"""Logger and Tracer shared by a function (service name from POWERTOOLS_SERVICE_NAME).

Metrics are emitted with ``single_metric`` where they happen, each with its own dimensions.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Tracer

logger = Logger()
# Powertools' Tracer imports the X-Ray SDK when it is made, even with tracing off (~15 ms of a cold start, and
# outside Lambda the SDK builds two botocore clients). It is made at import only when tracing is on (as in Lambda
# with Tracing: Active), else on first use: ``tracer`` is read through the module's __getattr__.
_tracer: Tracer | None = None


def tracing_enabled() -> bool:
    """What Powertools decides (POWERTOOLS_TRACE_DISABLED, in Lambda and not SAM local), asked on every call."""
    return not Tracer._is_tracer_disabled()


def get_tracer() -> Tracer:
    global _tracer
    if _tracer is None:
        _tracer = Tracer()
    return _tracer


def __getattr__(name: str) -> Any:
    if name == "tracer":
        return get_tracer()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if tracing_enabled():
    get_tracer()  # patches boto3 and botocore at init, before any client is made

Handler = TypeVar("Handler", bound=Callable[..., Any])


class HandlerFailed(Exception):
    """What leaves a handler in place of an unexpected exception: its type and where it was raised.

    Never its message: messages quote their input (a phone number, a confidential description, a whole batch
    of records in Powertools' BatchProcessingError), and whatever escapes a handler is written by X-Ray as the
    trace's cause, by Powertools and by the Lambda runtime to the logs.
    """


def error_summary(error: BaseException) -> dict[str, Any]:
    """An exception as logs may hold it: its type and the frames it passed, without message or values."""
    frames = traceback.extract_tb(error.__traceback__)
    return {"error": type(error).__name__,
            "frames": [f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in frames[-8:]]}


def _failing_safely(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        try:
            return handler(event, context)
        except Exception as error:  # noqa: BLE001 (every exception: the message must not leave)
            summary = error_summary(error)
            logger.error("handler failed", extra=summary)
            raise HandlerFailed(f"{summary['error']} at {summary['frames'][-1] if summary['frames'] else '?'}"
                                ) from None

    return run  # type: ignore[return-value]


def traced_handler(handler: Handler) -> Handler:
    """The handler in an X-Ray subsegment that records neither its response nor its error, and whose
    unexpected exceptions leave it as ``HandlerFailed`` (type and place, no message).

    Powertools records response and error by default, and an X-Ray trace is a second data store: a response
    carries access codes, identities and confidential text, and an error's message can quote its input.
    Timings, the cold start annotation and the AWS calls' own subsegments are what a trace is for; they stay.
    """
    safe = _failing_safely(handler)
    traced: list[Handler] = []

    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        if not tracing_enabled():
            return safe(event, context)
        if not traced:
            traced.append(get_tracer().capture_lambda_handler(safe, capture_response=False, capture_error=False))
        return traced[0](event, context)

    return run  # type: ignore[return-value]
