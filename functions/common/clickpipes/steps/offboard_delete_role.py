"""Step DeleteIamRole: the role ClickPipes assumes, taken apart (inline policies, boundary, role).

Only the role this tool made for this DB: under /clickpipes/ and tagged clickpipes:db-arn with the DB's ARN as RDS
describes it now. Any other role with the deterministic name is never touched (a warning says so)."""

from __future__ import annotations

from collections.abc import Callable

from clickpipes import clickpipe_rules, rules
from clickpipes.offboarding_models import OffboardTarget, RoleDeletionResult
from clickpipes.steps.offboard_ports import OffboardIam
from clickpipes.steps.ports import ClickHouseCloud, Rds
from clickpipes.steps.shared import described, take_apart_role


def delete_iam_role(
    target: OffboardTarget,
    *,
    iam: OffboardIam,
    rds: Rds,
    clickhouse: Callable[[], ClickHouseCloud | None] = lambda: None,
) -> RoleDeletionResult:
    db = described(rds, target)
    name = target.role_name
    role = iam.get_role(name)
    if role is None:
        return RoleDeletionResult(role_name=name)
    if role.path != rules.ROLE_PATH or role.tags.get(rules.DB_ARN_TAG) != db.arn:
        return RoleDeletionResult(
            role_name=name,
            role_arn=role.arn,
            warnings=[
                f"IAM role {role.arn} was not created for {db.arn} (path {rules.ROLE_PATH}, tag {rules.DB_ARN_TAG}): "
                "left as it is."
            ],
        )
    pipe_changes, warnings = delete_clickpipe(role.tags.get(clickpipe_rules.PIPE_TAG), target.plan_only, clickhouse)
    changes, deleted = take_apart_role(iam, name, role, plan_only=target.plan_only)
    changes = pipe_changes + changes
    if target.plan_only:
        return RoleDeletionResult(role_name=name, role_arn=role.arn, changes=changes, warnings=warnings)
    if not deleted:
        return RoleDeletionResult(
            role_name=name,
            role_arn=role.arn,
            changes=changes,
            warnings=[
                *warnings,
                f"IAM role {role.arn} could not be deleted (managed policies or an instance profile attached by "
                "someone else): it can no longer connect (its policies are gone); detach those and delete it.",
            ],
        )
    return RoleDeletionResult(role_name=name, role_arn=role.arn, deleted=True, changes=changes, warnings=warnings)


def delete_clickpipe(
    tag: str | None, plan_only: bool, clickhouse: Callable[[], ClickHouseCloud | None]
) -> tuple[list[str], list[str]]:
    """First, the ClickPipe CreateClickPipe made for this role (named by the role's tag): (changes, warnings)."""
    if not tag or "/" not in tag:
        return [], []
    service, pipe = tag.split("/", 1)
    api = clickhouse()
    if api is None:
        return [], [
            f"ClickPipe {pipe} of ClickHouse Cloud service {service} was created by this tool, but this stack has no "
            "ClickHouse Cloud API settings: delete it in the ClickHouse Cloud console."
        ]
    change = f"ClickHouse Cloud: delete ClickPipe {pipe} of service {service}"
    if plan_only:
        return [change], []
    if not api.delete_clickpipe(service, pipe):
        return [], [f"ClickPipe {pipe} of ClickHouse Cloud service {service} no longer exists (already deleted)."]
    return [change], []
