"""One Logger, Tracer and Metrics for every step, and the decorator that makes a step a Lambda handler."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

from clickpipes.errors import OnboardingError, TransientError

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="clickpipes-onboarding")  # level: POWERTOOLS_LOG_LEVEL
metrics = Metrics(namespace="ClickPipesOnboarding")

Handler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]


class LazyTracer:
    """Powertools' Tracer, made the first time a traced invocation needs it: importing ``aws_xray_sdk`` builds an
    X-Ray client and patches botocore and the DB drivers, a third of a bare ``import boto3``, so a cold start that
    traces nothing pays nothing. Tracing is on as Powertools decides it (in Lambda, not under SAM local, not
    ``POWERTOOLS_TRACE_DISABLED``) and when Lambda gave the invocation a trace id (``_X_AMZN_TRACE_ID``, set per
    invocation with ``Tracing: Active``); then the handler is traced exactly as by ``Tracer.capture_lambda_handler``.
    """

    def __init__(self) -> None:
        self._tracer: Tracer | None = None

    @staticmethod
    def enabled() -> bool:
        env = os.environ
        if resolve_truthy_env_var_choice(env=env.get("POWERTOOLS_TRACE_DISABLED", "false")):
            return False
        local = env.get("AWS_SAM_LOCAL") or env.get("AWS_CHALICE_CLI_MODE")
        return bool(env.get("LAMBDA_TASK_ROOT") and not local and env.get("_X_AMZN_TRACE_ID"))

    @property
    def tracer(self) -> Tracer:
        if self._tracer is None:
            from aws_lambda_powertools import Tracer  # noqa: PLC0415  # imports aws_xray_sdk: only when tracing

            self._tracer = Tracer()
        return self._tracer

    def capture_lambda_handler(self, **options: Any) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            traced: Handler | None = None

            @wraps(handler)
            def run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
                nonlocal traced
                if not self.enabled():
                    return handler(event, context)
                if traced is None:
                    traced = self.tracer.capture_lambda_handler(handler, **options)
                return traced(event, context)

            return run

        return decorate


tracer = LazyTracer()


EXECUTION_NAME = "execution_name"  # what the state machine adds to every step's payload ($states.context)


def log_keys(event: object) -> dict[str, str]:
    """What every log line of a step says about its subject: the DB identifier (from the target, or the request
    or execution input before there is one) and the execution name (``execution_name``, which the state machine
    adds to every payload, or ResolveTarget's ``execution_arn``). Never payloads."""
    if not isinstance(event, dict):
        return {}
    keys: dict[str, str] = {}
    for holder in ("target", "request", "input", "item", "audit"):
        part = event.get(holder)
        identifier = part.get("db_identifier") if isinstance(part, dict) else None
        if isinstance(identifier, str) and identifier:
            keys["db_identifier"] = identifier[:256]
            break
    name, execution = event.get(EXECUTION_NAME), event.get("execution_arn")
    if isinstance(name, str) and name:
        keys["execution_name"] = name[:80]
    elif isinstance(execution, str) and ":" in execution:
        keys["execution_name"] = execution.rsplit(":", 1)[-1][:80]
    return keys


def lambda_step(name: str) -> Callable[[Callable[[dict[str, Any]], dict[str, Any]]], Handler]:
    """Wrap a step's ``run(event) -> output`` as a handler: context in logs, a trace, one metric per outcome.

    Events and results are not logged (they carry no secret, but logs are no place for data): only the keys of
    :func:`log_keys` (DB identifier, execution name); an error is logged by name only and re-raised, so its
    class name reaches the state machine.
    """

    def decorate(run: Callable[[dict[str, Any]], dict[str, Any]]) -> Handler:
        @logger.inject_lambda_context(clear_state=True)
        @tracer.capture_lambda_handler(capture_response=False, capture_error=False)
        @metrics.log_metrics(raise_on_empty_metrics=False)
        @wraps(run)
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            logger.append_keys(step=name, **log_keys(event))
            if isinstance(event, dict) and EXECUTION_NAME in event:  # for the logs only: not the step's input
                event = {key: value for key, value in event.items() if key != EXECUTION_NAME}
            try:
                result = run(event)
            except Exception as exc:
                metrics.add_metric(name=f"{name}Failed", unit=MetricUnit.Count, value=1)
                known = isinstance(exc, (OnboardingError, TransientError))  # our messages never hold a secret
                logger.warning(
                    "step failed", extra={"error": type(exc).__name__, "reason": str(exc) if known else None}
                )
                raise
            metrics.add_metric(name=f"{name}Succeeded", unit=MetricUnit.Count, value=1)
            logger.info("step succeeded")
            return result

        return handler

    return decorate
