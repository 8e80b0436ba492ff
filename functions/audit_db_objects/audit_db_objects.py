"""AuditDbObjectsFunction ↔ state AuditDbObjects: one DB's audit → with its DB-side findings (RDS and the admin
secret read in the DB's account and region). Read-only."""

from typing import Any

from clickpipes.audit_models import DbAuditRequest
from clickpipes.aws.clients import client_for
from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.secrets import SecretsGateway
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.settings import AuditSettings, DbSettings
from clickpipes.steps.audit_db_objects import audit_db_objects
from clickpipes_db.audit_gateway import AuditDatabaseGateway


@lambda_step("AuditDbObjects")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(DbAuditRequest, event)
    result = audit_db_objects(
        request.audit,
        rds=RdsGateway(client_for("rds", request.audit)),
        secrets=SecretsGateway(client_for("secretsmanager", request.audit)),
        database=AuditDatabaseGateway(DbSettings.from_env()),
        settings=AuditSettings.from_env(),
    )
    return result.model_dump(mode="json")
