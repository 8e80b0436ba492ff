"""The API's offboarding routes (included by ``api``; its error handlers apply: 400, 403, 404, 409, 415).

POST /offboardings            start one (202), 400 invalid input, 403 a protected db_user, 409 an onboarding or
                              offboarding of that DB is running
GET  /offboardings/{id}       status, current step, output or error (200), 404 unknown id
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from clickpipes.aws.guard import DbGuard
from clickpipes.aws.sfn import SfnGateway
from clickpipes.errors import InvalidInputError
from clickpipes.offboarding_models import OffboardingInput, OffboardingRequest
from clickpipes.offboarding_settings import MachineSettings
from clickpipes.settings import GuardSettings, TriggerSettings
from clickpipes.steps.start_offboarding import get_offboarding, start_offboarding
from pydantic import BaseModel, ConfigDict

router = Router()  # type: ignore[no-untyped-call]


class OffboardingAccepted(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    status: str
    location: str


class Offboarding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    status: str
    db_identifier: str | None
    current_step: str | None
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    started_at: str
    stopped_at: str | None


class OffboardingProblem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    error: str
    message: str


def _machines() -> tuple[SfnGateway, TriggerSettings]:
    """The offboarding machine (starts, describes); a running onboarding of the DB refuses too (409: the guard)."""
    settings = TriggerSettings.from_env()
    offboarding = MachineSettings.from_env().offboarding_state_machine_arn
    if not offboarding:
        raise InvalidInputError("This stack has no offboarding state machine (OFFBOARDING_STATE_MACHINE_ARN).")
    return SfnGateway(offboarding), settings


def _problem(description: str) -> Any:  # an OpenAPIResponse
    return {"description": description, "content": {"application/json": {"model": OffboardingProblem}}}


@router.post(
    "/offboardings",
    summary="Start an offboarding",
    responses={
        202: {"description": "Started", "content": {"application/json": {"model": OffboardingAccepted}}},
        400: _problem("Invalid input"),
        403: _problem("A protected db_user: ProtectedUserError"),
        409: _problem("An onboarding or offboarding of this DB is running"),
        415: _problem("The body is not JSON"),
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
    accepted = OffboardingAccepted(id=name, status="RUNNING", location=f"offboardings/{name}")
    return Response(
        status_code=202, content_type="application/json", body=accepted, headers={"Location": accepted.location}
    )


@router.get(
    "/offboardings/<offboarding_id>",
    summary="Status of an offboarding",
    responses={
        200: {"description": "The offboarding", "content": {"application/json": {"model": Offboarding}}},
        404: _problem("Unknown id"),
    },
)
def get_offboarding_status(offboarding_id: Annotated[str, Path(max_length=80)]) -> Offboarding:
    sfn, _ = _machines()
    view = get_offboarding(offboarding_id, sfn=sfn)
    return Offboarding(
        id=view.name,
        status=view.status,
        db_identifier=view.input.get("db_identifier"),
        current_step=view.current_step,
        output=view.output,
        error=view.error,
        cause=view.cause,
        started_at=view.started_at,
        stopped_at=view.stopped_at,
    )
