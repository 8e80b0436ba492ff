"""Property-based tests (hypothesis) on what users control: whatever is accepted is safe to put in SQL and
IAM documents; whatever is refused gets a named error (400 at the API)."""

from __future__ import annotations

import json
import re
import string
from typing import Any

import pytest
from clickpipes import rules
from clickpipes.errors import InvalidInputError
from clickpipes.models import OnboardingInput, parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

SAFE_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
anything = st.text(min_size=0, max_size=100)
nasty = st.text(alphabet=string.printable + "\u00a0\u2028\u202e\uff0a\u0430\u0435'\"`\\;*", max_size=80)
accounts = st.from_regex(r"[0-9]{12}", fullmatch=True)
role_names = st.from_regex(r"[A-Za-z0-9_+=,.@-]{1,64}", fullmatch=True)


@given(st.one_of(anything, nasty))
def test_user_names_are_accepted_only_when_safe(name: str) -> None:
    try:
        accepted = rules.check_db_user(name)
    except InvalidInputError as exc:
        assert "db_user" in str(exc)
        return
    assert SAFE_IDENTIFIER.fullmatch(accepted)
    # what psycopg sends is exactly the quoted name: no way out of the identifier
    assert sql.Identifier(accepted).as_string(None) == f'"{accepted}"'


@given(st.one_of(anything, nasty))
def test_db_references_are_identifiers_or_rds_arns(reference: str) -> None:
    try:
        kind, identifier, region = rules.parse_db_reference(reference)
    except InvalidInputError as exc:
        assert "db_identifier" in str(exc)
        return
    assert re.fullmatch(r"[a-z][a-z0-9-]{0,62}", identifier)
    assert "--" not in identifier
    assert not identifier.endswith("-")
    assert kind in (None, "instance", "cluster")
    assert region is None or reference.startswith("arn:")


@given(st.one_of(anything, nasty, st.builds(lambda a, n: f"arn:aws:iam::{a}:role/{n}", accounts, role_names)))
def test_principals_are_exactly_one_role(arn: str) -> None:
    try:
        accepted = rules.check_principal(arn, partition="aws")
    except InvalidInputError as exc:
        assert "clickhouse_role_arn" in str(exc)
        return
    assert re.fullmatch(r"arn:aws:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+", accepted)
    assert "*" not in accepted
    assert ":root" not in accepted
    policy = rules.trust_policy(accepted)
    assert policy["Statement"][0]["Principal"] == {"AWS": accepted}  # type: ignore[index]


@given(st.sampled_from(["aws-cn", "aws-us-gov"]), accounts, role_names)
def test_principals_from_another_partition_are_refused(partition: str, account: str, name: str) -> None:
    with pytest.raises(InvalidInputError, match="partition"):
        rules.check_principal(f"arn:{partition}:iam::{account}:role/{name}", partition="aws")


@given(
    st.sampled_from(["user", "group", "policy", "instance-profile", "assumed-role", "federated-user"]),
    accounts,
    role_names,
)
def test_lookalike_principals_are_refused(kind: str, account: str, name: str) -> None:
    for arn in (
        f"arn:aws:iam::{account}:{kind}/{name}",
        f"arn:aws:sts::{account}:{kind}/{name}",
        f"{arn_prefix()}{name}",
    ):
        with pytest.raises(InvalidInputError):
            rules.check_principal(arn, partition="aws")


def arn_prefix() -> str:
    return "arn:aws:iam::*:role/"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from([*OnboardingInput.model_fields, "extra", "DB_IDENTIFIER"]), json_values, max_size=6)
)
def test_any_json_input_is_parsed_or_refused_with_a_named_error(event: dict[str, Any]) -> None:
    try:
        parsed = parse(OnboardingInput, event)
    except InvalidInputError as exc:
        assert str(exc).startswith("Invalid input:")
        return
    assert set(json.loads(parsed.model_dump_json())) == set(OnboardingInput.model_fields)
    for schema in parsed.schemas or []:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]{0,62}", schema)
    for table in parsed.tables or []:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]{0,62}\.[A-Za-z_][A-Za-z0-9_$]{0,62}", table)


@given(st.one_of(anything, nasty))
def test_role_names_are_always_valid_iam_names(identifier: str) -> None:
    try:
        _, normalized, _ = rules.parse_db_reference(identifier)
    except InvalidInputError:
        return
    for region in ("us-east-1", "ap-southeast-2", "us-gov-west-1"):
        name = rules.role_name("instance", normalized, region)
        assert re.fullmatch(r"[A-Za-z0-9_+=,.@-]{1,64}", name)
