"""Step Functions: start and read onboarding executions of the one state machine."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from clickpipes.aws.clients import client, error_code, transient_faults
from clickpipes.models import ExecutionView, RunningExecution


class SfnGateway:
    def __init__(self, state_machine_arn: str, sfn: Any | None = None) -> None:
        self._arn = state_machine_arn
        self._sfn = sfn or client("stepfunctions")

    def running_names(self, prefix: str) -> list[str]:
        names: list[str] = []
        with transient_faults("list running onboardings"):
            pages = self._sfn.get_paginator("list_executions").paginate(
                stateMachineArn=self._arn, statusFilter="RUNNING"
            )
            for page in pages:
                names += [e["name"] for e in page["executions"] if e["name"].startswith(prefix)]
        return names

    def running(self) -> list[RunningExecution]:
        """Every running execution, with the DB its input names."""
        found: list[RunningExecution] = []
        with transient_faults("list running onboardings"):
            pages = self._sfn.get_paginator("list_executions").paginate(
                stateMachineArn=self._arn, statusFilter="RUNNING"
            )
            for page in pages:
                for e in page["executions"]:
                    described = self._sfn.describe_execution(executionArn=e["executionArn"])
                    try:
                        reference = json.loads(described.get("input") or "{}").get("db_identifier")
                    except (ValueError, AttributeError):
                        reference = None
                    found.append(
                        RunningExecution(
                            arn=e["executionArn"],
                            name=e["name"],
                            started_at=e["startDate"].isoformat(),
                            db_identifier=reference if isinstance(reference, str) else None,
                        )
                    )
        return found

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        """Start an execution; False when one with that name exists already (a duplicate request)."""
        with transient_faults(f"start onboarding {name}"):
            try:
                self._sfn.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(payload))
            except ClientError as exc:
                if error_code(exc) == "ExecutionAlreadyExists":
                    return False
                raise
        return True

    def describe(self, name: str) -> ExecutionView | None:
        arn = self._execution_arn(name)
        with transient_faults(f"describe onboarding {name}"):
            try:
                execution = self._sfn.describe_execution(executionArn=arn)
            except ClientError as exc:
                if error_code(exc) in {"ExecutionDoesNotExist", "InvalidArn"}:
                    return None
                raise
            events = self._sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=50)["events"]
        entered = (e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e)
        current = next(entered, None)
        return ExecutionView(
            name=name,
            status=execution["status"],
            input=json.loads(execution.get("input") or "{}"),
            output=json.loads(execution["output"]) if execution.get("output") else None,
            error=execution.get("error"),
            cause=execution.get("cause"),
            current_step=current,
            started_at=execution["startDate"].isoformat(),
            stopped_at=execution["stopDate"].isoformat() if execution.get("stopDate") else None,
        )

    def _execution_arn(self, name: str) -> str:
        prefix, _, machine = self._arn.partition(":stateMachine:")
        return f"{prefix}:execution:{machine}:{name}"
