"""ResolveFleetFunction ↔ state ResolveFleet: the fleet's input → the DBs to onboard, one child onboarding each."""

from typing import Any

from clickpipes.aws.clients import client_in
from clickpipes.aws.fleet import FleetRdsGateway
from clickpipes.fleet_models import FleetInput, ResolveFleetRequest
from clickpipes.fleet_settings import FleetSettings
from clickpipes.models import parse
from clickpipes.observability import lambda_step
from clickpipes.steps.fleet_resolve import resolve_fleet


@lambda_step("ResolveFleet")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    envelope = parse(ResolveFleetRequest, event)
    plan = resolve_fleet(
        parse(FleetInput, envelope.request),
        rds=lambda account, region: FleetRdsGateway(client_in("rds", account, region)),
        settings=FleetSettings.from_env(),
        execution_name=envelope.fleet_execution,
    )
    return plan.model_dump(mode="json")
