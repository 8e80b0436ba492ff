"""RevertSettingsFunction ↔ state RevertSettings: IAM auth off, the original parameter group (revert_settings)."""

from typing import Any

from clickpipes.aws.clients import client_for
from clickpipes.aws.rds_offboard import RdsOffboardGateway
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.offboarding_models import OffboardTargetRequest
from clickpipes.steps.offboard_revert_settings import revert_settings


@lambda_step("RevertSettings")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(OffboardTargetRequest, event)
    return revert_settings(request.target, rds=RdsOffboardGateway(client_for("rds", request.target))).model_dump(
        mode="json"
    )
