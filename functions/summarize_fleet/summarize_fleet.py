"""SummarizeFleetFunction ↔ state SummarizeFleet: every DB's child onboarding → the fleet's output and counts."""

from typing import Any

from clickpipes.aws.sfn import SfnGateway
from clickpipes.errors import ConfigurationError
from clickpipes.fleet_models import SummarizeFleetRequest
from clickpipes.fleet_settings import FleetSummarySettings
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.steps.fleet_summary import summarize_fleet


@lambda_step("SummarizeFleet")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    machine = FleetSummarySettings.from_env().onboarding_state_machine_arn
    if not machine:
        raise ConfigurationError("SummarizeFleet needs the onboarding state machine (ONBOARDING_STATE_MACHINE_ARN).")
    output = summarize_fleet(parse(SummarizeFleetRequest, event), sfn=SfnGateway(machine))
    return output.model_dump(mode="json")
