"""DeleteIamRoleFunction ↔ state DeleteIamRole: the ClickPipes role of the DB, taken apart (ours only)."""

from typing import Any

from clickpipes import clickhouse_api
from clickpipes.aws.clients import client_for
from clickpipes.aws.iam_offboard import IamOffboardGateway
from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.secrets import SecretsGateway
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.offboarding_models import OffboardTargetRequest
from clickpipes.settings import ClickHouseApiSettings
from clickpipes.steps.offboard_delete_role import delete_iam_role


@lambda_step("DeleteIamRole")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(OffboardTargetRequest, event)
    result = delete_iam_role(
        request.target,
        iam=IamOffboardGateway(client_for("iam", request.target)),
        rds=RdsGateway(client_for("rds", request.target)),
        clickhouse=lambda: clickhouse_api.gateway(ClickHouseApiSettings.from_env(), SecretsGateway()),
    )
    return result.model_dump(mode="json")
