"""RepairDatabaseFunction ↔ state RepairDatabase: with repair, one drifted DB's onboarding started again, or its
orphan role deleted (delete_orphans); the role's IAM in the DB's account."""

from typing import Any

from clickpipes.audit_models import DbAuditRequest
from clickpipes.aws.audit import AuditIamGateway
from clickpipes.aws.clients import client_for
from clickpipes.aws.guard import DbGuard
from clickpipes.aws.sfn import SfnGateway
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.settings import GuardSettings, TriggerSettings
from clickpipes.steps.audit_repair import repair_database


@lambda_step("RepairDatabase")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    settings = TriggerSettings.from_env()
    request = parse(DbAuditRequest, event)
    result = repair_database(
        request,
        sfn=SfnGateway(settings.state_machine_arn),
        guard=DbGuard(GuardSettings.from_env().guard_table),
        iam=AuditIamGateway(client_for("iam", request.audit)),
        settings=settings,
    )
    return result.model_dump(mode="json")
