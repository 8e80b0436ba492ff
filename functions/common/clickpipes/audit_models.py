"""Models of the audit workflow: its input, the DBs it audits, what each DB's audit returns."""

from __future__ import annotations

from typing import Annotated, Any

from clickpipes.audit_rules import AuditStatus, Finding
from clickpipes.models import Model, Target
from clickpipes.models.base import Meta, field
from clickpipes.rules import DbKind


class AuditInput(Model, frozen=True, kw_only=True):
    """The execution input (the API's body): which DBs, where, and whether to repair. ``accounts`` and ``regions``
    narrow where the DBs are listed (default: this account and MemberAccounts, x AuditRegions); a DB ARN in
    ``db_identifiers`` names its own account and region."""

    db_identifiers: (
        Annotated[list[Annotated[str, Meta(min_length=1, max_length=2048)]], Meta(max_length=10000)] | None
    ) = None
    accounts: (
        Annotated[list[Annotated[str, Meta(pattern=r"^[0-9]{12}$")]], Meta(min_length=1, max_length=1000)] | None
    ) = None
    regions: (
        Annotated[list[Annotated[str, Meta(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")]], Meta(min_length=1, max_length=50)]
        | None
    ) = None
    repair: bool = False
    delete_orphans: bool = False


class ResolveAuditRequest(Model, frozen=True, kw_only=True):
    request: dict[str, Any]


class AuditItem(Model, frozen=True, kw_only=True):
    """One DB to audit: as the tags or the input name it, where it is, and the role this tool made for it."""

    db_identifier: str
    account: Annotated[str, Meta(pattern=r"^[0-9]{12}$")]  # every audit step acts in the DB's account and region
    region: Annotated[str, Meta(min_length=1)]
    kind: DbKind | None = None
    role_name: str | None = None


class AuditPlan(Model, frozen=True, kw_only=True):
    items: list[AuditItem]
    repair: bool
    delete_orphans: bool


class DbAudit(Model, frozen=True, kw_only=True):
    db_identifier: str
    account: Annotated[str, Meta(pattern=r"^[0-9]{12}$")]  # the DB's (its item's): where the later steps act
    region: Annotated[str, Meta(min_length=1)]
    kind: DbKind | None
    status: AuditStatus
    findings: list[Finding]
    role_name: str | None = None
    role_arn: str | None = None
    db_arn: str | None = None  # the DB as RDS describes it (what the summary tags)
    repairable: bool = False
    # the onboarding's target as it was recorded, in plan mode: what the DB-side checks and a repair work from;
    # dropped when the DB's iteration ends (state Audited), so that the Map's result stays small
    target: Target | None = None
    repair: str | None = None  # what the repair did: the onboarding it started, the orphan role it deleted
    error: str | None = None  # status "error": the audit of this DB failed (the others go on)
    cause: str | None = None


class DbInspection(Model, frozen=True, kw_only=True):
    """What the audit reads on the server beyond the onboarding's plan (``clickpipes_db.audit_gateway``)."""

    inactive_slots: list[tuple[str, int]] = field(default_factory=list)  # PostgreSQL: (slot, bytes of WAL held)


class AuditDatabaseRequest(Model, frozen=True, kw_only=True):
    item: AuditItem


class DbAuditRequest(Model, frozen=True, kw_only=True):
    """AuditDbObjects' and RepairDatabase's event: one DB's audit so far (and, for the repair, the options)."""

    audit: DbAudit
    repair: bool = False
    delete_orphans: bool = False
    audit_execution: str = ""  # the audit execution's name: a repair starts at most one onboarding per audit and DB


class SummarizeAuditRequest(Model, frozen=True, kw_only=True):
    databases: list[DbAudit]
    repair: bool = False
    audit_execution: str = ""


class AuditOutput(Model, frozen=True, kw_only=True):
    databases: list[DbAudit]
    drifted: int
    gone: int
    failed: int = 0
    repaired: list[str] | None = None
