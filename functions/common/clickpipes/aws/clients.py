"""boto3 clients with one retry policy, and the translation of AWS faults into the error contract."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, EndpointConnectionError

from clickpipes.errors import TransientError

# botocore's standard mode: exponential backoff with jitter on throttling and 5xx, in the client.
# What still fails after that surfaces as TransientError, which the state machine retries in turn.
CLIENT_CONFIG: Final = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)

THROTTLING_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
    }
)


@cache
def client(service: str) -> Any:
    """One client per service per container. The endpoint honours AWS_ENDPOINT_URL(_<SERVICE>)."""
    return boto3.session.Session().client(service, config=CLIENT_CONFIG)  # type: ignore[call-overload]


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def transient_faults(action: str) -> Iterator[None]:
    """Turn throttling and network faults that outlived the client's retries into TransientError."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in THROTTLING_CODES:
            raise TransientError(
                f"{action}: AWS is throttling or unavailable ({error_code(exc)}); will retry."
            ) from exc
        raise
    except (EndpointConnectionError, ConnectionError) as exc:
        raise TransientError(f"{action}: cannot reach the AWS endpoint; will retry.") from exc
