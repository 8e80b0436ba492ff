"""ResolveAuditFunction ↔ state ResolveAudit: execution input → the DBs to audit."""

from typing import Any

from clickpipes.audit_models import AuditInput, ResolveAuditRequest
from clickpipes.aws.audit import AuditIamGateway, AuditRdsGateway
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.settings import ResolveSettings
from clickpipes.steps.audit_resolve import resolve_audit


@lambda_step("ResolveAudit")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(AuditInput, parse(ResolveAuditRequest, event).request)
    settings = ResolveSettings.from_env()
    plan = resolve_audit(request, rds=AuditRdsGateway(), iam=AuditIamGateway(), region=settings.region)
    return plan.model_dump(mode="json")
