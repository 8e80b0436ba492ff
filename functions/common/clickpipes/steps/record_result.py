"""Step RecordResult: tag the DB ready and build the execution output."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.models import OnboardingOutput, RecordResultRequest, Target
from clickpipes.record_tags import DB_USER_TAG, PUBLICATION_TAG
from clickpipes.steps.ports import Rds


def recorded(target: Target) -> dict[str, str]:
    """What an offboarding takes away: the user, and (PostgreSQL CDC) the publication; what the audit checks
    again: whether CDC was set up, and which schemas were granted (when they fit in a tag value)."""
    tags = {DB_USER_TAG: target.db_user, rules.CDC_TAG: str(target.cdc.enabled).lower()}
    if target.cdc.enabled and rules.family(target.engine) == "postgres":
        tags[PUBLICATION_TAG] = target.cdc.publication
    if len(target.admin_secret_arn) <= rules.TAG_VALUE_MAX:  # an ARN, never the secret
        tags[rules.ADMIN_SECRET_TAG] = target.admin_secret_arn
    schemas = " ".join(target.cdc.schemas)
    if schemas and len(schemas) <= rules.TAG_VALUE_MAX:  # with cdc: false too, the schemas the user may read
        tags[rules.SCHEMAS_TAG] = schemas
    tables = " ".join(target.cdc.tables)
    if target.cdc.enabled and tables:  # "-": more than a tag holds (the audit then leaves the publication's tables be)
        tags[rules.TABLES_TAG] = tables if len(tables) <= rules.TAG_VALUE_MAX else "-"
    return tags


def record_result(request: RecordResultRequest, *, rds: Rds) -> OnboardingOutput:
    target = request.target
    params, reboot, cdc_db = request.cdc_parameters, request.reboot, request.cdc_database
    reboot_pending = bool(params and params.reboot_required and reboot is None)
    changes = [
        *request.enable.changes,
        *request.db_user.changes,
        *request.role.changes,
        *(params.changes if params else []),
        *(reboot.changes if reboot else []),
        *(cdc_db.changes if cdc_db else []),
    ]
    warnings = [
        *target.warnings,
        *request.enable.warnings,
        *request.db_user.warnings,
        *request.role.warnings,
        *(params.warnings if params else []),
        *(cdc_db.warnings if cdc_db else []),
    ]
    if reboot_pending and params:
        warnings.append(
            f"CDC needs a reboot of DB {target.kind} '{target.db_identifier}' to take effect "
            f"({', '.join(params.pending_reboot)}): reboot it in a maintenance window, or run the onboarding again "
            "with allow_reboot: true. Until then ClickPipes can do initial loads only."
        )
    cdc_changes_planned = target.plan_only and bool((params and params.changes) or (cdc_db and cdc_db.changes))
    # MySQL family: what the server says about its binlog settings outranks what the parameter group holds
    binlog_off = bool(cdc_db and cdc_db.binlog_ready is False)
    cdc_ready = target.cdc.enabled and not reboot_pending and not cdc_changes_planned and not binlog_off
    # PostgreSQL CDC with IAM needs rds.iam_auth_for_replication: what the server says, else what our
    # parameter group set (in effect once nothing awaits a reboot)
    reported = cdc_db.iam_auth_for_replication if cdc_db else request.db_user.iam_auth_for_replication
    replication = reported if reported is not None else cdc_ready
    if cdc_ready and rules.family(target.engine) == "postgres" and not replication:
        warnings.append(
            f"rds.iam_auth_for_replication is off on DB {target.kind} '{target.db_identifier}': replication "
            "connections do not accept IAM tokens, so ClickPipes can do initial loads only. Set it to 1 in the DB's "
            "parameter group (dynamic, no reboot) and run the onboarding again."
        )
    if not target.plan_only:
        rds.tag(target.arn, {rules.STATUS_TAG: "ready", rules.ROLE_ARN_TAG: request.role.role_arn, **recorded(target)})
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
        pipe_modes=rules.pipe_modes(target.engine, iam_auth_for_replication=replication, cdc_ready=cdc_ready),
        changes=changes,
        warnings=warnings,
        plan_only=target.plan_only,
        requested_by=target.requested_by,
    )
