"""DropDbUserFunction ↔ state DropDbUser: the DB user (dropped or disabled), publication, slots, with the admin
secret."""

from typing import Any

from clickpipes.aws.clients import client_for
from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.secrets import SecretsGateway
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.offboarding_models import OffboardTargetRequest
from clickpipes.settings import DbSettings
from clickpipes.steps.offboard_db_user import drop_db_user
from clickpipes_db.offboard_gateway import OffboardDatabaseGateway


@lambda_step("DropDbUser")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(OffboardTargetRequest, event)
    database = OffboardDatabaseGateway(DbSettings.from_env())
    result = drop_db_user(
        request.target,
        rds=RdsGateway(client_for("rds", request.target)),
        secrets=SecretsGateway(client_for("secretsmanager", request.target)),
        database=database,
    )
    return result.model_dump(mode="json")
