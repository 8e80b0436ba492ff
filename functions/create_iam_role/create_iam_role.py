"""CreateIamRoleFunction ↔ state CreateIamRole: the role ClickPipes assumes (trust + rds-db:connect)."""

from typing import Any

from clickpipes import clickhouse_api
from clickpipes.aws.clients import client_for
from clickpipes.aws.iam import IamGateway
from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.seal_key import seals
from clickpipes.aws.secrets import SecretsGateway
from clickpipes.models import TargetRequest, parse
from clickpipes.observability import lambda_step
from clickpipes.settings import ClickHouseApiSettings, RoleSettings
from clickpipes.steps.create_iam_role import create_iam_role


@lambda_step("CreateIamRole")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(TargetRequest, event)
    settings = RoleSettings.from_env()
    result = create_iam_role(
        request.target,
        iam=IamGateway(client_for("iam", request.target)),
        rds=RdsGateway(client_for("rds", request.target)),
        settings=settings,
        clickhouse=lambda: clickhouse_api.gateway(ClickHouseApiSettings.from_env(), SecretsGateway()),
        seal=request.seal,
        seals=seals(),
    )
    return result.model_dump(mode="json")
