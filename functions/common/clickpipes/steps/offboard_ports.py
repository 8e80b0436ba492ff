"""What the offboarding steps need beyond the onboarding's ports (``clickpipes.steps.ports``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from clickpipes.rules import DbKind, EngineFamily
from clickpipes.steps.ports import Iam, Rds

if TYPE_CHECKING:  # annotations only: a port loads no model (cold starts)
    from clickpipes.models import AdminCredentials
    from clickpipes.offboarding_models import DbOffboardRequest, DbOffboardResult


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
