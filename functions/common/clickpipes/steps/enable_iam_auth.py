"""Step EnableIamAuth: turn on IAM database authentication, applied immediately; skip when on."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.errors import DbNotFoundError, TransientError
from clickpipes.models import DbDescription, EnableIamAuthResult, Target
from clickpipes.steps.ports import Rds


def current(rds: Rds, target: Target) -> DbDescription:
    """The DB as RDS sees it now; DbNotFoundError when it vanished after ResolveTarget."""
    db = rds.describe(target.kind, target.db_identifier)
    if db is None:
        raise DbNotFoundError(
            f"DB {target.kind} '{target.db_identifier}' no longer exists (deleted during the onboarding)."
        )
    return db


def enable_iam_auth(target: Target, *, rds: Rds) -> EnableIamAuthResult:
    db = current(rds, target)
    if db.iam_auth_enabled:
        return EnableIamAuthResult(modified=False)
    if not rules.check_db_state(db.kind, db.identifier, db.status):
        raise TransientError(
            f"DB {db.kind} '{db.identifier}' is '{db.status}': RDS accepts the modification once it is "
            "available; will retry."
        )
    change = f"Modify{db.kind.title()}({db.identifier}): EnableIAMDatabaseAuthentication=true, ApplyImmediately=true"
    warnings = []
    if db.pending_modifications:
        warnings.append(
            f"ApplyImmediately also applied the pending modifications of DB {db.kind} '{db.identifier}': "
            f"{', '.join(db.pending_modifications)}."
        )
    if target.plan_only:
        return EnableIamAuthResult(modified=False, changes=[change], warnings=warnings)
    rds.enable_iam_auth(db.kind, db.identifier)
    return EnableIamAuthResult(modified=True, changes=[change], warnings=warnings)
