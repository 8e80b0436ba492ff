"""RecordResultFunction ↔ state RecordResult: tag the DB ready, return the execution output."""

from typing import Any

from clickpipes.aws.clients import client_for
from clickpipes.aws.rds import RdsGateway
from clickpipes.models import RecordResultRequest, parse
from clickpipes.observability import lambda_step
from clickpipes.steps.record_result import record_result


@lambda_step("RecordResult")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(RecordResultRequest, event)
    return record_result(request, rds=RdsGateway(client_for("rds", request.target))).model_dump(mode="json")
