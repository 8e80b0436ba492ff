"""ResolveOffboardingFunction ↔ state ResolveOffboarding: execution input → validated OffboardTarget."""

from typing import Any

from clickpipes.aws.clients import client_for_reference
from clickpipes.aws.guard import DbGuard
from clickpipes.aws.rds import RdsGateway
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.offboarding_models import OffboardingInput, ResolveOffboardingRequest
from clickpipes.offboarding_settings import OffboardingSettings
from clickpipes.settings import GuardSettings
from clickpipes.steps.offboard_resolve import resolve_offboarding


@lambda_step("ResolveOffboarding")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    envelope = parse(ResolveOffboardingRequest, event)
    target = resolve_offboarding(
        parse(OffboardingInput, envelope.request),
        rds=RdsGateway(client_for_reference("rds", envelope.request.get("db_identifier"))),
        settings=OffboardingSettings.from_env(),
        guard=DbGuard(GuardSettings.from_env().guard_table),
        execution_arn=envelope.execution_arn,
    )
    return target.model_dump(mode="json")
