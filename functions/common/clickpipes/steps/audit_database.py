"""Step AuditDatabase: the control-plane checks of one onboarded DB (RDS and IAM). Read-only.

What is compared is in ``clickpipes.audit_rules``; this step only reads the world: the DB as RDS describes it,
the role this tool made for it (trust, inline and managed policies, boundary), the stack's allowlist."""

from __future__ import annotations

from clickpipes import audit_rules, rules, trust
from clickpipes.audit_models import AuditItem, DbAudit
from clickpipes.offboarding_models import DB_USER_TAG
from clickpipes.settings import RoleSettings
from clickpipes.steps.audit_ports import AuditIam, AuditRds


def audit_database(item: AuditItem, *, rds: AuditRds, iam: AuditIam, settings: RoleSettings, region: str) -> DbAudit:
    db = (
        rds.describe(item.kind, item.db_identifier)
        if item.kind
        else rds.describe("instance", item.db_identifier) or rds.describe("cluster", item.db_identifier)
    )
    kind = db.kind if db else item.kind
    role_name = item.role_name or (rules.role_name(kind, item.db_identifier, region) if kind else None)
    role = iam.get_role(role_name) if role_name else None
    if db is None:
        findings = audit_rules.gone(kind or "instance or cluster", item.db_identifier, role.arn if role else None)
        return DbAudit(
            db_identifier=item.db_identifier,
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
    user = rds.tags(db.arn).get(DB_USER_TAG, rules.DEFAULT_DB_USER)
    if role is None:
        findings += audit_rules.role_missing(role_arn)
    else:
        inline = {name: iam.get_inline_policy(role_name, name) for name in iam.list_inline_policies(role_name)}
        connect = inline.get(rules.CONNECT_POLICY_NAME)
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
            expected_boundary=settings.permissions_boundary_arn,
        )
        findings += audit_rules.principal(
            principal,
            allowed=principal is not None
            and trust.principal_allowed(
                principal, default_principal=settings.default_clickhouse_role_arn, allowed=settings.allowed_principals
            ),
        )
    return DbAudit(
        db_identifier=db.identifier,
        kind=db.kind,
        status=audit_rules.status(findings),
        findings=findings,
        role_name=role_name,
        role_arn=role.arn if role else None,
        repairable=audit_rules.repairable(findings),
    )
