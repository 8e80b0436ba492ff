"""Step CreateIamRole: the role ClickPipes assumes, allowed to rds-db:connect as the DB user, nothing else.

The role trusts one allowed principal, names the DB's resource id as RDS describes it in this step, and carries
the stack's permissions boundary (which allows nothing but rds-db:connect); a role made before the boundary
existed gets it on the next run, before any other change."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clickpipes import rules, trust
from clickpipes.errors import ConfigurationError, RoleConflictError, TransientError
from clickpipes.models import IamRoleResult, RoleInfo, Target
from clickpipes.settings import RoleSettings
from clickpipes.steps.ports import ClickHouseCloud, Iam, Rds
from clickpipes.steps.shared import described

if TYPE_CHECKING:
    from clickpipes.seal import Seals


def create_iam_role(
    target: Target,
    *,
    iam: Iam,
    rds: Rds,
    settings: RoleSettings,
    clickhouse: Callable[[], ClickHouseCloud | None] = lambda: None,
    seal: dict[str, Any] | None = None,
    seals: Seals | None = None,
) -> IamRoleResult:
    db = described(rds, target, seal=seal, seals=seals)
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

    # A real run creates first (tags and boundary in the one call) and reads the role only when one of that name
    # exists, which CreateRole leaves unchanged; plan_only reads it.
    existing = iam.get_role(name) if target.plan_only else None
    if existing is None:
        changes = [
            f"CreateRole {rules.ROLE_PATH}{name}: trust {principal}, permissions boundary {boundary}",
            f"PutRolePolicy: rds-db:connect on {dbuser}",
        ]
        arn: str | None = f"arn:{target.partition}:iam::{target.account}:role{rules.ROLE_PATH}{name}"
        if not target.plan_only:
            arn = iam.create_role(
                name,
                path=rules.ROLE_PATH,
                trust_policy=trust_doc,
                tags=tags,
                description=f"ClickHouse ClickPipes access to {db.kind} {db.identifier} as {target.db_user}",
                permissions_boundary=boundary,
            )
            if arn is not None:
                iam.put_inline_policy(name, rules.CONNECT_POLICY_NAME, policy)
        if arn is not None:
            return IamRoleResult(
                role_name=name,
                role_arn=arn,
                dbuser_arn=dbuser,
                created=not target.plan_only,
                updated=False,
                changes=changes,
            )
        existing = iam.get_role(name)
        if existing is None:
            raise TransientError(f"IAM role {name} exists but cannot be read (deleted meanwhile?); will retry.")
    if existing.tags.get(rules.DB_ARN_TAG) != db.arn or existing.path != rules.ROLE_PATH:
        raise RoleConflictError(
            f"IAM role {existing.arn} exists but was not created for {db.arn} (tag {rules.DB_ARN_TAG}): "
            "delete or rename it, then run the onboarding again."
        )
    changes = update_role(iam, name, existing, target, boundary=boundary, trust=(principal, trust_doc))
    if iam.get_inline_policy(name, rules.CONNECT_POLICY_NAME) != policy:
        changes.append(f"PutRolePolicy {name}: rds-db:connect on {dbuser}")
        if not target.plan_only:
            iam.put_inline_policy(name, rules.CONNECT_POLICY_NAME, policy)
    retag(iam, name, existing, tags, changed=bool(changes), plan_only=target.plan_only)
    return IamRoleResult(
        role_name=name,
        role_arn=existing.arn,
        dbuser_arn=dbuser,
        created=False,
        updated=bool(changes) and not target.plan_only,
        changes=changes,
    )


def update_role(
    iam: Iam,
    name: str,
    existing: RoleInfo,
    target: Target,
    *,
    boundary: str,
    trust: tuple[str, dict[str, Any]],
) -> list[str]:
    """A role of ours made before: the boundary first (the policy changes are allowed only under it), the trust."""
    changes = []
    if existing.permissions_boundary != boundary:
        changes.append(f"PutRolePermissionsBoundary {name}: {boundary}")
        if not target.plan_only:
            iam.put_permissions_boundary(name, boundary)
    principal, trust_doc = trust
    if existing.trust_policy != trust_doc:
        changes.append(f"UpdateAssumeRolePolicy {name}: trust {principal}")
        if not target.plan_only:
            iam.update_trust_policy(name, trust_doc)
    return changes


def retag(iam: Iam, name: str, existing: RoleInfo, tags: dict[str, str], *, changed: bool, plan_only: bool) -> None:
    """Who asked, when this run changed the role; the principal tag whenever it is missing or stale."""
    stale = {
        k: v
        for k, v in tags.items()
        if k != rules.DB_ARN_TAG and existing.tags.get(k) != v and (changed or k == rules.PRINCIPAL_TAG)
    }
    if stale and not plan_only:
        iam.tag_role(name, stale)


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
