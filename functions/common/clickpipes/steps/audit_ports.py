"""What the audit steps need beyond the offboarding's ports."""

from __future__ import annotations

from typing import Protocol

from clickpipes.rules import DbKind
from clickpipes.steps.offboard_ports import OffboardIam, OffboardRds


class AuditRds(OffboardRds, Protocol):
    def list_dbs(self) -> list[tuple[DbKind, str, dict[str, str]]]: ...


class AuditIam(OffboardIam, Protocol):
    def list_role_names(self, path: str) -> list[str]: ...
    def attached_policies(self, role: str) -> list[str]: ...
