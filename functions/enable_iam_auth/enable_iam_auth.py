"""EnableIamAuthFunction ↔ state EnableIamAuth: ModifyDBInstance/ModifyDBCluster, IAM auth on, now."""

from typing import Any

from clickpipes.aws.clients import client_for
from clickpipes.aws.rds import RdsGateway
from clickpipes.models import TargetRequest, parse
from clickpipes.observability import lambda_step
from clickpipes.steps.enable_iam_auth import enable_iam_auth


@lambda_step("EnableIamAuth")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(TargetRequest, event)
    return enable_iam_auth(request.target, rds=RdsGateway(client_for("rds", request.target))).model_dump(mode="json")
