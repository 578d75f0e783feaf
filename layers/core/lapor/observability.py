"""Logger and Tracer shared by a function (service name from POWERTOOLS_SERVICE_NAME).

Metrics are emitted with ``single_metric`` where they happen, each with its own dimensions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Tracer

logger = Logger()
tracer = Tracer()

Handler = TypeVar("Handler", bound=Callable[..., Any])


def traced_handler(handler: Handler) -> Handler:
    """The handler in an X-Ray subsegment that records neither its response nor its error.

    Powertools records both by default, and an X-Ray trace is a second data store: a response carries access
    codes, identities and confidential text, and an error's message can quote its input. Timings, the cold
    start annotation and the AWS calls' own subsegments are what a trace is for; they stay.
    """
    return tracer.capture_lambda_handler(handler, capture_response=False, capture_error=False)
