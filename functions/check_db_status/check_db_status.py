"""CheckDbStatusFunction ↔ state CheckDbStatus: one poll of the wait loop (Wait/Choice in the ASL)."""

from typing import Any

from clickpipes.aws.clients import client_for
from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.seal_key import seals
from clickpipes.models import CheckDbStatusRequest, parse
from clickpipes.observability import lambda_step
from clickpipes.steps.check_db_status import check_db_status


@lambda_step("CheckDbStatus")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(CheckDbStatusRequest, event)
    result = check_db_status(request, rds=RdsGateway(client_for("rds", request.target)), seals=seals())
    return result.model_dump(mode="json")
