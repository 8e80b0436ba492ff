"""ApiFunction: the REST API (AWS_IAM auth) over the onboarding workflow.

POST /onboardings            start one (202), 400 invalid input, 403 outside the trust boundary (principal not
                             allowed, protected user, an account outside MemberAccounts: AccountNotAllowedError),
                             409 one is running for that DB, 415 not JSON
GET  /onboardings/{id}       status, current step, output or error (200), 404 unknown id
POST /offboardings, GET /offboardings/{id}: the same for the offboarding (``offboardings``)
POST /audits, GET /audits/{id}: start an audit of the onboarded DBs, read its findings (``audits``)
POST /fleet-onboardings, GET /fleet-onboardings/{id}: fleets, with progress (``fleets``)
"""

from __future__ import annotations

from typing import Any

import audits
import fleets
import offboardings
from aws_lambda_powertools.utilities.typing import LambdaContext
from clickpipes.aws.guard import DbGuard
from clickpipes.aws.sfn import SfnGateway
from clickpipes.errors import (
    ConfigurationError,
    InvalidInputError,
    OnboardingInProgressError,
    OnboardingNotFoundError,
    PrincipalNotAllowedError,
    ProtectedUserError,
)
from clickpipes.models import OnboardingInput, OnboardingRequest
from clickpipes.observability import logger, metrics, tracer
from clickpipes.settings import GuardSettings, TriggerSettings
from clickpipes.steps.start_onboarding import get_onboarding, start_onboarding
from routing import Answer, Api, Call, Reply
from views import Accepted, ExecutionStatus, accepted, problem

app = Api(
    title="ClickPipes RDS/Aurora IAM onboarding",
    version="1.0.0",
    summary="Start and follow onboardings of RDS/Aurora databases to ClickHouse ClickPipes (IAM DB auth).",
    errors={
        InvalidInputError: 400,
        PrincipalNotAllowedError: 403,  # AccountNotAllowedError is one
        ProtectedUserError: 403,
        OnboardingNotFoundError: 404,
        OnboardingInProgressError: 409,
        ConfigurationError: 500,  # the operator's mistake, not the caller's: with the name that says where to look
    },
    no_route=(
        "No such resource: the API has POST /onboardings, GET /onboardings/{id}, POST /offboardings, "
        "GET /offboardings/{id}, POST /audits, GET /audits/{id}, POST /fleet-onboardings and "
        "GET /fleet-onboardings/{id}."
    ),
)


class Onboarding(ExecutionStatus, frozen=True, kw_only=True):
    """An onboarding's status, current step, output or error."""


def _gateway() -> tuple[SfnGateway, TriggerSettings]:
    """The onboarding machine (starts, describes)."""
    settings = TriggerSettings.from_env()
    return SfnGateway(settings.state_machine_arn), settings


def guard() -> DbGuard:
    """One onboarding or offboarding per DB: a running one of either refuses (409)."""
    return DbGuard(GuardSettings.from_env().guard_table)


@app.post(
    "/onboardings",
    summary="Start an onboarding",
    body=OnboardingRequest,
    responses={
        202: Answer("Started", Accepted),
        400: problem("Invalid input"),
        403: problem(
            "Outside the trust boundary: PrincipalNotAllowedError, ProtectedUserError, AccountNotAllowedError (an "
            "account outside MemberAccounts)"
        ),
        409: problem("An onboarding of this DB is running"),
        415: problem("The body is not JSON"),
    },
)
def post_onboarding(call: Call) -> Reply:
    sfn, settings = _gateway()
    request = call.body_as(OnboardingRequest)
    execution_input = OnboardingInput.model_validate(
        request.model_dump(exclude_unset=True) | {"requested_by": call.caller}
    )
    name = start_onboarding(execution_input, sfn=sfn, guard=guard(), settings=settings)
    return accepted(Accepted, name, "onboardings")


@app.get(
    "/onboardings/{onboarding_id}",
    summary="Status of an onboarding",
    responses={200: Answer("The onboarding", Onboarding), 404: problem("Unknown id")},
)
def get_onboarding_status(call: Call) -> Onboarding:
    sfn, _ = _gateway()
    return Onboarding.of(get_onboarding(call.params["onboarding_id"], sfn=sfn))


app.include(offboardings.router)
app.include(audits.router)
app.include(fleets.router)


def openapi_document() -> dict[str, Any]:
    """The published OpenAPI document (functions/api/openapi.json, ``make openapi``), from the route table."""
    import openapi  # noqa: PLC0415  # only `make openapi` and the tests need it: not in the cold start

    return openapi.document(app)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event)
