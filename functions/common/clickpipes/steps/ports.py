"""What the steps need from the outside world. ``clickpipes.aws`` and ``clickpipes_db`` implement these."""

from __future__ import annotations

from typing import Any, Protocol

from clickpipes.models import (
    AdminCredentials,
    CdcDbRequest,
    CdcDbResult,
    DbDescription,
    DbUserResult,
    ExecutionView,
    RoleInfo,
)
from clickpipes.rules import DbKind, EngineFamily


class Rds(Protocol):
    def describe(self, kind: DbKind, identifier: str) -> DbDescription | None: ...
    def enable_iam_auth(self, kind: DbKind, identifier: str) -> None: ...
    def tag(self, arn: str, tags: dict[str, str]) -> None: ...
    def tags(self, arn: str) -> dict[str, str]: ...


class Iam(Protocol):
    def get_role(self, name: str) -> RoleInfo | None: ...
    def get_inline_policy(self, role: str, policy_name: str) -> dict[str, Any] | None: ...
    def create_role(
        self,
        name: str,
        *,
        path: str,
        trust_policy: dict[str, Any],
        tags: dict[str, str],
        description: str,
        permissions_boundary: str | None,
    ) -> str: ...
    def update_trust_policy(self, name: str, trust_policy: dict[str, Any]) -> None: ...
    def put_inline_policy(self, role: str, policy_name: str, policy: dict[str, Any]) -> None: ...


class Secrets(Protocol):
    def get_json(self, arn: str) -> dict[str, Any]: ...


class Database(Protocol):
    def ensure_iam_user(
        self, family: EngineFamily, credentials: AdminCredentials, user: str, *, plan_only: bool = False
    ) -> DbUserResult: ...
    def configure_cdc(
        self, family: EngineFamily, credentials: AdminCredentials, request: CdcDbRequest
    ) -> CdcDbResult: ...


class StateMachine(Protocol):
    def running_names(self, prefix: str) -> list[str]: ...
    def start(self, name: str, payload: dict[str, Any]) -> bool: ...
    def describe(self, name: str) -> ExecutionView | None: ...
