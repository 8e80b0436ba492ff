"""The fleet's steps on complete fakes: ResolveFleet (selectors, named errors before any change, child names,
stack defaults) and SummarizeFleet (outcomes from the Map's output, or read from the child executions)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from clickpipes.errors import (
    AccountNotAllowedError,
    DbNotFoundError,
    FleetFailedError,
    InvalidInputError,
    PrincipalNotAllowedError,
    ProtectedUserError,
)
from clickpipes.fleet_models import DbListing, FleetInput, FleetItem, SummarizeFleetRequest
from clickpipes.fleet_settings import FleetSettings
from clickpipes.models import ExecutionView, parse
from clickpipes.steps import fleet_ports
from clickpipes.steps.fleet_resolve import child_name, resolve_fleet
from clickpipes.steps.fleet_summary import summarize_fleet
from clickpipes.steps.start_onboarding import ONBOARDING_ID

from tests.fakes import FakeFleetRds, FakeStateMachine

PRINCIPAL = "arn:aws:iam::111122223333:role/CH-Role"
SETTINGS = FleetSettings.from_env(
    {
        "AWS_REGION": "us-east-1",
        "HOME_ACCOUNT": "123456789012",
        "ALLOWED_CLICKHOUSE_PRINCIPALS": "111122223333",
        "FLEET_MAX_CONCURRENCY": "7",
    }
)
ONBOARDING = "arn:aws:states:us-east-1:123456789012:stateMachine:s-onboarding"


def listing(identifier: str, engine: str = "postgres", kind: str = "instance", **tags: str) -> DbListing:
    arn_kind = "db" if kind == "instance" else "cluster"
    arn = f"arn:aws:rds:us-east-1:123456789012:{arn_kind}:{identifier}"
    return DbListing(kind=kind, identifier=identifier, engine=engine, arn=arn, tags=tags)


RDS = (
    listing("orders", team="a"),
    listing("users", "mysql", team="a"),
    listing("billing", "aurora-postgresql", "cluster", team="a"),
    listing("legacy", "oracle-ee", team="a"),
    listing("other", team="b"),
)


def fleet(**request: Any) -> FleetInput:
    return parse(FleetInput, {"clickhouse_role_arn": PRINCIPAL, **request})


def test_the_fleet_port_has_a_complete_fake() -> None:
    methods = {n for n, v in vars(fleet_ports.FleetRds).items() if callable(v) and not n.startswith("_")}
    for name in methods:
        expected = list(inspect.signature(getattr(fleet_ports.FleetRds, name)).parameters)
        assert list(inspect.signature(getattr(FakeFleetRds, name)).parameters) == expected


def test_a_tag_selects_its_dbs_with_the_onboarding_fields_as_defaults() -> None:
    plan = resolve_fleet(
        fleet(tag={"key": "team", "value": "a"}, cdc=False, db_user="cp_x", requested_by="arn:aws:iam::1:user/u"),
        rds=FakeFleetRds(*RDS),
        settings=SETTINGS,
        execution_name="f1",
    )
    assert [item.db_identifier for item in plan.items] == ["orders", "users", "billing"]
    assert plan.items[2].arn.endswith(":cluster:billing")
    assert plan.defaults == {
        "clickhouse_role_arn": PRINCIPAL,
        "cdc": False,
        "db_user": "cp_x",
        "requested_by": "arn:aws:iam::1:user/u",
    }
    assert (plan.max_concurrency, plan.tolerated_failure_percentage) == (7, 0)  # the stack's defaults
    assert any("legacy" in warning for warning in plan.warnings)  # an unsupported engine is left out, said
    assert all(ONBOARDING_ID.fullmatch(item.execution_name) for item in plan.items)  # GET /onboardings/<name>
    assert plan.items[0].execution_name == child_name("f1", "orders") != child_name("f2", "orders")


def test_engines_regions_accounts_narrow_and_the_input_overrides_the_stack_defaults() -> None:
    plan = resolve_fleet(
        fleet(
            tag={"key": "team", "value": "a"},
            engines=["postgres", "aurora-postgresql"],
            regions=["us-east-1"],
            accounts=["123456789012"],
            max_concurrency=3,
            tolerated_failure_percentage=25,
        ),
        rds=FakeFleetRds(*RDS),
        settings=SETTINGS,
        execution_name="f",
    )
    assert [item.db_identifier for item in plan.items] == ["orders", "billing"]
    assert (plan.max_concurrency, plan.tolerated_failure_percentage) == (3, 25)


def test_named_dbs_must_all_exist() -> None:
    plan = resolve_fleet(
        fleet(db_identifiers=["orders", "arn:aws:rds:us-east-1:123456789012:cluster:billing", "orders"]),
        rds=FakeFleetRds(*RDS),
        settings=SETTINGS,
        execution_name="f",
    )
    assert [item.db_identifier for item in plan.items] == ["orders", "billing"]
    with pytest.raises(DbNotFoundError, match="nope"):
        resolve_fleet(
            fleet(db_identifiers=["orders", "nope"]), rds=FakeFleetRds(*RDS), settings=SETTINGS, execution_name="f"
        )


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (
            {"tag": {"key": "team", "value": "a"}, "clickhouse_role_arn": "arn:aws:iam::999999999999:role/x"},
            PrincipalNotAllowedError,
        ),
        ({"tag": {"key": "team", "value": "a"}, "db_user": "rdsadmin"}, ProtectedUserError),
        ({"db_identifiers": ["arn:aws:rds:eu-west-1:999999999999:db:orders"]}, AccountNotAllowedError),
        ({"tag": {"key": "team", "value": "a"}, "accounts": ["999999999999"]}, AccountNotAllowedError),
    ],
)
def test_bad_onboarding_fields_are_refused_before_any_aws_call(
    request_: dict[str, Any], error: type[Exception]
) -> None:
    rds = FakeFleetRds(*RDS)
    with pytest.raises(error):
        resolve_fleet(fleet(**request_), rds=rds, settings=SETTINGS, execution_name="f")
    assert rds.calls == 0


@pytest.mark.parametrize(
    "request_",
    [
        {},  # no selector
        {"tag": {"key": "k", "value": "v"}, "db_identifiers": ["a"]},  # two
        {"tag": {"key": "k", "value": "v"}, "db_usr": "x"},  # a typo
        {"tag": {"key": "k", "value": "v"}, "engines": ["oracle-ee"]},
        {"tag": {"key": "k", "value": "v"}, "tolerated_failure_percentage": 101},
    ],
)
def test_malformed_fleet_input_is_invalid_input(request_: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        fleet(**request_)


def test_a_selector_that_matches_nothing_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="matches no DB"):
        resolve_fleet(
            fleet(tag={"key": "team", "value": "z"}), rds=FakeFleetRds(*RDS), settings=SETTINGS, execution_name="f"
        )


def view(name: str, status: str, **fields: Any) -> ExecutionView:
    values: dict[str, Any] = {"input": {}, "output": None, "error": None, "cause": None, "current_step": None}
    return ExecutionView(
        name=name, status=status, started_at="2026-01-01T00:00:00", stopped_at=None, **(values | fields)
    )


ITEMS = [
    FleetItem(
        db_identifier=i,
        arn=f"arn:aws:rds:us-east-1:123456789012:db:{i}",
        kind="instance",
        engine="postgres",
        execution_name=f"{i}--0123456789ab",
    )
    for i in ("a", "b", "c")
]
OUTPUT = {"role_arn": "arn:aws:iam::123456789012:role/clickpipes/r", "pipe_modes": ["initial_load"], "changes": ["x"]}


def test_the_summary_reads_only_the_children_that_did_not_succeed() -> None:
    sfn = FakeStateMachine(ONBOARDING, view("b--0123456789ab", "FAILED", error="DbStateError", cause="stopped"))
    request = SummarizeFleetRequest(items=ITEMS, results=[{"status": "SUCCEEDED", "output": OUTPUT}, None, None])

    output = summarize_fleet(request, sfn=sfn)

    assert [(db.db_identifier, db.status, db.error) for db in output.databases] == [
        ("a", "SUCCEEDED", None),
        ("b", "FAILED", "DbStateError"),
        ("c", "NOT_STARTED", None),
    ]
    assert output.databases[0].role_arn == OUTPUT["role_arn"]
    assert output.databases[0].pipe_modes == ["initial_load"]
    assert (output.total, output.succeeded, output.failed, output.not_started) == (3, 1, 1, 1)
    assert sfn.described == ["b--0123456789ab", "c--0123456789ab"]  # one read per DB that did not succeed


def test_a_fleet_past_its_tolerated_failures_is_fleet_failed_error() -> None:
    sfn = FakeStateMachine(ONBOARDING, view("a--0123456789ab", "FAILED", error="DbStateError"))
    request = SummarizeFleetRequest(
        items=ITEMS, results=None, error={"Error": "States.ExceedToleratedFailureThreshold"}
    )
    with pytest.raises(
        FleetFailedError,
        match="1 of 3 DBs failed, 0 succeeded, 0 still running .stopped., 2 were not started.*Failed: a",
    ):
        summarize_fleet(request, sfn=sfn)


MEMBER = "210987654321"
MEMBERS_SETTINGS = FleetSettings.from_env(
    {
        "AWS_REGION": "us-east-1",
        "HOME_ACCOUNT": "123456789012",
        "MEMBER_ROLE_NAME": "clickpipes-iam-member",
        "MEMBER_ACCOUNTS": MEMBER,
        "ALLOWED_CLICKHOUSE_PRINCIPALS": "111122223333",
    }
)


def placed(identifier: str, account: str, region: str, **tags: str) -> DbListing:
    arn = f"arn:aws:rds:{region}:{account}:db:{identifier}"
    return DbListing(kind="instance", identifier=identifier, engine="postgres", arn=arn, tags=tags)


def test_a_fleet_lists_every_account_and_region_pair_it_names_once() -> None:
    rds = FakeFleetRds(
        placed("orders", "123456789012", "us-east-1", team="a"),
        placed("orders", MEMBER, "us-east-1", team="a"),  # the same identifier in another account
        placed("orders", MEMBER, "us-west-2", team="a"),
        placed("users", "123456789012", "us-west-2", team="b"),
    )
    request = fleet(tag={"key": "team", "value": "a"}, accounts=["123456789012", MEMBER], regions=REGIONS)
    plan = resolve_fleet(request, rds=rds, settings=MEMBERS_SETTINGS, execution_name="f")
    assert rds.pairs == [
        ("123456789012", "us-east-1"),
        ("123456789012", "us-west-2"),
        (MEMBER, "us-east-1"),
        (MEMBER, "us-west-2"),
    ]
    assert rds.calls == 4  # one listing per pair (O(pages) each)
    assert [item.arn.split(":")[3:5] for item in plan.items] == [
        ["us-east-1", "123456789012"],
        ["us-east-1", MEMBER],
        ["us-west-2", MEMBER],
    ]
    assert len({item.execution_name for item in plan.items}) == 3  # one child each, though one identifier
    assert plan.items[0].execution_name == child_name("f", "orders")  # the stack's own: named as before


def test_a_fleet_defaults_to_the_stack_s_account_and_region_and_named_arns_add_theirs() -> None:
    rds = FakeFleetRds(placed("orders", "123456789012", "us-east-1"), placed("west", MEMBER, "us-west-2"))
    plan = resolve_fleet(
        fleet(db_identifiers=["orders", f"arn:aws:rds:us-west-2:{MEMBER}:db:west"]),
        rds=rds,
        settings=MEMBERS_SETTINGS,
        execution_name="f",
    )
    assert rds.pairs == [("123456789012", "us-east-1"), (MEMBER, "us-west-2")]
    assert [item.db_identifier for item in plan.items] == ["orders", "west"]


def test_a_fleet_in_an_account_outside_member_accounts_lists_nothing() -> None:
    rds = FakeFleetRds(*RDS)
    with pytest.raises(AccountNotAllowedError, match="999999999999 is not in MemberAccounts"):
        resolve_fleet(
            fleet(tag={"key": "team", "value": "a"}, accounts=[MEMBER, "999999999999"]),
            rds=rds,
            settings=MEMBERS_SETTINGS,
            execution_name="f",
        )
    assert rds.pairs == []


REGIONS = ["us-east-1", "us-west-2"]
