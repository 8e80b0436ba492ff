"""Step ResolveTarget: from the execution input to a validated Target. Changes nothing."""

from __future__ import annotations

from clickpipes import rules, trust
from clickpipes.errors import AdminCredentialsError, DbNotFoundError, InvalidInputError
from clickpipes.models import CdcOptions, DbDescription, OnboardingInput, OnboardingRequest, Target
from clickpipes.settings import ResolveSettings
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
    db, warnings = _find(rds, kind_hint, identifier)
    engine = rules.check_engine(db.engine, db.engine_version, engine_mode=db.engine_mode)
    rules.check_db_user(user, engine)
    trust.check_not_protected(user, master_username=db.master_username)
    cdc = cdc_options(request, engine, db.database)
    rules.check_db_state(db.kind, db.identifier, db.status)

    secret_arn = request.admin_secret_arn or db.master_secret_arn
    if not secret_arn:
        raise AdminCredentialsError(
            f"DB {db.kind} '{db.identifier}' has no RDS-managed master user secret: pass admin_secret_arn, the "
            "ARN of a Secrets Manager secret with the admin's 'username' and 'password'."
        )
    trust.check_secret_bound(
        secret_arn, db_kind=db.kind, db_identifier=db.identifier, master_secret_arn=db.master_secret_arn
    )
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
    account = db.arn.split(":")[4]
    return Target(
        db_identifier=db.identifier,
        kind=db.kind,
        arn=db.arn,
        partition=db.arn.split(":")[1],
        region=settings.region,
        account=account,
        engine=engine,
        engine_version=db.engine_version,
        resource_id=db.resource_id,
        endpoint=db.endpoint,
        port=db.port,
        database=request.database or db.database or ("postgres" if rules.family(engine) == "postgres" else None),
        iam_auth_enabled=db.iam_auth_enabled,
        admin_secret_arn=secret_arn,
        db_user=user,
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


def _find(rds: Rds, kind: rules.DbKind | None, identifier: str) -> tuple[DbDescription, list[str]]:
    """The DB to onboard: an Aurora member instance is onboarded through its cluster."""
    db = (
        rds.describe(kind, identifier)
        if kind
        else (rds.describe("instance", identifier) or rds.describe("cluster", identifier))
    )
    if db is None:
        what = f"DB {kind}" if kind else "DB instance or cluster"
        raise DbNotFoundError(
            f"No {what} '{identifier}' in this account and region: check the identifier (or pass the DB's ARN)."
        )
    if db.kind == "instance" and db.cluster_identifier:
        cluster = rds.describe("cluster", db.cluster_identifier)
        if cluster is None:
            raise DbNotFoundError(
                f"DB instance '{identifier}' belongs to cluster '{db.cluster_identifier}', which was not found."
            )
        return cluster, [
            f"DB instance '{db.identifier}' belongs to Aurora cluster '{cluster.identifier}': onboarded the cluster "
            "(IAM authentication, resource ID and writer endpoint are the cluster's)."
        ]
    return db, []
