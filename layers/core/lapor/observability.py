"""Logger and Tracer shared by a function (service name from POWERTOOLS_SERVICE_NAME).

Metrics are emitted with ``single_metric`` where they happen, each with its own dimensions.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer

logger = Logger()
tracer = Tracer()
