"""The API's offboarding routes (included by ``api``; its error handlers apply: 400, 403, 404, 409, 415).

POST /offboardings            start one (202), 400 invalid input, 403 a protected db_user or an account outside
                              MemberAccounts (AccountNotAllowedError), 409 an onboarding or
                              offboarding of that DB is running
GET  /offboardings/{id}       status, current step, output or error (200), 404 unknown id
"""

from __future__ import annotations

from typing import Annotated, cast

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from clickpipes.aws.guard import DbGuard
from clickpipes.aws.sfn import SfnGateway
from clickpipes.errors import ConfigurationError
from clickpipes.offboarding_models import OffboardingInput, OffboardingRequest
from clickpipes.offboarding_settings import MachineSettings
from clickpipes.settings import GuardSettings, TriggerSettings
from clickpipes.steps.start_offboarding import get_offboarding, start_offboarding
from views import Accepted, ExecutionStatus, accepted, problem

router = Router()  # type: ignore[no-untyped-call]


class OffboardingAccepted(Accepted):
    """202: the offboarding started."""


class Offboarding(ExecutionStatus):
    """An offboarding's status, current step, output or error."""


def _machines() -> tuple[SfnGateway, TriggerSettings]:
    """The offboarding machine (starts, describes); a running onboarding of the DB refuses too (409: the guard)."""
    settings = TriggerSettings.from_env()
    offboarding = MachineSettings.from_env().offboarding_state_machine_arn
    if not offboarding:
        raise ConfigurationError("This stack has no offboarding state machine (OFFBOARDING_STATE_MACHINE_ARN).")
    return SfnGateway(offboarding), settings


@router.post(
    "/offboardings",
    summary="Start an offboarding",
    responses={
        202: {"description": "Started", "content": {"application/json": {"model": OffboardingAccepted}}},
        400: problem("Invalid input"),
        403: problem(
            "A protected db_user (ProtectedUserError), an account outside MemberAccounts (AccountNotAllowedError)"
        ),
        409: problem("An onboarding or offboarding of this DB is running"),
        415: problem("The body is not JSON"),
    },
)
def post_offboarding(request: Annotated[OffboardingRequest, Body()]) -> Response[OffboardingAccepted]:
    sfn, settings = _machines()
    event = cast(APIGatewayProxyEvent, router.current_event)
    caller = event.request_context.identity.user_arn  # the SigV4 caller, never the body's word
    execution_input = OffboardingInput(**request.model_dump(exclude_unset=True), requested_by=caller or None)
    name = start_offboarding(
        execution_input, sfn=sfn, guard=DbGuard(GuardSettings.from_env().guard_table), settings=settings
    )
    return accepted(OffboardingAccepted, name, "offboardings")


@router.get(
    "/offboardings/<offboarding_id>",
    summary="Status of an offboarding",
    responses={
        200: {"description": "The offboarding", "content": {"application/json": {"model": Offboarding}}},
        404: problem("Unknown id"),
    },
)
def get_offboarding_status(offboarding_id: Annotated[str, Path(max_length=80)]) -> Offboarding:
    sfn, _ = _machines()
    return Offboarding.of(get_offboarding(offboarding_id, sfn=sfn))
