"""ConfigureCdcDatabaseFunction ↔ state ConfigureCdcDatabase: grants, publication, binlog retention."""

from typing import Any

from clickpipes.aws.clients import client_for
from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.seal_key import seals
from clickpipes.aws.secrets import SecretsGateway
from clickpipes.models import TargetRequest, parse
from clickpipes.observability import lambda_step
from clickpipes.settings import DbSettings
from clickpipes.steps.configure_cdc_database import configure_cdc_database
from clickpipes_db.gateway import DatabaseGateway


@lambda_step("ConfigureCdcDatabase")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(TargetRequest, event)
    database = DatabaseGateway(DbSettings.from_env())
    result = configure_cdc_database(
        request.target,
        rds=RdsGateway(client_for("rds", request.target)),
        secrets=SecretsGateway(client_for("secretsmanager", request.target)),
        database=database,
        seal=request.seal,
        seals=seals(),
    )
    return result.model_dump(mode="json")
