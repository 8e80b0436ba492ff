"""RecordOffboardingFunction ↔ state RecordOffboarding: tag the DB offboarded and return the output."""

from typing import Any

from clickpipes.aws.clients import client_for
from clickpipes.aws.rds_offboard import RdsOffboardGateway
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.offboarding_models import RecordOffboardingRequest
from clickpipes.steps.offboard_record import record_offboarding


@lambda_step("RecordOffboarding")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(RecordOffboardingRequest, event)
    return record_offboarding(request, rds=RdsOffboardGateway(client_for("rds", request.target))).model_dump(
        mode="json"
    )
