"""EnableIamAuthFunction ↔ state EnableIamAuth: ModifyDBInstance/ModifyDBCluster, IAM auth on, now."""

from typing import Any

from clickpipes.aws.clients import client_for
from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.seal_key import seals
from clickpipes.models import TargetRequest, parse
from clickpipes.observability import lambda_step
from clickpipes.steps.enable_iam_auth import enable_iam_auth


@lambda_step("EnableIamAuth")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(TargetRequest, event)
    rds = RdsGateway(client_for("rds", request.target))
    return enable_iam_auth(request.target, rds=rds, seal=request.seal, seals=seals()).model_dump(mode="json")
