"""The models' base (``clickpipes.models.base``, msgspec Structs with pydantic's meaning): a model is checked
whichever way it is made, a problem names its field, a secret never prints, ``exclude_unset`` keeps what was given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from clickpipes.errors import InvalidInputError
from clickpipes.models import AdminCredentials, OnboardingRequest, TargetRequest, parse
from clickpipes.models.base import ValidationError

EVENTS = Path(__file__).resolve().parents[2] / "events"


def target_event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "enable_iam_auth.json").read_text())
    return {"target": event["target"] | changes}


def test_a_problem_names_its_field_even_nested() -> None:
    with pytest.raises(InvalidInputError, match=r"^Invalid input: target\.port: Expected `int` >= 1\.$"):
        parse(TargetRequest, target_event(port=0))
    with pytest.raises(InvalidInputError, match=r"^Invalid input: target\.extra: Extra inputs are not permitted\.$"):
        parse(TargetRequest, target_event(extra=1))
    with pytest.raises(InvalidInputError, match=r"^Invalid input: target: Field required\.$"):
        parse(TargetRequest, {})


def test_the_constructor_and_model_copy_check_like_parse() -> None:
    request = OnboardingRequest(db_identifier="orders-pg")
    with pytest.raises(ValidationError, match="db_identifier"):
        OnboardingRequest(db_identifier="")
    with pytest.raises(ValidationError, match="publication"):
        request.model_copy(update={"publication": "no spaces allowed"})
    service = "12345678-1234-1234-1234-123456789012"
    both = {"db_identifier": "orders-pg", "clickhouse_role_arn": "arn:aws:iam::123456789012:role/c"}
    with pytest.raises(ValidationError, match="not both"):  # the model's own rule, on every path
        OnboardingRequest(**both, clickhouse_service_id=service)
    with pytest.raises(InvalidInputError, match="not both"):
        parse(OnboardingRequest, both | {"clickhouse_service_id": service})


def test_a_secret_never_prints_and_a_str_becomes_one() -> None:
    credentials = AdminCredentials(username="master", password="hunter2-secret", host="h", port=1, database=None)
    shown = repr(credentials) + str(credentials) + credentials.model_dump_json() + str(credentials.model_dump())
    assert "hunter2-secret" not in shown
    assert credentials.password.get_secret_value() == "hunter2-secret"
    parsed = AdminCredentials.model_validate(credentials.model_dump() | {"password": "pw"})
    assert parsed.password.get_secret_value() == "pw"


def test_exclude_unset_keeps_what_the_data_gave_defaults_included() -> None:
    given = parse(OnboardingRequest, {"db_identifier": "orders-pg", "cdc": True})
    assert given.model_dump(exclude_unset=True) == {"db_identifier": "orders-pg", "cdc": True}
    assert given.model_dump()["publication"] == "clickpipes"
    made = OnboardingRequest(db_identifier="orders-pg", cdc=True)  # in Python: what differs from the defaults
    assert made.model_dump(exclude_unset=True) == {"db_identifier": "orders-pg"}
    assert given == made  # what is remembered is never compared
