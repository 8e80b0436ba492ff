"""The API's offboarding routes (included by ``api``; its error handlers apply: 400, 403, 404, 409, 415).

POST /offboardings            start one (202), 400 invalid input, 403 a protected db_user or an account outside
                              MemberAccounts (AccountNotAllowedError), 409 an onboarding or
                              offboarding of that DB is running
GET  /offboardings/{id}       status, current step, output or error (200), 404 unknown id
"""

from __future__ import annotations

from clickpipes.aws.guard import DbGuard
from clickpipes.aws.sfn import SfnGateway
from clickpipes.errors import ConfigurationError
from clickpipes.offboarding_models import OffboardingInput, OffboardingRequest
from clickpipes.offboarding_settings import MachineSettings
from clickpipes.settings import GuardSettings, TriggerSettings
from clickpipes.steps.start_offboarding import get_offboarding, start_offboarding
from routing import Answer, Call, Reply, Router
from views import Accepted, ExecutionStatus, accepted, problem

router = Router()


class OffboardingAccepted(Accepted, frozen=True, kw_only=True):
    """202: the offboarding started."""


class Offboarding(ExecutionStatus, frozen=True, kw_only=True):
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
    body=OffboardingRequest,
    responses={
        202: Answer("Started", OffboardingAccepted),
        400: problem("Invalid input"),
        403: problem(
            "A protected db_user (ProtectedUserError), an account outside MemberAccounts (AccountNotAllowedError)"
        ),
        409: problem("An onboarding or offboarding of this DB is running"),
        415: problem("The body is not JSON"),
    },
)
def post_offboarding(call: Call) -> Reply:
    sfn, settings = _machines()
    request = call.body_as(OffboardingRequest)
    execution_input = OffboardingInput.model_validate(
        request.model_dump(exclude_unset=True) | {"requested_by": call.caller}
    )
    name = start_offboarding(
        execution_input, sfn=sfn, guard=DbGuard(GuardSettings.from_env().guard_table), settings=settings
    )
    return accepted(OffboardingAccepted, name, "offboardings")


@router.get(
    "/offboardings/{offboarding_id}",
    summary="Status of an offboarding",
    responses={200: Answer("The offboarding", Offboarding), 404: problem("Unknown id")},
)
def get_offboarding_status(call: Call) -> Offboarding:
    sfn, _ = _machines()
    return Offboarding.of(get_offboarding(call.params["offboarding_id"], sfn=sfn))
