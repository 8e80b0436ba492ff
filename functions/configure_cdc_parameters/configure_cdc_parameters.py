"""ConfigureCdcParametersFunction ↔ state ConfigureCdcParameters: parameter group and backups for CDC."""

from typing import Any

from clickpipes.aws.clients import client_for
from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.seal_key import seals
from clickpipes.models import TargetRequest, parse
from clickpipes.observability import lambda_step
from clickpipes.steps.configure_cdc_parameters import configure_cdc_parameters


@lambda_step("ConfigureCdcParameters")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(TargetRequest, event)
    rds = RdsGateway(client_for("rds", request.target))
    return configure_cdc_parameters(request.target, rds=rds, seal=request.seal, seals=seals()).model_dump(mode="json")
