"""Step CreateIamRole: the role ClickPipes assumes, allowed to rds-db:connect as the DB user, nothing else."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.errors import RoleConflictError
from clickpipes.models import IamRoleResult, Target
from clickpipes.steps.ports import Iam


def create_iam_role(target: Target, *, iam: Iam, permissions_boundary: str | None = None) -> IamRoleResult:
    name = rules.role_name(target.kind, target.db_identifier, target.region)
    dbuser = rules.dbuser_arn(
        partition=target.partition,
        region=target.region,
        account=target.account,
        resource_id=target.resource_id,
        user=target.db_user,
    )
    principal = rules.check_principal(target.clickhouse_role_arn, partition=target.partition)
    trust, policy = rules.trust_policy(principal), rules.connect_policy(dbuser)

    existing = iam.get_role(name)
    if existing is None:
        changes = [
            f"CreateRole {rules.ROLE_PATH}{name}: trust {principal}",
            f"PutRolePolicy: rds-db:connect on {dbuser}",
        ]
        if target.plan_only:
            arn = f"arn:{target.partition}:iam::{target.account}:role{rules.ROLE_PATH}{name}"
            return IamRoleResult(
                role_name=name, role_arn=arn, dbuser_arn=dbuser, created=False, updated=False, changes=changes
            )
        arn = iam.create_role(
            name,
            path=rules.ROLE_PATH,
            trust_policy=trust,
            tags={rules.DB_ARN_TAG: target.arn},
            description=f"ClickHouse ClickPipes access to {target.kind} {target.db_identifier} as {target.db_user}",
            permissions_boundary=permissions_boundary or None,
        )
        iam.put_inline_policy(name, rules.CONNECT_POLICY_NAME, policy)
        return IamRoleResult(
            role_name=name, role_arn=arn, dbuser_arn=dbuser, created=True, updated=False, changes=changes
        )

    if existing.tags.get(rules.DB_ARN_TAG) != target.arn or existing.path != rules.ROLE_PATH:
        raise RoleConflictError(
            f"IAM role {existing.arn} exists but was not created for {target.arn} (tag {rules.DB_ARN_TAG}): "
            "delete or rename it, then run the onboarding again."
        )
    changes = []
    if existing.trust_policy != trust:
        changes.append(f"UpdateAssumeRolePolicy {name}: trust {principal}")
        if not target.plan_only:
            iam.update_trust_policy(name, trust)
    if iam.get_inline_policy(name, rules.CONNECT_POLICY_NAME) != policy:
        changes.append(f"PutRolePolicy {name}: rds-db:connect on {dbuser}")
        if not target.plan_only:
            iam.put_inline_policy(name, rules.CONNECT_POLICY_NAME, policy)
    return IamRoleResult(
        role_name=name,
        role_arn=existing.arn,
        dbuser_arn=dbuser,
        created=False,
        updated=bool(changes) and not target.plan_only,
        changes=changes,
    )
