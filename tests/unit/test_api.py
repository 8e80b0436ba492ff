"""The REST API: status codes, precise 400s, 404, 409; the published OpenAPI document matches the code."""

import base64
import json
from pathlib import Path
from typing import Any

import api
import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.conftest import PRINCIPAL, call_api, get_api, load_event, post_api

OPENAPI = Path(__file__).resolve().parents[2] / "functions" / "api" / "openapi.json"


def post(body: Any) -> tuple[int, dict[str, Any]]:
    return post_api("api_post_onboarding.json", body)


def get(onboarding_id: str) -> tuple[int, dict[str, Any]]:
    return get_api("api_get_onboarding.json", "onboarding_id", onboarding_id)


def test_post_starts_an_onboarding_and_get_follows_it(state_machine: str) -> None:
    status, body = call_api(load_event("api_post_onboarding.json"))
    assert status == 202
    assert body["status"] == "RUNNING"
    assert body["id"].startswith("orders-pg--")
    assert body["location"] == f"onboardings/{body['id']}"  # relative to .../v1/onboardings: keeps the stage
    execution = boto3.client("stepfunctions").list_executions(stateMachineArn=state_machine)["executions"][0]
    assert execution["name"] == body["id"]

    status, onboarding = get(body["id"])
    assert status == 200
    assert onboarding["id"] == body["id"]
    assert onboarding["status"] == "RUNNING"
    assert onboarding["db_identifier"] == "orders-pg"
    assert onboarding["output"] is None


def test_second_post_for_a_running_db_is_409(state_machine: str) -> None:
    first = post({"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL})[1]["id"]
    status, body = post(
        {"db_identifier": "arn:aws:rds:us-east-1:123456789012:db:orders-pg", "clickhouse_role_arn": PRINCIPAL}
    )
    assert status == 409
    assert body["error"] == "OnboardingInProgressError"
    assert first in body["message"]
    # another DB is not blocked
    assert post({"db_identifier": "orders-pg-2", "clickhouse_role_arn": PRINCIPAL})[0] == 202


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"db_identifier": "orders-pg", "clickhouse_role_arn": "*"}, "clickhouse_role_arn"),
        ({"db_identifier": "orders-pg"}, "clickhouse_role_arn is required"),
        ({"clickhouse_role_arn": PRINCIPAL}, "db_identifier: Field required"),
        ({"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL, "db_user": "x'; DROP USER admin"}, "db_user"),
        (
            {"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL, "extra": 1},
            "extra: Extra inputs are not permitted",
        ),
        ({"db_identifier": "bad--id", "clickhouse_role_arn": PRINCIPAL}, "db_identifier"),
        ({"db_identifier": 42, "clickhouse_role_arn": PRINCIPAL}, "db_identifier: Expected `str`, got `int`"),
        ("not json", "Invalid input"),
        ([], "Invalid input"),
    ],
)
def test_invalid_input_is_400_and_starts_nothing(state_machine: str, body: Any, message: str) -> None:
    status, problem = post(body)
    assert status == 400
    assert problem["error"] == "InvalidInputError"
    assert message in problem["message"]
    assert boto3.client("stepfunctions").list_executions(stateMachineArn=state_machine)["executions"] == []


def test_non_json_body_is_415_in_the_api_shape(state_machine: str) -> None:
    event = load_event("api_post_onboarding.json")
    event["headers"]["Content-Type"] = "text/plain"
    status, problem = call_api(event)
    assert status == 415
    assert problem == {
        "error": "InvalidInputError",
        "message": "Send the body as JSON (Content-Type: application/json).",
    }


def test_a_base64_body_or_one_without_content_type_is_read_as_json(state_machine: str) -> None:
    event = load_event("api_post_onboarding.json")
    event |= {"body": base64.b64encode(event["body"].encode()).decode(), "isBase64Encoded": True}
    assert call_api(event)[0] == 202
    event = load_event("api_post_onboarding.json")
    del event["headers"]["Content-Type"]
    event["body"] = json.dumps({"db_identifier": "orders-pg-2", "clickhouse_role_arn": PRINCIPAL})
    assert call_api(event)[0] == 202


def test_sample_invalid_event_is_400(state_machine: str) -> None:
    assert call_api(load_event("api_post_onboarding_invalid.json"))[0] == 400


@pytest.mark.parametrize(
    ("onboarding_id", "error"),
    [
        ("orders-pg--0123456789ab", "OnboardingNotFoundError"),
        ("nope", "OnboardingNotFoundError"),
        ("x" * 80, "OnboardingNotFoundError"),
        ("../../etc", "NotFoundError"),
    ],
)
def test_unknown_id_is_404(state_machine: str, onboarding_id: str, error: str) -> None:
    status, problem = get(onboarding_id)
    assert status == 404
    assert problem["error"] == error


def test_a_too_long_id_is_400(state_machine: str) -> None:
    status, problem = get("x" * 81)  # the longest execution name is 80
    assert (status, problem["error"]) == (400, "InvalidInputError")
    assert "onboarding_id" in problem["message"]


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/onboardings/x"), ("PUT", "/onboardings"), ("GET", "/")])
def test_no_route_is_404_naming_the_routes(state_machine: str, method: str, path: str) -> None:
    event = load_event("api_get_onboarding.json") | {"httpMethod": method, "path": path}
    status, problem = call_api(event)
    assert (status, problem["error"]) == (404, "NotFoundError")
    assert "POST /onboardings" in problem["message"]


def test_a_trailing_slash_is_the_same_resource(state_machine: str) -> None:
    event = load_event("api_post_onboarding.json")
    event["path"] += "/"
    assert call_api(event)[0] == 202


def test_published_openapi_document_matches_the_code() -> None:
    assert json.loads(OPENAPI.read_text()) == api.openapi_document(), "run: make openapi"


def test_the_openapi_document_is_valid_openapi_3_1() -> None:
    from openapi_spec_validator import validate  # comes with moto[server] (dev)

    document = api.openapi_document()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on an invalid document
    schemas = document["components"]["schemas"]
    assert schemas["OnboardingRequest"]["additionalProperties"] is False  # unknown fields are refused (400)
    refs = {m for m in json.dumps(document["paths"]).split('"') if m.startswith("#/components/schemas/")}
    assert {ref.rsplit("/", 1)[1] for ref in refs} <= set(schemas)


def test_openapi_documents_exactly_the_status_codes_the_api_answers() -> None:
    paths = api.openapi_document()["paths"]
    assert sorted(paths["/onboardings"]["post"]["responses"]) == ["202", "400", "403", "409", "415"]
    assert sorted(paths["/onboardings/{onboarding_id}"]["get"]["responses"]) == ["200", "404"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=6,
)


@settings(  # no deadline: each example is a moto round trip, slow on a shared machine
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    st.one_of(
        st.dictionaries(
            st.sampled_from(["db_identifier", "clickhouse_role_arn", "db_user", "plan_only", "x"]), json_values
        ),
        st.fixed_dictionaries(
            {
                "db_identifier": st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True),
                "clickhouse_role_arn": st.just(PRINCIPAL),
            },
            optional={"db_user": st.text(max_size=70), "schemas": st.lists(st.text(max_size=10), max_size=2)},
        ),
        json_values,
    )
)
def test_any_body_is_202_409_or_a_precise_400(state_machine: str, body: Any) -> None:
    status, answer = post(body)
    assert status in {202, 400, 409}
    if status == 400:
        assert answer["error"] == "InvalidInputError"
        assert answer["message"]
    if status == 202:
        assert answer["id"].startswith(f"{body['db_identifier']}--")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"db_identifier": "orders-pg", "clickhouse_role_arn": "arn:aws:iam::999988887777:role/x"},
            "PrincipalNotAllowedError",
        ),
        ({"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL, "db_user": "rdsadmin"}, "ProtectedUserError"),
        (  # a DB of an account that is neither the stack's nor in MemberAccounts
            {"db_identifier": "arn:aws:rds:us-east-1:999999999999:db:orders-pg", "clickhouse_role_arn": PRINCIPAL},
            "AccountNotAllowedError",
        ),
    ],
)
def test_outside_the_trust_boundary_is_403_and_starts_nothing(state_machine: str, body: Any, error: str) -> None:
    status, problem = post(body)
    assert (status, problem["error"]) == (403, error)
    assert boto3.client("stepfunctions").list_executions(stateMachineArn=state_machine)["executions"] == []


def test_the_requester_is_the_signed_caller_not_the_body(state_machine: str) -> None:
    status, problem = post({"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL, "requested_by": "me"})
    assert (status, problem["error"]) == (400, "InvalidInputError")
    assert "requested_by" in problem["message"]
    assert post({"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL})[0] == 202
    sfn = boto3.client("stepfunctions")
    execution = sfn.list_executions(stateMachineArn=state_machine)["executions"][0]
    execution_input = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    caller = load_event("api_post_onboarding.json")["requestContext"]["identity"]["userArn"]
    assert execution_input["requested_by"] == caller


def test_a_misconfigured_stack_is_500_configuration_error(state_machine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_MACHINE_ARN", "not-an-arn")  # the operator's mistake, not the caller's
    status, body = post({"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL})
    assert status == 500
    assert body["error"] == "ConfigurationError"
    assert "STATE_MACHINE_ARN" in body["message"]
    assert not boto3.client("stepfunctions").list_executions(stateMachineArn=state_machine)["executions"]
