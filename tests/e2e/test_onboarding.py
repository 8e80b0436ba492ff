"""The whole onboarding, per engine, on the local world; then ClickPipes' view: a real IAM-token login."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import psycopg
import pymysql
import pytest

from tests.dbs.servers import LocalDbsEnv, iam_token, mariadb_login_with_token, pg_login_with_token
from tests.e2e.scenario import (
    DATABASE,
    ENGINES,
    PRINCIPAL,
    STATE_MACHINE,
    create_db,
    fresh,
    login_with_token,
    sample_table,
)
from tests.harness.execution import ExecutionResult
from tests.harness.local_aws import LocalWorld

pytestmark = pytest.mark.e2e
BOUNDARY = "arn:aws:iam::123456789012:policy/clickpipes/local-role-boundary"  # the stack's ClickPipesRoleBoundary


def onboard(world: LocalWorld, identifier: str, user: str, **extra: Any) -> ExecutionResult:
    request = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, **extra}
    return world.run(STATE_MACHINE, request, timeout=120)


def payload(result: ExecutionResult, state: str) -> Any:
    """The Lambda result of the last run of a Task state."""
    step = [s for s in result.steps if s.name == state][-1]
    return step.output["Payload"] if isinstance(step.output, dict) and "Payload" in step.output else step.output


def describe(world: LocalWorld, engine: str, identifier: str) -> dict[str, Any]:
    if ENGINES[engine].kind == "cluster":
        return dict(world.rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0])
    return dict(world.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0])


def tags(world: LocalWorld, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in world.rds.list_tags_for_resource(ResourceName=arn)["TagList"]}


def policy(document: Any) -> Any:
    return json.loads(unquote(document)) if isinstance(document, str) else document


@pytest.mark.parametrize("engine", list(ENGINES))
def test_onboarding_per_engine(world: LocalWorld, local_dbs: LocalDbsEnv, engine: str) -> None:
    identifier, user = fresh(engine.replace("aurora-", "au-"))
    db = create_db(world, local_dbs, engine, identifier)
    sample_table(local_dbs, engine, identifier, rows=1)  # an application's table: what the grants must cover
    case = ENGINES[engine]
    arn = db["DBClusterArn"] if case.kind == "cluster" else db["DBInstanceArn"]
    resource_id = db["DbClusterResourceId"] if case.kind == "cluster" else db["DbiResourceId"]
    # moto says "available" at once: feed what RDS really reports while it applies the change
    world.feed_statuses(identifier, ["available", "modifying", "configuring-iam-database-auth"])

    result = onboard(world, identifier, user, cdc=False)  # the IAM part; tests/e2e/test_cdc.py adds CDC

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    # the polling loop polled: two "not yet" answers, two waits, then ready
    names = [s.name for s in result.steps]
    assert names.count("CheckDbStatus") == 3
    assert names.count("WaitForDb") == 2
    assert describe(world, engine, identifier)["IAMDatabaseAuthenticationEnabled"] is True

    role_name = result.output["role_arn"].rsplit("/", 1)[1]
    dbuser_arn = f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{resource_id}/{user}"
    assert resource_id.startswith("cluster-" if case.kind == "cluster" else "db-")
    changes = result.output.pop("changes")
    assert changes[0].endswith("EnableIAMDatabaseAuthentication=true, ApplyImmediately=true")
    role_at = changes.index(f"CreateRole /clickpipes/{role_name}: trust {PRINCIPAL}, permissions boundary {BOUNDARY}")
    assert any(user in change for change in changes[1:role_at])  # CREATE USER / GRANT rds_iam
    assert changes[role_at + 1] == f"PutRolePolicy: rds-db:connect on {dbuser_arn}"
    # then what an initial load reads with (cdc: false: nothing for replication)
    if case.server == "postgres":  # USAGE on public: PUBLIC has it already
        assert changes[role_at + 2 :] == [
            f'GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "{user}"',
            f'ALTER DEFAULT PRIVILEGES IN SCHEMA "public" GRANT SELECT ON TABLES TO "{user}"',
        ]
    else:
        assert changes[role_at + 2 :] == [f"GRANT SELECT ON `{DATABASE}`.* TO '{user}'@'%'"]
    assert result.output == {
        "db_identifier": identifier,
        "kind": case.kind,
        "engine": engine,
        "engine_version": case.version,
        "resource_id": resource_id,
        "endpoint": db["Endpoint"] if case.kind == "cluster" else db["Endpoint"]["Address"],
        "port": db["Port"] if case.kind == "cluster" else db["Endpoint"]["Port"],
        "db_user": user,
        "dbuser_arn": dbuser_arn,
        "role_arn": f"arn:aws:iam::123456789012:role/clickpipes/{role_name}",
        "pipe_modes": ["initial_load"],  # CDC not asked for
        "warnings": [],
        "plan_only": False,
        "requested_by": None,  # a direct StartExecution that names no requester
    }
    iam = world.client("iam")
    role = iam.get_role(RoleName=role_name)["Role"]
    assert policy(role["AssumeRolePolicyDocument"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": PRINCIPAL}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
        ],
    }
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == ["clickpipes-rds-db-connect"]
    assert policy(
        iam.get_role_policy(RoleName=role_name, PolicyName="clickpipes-rds-db-connect")["PolicyDocument"]
    ) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["rds-db:connect"], "Resource": [dbuser_arn]}],
    }
    assert tags(world, arn) == {
        "clickpipes:status": "ready",
        "clickpipes:role-arn": result.output["role_arn"],
        # what an offboarding may undo or take away (tests/e2e/test_offboarding.py)
        "clickpipes:iam-auth-enabled-by-us": "true",
        "clickpipes:onboarded-db-user": user,
        # what the audit checks again (tests/e2e/test_audit.py): the admin login, no CDC, the schemas granted
        "clickpipes:admin-secret-arn": db["MasterUserSecret"]["SecretArn"],
        "clickpipes:onboarded-cdc": "false",
        "clickpipes:onboarded-schemas": "public" if case.server == "postgres" else DATABASE,
    }

    # ClickPipes' side: the new user logs in with an IAM token, and only with a valid one
    assert login_with_token(local_dbs, engine, user) == user
    forged = iam_token(local_dbs, case.server, user, secret_key="not-the-right-secret")
    login = pg_login_with_token if case.server == "postgres" else mariadb_login_with_token
    with pytest.raises((psycopg.OperationalError, pymysql.err.OperationalError)):
        login(user, forged, env=local_dbs)


@pytest.mark.parametrize("engine", ["postgres", "aurora-mysql"])
def test_rerun_is_a_no_op_success(world: LocalWorld, local_dbs: LocalDbsEnv, engine: str) -> None:
    identifier, user = fresh("rerun")
    create_db(world, local_dbs, engine, identifier)
    first = onboard(world, identifier, user, allow_reboot=True)
    second = onboard(world, identifier, user, allow_reboot=True)
    assert (first.status, second.status) == ("SUCCEEDED", "SUCCEEDED")
    assert second.output == first.output | {"changes": []}
    assert first.output["pipe_modes"] == ["initial_load", "cdc"]
    assert payload(second, "EnableIamAuth") == {"modified": False, "changes": [], "warnings": []}
    assert payload(second, "CreateDbUser")["changed"] is False
    assert payload(second, "CreateIamRole")["created"] is False
    assert payload(second, "CreateIamRole")["updated"] is False
    assert [s.name for s in second.steps].count("WaitForDb") == 0
    assert "RebootDb" not in [s.name for s in second.steps]
    roles = world.client("iam").list_roles(PathPrefix="/clickpipes/")["Roles"]
    assert [r["Arn"] for r in roles].count(first.output["role_arn"]) == 1


def test_aurora_member_instance_onboards_its_cluster(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("member")
    cluster = create_db(world, local_dbs, "aurora-postgresql", identifier)
    result = onboard(world, f"{identifier}-writer", user)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert (result.output["kind"], result.output["resource_id"]) == ("cluster", cluster["DbClusterResourceId"])
    assert "belongs to Aurora cluster" in result.output["warnings"][0]
