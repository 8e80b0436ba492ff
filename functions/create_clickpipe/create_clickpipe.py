"""CreateClickPipeFunction ↔ state CreateClickPipe: the ClickPipe over the ClickHouse Cloud API (opt-in)."""

from typing import Any

from clickpipes import clickhouse_api
from clickpipes.aws.clients import client_for
from clickpipes.aws.iam import IamGateway
from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.secrets import SecretsGateway
from clickpipes.models import CreateClickPipeRequest, parse
from clickpipes.observability import lambda_step
from clickpipes.settings import ClickPipeSettings
from clickpipes.steps.create_clickpipe import create_clickpipe


@lambda_step("CreateClickPipe")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(CreateClickPipeRequest, event)
    settings = ClickPipeSettings.from_env()
    result = create_clickpipe(
        request,
        clickhouse=clickhouse_api.gateway(settings, SecretsGateway()),
        iam=IamGateway(client_for("iam", request.target)),
        rds=RdsGateway(client_for("rds", request.target)),
        poll_seconds=settings.poll_seconds,
        max_wait_seconds=settings.max_wait_seconds,
    )
    return result.model_dump(mode="json")
