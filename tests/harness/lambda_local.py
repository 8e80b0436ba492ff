"""Run a SAM function's Python handler in this process, the way the Lambda Python runtime would.

No moto here: ``local_aws`` plugs :meth:`LocalFunction.invoke` into moto's Lambda. This module is
the "runtime": import the handler from the function's code dirs, build a context object, call it,
and turn the outcome into the payload the real runtime would return:

* success -> the JSON-encoded return value (``Decimal`` allowed, as in awslambdaric);
* exception -> ``{"errorMessage", "errorType" (class name, not module-qualified), "requestId",
  "stackTrace"}`` with ``FunctionError`` set; Step Functions uses ``errorType`` as the error name;
* unserialisable result -> ``Runtime.MarshalError``; import failure -> ``Runtime.ImportModuleError``;
  missing attribute -> ``Runtime.HandlerNotFound`` (same names as the real runtime).

Not emulated: the timeout (``get_remaining_time_in_millis`` counts down from ``Timeout`` but nothing
kills a slow handler), memory limits, ``/tmp`` isolation, per-invocation environment.
"""

from __future__ import annotations

import decimal
import importlib
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from .template import SamFunction

__all__ = ["Invocation", "LambdaContext", "LocalFunction"]

Handler = Callable[[Any, Any], Any]


@dataclass
class LambdaContext:
    """Duck-typed ``awslambdaric.lambda_context.LambdaContext`` (what powertools reads)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed_ms = int((time.monotonic() - self._started) * 1000)
        return max(self.timeout_seconds * 1000 - elapsed_ms, 0)


@dataclass(frozen=True)
class Invocation:
    """One local handler call, recorded by the world (``world.invocations``)."""

    function: str
    request_id: str
    event: Any
    started_at: datetime
    duration_s: float
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None

    @property
    def failed(self) -> bool:
        return self.error_type is not None


class LocalFunction:
    """A template function made callable in-process. Thread-safe."""

    def __init__(self, spec: SamFunction, arn: str) -> None:
        self.spec = spec
        self.arn = arn
        self._handler: Handler | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.spec.logical_id

    def load(self) -> Handler:
        """Import ``<module>.<attribute>`` (the code dirs must already be on ``sys.path``)."""
        with self._lock:
            if self._handler is None:
                module = importlib.import_module(self.spec.module)
                self._check_origin(module)
                handler = getattr(module, self.spec.attribute, None)
                if not callable(handler):
                    raise _HandlerNotFoundError(
                        f"Handler '{self.spec.attribute}' missing on module '{self.spec.module}'"
                    )
                self._handler = handler
            return self._handler

    def _check_origin(self, module: ModuleType) -> None:
        # All functions' code dirs share one sys.path: make sure we got *this* function's module.
        origin = Path(module.__file__ or "").resolve()
        if not origin.is_relative_to(self.spec.code_uri):
            raise ImportError(
                f"module '{self.spec.module}' was imported from {origin}, not from {self.spec.code_uri} "
                f"(module names must be unique across functions, layers and installed packages)"
            )

    def invoke(self, event: Any) -> tuple[str, bool, Invocation]:
        """Call the handler. Returns (payload JSON, errored, record) like the Lambda runtime."""
        context = LambdaContext(
            function_name=self.spec.logical_id,
            invoked_function_arn=self.arn,
            memory_limit_in_mb=self.spec.memory_size,
            timeout_seconds=self.spec.timeout,
        )
        started_at = datetime.now(UTC)
        t0 = time.perf_counter()

        def record(**outcome: Any) -> Invocation:
            return Invocation(
                function=self.name,
                request_id=context.aws_request_id,
                event=event,
                started_at=started_at,
                duration_s=time.perf_counter() - t0,
                **outcome,
            )

        try:
            handler = self.load()
        except _HandlerNotFoundError as exc:
            return self._error(context, "Runtime.HandlerNotFound", str(exc), [], record)
        except Exception as exc:
            message = f"Unable to import module '{self.spec.module}': {exc}"
            return self._error(context, "Runtime.ImportModuleError", message, [], record)

        try:
            result = handler(event, context)
        except Exception as exc:
            # Drop our own frame, keep the handler's frames (the runtime drops its bootstrap frames).
            stack = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
            return self._error(context, type(exc).__name__, str(exc), stack, record)

        try:
            payload = json.dumps(result, default=_decimal_default)
        except (TypeError, ValueError) as exc:
            return self._error(context, "Runtime.MarshalError", f"Unable to marshal response: {exc}", [], record)
        return payload, False, record(result=result)

    @staticmethod
    def _error(
        context: LambdaContext,
        error_type: str,
        message: str,
        stack: list[str],
        record: Callable[..., Invocation],
    ) -> tuple[str, bool, Invocation]:
        payload = {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": context.aws_request_id,
            "stackTrace": stack,
        }
        return json.dumps(payload), True, record(error_type=error_type, error_message=message)


class _HandlerNotFoundError(Exception):
    pass


def _decimal_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
