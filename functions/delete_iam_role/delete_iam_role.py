"""DeleteIamRoleFunction ↔ state DeleteIamRole: the ClickPipes role of the DB, taken apart (ours only)."""

from typing import Any

from clickpipes.aws.iam_offboard import IamOffboardGateway
from clickpipes.aws.rds import RdsGateway
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.offboarding_models import OffboardTargetRequest
from clickpipes.steps.offboard_delete_role import delete_iam_role


@lambda_step("DeleteIamRole")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(OffboardTargetRequest, event)
    return delete_iam_role(request.target, iam=IamOffboardGateway(), rds=RdsGateway()).model_dump(mode="json")
