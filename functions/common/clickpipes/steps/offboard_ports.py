"""What the offboarding steps need beyond the onboarding's ports (``clickpipes.steps.ports``)."""

from __future__ import annotations

from typing import Any, Protocol

from clickpipes.models import AdminCredentials, ExecutionView, RunningExecution
from clickpipes.offboarding_models import DbOffboardRequest, DbOffboardResult
from clickpipes.rules import DbKind, EngineFamily
from clickpipes.steps.ports import Iam, Rds, StateMachine


class OffboardRds(Rds, Protocol):
    def disable_iam_auth(self, kind: DbKind, identifier: str) -> None: ...
    def untag(self, arn: str, keys: list[str]) -> None: ...


class OffboardIam(Iam, Protocol):
    def list_inline_policies(self, role: str) -> list[str]: ...
    def delete_inline_policy(self, role: str, policy_name: str) -> None: ...
    def delete_permissions_boundary(self, role: str) -> None: ...
    def delete_role(self, role: str) -> bool: ...


class OffboardDatabase(Protocol):
    def offboard(
        self, family: EngineFamily, credentials: AdminCredentials, request: DbOffboardRequest
    ) -> DbOffboardResult: ...


class Machines:
    """Several state machines as one for the one-at-a-time guard and the triggers: an onboarding and an
    offboarding of one DB never run at once. The first machine is the one ``start`` and ``describe`` use."""

    def __init__(self, own: StateMachine, *others: StateMachine) -> None:
        self._own = own
        self._all = (own, *others)

    def running_names(self, prefix: str) -> list[str]:
        return [name for machine in self._all for name in machine.running_names(prefix)]

    def running(self) -> list[RunningExecution]:
        return [execution for machine in self._all for execution in machine.running()]

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        return self._own.start(name, payload)

    def describe(self, name: str) -> ExecutionView | None:
        return self._own.describe(name)
