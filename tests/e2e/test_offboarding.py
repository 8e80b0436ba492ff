"""The offboarding on the local world (both state machines of template.yaml): onboard, log in with a token,
offboard, and ClickPipes' access is gone; what this tool did not make survives."""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg
import pymysql
import pytest
from botocore.exceptions import ClientError
from clickpipes import rules
from psycopg import sql

from tests.dbs.servers import LocalDbsEnv, mariadb_root_connect, pg_superuser_connect
from tests.e2e.scenario import DATABASE, ENGINES, PRINCIPAL, ROOT, STATE_MACHINE, create_db, fresh, login_with_token
from tests.harness.execution import ExecutionResult
from tests.harness.local_aws import LocalWorld

pytestmark = pytest.mark.e2e
OFFBOARDING = "OffboardingStateMachine"


def onboard(world: LocalWorld, identifier: str, user: str, **extra: Any) -> ExecutionResult:
    request = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, **extra}
    result = world.run(STATE_MACHINE, request, timeout=120)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


def offboard(world: LocalWorld, identifier: str, **extra: Any) -> ExecutionResult:
    return world.run(OFFBOARDING, {"db_identifier": identifier, **extra}, timeout=120)


def tags(world: LocalWorld, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in world.rds.list_tags_for_resource(ResourceName=arn)["TagList"]}


def role_exists(world: LocalWorld, name: str) -> bool:
    try:
        world.client("iam").get_role(RoleName=name)
    except ClientError:
        return False
    return True


def pg_role(env: LocalDbsEnv, user: str) -> tuple[bool] | None:
    with pg_superuser_connect(env) as conn:
        return conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (user,)).fetchone()


def pg_publications(env: LocalDbsEnv) -> list[str]:
    with pg_superuser_connect(env, dbname=DATABASE) as conn:
        return [r[0] for r in conn.execute("SELECT pubname FROM pg_publication").fetchall()]


def mariadb_user_exists(env: LocalDbsEnv, user: str) -> bool:
    with mariadb_root_connect(env) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM mysql.user WHERE User = %s", (user,))
        return cur.fetchone() is not None


def arn_of(db: dict[str, Any]) -> str:
    return str(db.get("DBClusterArn") or db["DBInstanceArn"])


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_offboarding_takes_the_access_away_and_a_second_is_a_no_op(
    world: LocalWorld, local_dbs: LocalDbsEnv, engine: str
) -> None:
    identifier, user = fresh(f"off-{engine[:2]}")
    publication = f"pub_{user}"
    db = create_db(world, local_dbs, engine, identifier)
    arn = arn_of(db)
    world.rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "clickpipes:onboard", "Value": "false"}])
    postgres = ENGINES[engine].server == "postgres"
    onboarded = onboard(world, identifier, user, cdc=postgres, publication=publication)
    role_name = onboarded.output["role_arn"].rsplit("/", 1)[1]
    assert login_with_token(local_dbs, engine, user) == user
    assert tags(world, arn)["clickpipes:onboarded-db-user"] == user

    result = offboard(world, identifier)

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert [s.name for s in result.steps if s.name != "Start"] == [
        "ResolveOffboarding",
        "DeleteIamRole",
        "DropDbUser",
        "RevertSettings",
        "RecordOffboarding",
    ]
    changes = result.output["changes"]
    assert f"DeleteRole /clickpipes/{role_name}" in changes
    assert not role_exists(world, role_name)
    with pytest.raises((psycopg.OperationalError, pymysql.err.OperationalError)):
        login_with_token(local_dbs, engine, user)
    if postgres:
        assert pg_role(local_dbs, user) is None
        assert publication not in pg_publications(local_dbs)
        assert f"DROP PUBLICATION {publication}" in changes
    else:
        assert not mariadb_user_exists(local_dbs, user)
    after = tags(world, arn)
    assert after["clickpipes:status"] == "offboarded"
    assert "clickpipes:role-arn" not in after
    assert after["clickpipes:onboard"] == "false"  # as the user set it
    # without revert_settings the settings the onboarding changed stay, and the output says so
    assert any("IAM database authentication" in w and "stays on" in w for w in result.output["warnings"])
    assert result.output["plan_only"] is False

    again = offboard(world, identifier)
    assert again.status == "SUCCEEDED", (again.error, again.cause)
    assert again.output["changes"] == []


def test_plan_only_lists_every_change_and_makes_none(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("off-plan")
    publication = f"pub_{user}"
    db = create_db(world, local_dbs, "postgres", identifier)
    onboarded = onboard(world, identifier, user, publication=publication)
    role_name = onboarded.output["role_arn"].rsplit("/", 1)[1]
    before = tags(world, arn_of(db))

    result = offboard(world, identifier, plan_only=True, revert_settings=True)

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    changes = result.output["changes"]
    assert f"DeleteRolePolicy {role_name}: {rules.CONNECT_POLICY_NAME}" in changes
    assert f"DeleteRole /clickpipes/{role_name}" in changes
    assert f"DROP ROLE {user}" in changes
    assert f"DROP PUBLICATION {publication}" in changes
    assert any("EnableIAMDatabaseAuthentication=false" in c for c in changes)
    assert any(c.startswith("Attach default.postgres16") for c in changes), changes
    assert result.output["plan_only"] is True
    assert role_exists(world, role_name)
    assert pg_role(local_dbs, user) == (True,)
    assert publication in pg_publications(local_dbs)
    assert login_with_token(local_dbs, "postgres", user) == user
    assert tags(world, arn_of(db)) == before
    described = world.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    assert described["IAMDatabaseAuthenticationEnabled"] is True


def test_revert_settings_restores_what_the_onboarding_recorded(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("off-rev")
    db = create_db(world, local_dbs, "postgres", identifier)
    onboard(world, identifier, user, publication=f"pub_{user}")
    recorded = tags(world, arn_of(db))
    assert recorded["clickpipes:iam-auth-enabled-by-us"] == "true"
    original = recorded["clickpipes:original-parameter-group"]
    assert original.startswith("default.")

    result = offboard(world, identifier, revert_settings=True)

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    described = world.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    assert described["IAMDatabaseAuthenticationEnabled"] is False
    assert described["DBParameterGroups"][0]["DBParameterGroupName"] == original
    after = tags(world, arn_of(db))
    assert "clickpipes:iam-auth-enabled-by-us" not in after
    assert "clickpipes:original-parameter-group" not in after


def test_what_this_tool_did_not_make_survives(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("off-foreign")
    db = create_db(world, local_dbs, "postgres", identifier)
    role_name = rules.role_name("instance", identifier, "us-east-1")
    world.client("iam").create_role(
        RoleName=role_name,
        Path="/clickpipes/",
        AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}',
        Tags=[{"Key": "clickpipes:db-arn", "Value": "arn:aws:rds:us-east-1:123456789012:db:someone-else"}],
    )
    publication = f"pub_{user}"
    with pg_superuser_connect(local_dbs) as conn:
        conn.execute(sql.SQL("CREATE USER {}").format(sql.Identifier(user)))
    with pg_superuser_connect(local_dbs, dbname=DATABASE) as conn:
        conn.execute(sql.SQL("CREATE PUBLICATION {} FOR ALL TABLES").format(sql.Identifier(publication)))
    try:
        result = offboard(world, identifier, db_user=user, publication=publication)
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        assert result.output["changes"] == []
        warnings = " ".join(result.output["warnings"])
        assert f"role/clickpipes/{role_name} was not created for {arn_of(db)}" in warnings
        assert f"User '{user}' was not created by this tool" in warnings
        assert f"Publication '{publication}' was not created by this tool" in warnings
        assert role_exists(world, role_name)
        assert pg_role(local_dbs, user) == (True,)
        assert publication in pg_publications(local_dbs)
    finally:
        with pg_superuser_connect(local_dbs, dbname=DATABASE) as conn:
            conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(publication)))
        with pg_superuser_connect(local_dbs) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))


def test_unknown_db_fails_named_and_tags_nothing(world: LocalWorld) -> None:
    result = offboard(world, "no-such-db-here")
    assert result.status == "FAILED"
    assert result.error == "DbNotFoundError"


def test_revert_settings_restores_the_mysql_binlog_retention(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    """The server is shared (other sessions may set the retention too): the record and the action are checked."""
    identifier, user = fresh("off-my")
    db = create_db(world, local_dbs, "mariadb", identifier)
    hours = 100 + int(user[-2:], 16) % 60
    onboard(world, identifier, user, binlog_retention_hours=hours)
    recorded = tags(world, arn_of(db)).get("clickpipes:original-binlog-retention")
    assert recorded is not None

    kept = offboard(world, identifier, plan_only=True)
    assert any("binlog retention" in w and recorded in w for w in kept.output["warnings"])

    result = offboard(world, identifier, revert_settings=True)

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert f"CALL mysql.rds_set_configuration('binlog retention hours', {recorded})" in result.output["changes"]
    assert "clickpipes:original-binlog-retention" not in tags(world, arn_of(db))
    assert not mariadb_user_exists(local_dbs, user)


def test_a_user_owning_a_table_is_disabled_with_the_reason(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("off-owner")
    create_db(world, local_dbs, "postgres", identifier)
    onboard(world, identifier, user, cdc=False)
    table = sql.Identifier("public", f"t_{user}")
    with pg_superuser_connect(local_dbs, dbname=DATABASE) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} (id int)").format(table))
        conn.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(table, sql.Identifier(user)))
    try:
        result = offboard(world, identifier)
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        assert any("disabled, not dropped" in w and f"t_{user}" in w for w in result.output["warnings"])
        assert pg_role(local_dbs, user) == (False,)
        with pytest.raises(psycopg.OperationalError):
            login_with_token(local_dbs, "postgres", user)
        again = offboard(world, identifier)
        assert (again.status, again.output["changes"]) == ("SUCCEEDED", [])
    finally:
        with pg_superuser_connect(local_dbs, dbname=DATABASE) as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(user)))  # the read grants of the onboarding
        with pg_superuser_connect(local_dbs) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))


def finished_offboarding(world: LocalWorld, identifier: str, timeout: float = 120) -> dict[str, Any]:
    """The one offboarding a trigger started for the DB, described once it has finished."""
    arn = world.state_machine_arn(OFFBOARDING)
    started = world.sfn.list_executions(stateMachineArn=arn)["executions"]
    [execution] = [e for e in started if e["name"].startswith(f"{identifier}--")]
    deadline = time.monotonic() + timeout
    while (described := world.sfn.describe_execution(executionArn=execution["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"offboarding {execution['name']} still running after {timeout} s"
        time.sleep(0.1)
    return dict(described)


@pytest.mark.parametrize("trigger", ["api", "tag"])
def test_the_api_and_the_tag_start_an_offboarding(world: LocalWorld, local_dbs: LocalDbsEnv, trigger: str) -> None:
    """POST /offboardings, and clickpipes:onboard=false on the DB, each start one offboarding that takes the access
    away."""
    identifier, user = fresh(f"off-{trigger}")
    db = create_db(world, local_dbs, "mariadb", identifier)
    role = onboard(world, identifier, user, cdc=False).output["role_arn"].rsplit("/", 1)[1]
    if trigger == "api":
        event = json.loads((ROOT / "events" / "api_post_offboarding.json").read_text())
        event["body"] = json.dumps({"db_identifier": identifier})
        response = world.invoke("ApiFunction", event).payload
        assert response["statusCode"] == 202, response
    else:
        world.rds.add_tags_to_resource(ResourceName=arn_of(db), Tags=[{"Key": "clickpipes:onboard", "Value": "false"}])
        event = json.loads((ROOT / "events" / "tag_change.json").read_text())
        event["resources"] = [arn_of(db)]
        event["detail"]["tags"] = {"clickpipes:onboard": "false"}
        assert world.invoke("TagTriggerFunction", event).payload["started"].startswith(f"{identifier}--")
    described = finished_offboarding(world, identifier)
    assert described["status"] == "SUCCEEDED", described
    assert not role_exists(world, role)
    assert tags(world, arn_of(db))["clickpipes:status"] == "offboarded"
    assert not mariadb_user_exists(local_dbs, user)
