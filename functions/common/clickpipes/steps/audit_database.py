"""Step AuditDatabase: the control-plane checks of one onboarded DB (RDS and IAM). Read-only.

What is compared is in ``clickpipes.audit_rules``; this step only reads the world: the DB as RDS describes it,
the role this tool made for it (trust, inline and managed policies, boundary), the stack's allowlist, and (when
the onboarding set up CDC) what ConfigureCdcParameters would change now, all in the DB's account and region (the
item's: ``rds`` and ``iam`` act there). It hands the DB-side checks
(AuditDbObjects) the onboarding's target as recorded on the DB's tags, in plan mode."""

from __future__ import annotations

from clickpipes import audit_rules, rules, trust
from clickpipes.audit_models import AuditItem, DbAudit
from clickpipes.errors import OnboardingError
from clickpipes.models import CdcOptions, DbDescription, Target
from clickpipes.record_tags import DB_USER_TAG, PUBLICATION_TAG
from clickpipes.settings import ResolveSettings, RoleSettings
from clickpipes.steps.audit_ports import AuditIam, AuditRds
from clickpipes.steps.configure_cdc_parameters import make_plan
from clickpipes.steps.locate import admin_secret, db_facts, tags_of


def audit_database(
    item: AuditItem, *, rds: AuditRds, iam: AuditIam, settings: RoleSettings, resolve: ResolveSettings
) -> DbAudit:
    region = item.region
    db = (
        rds.describe(item.kind, item.db_identifier)
        if item.kind
        else rds.describe("instance", item.db_identifier) or rds.describe("cluster", item.db_identifier)
    )
    kind = db.kind if db else item.kind
    role_name = item.role_name or (rules.role_name(kind, item.db_identifier, region) if kind else None)
    role = iam.get_role(role_name) if role_name else None
    if db is None and kind is None:  # named without its kind, and gone: the role of either kind tells
        for guess in ("instance", "cluster"):
            role_name = rules.role_name(guess, item.db_identifier, region)
            if role := iam.get_role(role_name):
                kind = guess
                break
    if db is None:
        findings = audit_rules.gone(kind or "instance or cluster", item.db_identifier, role.arn if role else None)
        return DbAudit(
            db_identifier=item.db_identifier,
            account=item.account,
            region=region,
            kind=kind,
            status="gone",
            findings=findings,
            role_name=role_name if role else None,
            role_arn=role.arn if role else None,
        )
    assert role_name is not None  # the DB exists, so its kind is known
    partition, account = db.arn.split(":")[1], db.arn.split(":")[4]
    role_arn = f"arn:{partition}:iam::{account}:role{rules.ROLE_PATH}{role_name}"
    findings = audit_rules.iam_auth(db.iam_auth_enabled)
    tags = tags_of(rds, db)
    inline = (
        {name: iam.get_inline_policy(role_name, name) for name in iam.list_inline_policies(role_name)} if role else {}
    )
    connect = inline.get(rules.CONNECT_POLICY_NAME)
    user = tags.get(DB_USER_TAG) or audit_rules.recorded_user(connect) or rules.DEFAULT_DB_USER
    principal = None
    if role is None:
        findings += audit_rules.role_missing(role_arn)
    else:
        findings += audit_rules.resource_id(connect, db.resource_id)
        recorded_id = audit_rules.recorded_resource_id(connect) or db.resource_id
        principal = audit_rules.recorded_principal(role.tags, role.trust_policy)
        findings += audit_rules.role(
            role.arn,
            trust_policy=role.trust_policy,
            inline=inline,
            managed=iam.attached_policies(role_name),
            boundary=role.permissions_boundary,
            expected_principal=principal,
            expected_dbuser=rules.dbuser_arn(
                partition=partition, region=region, account=account, resource_id=recorded_id, user=user
            ),
            expected_boundary=settings.boundary_for(account, partition),
        )
        findings += audit_rules.principal(
            principal,
            allowed=principal is not None
            and trust.principal_allowed(
                principal, default_principal=settings.default_clickhouse_role_arn, allowed=settings.allowed_principals
            ),
        )
    target = None
    try:
        target = recorded_target(db, tags, user, principal or settings.default_clickhouse_role_arn or None, resolve)
    except OnboardingError as exc:  # no admin login to check the DB side with, an unknown engine
        findings += audit_rules.db_checks_skipped(str(exc))
    if target is not None and target.cdc.enabled:
        plan = make_plan(target, db, rds)
        findings += audit_rules.planned("cdc-parameters", [c for c in plan.changes if not c.startswith("Modify ")])
        findings += audit_rules.planned("binlog", [c for c in plan.changes if c.startswith("Modify ")])
        findings += audit_rules.cdc_reboot([] if plan.changes else plan.pending_reboot)
    return DbAudit(
        db_identifier=db.identifier,
        account=item.account,
        region=region,
        kind=db.kind,
        status=audit_rules.status(findings),
        findings=findings,
        role_name=role_name,
        role_arn=role.arn if role else None,
        repairable=audit_rules.repairable(findings),
        db_arn=db.arn,
        target=target,
    )


def recorded_target(
    db: DbDescription, tags: dict[str, str], user: str, principal: str | None, settings: ResolveSettings
) -> Target | None:
    """The onboarding's target as the DB's tags recorded it (user, admin login, CDC, schemas), in plan mode."""
    if principal is None:
        return None
    engine = rules.check_engine(db.engine, db.engine_version, engine_mode=db.engine_mode)
    cdc = tags.get(rules.CDC_TAG) == "true"
    schemas = tags.get(rules.SCHEMAS_TAG, "").split()
    tables = tags.get(rules.TABLES_TAG, "").split()
    if not schemas and rules.family(engine) == "postgres":
        schemas = list(rules.DEFAULT_PG_SCHEMAS)
    return Target(
        **db_facts(
            db,
            engine=engine,
            settings=settings,
            database=None,
            db_user=user,
            admin_secret_arn=admin_secret(db, tags.get(rules.ADMIN_SECRET_TAG)),
        ),
        clickhouse_role_arn=principal,
        cdc=CdcOptions(
            enabled=cdc,
            schemas=schemas,
            tables=tables,
            publication=tags.get(PUBLICATION_TAG, "clickpipes"),
            binlog_retention_hours=rules.check_binlog_retention(engine, None),
            allow_reboot=False,
        ),
        plan_only=True,
    )
