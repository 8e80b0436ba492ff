"""Step Functions for the guards that look at the other state machine: one that does not exist (not deployed yet,
or named otherwise) has no running executions."""

from __future__ import annotations

from botocore.exceptions import ClientError

from clickpipes.aws.clients import error_code
from clickpipes.aws.sfn import SfnGateway
from clickpipes.models import RunningExecution

MISSING = frozenset({"StateMachineDoesNotExist", "InvalidArn"})


class OtherSfnGateway(SfnGateway):
    def running_names(self, prefix: str) -> list[str]:
        try:
            return super().running_names(prefix)
        except ClientError as exc:
            if error_code(exc) in MISSING:
                return []
            raise

    def running(self) -> list[RunningExecution]:
        try:
            return super().running()
        except ClientError as exc:
            if error_code(exc) in MISSING:
                return []
            raise
