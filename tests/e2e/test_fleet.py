"""e2e: fleets on the local world, with AWS's rate limits on: FleetOnboardingStateMachine (ResolveFleet, a
Distributed Map of real OnboardingStateMachine executions through states:startExecution.sync:2, SummarizeFleet)
onboards every DB a tag names; two fleets over overlapping DBs never run one DB twice at once (the guard);
a plan_only fleet changes nothing."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.dbs.servers import LocalDbsEnv
from tests.e2e.scenario import ENGINES, PRINCIPAL, create_db, deploy, fresh, login_with_token
from tests.harness.local_aws import LocalWorld

pytestmark = pytest.mark.e2e
FLEET = "FleetOnboardingStateMachine"
FLEET_SIZE = int(os.environ.get("FLEET_E2E_SIZE", "50"))
TAG_KEY = "team"


@pytest.fixture(scope="module")
def world(local_dbs: LocalDbsEnv) -> Iterator[LocalWorld]:
    with LocalWorld(rate_limits=True) as local_world:
        deploy(local_world, local_dbs, FleetMaxConcurrency=20)
        yield local_world


def tagged_dbs(world: LocalWorld, env: LocalDbsEnv, prefix: str, count: int, tag: str) -> list[tuple[str, str]]:
    """``count`` DBs of the engines in turn (instances mostly, one cluster in five), tagged team=<tag>."""
    made = []
    engines = list(ENGINES)
    for i in range(count):
        engine = engines[i % len(engines)]
        identifier, _ = fresh(f"{prefix}{i}")
        db = create_db(world, env, engine, identifier)
        arn = db.get("DBClusterArn") or db["DBInstanceArn"]
        world.rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": TAG_KEY, "Value": tag}])
        made.append((engine, identifier))
    return made


def fleet_input(tag: str, user: str, **extra: Any) -> dict[str, Any]:
    request = {"tag": {"key": TAG_KEY, "value": tag}, "clickhouse_role_arn": PRINCIPAL, "db_user": user, "cdc": False}
    return request | extra


def test_a_tagged_fleet_is_onboarded_with_rate_limits_on(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    tag, user = fresh("fleet")
    dbs = tagged_dbs(world, local_dbs, "fl", FLEET_SIZE, tag)
    tagged_dbs(world, local_dbs, "other", 2, "someone-else")  # not selected

    t0 = time.perf_counter()
    result = world.run(FLEET, fleet_input(tag, user), timeout=600)
    elapsed = time.perf_counter() - t0

    onboarding = world.state_machine_arn("OnboardingStateMachine")
    failed = world.sfn.list_executions(stateMachineArn=onboarding, statusFilter="FAILED")["executions"]
    causes = [world.sfn.describe_execution(executionArn=e["executionArn"]) for e in failed[:3]]
    assert result.status == "SUCCEEDED", (result.error, [(c["name"], c.get("error"), c.get("cause")) for c in causes])
    summary = result.output
    assert (summary["total"], summary["succeeded"], summary["failed"]) == (FLEET_SIZE, FLEET_SIZE, 0), summary
    by_db = {db["db_identifier"]: db for db in summary["databases"]}
    assert set(by_db) == {identifier for _, identifier in dbs}
    roles = {db["role_arn"] for db in by_db.values()}
    assert len(roles) == FLEET_SIZE  # one role per DB
    iam = world.client("iam")
    for _engine, identifier in dbs:
        role = iam.get_role(RoleName=by_db[identifier]["role_arn"].rsplit("/", 1)[-1])["Role"]
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith("local-role-boundary")
        assert by_db[identifier]["pipe_modes"], identifier
        status = world.sfn.describe_execution(
            executionArn=world.state_machine_arn("OnboardingStateMachine").replace(":stateMachine:", ":execution:")
            + ":"
            + by_db[identifier]["execution_name"]
        )["status"]
        assert status == "SUCCEEDED"
    for engine in ENGINES:  # ClickPipes' view: the user logs in with an IAM token (one server per engine family)
        assert login_with_token(local_dbs, engine, user) == user
    assert world.rate_limits is not None
    print(f"\nfleet of {FLEET_SIZE}: {elapsed:.1f} s, throttled {dict(world.rate_limits.throttled)}")
    assert elapsed < 150


def test_two_fleets_over_the_same_dbs_never_run_one_db_twice_at_once(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    tag, user = fresh("overlap")
    dbs = tagged_dbs(world, local_dbs, "ov", 6, tag)
    first = world.start(FLEET, fleet_input(tag, user, tolerated_failure_percentage=100))
    second = world.start(
        FLEET,
        fleet_input(tag, user, tolerated_failure_percentage=100)
        | {"tag": None, "db_identifiers": [d for _, d in dbs[:4]]},
    )
    results = [first.wait(300), second.wait(300)]

    onboarding = world.state_machine_arn("OnboardingStateMachine")
    executions = world.sfn.list_executions(stateMachineArn=onboarding)["executions"]
    spans: dict[str, list[tuple[Any, Any]]] = {}
    for execution in executions:
        identifier = execution["name"].split("--")[0]
        if identifier in {d for _, d in dbs}:
            described = world.sfn.describe_execution(executionArn=execution["executionArn"])
            history = world.sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
            entered = [e for e in history if e.get("stateEnteredEventDetails", {}).get("name") == "EnableIamAuth"]
            if entered:  # it got past the guard (ResolveTarget) and changed something
                spans.setdefault(identifier, []).append((described["startDate"], described["stopDate"]))
    for identifier, runs in spans.items():
        runs.sort()
        for (_, stop), (start, _) in itertools.pairwise(runs):
            assert stop <= start, f"{identifier}: two onboardings changed it at once"
    outputs = [r.output for r in results if r.status == "SUCCEEDED"]
    assert len(outputs) == 2, [(r.error, r.cause) for r in results]
    every = [db for output in outputs for db in output["databases"]]
    refused = [db for db in every if db["status"] == "FAILED"]
    assert all(db["error"] == "OnboardingInProgressError" for db in refused), refused
    assert {db["db_identifier"] for db in every if db["status"] == "SUCCEEDED"} == {d for _, d in dbs}


def test_a_plan_only_fleet_changes_nothing(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    tag, user = fresh("plan")
    dbs = tagged_dbs(world, local_dbs, "pl", 4, tag)
    roles_before = len(world.client("iam").list_roles()["Roles"])

    result = world.run(FLEET, fleet_input(tag, user, plan_only=True), timeout=300)

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output["plan_only"] is True
    assert result.output["succeeded"] == len(dbs)
    assert all(db["changes"] for db in result.output["databases"])  # what a real run would do
    assert len(world.client("iam").list_roles()["Roles"]) == roles_before
    for engine, identifier in dbs:
        if ENGINES[engine].kind == "instance":
            db = world.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
            assert db["IAMDatabaseAuthenticationEnabled"] is False


def test_a_bad_fleet_input_is_a_named_error_and_starts_nothing(world: LocalWorld) -> None:
    onboarding = world.state_machine_arn("OnboardingStateMachine")
    before = len(world.sfn.list_executions(stateMachineArn=onboarding)["executions"])
    missing = world.run(FLEET, {"db_identifiers": ["no-such-db"], "clickhouse_role_arn": PRINCIPAL})
    assert (missing.status, missing.error) == ("FAILED", "DbNotFoundError")
    untrusted = world.run(
        FLEET, {"tag": {"key": "k", "value": "v"}, "clickhouse_role_arn": "arn:aws:iam::999999999999:role/x"}
    )
    assert (untrusted.status, untrusted.error) == ("FAILED", "PrincipalNotAllowedError")
    typo = world.run(FLEET, {"tag": {"key": "k", "value": "v"}, "db_usr": "x"})
    assert (typo.status, typo.error) == ("FAILED", "InvalidInputError")
    assert len(world.sfn.list_executions(stateMachineArn=onboarding)["executions"]) == before


def test_failures_past_the_tolerated_share_stop_the_fleet(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    tag, user = fresh("failing")
    dbs = tagged_dbs(world, local_dbs, "fa", 4, tag)
    stopped = next(identifier for engine, identifier in dbs if ENGINES[engine].kind == "instance")
    world.rds.stop_db_instance(DBInstanceIdentifier=stopped)  # DbStateError: it will not become available

    tolerant = world.run(FLEET, fleet_input(tag, user, tolerated_failure_percentage=50, max_concurrency=1), timeout=300)
    assert tolerant.status == "SUCCEEDED", (tolerant.error, tolerant.cause)
    (failed,) = [db for db in tolerant.output["databases"] if db["status"] != "SUCCEEDED"]
    assert (failed["db_identifier"], failed["status"], failed["error"]) == (stopped, "FAILED", "DbStateError")
    assert (tolerant.output["succeeded"], tolerant.output["failed"]) == (3, 1)

    only_stopped = fleet_input(tag, user, tolerated_failure_percentage=0) | {"tag": None, "db_identifiers": [stopped]}
    strict = world.run(FLEET, only_stopped, timeout=300)
    assert (strict.status, strict.error) == ("FAILED", "FleetFailedError")
    assert f"Failed: {stopped}" in (strict.cause or "")
