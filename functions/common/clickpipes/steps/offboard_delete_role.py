"""Step DeleteIamRole: the role ClickPipes assumes, taken apart (inline policies, boundary, role).

Only the role this tool made for this DB: under /clickpipes/ and tagged clickpipes:db-arn with the DB's ARN as RDS
describes it now. Any other role with the deterministic name is never touched (a warning says so)."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.offboarding_models import OffboardTarget, RoleDeletionResult
from clickpipes.steps.offboard_ports import OffboardIam
from clickpipes.steps.ports import Rds
from clickpipes.steps.shared import described, take_apart_role


def delete_iam_role(target: OffboardTarget, *, iam: OffboardIam, rds: Rds) -> RoleDeletionResult:
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
    changes, deleted = take_apart_role(iam, name, role, plan_only=target.plan_only)
    if target.plan_only:
        return RoleDeletionResult(role_name=name, role_arn=role.arn, changes=changes)
    if not deleted:
        return RoleDeletionResult(
            role_name=name,
            role_arn=role.arn,
            changes=changes,
            warnings=[
                f"IAM role {role.arn} could not be deleted (managed policies or an instance profile attached by "
                "someone else): it can no longer connect (its policies are gone); detach those and delete it."
            ],
        )
    return RoleDeletionResult(role_name=name, role_arn=role.arn, deleted=True, changes=changes)
