"""ConfigureCdcDatabaseFunction ↔ state ConfigureCdcDatabase: grants, publication, binlog retention."""

from typing import Any

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
    return configure_cdc_database(request.target, secrets=SecretsGateway(), database=database).model_dump(mode="json")
