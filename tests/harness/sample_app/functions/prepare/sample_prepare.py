"""Validates the input. Fails once per execution with TransientError (to exercise Retry)."""

import os
import threading
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from sample_common.errors import TransientError
from sample_common.observability import logger, metrics, tracer

_seen_tokens: set[str] = set()
_lock = threading.Lock()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="PrepareAttempts", unit=MetricUnit.Count, value=1)
    with _lock:
        first_time = event["token"] not in _seen_tokens
        _seen_tokens.add(event["token"])
    if first_time:
        raise TransientError(f"warming up for {event['token']}")
    return {
        "dbIdentifier": event["dbIdentifier"],
        "kind": event["kind"],
        "attempt": event["attempt"],
        "functionName": context.function_name,
        "remainingMs": context.get_remaining_time_in_millis(),
        # read at invocation time, like the real handlers
        "env": {
            key: os.environ.get(key)
            for key in (
                "STAGE",
                "LOG_LEVEL",
                "TLS_MODE",
                "REGION_LABEL",
                "TOPIC_ARN",
                "DESCRIBE_FUNCTION_ARN",
                "FIRST_ZONE",
                "ZONES",
                "CLICKHOUSE_ROLE_ARN",
                "ESCAPED",
                "DB_KIND_DEFAULT",
            )
        },
    }
