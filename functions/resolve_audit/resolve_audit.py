"""ResolveAuditFunction ↔ state ResolveAudit: execution input → the DBs to audit, in every account and region."""

from typing import Any

from clickpipes.audit_models import AuditInput, ResolveAuditRequest
from clickpipes.aws.audit import AuditIamGateway, AuditRdsGateway
from clickpipes.aws.clients import client_in
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.settings import AuditResolveSettings
from clickpipes.steps.audit_resolve import resolve_audit


@lambda_step("ResolveAudit")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(AuditInput, parse(ResolveAuditRequest, event).request)
    settings = AuditResolveSettings.from_env()
    plan = resolve_audit(
        request,
        rds=lambda account, region: AuditRdsGateway(client_in("rds", account, region)),
        iam=lambda account: AuditIamGateway(client_in("iam", account, settings.region)),
        settings=settings,
    )
    return plan.model_dump(mode="json")
