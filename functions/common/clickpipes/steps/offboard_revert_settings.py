"""Step RevertSettings: the DB settings the onboarding changed (as it recorded them on the DB's tags), set back
with revert_settings: true, else named in warnings as kept.

* IAM database authentication: turned off if the onboarding turned it on (``clickpipes:iam-auth-enabled-by-us``),
  with ApplyImmediately, which would also apply someone else's pending modifications: then left on, with a warning.
* The parameter group: the original one (``clickpipes:original-parameter-group``) attached again if ours is still
  attached (its values apply at the next reboot; our group is kept for the operator to delete).
* The MySQL family's binlog retention (``clickpipes:original-binlog-retention``): set back by DropDbUser; named here
  when kept."""

from __future__ import annotations

from clickpipes import rules, trust
from clickpipes.errors import TransientError
from clickpipes.models import DbDescription
from clickpipes.offboarding_models import OffboardTarget, RevertSettingsResult
from clickpipes.record_tags import IAM_AUTH_BY_US_TAG, ORIGINAL_GROUP_TAG, ORIGINAL_RETENTION_TAG
from clickpipes.steps.offboard_ports import OffboardRds
from clickpipes.steps.shared import described

RERUN = "run the offboarding with revert_settings: true to set it back"


def revert_settings(target: OffboardTarget, *, rds: OffboardRds) -> RevertSettingsResult:
    db = described(rds, target)
    result = RevertSettingsResult()
    if target.records.get(IAM_AUTH_BY_US_TAG) == "true":
        _iam_auth(target, db, rds, result)
    if target.records.get(ORIGINAL_GROUP_TAG):
        _parameter_group(target, db, rds, result)
    retention = target.records.get(ORIGINAL_RETENTION_TAG)
    if retention is not None and not target.revert_settings and rules.family(target.engine) == "mysql":
        result.warnings.append(
            f"The binlog retention of {_what(db)} stays as the onboarding set it (it was {retention}): {RERUN}."
        )
    if target.plan_only:
        result.untag.clear()
    return result


def _what(db: DbDescription) -> str:
    return f"DB {db.kind} '{db.identifier}'"


def _iam_auth(target: OffboardTarget, db: DbDescription, rds: OffboardRds, result: RevertSettingsResult) -> None:
    pending = trust.foreign_pending(db.pending_modifications)
    if not db.iam_auth_enabled:
        result.untag.append(IAM_AUTH_BY_US_TAG)
    elif not target.revert_settings:
        result.warnings.append(
            f"IAM database authentication of {_what(db)} stays on (the onboarding turned it on): {RERUN}."
        )
    elif pending:
        result.warnings.append(
            f"IAM database authentication of {_what(db)} stays on: turning it off applies immediately, which would "
            f"also apply its pending modifications ({', '.join(pending)}). Apply or wait for them, then run again."
        )
    else:
        if not rules.check_db_state(db.kind, db.identifier, db.status):
            raise TransientError(f"{_what(db)} is '{db.status}': RDS accepts the modification once it is available.")
        result.changes.append(
            f"Modify{db.kind.title()}({db.identifier}): EnableIAMDatabaseAuthentication=false, ApplyImmediately=true"
        )
        if not target.plan_only:
            rds.disable_iam_auth(db.kind, db.identifier)
        result.untag.append(IAM_AUTH_BY_US_TAG)


def _parameter_group(target: OffboardTarget, db: DbDescription, rds: OffboardRds, result: RevertSettingsResult) -> None:
    original = target.records[ORIGINAL_GROUP_TAG]
    ours = rules.cdc_parameter_group_name(db.kind, db.identifier)
    if db.parameter_group != ours:
        result.untag.append(ORIGINAL_GROUP_TAG)
        if db.parameter_group != original:
            result.warnings.append(
                f"{_what(db)} uses parameter group {db.parameter_group}, neither ours ({ours}) nor its original "
                f"({original}): left as it is."
            )
    elif not target.revert_settings:
        result.warnings.append(f"{_what(db)} keeps parameter group {ours} (its original was {original}): {RERUN}.")
    else:
        result.changes.append(f"Attach {original} to {db.kind} {db.identifier} (in effect at the next reboot)")
        result.warnings.append(
            f"The values of parameter group {original} apply to {_what(db)} at its next reboot; parameter group "
            f"{ours} is kept: delete it once no DB uses it."
        )
        if not target.plan_only:
            rds.attach_parameter_group(db.kind, db.identifier, original)
        result.untag.append(ORIGINAL_GROUP_TAG)
