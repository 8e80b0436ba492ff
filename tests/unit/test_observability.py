"""Log lines carry the DB identifier and, when the event has it, the execution name: never payloads."""

from __future__ import annotations

from typing import Any

import check_db_status
import pytest
from clickpipes.errors import DbNotFoundError
from clickpipes.observability import log_keys, logger

from tests.unit.conftest import FakeContext, load_event

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:onboarding:orders-pg--1a2b3c"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"target": {"db_identifier": "orders-pg", "arn": "x"}}, {"db_identifier": "orders-pg"}),
        (
            {"request": {"db_identifier": "orders-pg"}, "execution_arn": EXECUTION},
            {"db_identifier": "orders-pg", "execution_name": "orders-pg--1a2b3c"},
        ),
        ({"input": {"db_identifier": "orders-pg"}, "target": None}, {"db_identifier": "orders-pg"}),
        (
            {"target": {"db_identifier": "orders-pg"}, "execution_name": "orders-pg--1a2b3c"},
            {"db_identifier": "orders-pg", "execution_name": "orders-pg--1a2b3c"},
        ),
        ({"input": {}}, {}),
        ("not a dict", {}),
    ],
)
def test_log_keys(event: Any, expected: dict[str, str]) -> None:
    assert log_keys(event) == expected


def test_a_step_logs_its_db_and_no_payload(aws: None, context: FakeContext) -> None:
    event = load_event("check_db_status.json")
    with pytest.raises(DbNotFoundError):  # no DB in this moto: the step fails, and says which DB in its log
        check_db_status.handler(event, context)
    keys = logger.get_current_keys()  # what every log line of the invocation carried
    assert keys["db_identifier"] == event["target"]["db_identifier"]
    assert keys["step"] == "CheckDbStatus"
    assert "target" not in keys
    assert not any(isinstance(value, dict) for value in keys.values())


def test_the_execution_name_reaches_the_logs_not_the_step(aws: None, context: FakeContext) -> None:
    event = load_event("check_db_status.json") | {"execution_name": "orders-pg--1a2b3c"}
    with pytest.raises(DbNotFoundError):  # not InvalidInputError: the step's model never saw execution_name
        check_db_status.handler(event, context)
    assert logger.get_current_keys()["execution_name"] == "orders-pg--1a2b3c"
