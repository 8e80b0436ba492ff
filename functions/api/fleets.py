"""The API's fleet routes (included by ``api``; its error handlers apply: 400, 403, 404, 415).

POST /fleet-onboardings          start a fleet (202), 400 invalid input (selector, fields), 403 outside the trust
                                 boundary (the principal, a protected db_user, an account outside MemberAccounts)
GET  /fleet-onboardings/{id}     status, current step, output (the summary) or error, and progress: total,
                                 done, failed, running, pending (200); 404 unknown id
"""

from __future__ import annotations

from clickpipes.aws.fleet import FleetSfnGateway
from clickpipes.errors import ConfigurationError
from clickpipes.fleet_models import FleetInput, FleetRequest
from clickpipes.fleet_settings import FleetApiSettings
from clickpipes.models.base import Model
from clickpipes.steps.start_fleet import get_fleet, start_fleet
from routing import Answer, Call, Reply, Router
from views import Accepted, ExecutionStatus, accepted, problem

router = Router()


class FleetOnboardingAccepted(Accepted, frozen=True, kw_only=True):
    """202: the fleet started."""


class FleetProgress(Model, frozen=True, kw_only=True):
    """The Distributed Map's item counts: child onboardings done (succeeded), failed, running, not yet started."""

    total: int
    done: int
    failed: int
    running: int
    pending: int


class FleetOnboarding(ExecutionStatus, frozen=True, kw_only=True):
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
    body=FleetRequest,
    responses={
        202: Answer("Started", FleetOnboardingAccepted),
        400: problem("Invalid input"),
        403: problem(
            "Outside the trust boundary: PrincipalNotAllowedError, ProtectedUserError, AccountNotAllowedError (an "
            "account outside MemberAccounts)"
        ),
        415: problem("The body is not JSON"),
    },
)
def post_fleet(call: Call) -> Reply:
    sfn, settings = _machine()
    request = call.body_as(FleetRequest)
    execution_input = FleetInput.model_validate(request.model_dump(exclude_unset=True) | {"requested_by": call.caller})
    name = start_fleet(execution_input, sfn=sfn, settings=settings)
    return accepted(FleetOnboardingAccepted, name, "fleet-onboardings")


@router.get(
    "/fleet-onboardings/{fleet_id}",
    summary="Status and progress of a fleet onboarding",
    responses={200: Answer("The fleet", FleetOnboarding), 404: problem("Unknown id")},
)
def get_fleet_status(call: Call) -> FleetOnboarding:
    sfn, _ = _machine()
    view, progress = get_fleet(call.params["fleet_id"], sfn=sfn)
    status = ExecutionStatus.of(view).model_dump()
    return FleetOnboarding(**status, progress=FleetProgress(**progress))
