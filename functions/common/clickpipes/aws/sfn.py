"""Step Functions: start and read the executions of one state machine."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from clickpipes.aws.clients import client, error_code, transient_faults
from clickpipes.models import ExecutionView


class SfnGateway:
    def __init__(self, state_machine_arn: str, sfn: Any | None = None) -> None:
        self._arn = state_machine_arn
        self._sfn = sfn or client("stepfunctions")

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
        arn = self.execution_arn(name)
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

    def execution_arn(self, name: str) -> str:
        prefix, _, machine = self._arn.partition(":stateMachine:")
        return f"{prefix}:execution:{machine}:{name}"
