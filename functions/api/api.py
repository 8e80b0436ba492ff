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

import json
from typing import Annotated, Any

import audits
import fleets
import offboardings
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
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
from views import Accepted, ExecutionStatus, Problem, accepted, problem

app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(
    title="ClickPipes RDS/Aurora IAM onboarding",
    version="1.0.0",
    summary="Start and follow onboardings of RDS/Aurora databases to ClickHouse ClickPipes (IAM DB auth).",
)
app.include_router(offboardings.router)
app.include_router(audits.router)
app.include_router(fleets.router)


class Onboarding(ExecutionStatus):
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
    responses={
        202: {"description": "Started", "content": {"application/json": {"model": Accepted}}},
        400: problem("Invalid input"),
        403: problem(
            "Outside the trust boundary: PrincipalNotAllowedError, ProtectedUserError, AccountNotAllowedError (an "
            "account outside MemberAccounts)"
        ),
        409: problem("An onboarding of this DB is running"),
        415: problem("The body is not JSON"),
    },
)
def post_onboarding(request: Annotated[OnboardingRequest, Body()]) -> Response[Accepted]:
    sfn, settings = _gateway()
    # who asked: the SigV4-authenticated caller, as API Gateway's AWS_IAM authorizer saw it (never the body's word)
    caller = app.current_event.request_context.identity.user_arn
    execution_input = OnboardingInput(**request.model_dump(exclude_unset=True), requested_by=caller or None)
    name = start_onboarding(execution_input, sfn=sfn, guard=guard(), settings=settings)
    return accepted(Accepted, name, "onboardings")


@app.get(
    "/onboardings/<onboarding_id>",
    summary="Status of an onboarding",
    responses={
        200: {"description": "The onboarding", "content": {"application/json": {"model": Onboarding}}},
        404: problem("Unknown id"),
    },
)
def get_onboarding_status(onboarding_id: Annotated[str, Path(max_length=80)]) -> Onboarding:
    sfn, _ = _gateway()
    return Onboarding.of(get_onboarding(onboarding_id, sfn=sfn))


def _problem(status: int, exc: Exception, message: str | None = None) -> Response[Problem]:
    body = Problem(error=type(exc).__name__, message=message or str(exc))
    return Response(status_code=status, content_type="application/json", body=body)


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[Problem]:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc'] if p != 'body') or 'body'}: {err['msg']}" for err in exc.errors()
    )
    return _problem(400, InvalidInputError(), f"Invalid input: {problems}.")


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_content_type(exc: RequestUnsupportedContentType) -> Response[Problem]:
    return _problem(415, InvalidInputError(), "Send the body as JSON (Content-Type: application/json).")


@app.exception_handler(InvalidInputError)
def _invalid_input(exc: InvalidInputError) -> Response[Problem]:
    return _problem(400, exc)


@app.exception_handler(BadRequestError)
def _bad_request(exc: BadRequestError) -> Response[Problem]:
    return _problem(400, InvalidInputError(), f"Invalid input: {exc.msg}")


@app.exception_handler(PrincipalNotAllowedError)
@app.exception_handler(ProtectedUserError)
def _forbidden(exc: PrincipalNotAllowedError | ProtectedUserError) -> Response[Problem]:
    return _problem(403, exc)


@app.exception_handler(OnboardingNotFoundError)
def _not_found(exc: OnboardingNotFoundError) -> Response[Problem]:
    return _problem(404, exc)


@app.not_found
def _no_route(exc: NotFoundError) -> Response[Problem]:
    return _problem(
        404,
        exc,
        "No such resource: the API has POST /onboardings, GET /onboardings/{id}, POST /offboardings, "
        "GET /offboardings/{id}, POST /audits, GET /audits/{id}, POST /fleet-onboardings and "
        "GET /fleet-onboardings/{id}.",
    )


@app.exception_handler(ConfigurationError)
def _misconfigured(exc: ConfigurationError) -> Response[Problem]:
    # the operator's mistake, not the caller's: 500, with the name that says where to look
    return _problem(500, exc)


@app.exception_handler(OnboardingInProgressError)
def _conflict(exc: OnboardingInProgressError) -> Response[Problem]:
    return _problem(409, exc)


def openapi_document() -> dict[str, Any]:
    """The published OpenAPI document (functions/api/openapi.json): Powertools' schema, without the 422
    it lists for validation errors, which this API answers with 400 (see ``_invalid_request``)."""
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema())
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["responses"].pop("422", None)
    for unused in ("HTTPValidationError", "ValidationError"):
        document["components"]["schemas"].pop(unused, None)
    return document


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
