"""The API's fleet routes (included by ``api``; its error handlers apply: 400, 403, 404, 415).

POST /fleet-onboardings          start a fleet (202), 400 invalid input (selector, fields), 403 outside the trust
                                 boundary (the principal, a protected db_user, an account outside MemberAccounts)
GET  /fleet-onboardings/{id}     status, current step, output (the summary) or error, and progress: total,
                                 done, failed, running, pending (200); 404 unknown id
"""

from __future__ import annotations

from typing import Annotated, cast

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from clickpipes.aws.fleet import FleetSfnGateway
from clickpipes.errors import ConfigurationError
from clickpipes.fleet_models import FleetInput, FleetRequest
from clickpipes.fleet_settings import FleetApiSettings
from clickpipes.steps.start_fleet import get_fleet, start_fleet
from pydantic import BaseModel, ConfigDict
from views import Accepted, ExecutionStatus, accepted, problem

router = Router()  # type: ignore[no-untyped-call]


class FleetOnboardingAccepted(Accepted):
    """202: the fleet started."""


class FleetProgress(BaseModel):
    """The Distributed Map's item counts: child onboardings done (succeeded), failed, running, not yet started."""

    model_config = ConfigDict(extra="forbid")
    total: int
    done: int
    failed: int
    running: int
    pending: int


class FleetOnboarding(ExecutionStatus):
    """A fleet's status, current step, output (the summary) or error, and its progress."""

    progress: FleetProgress


def _machine() -> tuple[FleetSfnGateway, FleetApiSettings]:
    settings = FleetApiSettings.from_env()
    if not settings.fleet_state_machine_arn:
        raise ConfigurationError("This stack has no fleet state machine (FLEET_STATE_MACHINE_ARN).")
    return FleetSfnGateway(settings.fleet_state_machine_arn), settings


@router.post(
    "/fleet-onboardings",
    summary="Start a fleet onboarding",
    responses={
        202: {"description": "Started", "content": {"application/json": {"model": FleetOnboardingAccepted}}},
        400: problem("Invalid input"),
        403: problem(
            "Outside the trust boundary: PrincipalNotAllowedError, ProtectedUserError, AccountNotAllowedError (an "
            "account outside MemberAccounts)"
        ),
        415: problem("The body is not JSON"),
    },
)
def post_fleet(request: Annotated[FleetRequest, Body()]) -> Response[FleetOnboardingAccepted]:
    sfn, settings = _machine()
    event = cast(APIGatewayProxyEvent, router.current_event)
    caller = event.request_context.identity.user_arn  # the SigV4 caller, never the body's word
    execution_input = FleetInput(**request.model_dump(exclude_unset=True), requested_by=caller or None)
    name = start_fleet(execution_input, sfn=sfn, settings=settings)
    return accepted(FleetOnboardingAccepted, name, "fleet-onboardings")


@router.get(
    "/fleet-onboardings/<fleet_id>",
    summary="Status and progress of a fleet onboarding",
    responses={
        200: {"description": "The fleet", "content": {"application/json": {"model": FleetOnboarding}}},
        404: problem("Unknown id"),
    },
)
def get_fleet_status(fleet_id: Annotated[str, Path(max_length=80)]) -> FleetOnboarding:
    sfn, _ = _machine()
    view, progress = get_fleet(fleet_id, sfn=sfn)
    status = ExecutionStatus.of(view).model_dump()
    return FleetOnboarding(**status, progress=FleetProgress(**progress))
