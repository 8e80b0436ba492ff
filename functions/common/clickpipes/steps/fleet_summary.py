"""Step SummarizeFleet: every DB's outcome (status, role ARN, pipe modes, error) and the counts.

A child onboarding that succeeded is in the Map's output; for one that did not (its iteration failed, or the Map
stopped), the summary reads that child execution: one DescribeExecution per DB that did not succeed. When the
Map failed (more failures than tolerated), FleetFailedError says so with the counts."""

from __future__ import annotations

from typing import Any

from clickpipes.errors import FleetFailedError
from clickpipes.fleet_models import FleetDbResult, FleetItem, FleetOutput, SummarizeFleetRequest
from clickpipes.steps.ports import StateMachine

FAILED = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
CAUSE_CHARS = 1000  # a child's cause, as the summary repeats it (the full one: GET /onboardings/{id})


def summarize_fleet(request: SummarizeFleetRequest, *, sfn: StateMachine) -> FleetOutput:
    results = request.results if request.results is not None else [None] * len(request.items)
    databases = [_result(item, result, sfn) for item, result in zip(request.items, results, strict=False)]
    databases += [_result(item, None, sfn) for item in request.items[len(results) :]]
    output = FleetOutput(
        databases=databases,
        total=len(databases),
        succeeded=sum(db.status == "SUCCEEDED" for db in databases),
        failed=sum(db.status in FAILED for db in databases),
        running=sum(db.status == "RUNNING" for db in databases),
        not_started=sum(db.status == "NOT_STARTED" for db in databases),
        plan_only=request.plan_only,
        warnings=request.warnings,
    )
    if request.error is not None:
        failed = [db.db_identifier for db in databases if db.status in FAILED]
        raise FleetFailedError(
            f"The fleet stopped ({request.error.get('Error', 'error')}): {output.failed} of {output.total} DBs "
            f"failed, {output.succeeded} succeeded, {output.running} still running (stopped), "
            f"{output.not_started} were not started. Failed: "
            f"{', '.join(failed[:20])}{' …' if len(failed) > 20 else ''} (each one's error: GET /onboardings/<id>)."
        )
    return output


def _result(item: FleetItem, result: dict[str, Any] | None, sfn: StateMachine) -> FleetDbResult:
    name = item.execution_name
    if result is not None and result.get("status") == "SUCCEEDED":
        return _succeeded(item, result.get("output") or {})
    view = sfn.describe(name)
    if view is None:
        return FleetDbResult(db_identifier=item.db_identifier, arn=item.arn, execution_name=name, status="NOT_STARTED")
    if view.status == "SUCCEEDED":
        return _succeeded(item, view.output or {})
    status: Any = view.status if view.status in {"FAILED", "TIMED_OUT", "ABORTED", "RUNNING"} else "FAILED"
    return FleetDbResult(
        db_identifier=item.db_identifier,
        arn=item.arn,
        execution_name=name,
        status=status,
        error=view.error,
        cause=(view.cause or "")[:CAUSE_CHARS] or None,
    )


def _succeeded(item: FleetItem, output: dict[str, Any]) -> FleetDbResult:
    return FleetDbResult(
        db_identifier=item.db_identifier,
        arn=item.arn,
        execution_name=item.execution_name,
        status="SUCCEEDED",
        role_arn=output.get("role_arn"),
        pipe_modes=list(output.get("pipe_modes") or []),
        changes=list(output.get("changes") or []),
    )
