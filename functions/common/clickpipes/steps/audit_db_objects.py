"""Step AuditDbObjects: the DB-side checks of one onboarded DB, with the admin login. Read-only.

The onboarding's own DB steps run in plan mode on the target AuditDatabase recorded (``DbAudit.target``): every
change they would make is drift (the user lost LOGIN, rds_iam or its IAM plugin; a grant, the publication or the
binlog retention is missing). What they would refuse is drift the onboarding cannot repair (the user holds admin-class
rights now, or is no longer this tool's). Then what only the server tells: inactive replication slots holding more
WAL than SlotWalWarnBytes. A DB the admin cannot log in to is reported, not failed."""

from __future__ import annotations

from clickpipes import audit_rules, rules
from clickpipes.audit_models import DbAudit
from clickpipes.errors import (
    AdminCredentialsError,
    DbConnectionError,
    DbPrivilegeError,
    ExistingUserError,
    IamAuthNotActiveError,
    InvalidInputError,
    ProtectedUserError,
)
from clickpipes.models import CdcDbRequest
from clickpipes.settings import AuditSettings
from clickpipes.steps.audit_ports import AuditDatabase
from clickpipes.steps.ports import Rds, Secrets
from clickpipes.steps.shared import admin_login

UNCHECKABLE = (AdminCredentialsError, DbConnectionError, DbPrivilegeError, InvalidInputError)


def audit_db_objects(
    audit: DbAudit, *, rds: Rds, secrets: Secrets, database: AuditDatabase, settings: AuditSettings
) -> DbAudit:
    target = audit.target
    if target is None or audit.status == "gone":
        return audit
    family = rules.family(target.engine)
    found: list[audit_rules.Finding] = []
    try:
        _, credentials = admin_login(rds, secrets, target)
        try:
            user = database.ensure_iam_user(family, credentials, target.db_user, plan_only=True)
            found += audit_rules.planned("db-user", user.changes)
        except (ProtectedUserError, ExistingUserError) as exc:
            found += audit_rules.refused("db-user", f"'{target.db_user}' is this tool's IAM-only user", str(exc))
        except IamAuthNotActiveError:
            pass  # IAM auth is off: the iam-auth finding says so
        inspection = database.inspect(family, credentials, target.db_user)
        if target.cdc.tables != ["-"]:  # "-": the CDC tables asked for were not recorded
            cdc = database.configure_cdc(  # cdc: false, the read grants only
                family,
                credentials,
                CdcDbRequest(
                    user=target.db_user,
                    schemas=target.cdc.schemas,
                    tables=target.cdc.tables,
                    publication=target.cdc.publication,
                    binlog_retention_hours=target.cdc.binlog_retention_hours,
                    plan_only=True,
                    replication=target.cdc.enabled,
                ),
            )
            found += audit_rules.planned("cdc-database", cdc.changes)
            found += audit_rules.binlog(cdc.binlog_ready)
        found += audit_rules.slots(inspection.inactive_slots, settings.slot_wal_warn_bytes)
    except UNCHECKABLE as exc:
        found = audit_rules.db_checks_skipped(str(exc))
    findings = [*audit.findings, *found]
    return audit.model_copy(
        update={
            "findings": findings,
            "status": audit_rules.status(findings),
            "repairable": audit_rules.repairable(findings),
        }
    )
