"""Step EnableIamAuth: turn on IAM database authentication, applied immediately; skip when on.

ApplyImmediately also applies every other pending modification of the DB (an instance class change, an engine
upgrade): refused (PendingModificationsError) unless the input says apply_pending_modifications."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clickpipes import rules, trust
from clickpipes.errors import TransientError
from clickpipes.models import EnableIamAuthResult, Target
from clickpipes.record_tags import IAM_AUTH_BY_US_TAG
from clickpipes.steps.ports import Rds
from clickpipes.steps.shared import current

if TYPE_CHECKING:
    from clickpipes.seal import Seals

__all__ = ["current", "enable_iam_auth"]  # current: re-exported for branches that still import it from here


def enable_iam_auth(
    target: Target, *, rds: Rds, seal: dict[str, Any] | None = None, seals: Seals | None = None
) -> EnableIamAuthResult:
    db = current(rds, target, seal=seal, seals=seals)  # ResolveTarget's seal: its describe, moments ago
    if db.iam_auth_enabled:
        return EnableIamAuthResult(modified=False)
    if not rules.check_db_state(db.kind, db.identifier, db.status):
        raise TransientError(
            f"DB {db.kind} '{db.identifier}' is '{db.status}': RDS accepts the modification once it is "
            "available; will retry."
        )
    warnings = trust.check_pending_modifications(
        db.pending_modifications,
        db_kind=db.kind,
        db_identifier=db.identifier,
        apply_pending=target.apply_pending_modifications,
    )
    change = f"Modify{db.kind.title()}({db.identifier}): EnableIAMDatabaseAuthentication=true, ApplyImmediately=true"
    if target.plan_only:
        return EnableIamAuthResult(modified=False, changes=[change], warnings=warnings)
    rds.tag(db.arn, {IAM_AUTH_BY_US_TAG: "true"})  # recorded first, for an offboarding's revert_settings
    rds.enable_iam_auth(db.kind, db.identifier)
    return EnableIamAuthResult(modified=True, changes=[change], warnings=warnings)
