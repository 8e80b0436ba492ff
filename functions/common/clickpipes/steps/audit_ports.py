"""What the audit steps need beyond the offboarding's ports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from clickpipes.rules import DbKind, EngineFamily
from clickpipes.steps.offboard_ports import OffboardIam, OffboardRds
from clickpipes.steps.ports import Database

if TYPE_CHECKING:  # annotations only: a port loads no model (cold starts)
    from clickpipes.audit_models import DbInspection
    from clickpipes.models import AdminCredentials


class AuditRds(OffboardRds, Protocol):
    def list_dbs(self) -> list[tuple[DbKind, str, dict[str, str]]]: ...


class AuditIam(OffboardIam, Protocol):
    def list_role_names(self, path: str) -> list[str]: ...
    def attached_policies(self, role: str) -> list[str]: ...
    def detach_policy(self, role: str, policy_arn: str) -> None: ...


class AuditDatabase(Database, Protocol):
    def inspect(self, family: EngineFamily, credentials: AdminCredentials, user: str) -> DbInspection: ...


class Events(Protocol):
    def put(self, entries: list[dict[str, str]]) -> int: ...  # PutEvents on the default bus; returns failed count
