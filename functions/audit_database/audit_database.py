"""AuditDatabaseFunction ↔ state AuditDatabase: one DB → its control-plane findings, in the DB's account and
region. Read-only."""

from typing import Any

from clickpipes.audit_models import AuditDatabaseRequest
from clickpipes.aws.audit import AuditIamGateway, AuditRdsGateway
from clickpipes.aws.clients import client_for
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.settings import ResolveSettings, RoleSettings
from clickpipes.steps.audit_database import audit_database


@lambda_step("AuditDatabase")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(AuditDatabaseRequest, event)
    result = audit_database(
        request.item,
        rds=AuditRdsGateway(client_for("rds", request.item)),
        iam=AuditIamGateway(client_for("iam", request.item)),
        settings=RoleSettings.from_env(),
        resolve=ResolveSettings.from_env(),
    )
    return result.model_dump(mode="json")
