"""Pydantic models of the audit workflow: its input, the DBs it audits, what each DB's audit returns."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from clickpipes.audit_rules import AuditStatus, Finding
from clickpipes.models import Model
from clickpipes.rules import DbKind


class AuditInput(Model):
    """The execution input (the API's body): which DBs, and whether to repair."""

    db_identifiers: (
        Annotated[list[Annotated[str, Field(min_length=1, max_length=2048)]], Field(max_length=10000)] | None
    ) = None
    repair: bool = False
    delete_orphans: bool = False


class ResolveAuditRequest(Model):
    request: dict[str, Any]


class AuditItem(Model):
    """One DB to audit: as the tags or the input name it, and the role this tool made for it."""

    db_identifier: str
    kind: DbKind | None = None
    role_name: str | None = None


class AuditPlan(Model):
    items: list[AuditItem]
    repair: bool
    delete_orphans: bool


class DbAudit(Model):
    db_identifier: str
    kind: DbKind | None
    status: AuditStatus
    findings: list[Finding]
    role_name: str | None = None
    role_arn: str | None = None
    repairable: bool = False


class AuditDatabaseRequest(Model):
    item: AuditItem


class SummarizeAuditRequest(Model):
    databases: list[DbAudit]


class AuditOutput(Model):
    databases: list[DbAudit]
    drifted: int
    gone: int
    repaired: list[str] | None = None
