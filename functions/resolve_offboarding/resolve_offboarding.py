"""ResolveOffboardingFunction ↔ state ResolveOffboarding: execution input → validated OffboardTarget."""

from typing import Any

from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.sfn import SfnGateway
from clickpipes.aws.sfn_offboard import OtherSfnGateway
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.offboarding_models import OffboardingInput, ResolveOffboardingRequest
from clickpipes.offboarding_settings import OffboardingSettings
from clickpipes.steps.offboard_ports import Machines
from clickpipes.steps.offboard_resolve import resolve_offboarding


@lambda_step("ResolveOffboarding")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    envelope = parse(ResolveOffboardingRequest, event)
    settings = OffboardingSettings.from_env()
    onboarding = settings.onboarding_state_machine_arn
    machines = Machines(SfnGateway(envelope.state_machine_arn), *([OtherSfnGateway(onboarding)] if onboarding else []))
    target = resolve_offboarding(
        parse(OffboardingInput, envelope.request),
        rds=RdsGateway(),
        settings=settings,
        sfn=machines,
        execution_arn=envelope.execution_arn,
    )
    return target.model_dump(mode="json")
