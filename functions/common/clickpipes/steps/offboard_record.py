"""Step RecordOffboarding: tag the DB offboarded (the role ARN and the undone records removed; the user's
clickpipes:onboard tag left as it is; the user and publication records kept, so that a re-run looks for the same
names, never for the defaults) and build the execution output."""

from __future__ import annotations

from clickpipes import clickpipe_rules, rules
from clickpipes.offboarding_models import OffboardingOutput, RecordOffboardingRequest
from clickpipes.record_tags import OFFBOARDED, ORIGINAL_RETENTION_TAG
from clickpipes.steps.offboard_ports import OffboardRds


def record_offboarding(request: RecordOffboardingRequest, *, rds: OffboardRds) -> OffboardingOutput:
    target, role, db, settings = request.target, request.role, request.db, request.settings
    changes = [*role.changes, *db.changes, *settings.changes]
    warnings = [*target.warnings, *role.warnings, *db.warnings, *settings.warnings]
    if not target.plan_only:
        rds.tag(target.arn, {rules.STATUS_TAG: OFFBOARDED})
        untag = [rules.ROLE_ARN_TAG, rules.ERROR_TAG, clickpipe_rules.STATUS_TAG, *settings.untag]
        if db.binlog_retention_restored:
            untag.append(ORIGINAL_RETENTION_TAG)
        rds.untag(target.arn, untag)
    return OffboardingOutput(
        db_identifier=target.db_identifier,
        changes=changes,
        warnings=warnings,
        plan_only=target.plan_only,
        requested_by=target.requested_by,
    )
