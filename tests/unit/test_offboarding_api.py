"""The offboarding's triggers: POST/GET /offboardings (202, 400, 403, 404, 409) and the tag set to false."""

from __future__ import annotations

from typing import Any

import pytest
import tag_trigger

from tests.unit.conftest import (
    PRINCIPAL,
    FakeContext,
    call_api,
    execution_inputs,
    get_api,
    load_event,
    post_api,
    waiting_machine,
)


@pytest.fixture
def machines(state_machine: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """(onboarding, offboarding) state machines; their executions stay RUNNING."""
    return state_machine, waiting_machine("offboarding", "OFFBOARDING_STATE_MACHINE_ARN", monkeypatch)


def post(body: Any, name: str = "api_post_offboarding.json") -> tuple[int, dict[str, Any]]:
    return post_api(name, body)


def get(offboarding_id: str) -> tuple[int, dict[str, Any]]:
    return get_api("api_get_offboarding.json", "offboarding_id", offboarding_id)


def test_post_starts_an_offboarding_and_get_follows_it(machines: tuple[str, str]) -> None:
    status, body = call_api(load_event("api_post_offboarding.json"))
    assert status == 202, body
    assert body["id"].startswith("orders-pg--")
    assert body["location"] == f"offboardings/{body['id']}"
    assert execution_inputs(machines[1]) == [
        {"db_identifier": "orders-pg", "plan_only": True, "requested_by": "arn:aws:iam::123456789012:user/alice"}
    ]
    assert execution_inputs(machines[0]) == []
    status, view = get(body["id"])
    assert (status, view["status"], view["db_identifier"]) == (200, "RUNNING", "orders-pg")


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"db_identifier": "orders-pg", "requested_by": "me"}, 400, "InvalidInputError"),  # the caller is the API's
        ({"db_identifier": "orders-pg", "revert_setting": True}, 400, "InvalidInputError"),
        ({"db_identifier": "Orders--pg"}, 400, "InvalidInputError"),
        ({"db_identifier": "orders-pg", "db_user": "rdsadmin"}, 403, "ProtectedUserError"),
        ("not json", 400, "InvalidInputError"),
    ],
)
def test_post_refuses(machines: tuple[str, str], body: Any, status: int, error: str) -> None:
    answer, problem = post(body)
    assert (answer, problem["error"]) == (status, error), problem
    assert execution_inputs(machines[1]) == []


def test_get_unknown_is_404(machines: tuple[str, str]) -> None:
    assert get("orders-pg--0123456789ab")[0] == 404
    assert get("not an id")[0] == 404


def test_offboarding_and_onboarding_of_one_db_exclude_each_other(machines: tuple[str, str]) -> None:
    first = post({"db_identifier": "orders-pg"})[1]["id"]
    status, problem = post({"db_identifier": "orders-pg"})
    assert (status, problem["error"]) == (409, "OnboardingInProgressError")
    assert first in problem["message"]
    status, problem = post(
        {"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL}, name="api_post_onboarding.json"
    )
    assert (status, problem["error"]) == (409, "OnboardingInProgressError")
    assert execution_inputs(machines[0]) == []


def test_a_running_onboarding_refuses_an_offboarding(machines: tuple[str, str]) -> None:
    onboarding = post({"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL}, name="api_post_onboarding.json")
    assert onboarding[0] == 202
    status, problem = post({"db_identifier": "orders-pg"})
    assert (status, problem["error"]) == (409, "OnboardingInProgressError")


# the tag -------------------------------------------------------------------------------------------
def tag(rds: Any, arn: str, tags: dict[str, str]) -> None:
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


@pytest.mark.parametrize("event_file", ["tag_cloudtrail.json", "tag_change.json"])
def test_false_on_an_onboarded_db_starts_its_offboarding_once(
    make_db: Any, rds: Any, machines: tuple[str, str], event_file: str
) -> None:
    db = make_db("orders-pg")
    tag(rds, db["DBInstanceArn"], {"clickpipes:onboard": "false", "clickpipes:status": "ready"})
    event = load_event(event_file)
    result = tag_trigger.handler(event, FakeContext())
    assert (result["started"] or "").startswith("orders-pg--"), result
    assert result["reason"] == "offboarding started"
    who = event["detail"]["userIdentity"]["arn"] if event["source"] == "aws.rds" else "unknown (tag change event)"
    assert execution_inputs(machines[1]) == [{"db_identifier": db["DBInstanceArn"], "requested_by": who}]
    assert execution_inputs(machines[0]) == []
    again = tag_trigger.handler(event, FakeContext())
    assert again["started"] is None
    assert len(execution_inputs(machines[1])) == 1


@pytest.mark.parametrize(
    ("tags", "reason"),
    [
        ({"clickpipes:onboard": "false"}, "not onboarded"),
        ({"clickpipes:onboard": "false", "clickpipes:status": "offboarded"}, "not onboarded"),
        ({"clickpipes:status": "ready"}, "was removed: nothing to do"),
    ],
)
def test_false_or_removal_elsewhere_starts_nothing(
    make_db: Any, rds: Any, machines: tuple[str, str], tags: dict[str, str], reason: str
) -> None:
    db = make_db("orders-pg")
    tag(rds, db["DBInstanceArn"], tags)
    result = tag_trigger.handler(load_event("tag_change.json"), FakeContext())
    assert result["started"] is None
    assert reason in result["reason"]
    assert execution_inputs(machines[0]) == execution_inputs(machines[1]) == []
