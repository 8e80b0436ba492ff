"""Every failure path of the workflow ends in its named error, with a plain message as the cause, the DB
tagged failed when it was identified, and nothing half-done left unreported."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from psycopg import sql

from tests.dbs.servers import LocalDbsEnv, mariadb_root_connect, pg_superuser_connect
from tests.e2e.scenario import PRINCIPAL, ROOT, STATE_MACHINE, create_db, fresh
from tests.harness.execution import ExecutionResult
from tests.harness.local_aws import LocalWorld

pytestmark = pytest.mark.e2e


def run(world: LocalWorld, request: dict[str, Any]) -> ExecutionResult:
    return world.run(STATE_MACHINE, {"clickhouse_role_arn": PRINCIPAL, **request}, timeout=120)


def tags(world: LocalWorld, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in world.rds.list_tags_for_resource(ResourceName=arn)["TagList"]}


def roles(world: LocalWorld) -> list[str]:
    return [r["RoleName"] for r in world.client("iam").list_roles(PathPrefix="/clickpipes/")["Roles"]]


def assert_failed(result: ExecutionResult, error: str, cause_part: str) -> None:
    assert result.status == "FAILED"
    assert result.error == error
    assert cause_part in (result.cause or "")
    assert "stackTrace" not in (result.cause or ""), "the cause is the message, not the runtime's JSON"
    names = [s.name for s in result.steps]
    assert names[-2:] == ["RecordFailure", "Failed"], names


def test_unknown_db(world: LocalWorld) -> None:
    before = roles(world)
    result = run(world, {"db_identifier": "no-such-db"})
    assert_failed(result, "DbNotFoundError", "No DB instance or cluster 'no-such-db'")
    assert roles(world) == before


@pytest.mark.parametrize(
    ("request_changes", "cause"),
    [
        ({"clickhouse_role_arn": "*"}, "clickhouse_role_arn"),
        ({"clickhouse_role_arn": "arn:aws:iam::111122223333:root"}, "clickhouse_role_arn"),
        ({"db_user": 'x"; DROP ROLE rdsmaster; --'}, "db_user"),
        ({"db_user": "u" * 64}, "db_user"),
        ({"unexpected": True}, "unexpected: Extra inputs are not permitted"),
    ],
)
def test_bad_input_changes_nothing(
    world: LocalWorld, local_dbs: LocalDbsEnv, request_changes: dict[str, Any], cause: str
) -> None:
    identifier, _ = fresh("badinput")
    db = create_db(world, local_dbs, "postgres", identifier)
    before = roles(world)
    result = run(world, {"db_identifier": identifier, **request_changes})
    assert_failed(result, "InvalidInputError", cause)
    described = world.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    assert described["IAMDatabaseAuthenticationEnabled"] is False
    assert tags(world, db["DBInstanceArn"]) == {}
    assert roles(world) == before


def test_unsupported_engine_is_refused_and_tagged(world: LocalWorld) -> None:
    identifier, _ = fresh("maria106")
    db = world.rds.create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine="mariadb",
        EngineVersion="10.6.19",
        DBInstanceClass="db.t3.micro",
        MasterUsername="master",
        ManageMasterUserPassword=True,
        AllocatedStorage=20,
    )["DBInstance"]
    result = run(world, {"db_identifier": identifier})
    assert_failed(result, "UnsupportedEngineError", "10.11")
    assert tags(world, db["DBInstanceArn"]) == {
        "clickpipes:status": "failed",
        "clickpipes:error": "UnsupportedEngineError",
    }
    assert (
        world.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0][
            "IAMDatabaseAuthenticationEnabled"
        ]
        is False
    )


def test_stopped_db(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, _ = fresh("stopped")
    db = create_db(world, local_dbs, "mysql", identifier)
    world.rds.stop_db_instance(DBInstanceIdentifier=identifier)
    result = run(world, {"db_identifier": identifier})
    assert_failed(result, "DbStateError", "'stopped'")
    assert tags(world, db["DBInstanceArn"])["clickpipes:status"] == "failed"


def test_modification_timeout(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, _ = fresh("slow")
    db = create_db(world, local_dbs, "postgres", identifier)
    world.feed_statuses(identifier, ["available", *["modifying"] * 100])
    result = run(world, {"db_identifier": identifier})
    assert_failed(result, "ModificationTimeoutError", "still 'modifying'")
    # MaxWaitSeconds=120 / PollIntervalSeconds=5 (no room to back off from 5 s): 24 waits, the 25th check gives up
    assert [s.wait_seconds for s in result.steps if s.name == "WaitForDb"] == [5] * 24
    assert tags(world, db["DBInstanceArn"]) == {
        "clickpipes:status": "failed",
        "clickpipes:error": "ModificationTimeoutError",
        "clickpipes:iam-auth-enabled-by-us": "true",  # EnableIamAuth's record, for an offboarding
    }


@pytest.mark.parametrize(
    ("poll", "waits"),
    [
        (30, [5, 5, 10, 10, 30, 30, 30]),  # checks at 0, 5, 10, 20, 30, 60, 90, 120 s: on the fixed grid from 30 s
        (60, [5, 5, 10, 20, 20, 60]),  # 0, 5, 10, 20, 40, 60, 120
        (5, [5] * 24),
        (3, [3] * 40),  # PollIntervalSeconds below the first poll: a fixed interval
    ],
)
def test_the_wait_loop_backs_off_to_the_poll_interval(world: LocalWorld, poll: int, waits: list[int]) -> None:
    """The real WaitForDb state (statemachine/onboarding.asl.json), looped until 120 s are waited."""
    definition = json.loads((ROOT / "statemachine" / "onboarding.asl.json").read_text())
    start, wait = definition["States"]["Start"]["Assign"], definition["States"]["WaitForDb"]
    looped = {
        "QueryLanguage": "JSONata",
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Pass",
                "Assign": {"waited": 0, "pollSeconds": poll, "firstPollSeconds": start["firstPollSeconds"]},
                "Next": "WaitForDb",
            },
            "WaitForDb": wait | {"Next": "Done"},
            "Done": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $waited >= 120 %}", "Next": "End"}],
                "Default": "WaitForDb",
            },
            "End": {"Type": "Succeed"},
        },
    }
    result = world.run(world.create_state_machine(f"backoff-{poll}", looped), {}, timeout=60)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert [s.wait_seconds for s in result.steps if s.name == "WaitForDb"] == waits


def test_db_deleted_mid_onboarding(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, _ = fresh("deleted")
    create_db(world, local_dbs, "postgres", identifier)
    world.feed_statuses(identifier, ["available", *["modifying"] * 20])  # keeps it polling
    running = world.start(STATE_MACHINE, {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL})
    for progress in running.follow():
        if any(step.name == "WaitForDb" for step in progress.steps):
            world.rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
            break
    result = running.wait(timeout=60)
    assert_failed(result, "DbNotFoundError", "no longer exists")


@pytest.mark.parametrize(
    ("engine", "secret", "error", "cause"),
    [
        ("postgres", {"password": "wrong-password-42"}, "AdminCredentialsError", "refused the admin user"),
        ("mariadb", {"password": "wrong-password-42"}, "AdminCredentialsError", "refused the admin user"),
        ("postgres", {"port": 1}, "DbConnectionError", "Cannot connect to PostgreSQL"),
        ("aurora-mysql", {"port": 1}, "DbConnectionError", "Cannot connect to MySQL"),
        ("mysql", {"password": None}, "AdminCredentialsError", "must be a JSON object"),
    ],
)
def test_database_faults(
    world: LocalWorld, local_dbs: LocalDbsEnv, engine: str, secret: dict[str, Any], error: str, cause: str
) -> None:
    identifier, user = fresh("dbfault")
    db = create_db(world, local_dbs, engine, identifier, **secret)
    before = roles(world)
    result = run(world, {"db_identifier": identifier, "db_user": user})
    assert_failed(result, error, cause)
    assert "wrong-password-42" not in str(result.events)
    arn = db.get("DBClusterArn") or db["DBInstanceArn"]
    assert tags(world, arn) == {
        "clickpipes:status": "failed",
        "clickpipes:error": error,
        "clickpipes:iam-auth-enabled-by-us": "true",  # EnableIamAuth's record, for an offboarding
    }
    assert roles(world) == before, "no role for a DB whose user could not be created"


@pytest.fixture
def low_privilege_secret(local_dbs: LocalDbsEnv) -> Iterator[dict[str, str]]:
    name, password = f"lowpriv_{uuid.uuid4().hex[:8]}", "low-privilege-pw-1"
    with pg_superuser_connect(local_dbs) as conn:
        conn.execute(sql.SQL("CREATE USER {} PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
    yield {"username": name, "password": password}
    with pg_superuser_connect(local_dbs) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def test_admin_without_privilege(
    world: LocalWorld, local_dbs: LocalDbsEnv, low_privilege_secret: dict[str, str]
) -> None:
    identifier, user = fresh("lowpriv")
    create_db(world, local_dbs, "postgres", identifier, **low_privilege_secret)
    result = run(world, {"db_identifier": identifier, "db_user": user})
    assert_failed(result, "DbPrivilegeError", "may not create or grant roles")


@pytest.fixture
def iam_plugin_unloaded(local_dbs: LocalDbsEnv) -> Iterator[None]:
    with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
        cur.execute("UNINSTALL PLUGIN AWSAuthenticationPlugin")
    try:
        yield
    finally:
        with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
            cur.execute("INSTALL SONAME 'aws_auth'")


def test_iam_plugin_not_active_is_retried_then_named(
    world: LocalWorld, local_dbs: LocalDbsEnv, iam_plugin_unloaded: None
) -> None:
    identifier, user = fresh("noplugin")
    create_db(world, local_dbs, "mysql", identifier)
    result = run(world, {"db_identifier": identifier, "db_user": user})
    assert_failed(result, "IamAuthNotActiveError", "not active")
    create_user = [s for s in result.steps if s.name == "CreateDbUser"][-1]
    assert create_user.attempts == 5, "1 try + 4 retries (Retry on IamAuthNotActiveError)"


def test_foreign_role_with_our_name_is_not_hijacked(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("conflict")
    create_db(world, local_dbs, "postgres", identifier)
    first = run(world, {"db_identifier": identifier, "db_user": user})
    assert first.status == "SUCCEEDED"
    role_name = first.output["role_arn"].rsplit("/", 1)[1]
    world.client("iam").tag_role(RoleName=role_name, Tags=[{"Key": "clickpipes:db-arn", "Value": "someone-else"}])
    result = run(world, {"db_identifier": identifier, "db_user": user})
    assert_failed(result, "RoleConflictError", "was not created for")
