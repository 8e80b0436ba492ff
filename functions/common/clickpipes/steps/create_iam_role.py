"""Step CreateIamRole: the role ClickPipes assumes, allowed to rds-db:connect as the DB user, nothing else.

The role trusts one allowed principal, names the DB's resource id as RDS describes it in this step, and carries
the stack's permissions boundary (which allows nothing but rds-db:connect); a role made before the boundary
existed gets it on the next run, before any other change."""

from __future__ import annotations

from collections.abc import Callable

from clickpipes import rules, trust
from clickpipes.errors import ConfigurationError, RoleConflictError
from clickpipes.models import IamRoleResult, Target
from clickpipes.settings import RoleSettings
from clickpipes.steps.ports import ClickHouseCloud, Iam, Rds
from clickpipes.steps.shared import described


def create_iam_role(
    target: Target,
    *,
    iam: Iam,
    rds: Rds,
    settings: RoleSettings,
    clickhouse: Callable[[], ClickHouseCloud | None] = lambda: None,
) -> IamRoleResult:
    db = described(rds, target)
    principal = checked_principal(target, settings=settings, clickhouse=clickhouse)
    trust.check_not_protected(target.db_user, master_username=db.master_username)
    name = rules.role_name(db.kind, db.identifier, target.region)
    dbuser = rules.dbuser_arn(
        partition=target.partition,
        region=target.region,
        account=target.account,
        resource_id=db.resource_id,
        user=rules.check_db_user(target.db_user, target.engine),
    )
    boundary = settings.boundary_for(target.account, target.partition)
    trust_doc, policy = rules.trust_policy(principal), rules.connect_policy(dbuser)
    tags = {rules.DB_ARN_TAG: db.arn}
    if len(principal) <= rules.TAG_VALUE_MAX:  # what the audit compares the trust with (else: the trust itself)
        tags[rules.PRINCIPAL_TAG] = principal
    if target.requested_by:
        tags[trust.REQUESTED_BY_TAG] = trust.iam_tag_value(target.requested_by)

    existing = iam.get_role(name)
    if existing is None:
        changes = [
            f"CreateRole {rules.ROLE_PATH}{name}: trust {principal}, permissions boundary {boundary}",
            f"PutRolePolicy: rds-db:connect on {dbuser}",
        ]
        arn = f"arn:{target.partition}:iam::{target.account}:role{rules.ROLE_PATH}{name}"
        if not target.plan_only:
            arn = iam.create_role(
                name,
                path=rules.ROLE_PATH,
                trust_policy=trust_doc,
                tags=tags,
                description=f"ClickHouse ClickPipes access to {db.kind} {db.identifier} as {target.db_user}",
                permissions_boundary=boundary,
            )
            iam.put_inline_policy(name, rules.CONNECT_POLICY_NAME, policy)
        return IamRoleResult(
            role_name=name,
            role_arn=arn,
            dbuser_arn=dbuser,
            created=not target.plan_only,
            updated=False,
            changes=changes,
        )

    if existing.tags.get(rules.DB_ARN_TAG) != db.arn or existing.path != rules.ROLE_PATH:
        raise RoleConflictError(
            f"IAM role {existing.arn} exists but was not created for {db.arn} (tag {rules.DB_ARN_TAG}): "
            "delete or rename it, then run the onboarding again."
        )
    changes = []
    if existing.permissions_boundary != boundary:  # first: the policy changes below are allowed only under it
        changes.append(f"PutRolePermissionsBoundary {name}: {boundary}")
        if not target.plan_only:
            iam.put_permissions_boundary(name, boundary)
    if existing.trust_policy != trust_doc:
        changes.append(f"UpdateAssumeRolePolicy {name}: trust {principal}")
        if not target.plan_only:
            iam.update_trust_policy(name, trust_doc)
    if iam.get_inline_policy(name, rules.CONNECT_POLICY_NAME) != policy:
        changes.append(f"PutRolePolicy {name}: rds-db:connect on {dbuser}")
        if not target.plan_only:
            iam.put_inline_policy(name, rules.CONNECT_POLICY_NAME, policy)
    # who asked, when this run changed the role; the principal tag whenever it is missing or stale
    retag = {
        k: v
        for k, v in tags.items()
        if k != rules.DB_ARN_TAG and existing.tags.get(k) != v and (changes or k == rules.PRINCIPAL_TAG)
    }
    if retag and not target.plan_only:
        iam.tag_role(name, retag)
    return IamRoleResult(
        role_name=name,
        role_arn=existing.arn,
        dbuser_arn=dbuser,
        created=False,
        updated=bool(changes) and not target.plan_only,
        changes=changes,
    )


def checked_principal(
    target: Target, *, settings: RoleSettings, clickhouse: Callable[[], ClickHouseCloud | None]
) -> str:
    """The principal to trust: allowed by the stack, or the iamRole the service has now (read again here)."""
    principal = rules.check_principal(target.clickhouse_role_arn, partition=target.partition)
    if target.clickhouse_service_id is None:
        return trust.check_principal_allowed(
            principal, default_principal=settings.default_clickhouse_role_arn, allowed=settings.allowed_principals
        )
    api = clickhouse()
    if api is None:
        raise ConfigurationError(
            "The onboarding names clickhouse_service_id, but CreateIamRole has no ClickHouse Cloud API settings "
            "(ClickHouseOrganizationId, ClickHouseApiKeySecretArn): check the stack parameters."
        )
    service_role = api.service_iam_role(target.clickhouse_service_id)
    return trust.check_service_principal(principal, service_id=target.clickhouse_service_id, service_role=service_role)
