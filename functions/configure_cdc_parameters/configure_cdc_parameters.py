"""ConfigureCdcParametersFunction ↔ state ConfigureCdcParameters: parameter group and backups for CDC."""

from typing import Any

from clickpipes.aws.clients import client_for
from clickpipes.aws.rds import RdsGateway
from clickpipes.models import TargetRequest, parse
from clickpipes.observability import lambda_step
from clickpipes.steps.configure_cdc_parameters import configure_cdc_parameters


@lambda_step("ConfigureCdcParameters")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(TargetRequest, event)
    return configure_cdc_parameters(request.target, rds=RdsGateway(client_for("rds", request.target))).model_dump(
        mode="json"
    )
