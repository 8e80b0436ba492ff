"""The fleet's routes: POST /fleet-onboardings (202, 400, 403) and GET /fleet-onboardings/{id} (200 with
progress, 404), on moto."""

from __future__ import annotations

import json
from typing import Any

import api
import boto3
import pytest

from tests.unit.conftest import FakeContext, load_event

WAIT = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}})


@pytest.fixture
def fleet_machine(state_machine: str, monkeypatch: pytest.MonkeyPatch) -> str:
    arn = boto3.client("stepfunctions").create_state_machine(
        name="fleet", definition=WAIT, roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    monkeypatch.setenv("FLEET_STATE_MACHINE_ARN", arn)
    return str(arn)


def call(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = api.handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def post(body: Any) -> tuple[int, dict[str, Any]]:
    event = load_event("api_post_fleet_onboarding.json")
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    return call(event)


def get(fleet_id: str) -> tuple[int, dict[str, Any]]:
    event = load_event("api_get_fleet_onboarding.json")
    event["path"] = f"/fleet-onboardings/{fleet_id}"
    event["pathParameters"] = {"fleet_id": fleet_id}
    return call(event)


def test_post_starts_a_fleet_and_get_follows_it(fleet_machine: str) -> None:
    status, body = call(load_event("api_post_fleet_onboarding.json"))
    assert status == 202, body
    assert body["id"].startswith("fleet--")
    assert body["location"] == f"fleet-onboardings/{body['id']}"
    sfn = boto3.client("stepfunctions")
    (execution,) = sfn.list_executions(stateMachineArn=fleet_machine)["executions"]
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert started["tag"] == {"key": "team", "value": "orders"}
    assert started["requested_by"] == "arn:aws:iam::123456789012:user/alice"  # the SigV4 caller

    status, fleet = get(body["id"])
    assert status == 200, fleet
    assert (fleet["id"], fleet["status"]) == (body["id"], "RUNNING")
    assert fleet["progress"] == {"total": 0, "done": 0, "failed": 0, "running": 0, "pending": 0}  # no map run yet


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"clickhouse_role_arn": "arn:aws:iam::111122223333:role/CH"}, 400, "InvalidInputError"),  # no selector
        ({"tag": {"key": "k", "value": "v"}, "db_usr": "x"}, 400, "InvalidInputError"),
        (
            {"tag": {"key": "k", "value": "v"}, "clickhouse_role_arn": "arn:aws:iam::999999999999:role/x"},
            403,
            "PrincipalNotAllowedError",
        ),
        ({"tag": {"key": "k", "value": "v"}, "db_user": "rdsadmin"}, 403, "ProtectedUserError"),
        ("not json", 400, "InvalidInputError"),
    ],
)
def test_bad_fleets_are_refused_and_start_nothing(fleet_machine: str, body: Any, status: int, error: str) -> None:
    answer, problem = post(body)
    assert (answer, problem["error"]) == (status, error), problem
    assert boto3.client("stepfunctions").list_executions(stateMachineArn=fleet_machine)["executions"] == []


@pytest.mark.parametrize("fleet_id", ["fleet--0123456789ab", "orders-pg--0123456789ab", "x"])
def test_an_unknown_fleet_is_404(fleet_machine: str, fleet_id: str) -> None:
    status, problem = get(fleet_id)
    assert (status, problem["error"]) == (404, "OnboardingNotFoundError")
