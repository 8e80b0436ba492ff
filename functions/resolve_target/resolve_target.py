"""ResolveTargetFunction ↔ state ResolveTarget: execution input → validated Target. Changes nothing."""

from typing import Any

from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.sfn import SfnGateway
from clickpipes.aws.sfn_offboard import OtherSfnGateway
from clickpipes.models import OnboardingInput, ResolveTargetRequest, parse
from clickpipes.observability import lambda_step
from clickpipes.offboarding_settings import GuardSettings
from clickpipes.settings import ResolveSettings
from clickpipes.steps.offboard_ports import Machines
from clickpipes.steps.resolve_target import resolve_target


@lambda_step("ResolveTarget")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    envelope = parse(ResolveTargetRequest, event)
    offboarding = GuardSettings.from_env().offboarding_state_machine_arn  # an offboarding of the DB counts too
    sfn = Machines(SfnGateway(envelope.state_machine_arn), *([OtherSfnGateway(offboarding)] if offboarding else []))
    target = resolve_target(
        parse(OnboardingInput, envelope.request),
        rds=RdsGateway(),
        settings=ResolveSettings.from_env(),
        sfn=sfn,
        execution_arn=envelope.execution_arn,
    )
    return target.model_dump(mode="json")
