"""Step RecordResult: tag the DB ready and build the execution output."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.models import OnboardingOutput, RecordResultRequest
from clickpipes.steps.ports import Rds


def record_result(request: RecordResultRequest, *, rds: Rds) -> OnboardingOutput:
    target = request.target
    rds.tag(target.arn, {rules.STATUS_TAG: "ready", rules.ROLE_ARN_TAG: request.role.role_arn})
    return OnboardingOutput(
        db_identifier=target.db_identifier,
        kind=target.kind,
        engine=target.engine,
        engine_version=target.engine_version,
        resource_id=target.resource_id,
        endpoint=target.endpoint,
        port=target.port,
        db_user=target.db_user,
        dbuser_arn=request.role.dbuser_arn,
        role_arn=request.role.role_arn,
        pipe_modes=rules.pipe_modes(target.engine, iam_auth_for_replication=request.db_user.iam_auth_for_replication),
        warnings=[
            *target.warnings,
            *request.enable.warnings,
            *request.db_user.warnings,
            *request.role.warnings,
        ],
    )
