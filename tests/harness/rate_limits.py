"""AWS's API rate limits in the local world: token buckets per account, region and bucket, answering as AWS does
(HTTP 400 with the service's throttling code, "Rate exceeded"), so botocore's retries and the state machine's
Retry are exercised as in a real account. ``LocalWorld(rate_limits=True)`` turns them on.

The figures (bucket size = burst, refill per second):
- RDS: 300 / 12, all RDS API calls of an account and region together (RDS User Guide, "Request throttling for the
  Amazon RDS API"); the code is ThrottlingException.
- Step Functions (Standard, us-east-1/us-west-2/eu-west-1 figures of the quotas page, "API action throttling"):
  StartExecution 1300 / 300, DescribeExecution 250 / 25, ListExecutions 100 / 5; ThrottlingException.
- Secrets Manager: DescribeSecret and GetSecretValue together 10,000 per second (Secrets Manager quotas).
- IAM: AWS publishes no rate for IAM; mutating calls (Create*, Put*, Update*, Delete*, Attach*, Detach*, Tag*,
  Untag*) share a conservative 20 / 10 here; the code is Throttling.
Only in-process clients (moto's botocore stubber) are limited, not the optional HTTP server."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Final
from unittest import mock
from urllib.parse import parse_qs

from tests.harness.internal import is_internal


@dataclass
class TokenBucket:
    """``size`` tokens at most, ``refill`` tokens per second; each call takes one or is refused."""

    size: float
    refill: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    _at: float = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.tokens, self._at = self.size, self.clock()

    def take(self) -> bool:
        with self._lock:
            now = self.clock()
            self.tokens = min(self.size, self.tokens + (now - self._at) * self.refill)
            self._at = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


# bucket name -> (size, refill per second)
LIMITS: Final[Mapping[str, tuple[float, float]]] = {
    "rds": (300, 12),
    "states:StartExecution": (1300, 300),
    "states:DescribeExecution": (250, 25),
    "states:ListExecutions": (100, 5),
    "secretsmanager:read": (10_000, 10_000),
    "iam:mutating": (20, 10),
}
IAM_MUTATING: Final = re.compile(r"(Create|Put|Update|Delete|Attach|Detach|Tag|Untag)[A-Z]")
_CODES: Final = {"rds": "ThrottlingException", "iam": "Throttling"}  # query protocol; JSON ones: ThrottlingException


def bucket_of(service: str, operation: str) -> str | None:
    """The bucket a call draws from, or None (not limited here)."""
    if service == "rds":
        return "rds"
    if service == "states" and f"states:{operation}" in LIMITS:
        return f"states:{operation}"
    if service == "secretsmanager" and operation in {"GetSecretValue", "DescribeSecret"}:
        return "secretsmanager:read"
    if service == "iam" and IAM_MUTATING.match(operation):
        return "iam:mutating"
    return None


def _service_region_operation(request: Any) -> tuple[str, str, str]:
    host = re.sub(r"^https?://", "", str(request.url)).split("/", 1)[0]
    labels = host.split(".")
    service, region = labels[0], (labels[1] if len(labels) > 3 else "us-east-1")  # iam.amazonaws.com: global
    target = request.headers.get("X-Amz-Target")
    if target:
        operation = (target.decode() if isinstance(target, bytes) else str(target)).rsplit(".", 1)[-1]
    else:
        body = request.body or b""
        text = body.decode() if isinstance(body, bytes) else str(body)
        operation = parse_qs(text).get("Action", [""])[0]
    return service, region, operation


# LocalWorld.client marks its requests with it: a test's setup and inspection calls take no tokens
SETUP_HEADER: Final = "X-Local-World-Setup"


def _account(request: Any) -> str | None:
    """The account the call acts in, as moto maps its access key (a member account's assumed role: that one)."""
    from moto.iam.models import get_account_id_from

    header = request.headers.get("Authorization") or b""
    match = re.search(r"Credential=([A-Z0-9]+)/", header.decode() if isinstance(header, bytes) else str(header))
    return get_account_id_from(match[1]) if match else None


def _throttled(service: str) -> tuple[int, dict[str, str], str]:
    if service in _CODES:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{_CODES[service]}</Code><Message>Rate exceeded</Message></Error>"
            "<RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
        )
        return 400, {"Content-Type": "text/xml"}, body
    body = '{"__type": "ThrottlingException", "message": "Rate exceeded"}'
    return 400, {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": "ThrottlingException"}, body


class RateLimits:
    """The buckets of one world, created on first use per (bucket, account, region): the account whose
    credentials make the call (``account``: when the call says none)."""

    def __init__(self, limits: Mapping[str, tuple[float, float]], account: str) -> None:
        self.limits = dict(limits)
        self.account = account
        self.throttled: dict[str, int] = {}  # bucket -> calls refused
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def admit(self, request: Any) -> tuple[int, dict[str, str], str] | None:
        """None: the call goes on; else the throttling response AWS would send."""
        if is_internal():  # Step Functions' own polls of a .sync child (tests.harness.internal)
            return None
        if request.headers.get(SETUP_HEADER):  # the test's own setup and inspection (LocalWorld.client)
            return None
        service, region, operation = _service_region_operation(request)
        name = bucket_of(service, operation)
        if name is None or name not in self.limits:
            return None
        account = _account(request) or self.account
        with self._lock:
            bucket = self._buckets.setdefault((name, account, region), TokenBucket(*self.limits[name]))
        if bucket.take():
            return None
        with self._lock:
            self.throttled[name] = self.throttled.get(name, 0) + 1
        return _throttled(service)


@contextmanager
def applied(limits: RateLimits) -> Iterator[None]:
    """Check every in-process AWS call against ``limits`` before moto answers it."""
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.process_request

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        refused = limits.admit(request)
        return refused if refused is not None else original(self, request)

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(BotocoreStubber, "process_request", process_request))
        yield
