"""Step ResolveTarget: from the execution input to a validated Target. Changes nothing."""

from __future__ import annotations

from clickpipes import rules, trust
from clickpipes.errors import InvalidInputError
from clickpipes.models import CdcOptions, OnboardingInput, OnboardingRequest, Target
from clickpipes.settings import ResolveSettings
from clickpipes.steps.locate import admin_secret, db_facts, find_db
from clickpipes.steps.ports import Guard, Rds
from clickpipes.steps.shared import BUSY, CheckedRequest, check_request, hold_db

__all__ = ["CheckedRequest", "check_request", "resolve_target"]  # check_request: also here


def resolve_target(
    request: OnboardingInput,
    *,
    rds: Rds,
    settings: ResolveSettings,
    guard: Guard | None = None,
    execution_arn: str = "",
) -> Target:
    kind_hint, identifier, user, principal = check_request(request, settings=settings)
    if guard is not None:
        hold_db(guard, identifier, settings.region, execution_arn, BUSY)
    db, warnings = find_db(rds, kind_hint, identifier)
    engine = rules.check_engine(db.engine, db.engine_version, engine_mode=db.engine_mode)
    rules.check_db_user(user, engine)
    trust.check_not_protected(user, master_username=db.master_username)
    cdc = cdc_options(request, engine, db.database)
    rules.check_db_state(db.kind, db.identifier, db.status)

    secret_arn = admin_secret(db, request.admin_secret_arn)
    # EnableIamAuth modifies with ApplyImmediately, which applies every pending modification: refused while
    # someone else's are pending. (The CDC steps attach the group without ApplyImmediately, and turn backups on
    # only when nothing else is pending: docs/aws-facts.md.)
    if not db.iam_auth_enabled:
        warnings += trust.check_pending_modifications(
            db.pending_modifications,
            db_kind=db.kind,
            db_identifier=db.identifier,
            apply_pending=request.apply_pending_modifications,
        )
    return Target(
        **db_facts(
            db, engine=engine, settings=settings, database=request.database, db_user=user, admin_secret_arn=secret_arn
        ),
        clickhouse_role_arn=principal,
        cdc=cdc,
        plan_only=request.plan_only,
        warnings=warnings,
        adopt_existing_user=request.adopt_existing_user,
        apply_pending_modifications=request.apply_pending_modifications,
        requested_by=request.requested_by,
    )


def cdc_options(request: OnboardingRequest, engine: rules.Engine, database: str | None) -> CdcOptions:
    """The CDC settings with their per-engine defaults and bounds."""
    retention = rules.check_binlog_retention(engine, request.binlog_retention_hours)
    if request.tables:
        unknown = sorted({t.split(".", 1)[0] for t in request.tables} - set(request.schemas or []))
        if request.schemas is not None and unknown:
            raise InvalidInputError(f"tables name schemas that are not in schemas: {', '.join(unknown)}.")
    if request.schemas is not None:
        schemas = list(request.schemas)
    elif request.tables:
        schemas = sorted({t.split(".", 1)[0] for t in request.tables})
    elif rules.family(engine) == "postgres":
        schemas = list(rules.DEFAULT_PG_SCHEMAS)
    else:
        schemas = [database] if database and rules.MYSQL_SCHEMA.fullmatch(database) else []
    if rules.family(engine) == "mysql":
        bad = [s for s in schemas if not rules.MYSQL_SCHEMA.fullmatch(s)]
        if bad:
            raise InvalidInputError(f"schemas {', '.join(bad)}: MySQL schema names here are letters, digits and _.")
    return CdcOptions(
        enabled=request.cdc,
        schemas=schemas,
        tables=list(request.tables or []),
        publication=request.publication,
        binlog_retention_hours=retention,
        allow_reboot=request.allow_reboot,
    )
