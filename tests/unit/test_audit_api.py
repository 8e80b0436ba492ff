"""POST /audits and GET /audits/{id}: 202 with the audit's id, 400 on bad input (nothing started), 404, and 500
(ConfigurationError) on a stack without the audit machine."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.conftest import call_api, execution_inputs, get_api, load_event, post_api, waiting_machine


@pytest.fixture
def audit_machine(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The audit state machine (AUDIT_STATE_MACHINE_ARN)."""
    return waiting_machine("audit", "AUDIT_STATE_MACHINE_ARN", monkeypatch)


def post(body: Any) -> tuple[int, dict[str, Any]]:
    return post_api("api_post_audit.json", body)


def get(audit_id: str) -> tuple[int, dict[str, Any]]:
    return get_api("api_get_audit.json", "audit_id", audit_id)


def test_post_starts_an_audit_and_get_follows_it(audit_machine: str) -> None:
    status, body = call_api(load_event("api_post_audit.json"))
    assert status == 202, body
    assert body["id"].startswith("audit--")
    assert body == {"id": body["id"], "status": "RUNNING", "location": f"audits/{body['id']}"}
    assert execution_inputs(audit_machine) == [{"db_identifiers": ["orders-pg"], "repair": False}]
    status, view = get(body["id"])
    assert status == 200, view
    assert (view["status"], view["db_identifiers"], view["db_identifier"]) == ("RUNNING", ["orders-pg"], None)


def test_an_empty_body_audits_every_onboarded_db(audit_machine: str) -> None:
    status, body = post({})
    assert status == 202, body
    assert execution_inputs(audit_machine) == [{}]
    assert get(body["id"])[1]["db_identifiers"] is None


def test_audits_hold_no_db_two_may_run(audit_machine: str) -> None:
    assert post({"db_identifiers": ["orders-pg"]})[0] == post({"db_identifiers": ["orders-pg"]})[0] == 202
    assert len(execution_inputs(audit_machine)) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"db_identifiers": ["Orders--pg"]}, "db_identifier 'Orders--pg' is neither"),
        ({"db_identifiers": [""]}, "db_identifiers[0]"),
        ({"db_identifiers": "orders-pg"}, "db_identifiers"),
        ({"repair": "yes please"}, "repair"),
        ({"delete_orphan": True}, "delete_orphan"),  # a typo is refused, never ignored
        ({"requested_by": "me"}, "requested_by"),
        ("not json", "Invalid input"),
    ],
)
def test_post_refuses_bad_input_and_starts_nothing(audit_machine: str, body: Any, message: str) -> None:
    status, problem = post(body)
    assert (status, problem["error"]) == (400, "InvalidInputError"), problem
    assert message in problem["message"]
    assert execution_inputs(audit_machine) == []


def test_get_unknown_is_404(audit_machine: str) -> None:
    status, problem = get("audit--0123456789ab")
    assert (status, problem) == (
        404,
        {"error": "OnboardingNotFoundError", "message": "No audit with id 'audit--0123456789ab'."},
    )
    assert get("not an id")[0] == 404


def test_a_stack_without_the_audit_machine_is_a_configuration_error(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDIT_STATE_MACHINE_ARN", raising=False)
    status, problem = post({})
    assert (status, problem["error"]) == (500, "ConfigurationError")
    assert "AUDIT_STATE_MACHINE_ARN" in problem["message"]
