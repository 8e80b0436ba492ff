"""Step ResolveTarget: from the execution input to a validated Target (with its describe sealed for EnableIamAuth:
``clickpipes.seal``). Changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from clickpipes import clickpipe_rules, rules, trust
from clickpipes.errors import InvalidInputError
from clickpipes.models import CdcOptions, OnboardingInput, OnboardingRequest, ResolvedTarget, Target
from clickpipes.settings import ResolveSettings
from clickpipes.steps.locate import admin_secret, db_facts, find_db
from clickpipes.steps.ports import ClickHouseCloud, Guard, Rds
from clickpipes.steps.shared import BUSY, CheckedRequest, check_request, hold_db, sealed

if TYPE_CHECKING:
    from clickpipes.seal import Seals

__all__ = ["CheckedRequest", "check_request", "resolve_sealed", "resolve_target"]  # check_request: also here


def resolve_target(
    request: OnboardingInput,
    *,
    rds: Rds,
    settings: ResolveSettings,
    guard: Guard | None = None,
    execution_arn: str = "",
    clickhouse: Callable[[], ClickHouseCloud | None] = lambda: None,
) -> Target:
    return resolve_sealed(
        request, rds=rds, settings=settings, guard=guard, execution_arn=execution_arn, clickhouse=clickhouse
    ).target


def resolve_sealed(
    request: OnboardingInput,
    *,
    rds: Rds,
    settings: ResolveSettings,
    guard: Guard | None = None,
    execution_arn: str = "",
    clickhouse: Callable[[], ClickHouseCloud | None] = lambda: None,
    seals: Seals | None = None,
) -> ResolvedTarget:
    """The Target, and the DB as this step described it, sealed (with ``seals``) for EnableIamAuth."""
    kind_hint, identifier, user, principal, key = check_request(request, settings=settings)
    principal = service_principal(request, principal, settings=settings, clickhouse=clickhouse)
    if guard is not None:
        hold_db(guard, identifier, key, execution_arn, BUSY)
    db, warnings = find_db(rds, kind_hint, identifier)
    engine = rules.check_engine(db.engine, db.engine_version, engine_mode=db.engine_mode)
    rules.check_db_user(user, engine)
    trust.check_not_protected(user, master_username=db.master_username)
    cdc = cdc_options(request, engine, db.database)
    clickpipe_rules.check_tables(request.clickpipe, cdc)
    available = rules.check_db_state(db.kind, db.identifier, db.status)

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
    target = Target(
        **db_facts(
            db, engine=engine, settings=settings, database=request.database, db_user=user, admin_secret_arn=secret_arn
        ),
        clickhouse_role_arn=principal,
        clickhouse_service_id=request.clickhouse_service_id,
        clickpipe=request.clickpipe,
        cdc=cdc,
        plan_only=request.plan_only,
        warnings=warnings,
        adopt_existing_user=request.adopt_existing_user,
        apply_pending_modifications=request.apply_pending_modifications,
        requested_by=request.requested_by,
    )
    # sealed only when available: EnableIamAuth would wait (retry) on a busy one, and must then describe again
    return ResolvedTarget(target=target, seal=sealed(db, seals) if available else None)


def service_principal(
    request: OnboardingRequest,
    principal: str,
    *,
    settings: ResolveSettings,
    clickhouse: Callable[[], ClickHouseCloud | None],
) -> str:
    """The principal: the request's (checked by check_request), or the iamRole of ``clickhouse_service_id`` read
    from the operator's own ClickHouse Cloud organization (trust.check_service_principal)."""
    if not (request.clickhouse_service_id or request.clickpipe):
        return principal
    api = clickhouse()
    if api is None:
        field = "clickhouse_service_id" if request.clickhouse_service_id else "clickpipe"
        raise InvalidInputError(
            f"{field} needs the ClickHouse Cloud API: this stack has no ClickHouseOrganizationId and "
            "ClickHouseApiKeySecretArn (README, ClickHouse Cloud). Nothing was changed."
        )
    if request.clickpipe is not None and request.cdc is False and request.clickpipe.replication_mode == "cdc":
        raise InvalidInputError(
            "clickpipe.replication_mode 'cdc' needs the CDC setup, but the request has cdc: false: set cdc to true "
            "or replication_mode to 'snapshot'. Nothing was changed."
        )
    if not request.clickhouse_service_id:
        return principal
    return rules.check_principal(
        api.service_iam_role(request.clickhouse_service_id), partition=rules.partition_of(settings.region)
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
