"""RecordFailureFunction ↔ state RecordFailure: the shared failure path (tag failed, name the error)."""

from typing import Any

from clickpipes.aws.clients import client_for_reference
from clickpipes.aws.rds import RdsGateway
from clickpipes.models import RecordFailureRequest, parse
from clickpipes.observability import lambda_step
from clickpipes.steps.record_failure import record_failure


@lambda_step("RecordFailure")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(RecordFailureRequest, event)
    where = request.target.arn if request.target else request.input.get("db_identifier")
    return record_failure(request, rds=RdsGateway(client_for_reference("rds", where))).model_dump(mode="json")
