"""ResolveTargetFunction ↔ state ResolveTarget: execution input → validated Target. Changes nothing."""

from typing import Any

from clickpipes.aws.rds import RdsGateway
from clickpipes.models import OnboardingInput, parse
from clickpipes.observability import lambda_step
from clickpipes.settings import ResolveSettings
from clickpipes.steps.resolve_target import resolve_target


@lambda_step("ResolveTarget")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(OnboardingInput, event)
    target = resolve_target(request, rds=RdsGateway(), settings=ResolveSettings.from_env())
    return target.model_dump(mode="json")
