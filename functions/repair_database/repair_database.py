"""RepairDatabaseFunction ↔ state RepairDatabase: with repair, one drifted DB's onboarding started again, or its
orphan role deleted (delete_orphans)."""

from typing import Any

from clickpipes.audit_models import DbAuditRequest
from clickpipes.aws.audit import AuditIamGateway
from clickpipes.aws.guard import DbGuard
from clickpipes.aws.sfn import SfnGateway
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.settings import GuardSettings, TriggerSettings
from clickpipes.steps.audit_repair import repair_database


@lambda_step("RepairDatabase")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    settings = TriggerSettings.from_env()
    result = repair_database(
        parse(DbAuditRequest, event),
        sfn=SfnGateway(settings.state_machine_arn),
        guard=DbGuard(GuardSettings.from_env().guard_table),
        iam=AuditIamGateway(),
        settings=settings,
    )
    return result.model_dump(mode="json")
