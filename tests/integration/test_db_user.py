"""CreateDbUser against real PostgreSQL 15 and MariaDB 10.11 servers that authenticate like RDS.

The product's own handler runs (secret from moto's Secrets Manager with host/port pointing at the local
server, TLS verified against the local CA); then the new user logs in with a real IAM token.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Literal

import boto3
import create_db_user
import psycopg
import pymysql
import pytest
from clickpipes.errors import (
    AdminCredentialsError,
    DbConnectionError,
    DbPrivilegeError,
    ExistingUserError,
    IamAuthNotActiveError,
    InvalidInputError,
)
from clickpipes.models import AdminCredentials
from clickpipes.models.base import SecretStr
from clickpipes.settings import DbSettings
from clickpipes_db.gateway import DatabaseGateway
from moto import mock_aws
from psycopg import sql

from tests.dbs.pytest_plugin import unique_name
from tests.dbs.servers import (
    LocalDbsEnv,
    iam_token,
    mariadb_connect,
    mariadb_login_with_token,
    mariadb_root_connect,
    pg_connect,
    pg_login_with_token,
    pg_superuser_connect,
)
from tests.unit.conftest import ENGINE_VERSIONS, FakeContext, load_event

pytestmark = pytest.mark.dbs

POSTGRES_ENGINES = ["postgres", "aurora-postgresql"]
MYSQL_ENGINES = ["mysql", "mariadb", "aurora-mysql"]
ALL_ENGINES = POSTGRES_ENGINES + MYSQL_ENGINES

HOSTILE_NAMES = [
    'x"; DROP ROLE rdsmaster; --',
    "x'; DROP USER admin; --",
    "back`tick",
    "back\\slash",
    "a" * 64,
    "",
    "x y",
    "semi;colon",
]


def server(engine: str) -> str:
    return "postgres" if engine in POSTGRES_ENGINES else "mariadb"


@pytest.fixture
def dbs(local_dbs: LocalDbsEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalDbsEnv]:
    """The local DB servers, with moto mocking AWS and the DB step's environment set (not a LocalWorld)."""
    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DB_TLS_MODE": "verify-full",
        "DB_CA_BUNDLE": local_dbs.ca_file,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    from clickpipes.aws.clients import client

    client.cache_clear()
    with mock_aws():
        yield local_dbs
    client.cache_clear()


@pytest.fixture
def run_step(dbs: LocalDbsEnv) -> Callable[..., dict[str, Any]]:
    """Invoke the CreateDbUser handler for an engine, with an admin secret that points at the local server."""

    def run(engine: str, user: str, **secret_changes: Any) -> dict[str, Any]:
        srv = dbs.postgres if server(engine) == "postgres" else dbs.mariadb
        secret = {"username": srv.admin_user, "password": srv.admin_password, "host": srv.host, "port": srv.port}
        secret.update(secret_changes)
        arn = boto3.client("secretsmanager").create_secret(Name=unique_name("admin"), SecretString=json.dumps(secret))[
            "ARN"
        ]
        target = load_event("create_db_user.json")["target"] | {
            **moto_db(engine),
            "engine": engine,
            "db_user": user,
            "admin_secret_arn": arn,
            "database": "postgres" if server(engine) == "postgres" else None,
        }
        return create_db_user.handler({"target": target}, FakeContext())

    return run


def moto_db(engine: str, identifier: str = "orders-pg") -> dict[str, str]:
    """The DB the step describes (it acts on what RDS says, not on the event): created in moto once per test."""
    rds = boto3.client("rds")
    aurora = engine.startswith("aurora")
    db: Any  # a DBInstance or a DBCluster, read by key below
    try:
        if aurora:
            db = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
        else:
            db = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    except rds.exceptions.ClientError:
        common = {
            "Engine": engine,
            "EngineVersion": ENGINE_VERSIONS[engine],
            "MasterUsername": "master",
            "ManageMasterUserPassword": True,
        }
        if aurora:
            db = rds.create_db_cluster(DBClusterIdentifier=identifier, **common)["DBCluster"]
        else:
            db = rds.create_db_instance(
                DBInstanceIdentifier=identifier, DBInstanceClass="db.t3.micro", AllocatedStorage=20, **common
            )["DBInstance"]
    if aurora:
        return {"kind": "cluster", "arn": db["DBClusterArn"], "resource_id": db["DbClusterResourceId"]}
    return {"kind": "instance", "arn": db["DBInstanceArn"], "resource_id": db["DbiResourceId"]}


@pytest.fixture
def user_name(dbs: LocalDbsEnv) -> Iterator[str]:
    """A fresh user name; dropped from both servers afterwards."""
    name = unique_name("cp_iam")
    yield name
    drop_everywhere(dbs, name)


def drop_everywhere(env: LocalDbsEnv, name: str) -> None:
    with pg_superuser_connect(env) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
    with mariadb_root_connect(env) as conn, conn.cursor() as cur:
        cur.execute("DROP USER IF EXISTS %s@'%%'", (name,))


def login(env: LocalDbsEnv, engine: str, user: str, token: str) -> str:
    if server(engine) == "postgres":
        return pg_login_with_token(user, token, env=env)
    return mariadb_login_with_token(user, token, env=env)


def accounts(env: LocalDbsEnv) -> tuple[list[str], list[str]]:
    with pg_superuser_connect(env) as conn:
        roles = [r[0] for r in conn.execute("SELECT rolname FROM pg_roles ORDER BY 1").fetchall()]
    with mariadb_root_connect(env) as conn, conn.cursor() as cur:
        cur.execute("SELECT CONCAT(User, '@', Host, ':', plugin) FROM mysql.user ORDER BY 1")
        users = [r[0] for r in cur.fetchall()]
    return roles, users


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_user_is_created_then_logs_in_with_an_iam_token(
    dbs: LocalDbsEnv, run_step: Callable[..., dict[str, Any]], user_name: str, engine: str
) -> None:
    result = run_step(engine, user_name)
    assert result["created"] is True
    assert result["changed"] is True
    token = iam_token(dbs, server(engine), user_name)
    assert login(dbs, engine, user_name, token) == user_name


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_rerun_is_a_no_op(run_step: Callable[..., dict[str, Any]], user_name: str, engine: str) -> None:
    run_step(engine, user_name)
    again = run_step(engine, user_name)
    assert again["created"] is False
    assert again["changed"] is False
    assert again["changes"] == []


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_bad_tokens_are_refused(
    dbs: LocalDbsEnv, run_step: Callable[..., dict[str, Any]], user_name: str, engine: str
) -> None:
    run_step(engine, user_name)
    srv = server(engine)
    bad_tokens = [
        iam_token(dbs, srv, user_name, secret_key="not-the-test-secret"),
        iam_token(dbs, srv, "someone_else"),
        iam_token(dbs, srv, user_name, region="eu-west-1"),
        iam_token(dbs, srv, user_name)[:-4] + "0000",
        "a-plain-password",
    ]
    for token in bad_tokens:
        with pytest.raises((psycopg.OperationalError, pymysql.err.OperationalError)):
            login(dbs, engine, user_name, token)


def test_existing_postgres_password_user_is_granted_rds_iam(
    dbs: LocalDbsEnv, run_step: Callable[..., dict[str, Any]], gateway_for: GatewayFor, user_name: str
) -> None:
    """The step (no adopt_existing) refuses; the gateway with adopt_existing converts it."""
    with pg_superuser_connect(dbs) as conn:
        conn.execute(sql.SQL("CREATE USER {} PASSWORD 'old-password'").format(sql.Identifier(user_name)))
    with pytest.raises(ExistingUserError):
        run_step("postgres", user_name)
    with pg_connect(user_name, "old-password", env=dbs) as conn:  # untouched
        assert conn.execute("SELECT current_user").fetchone() == (user_name,)
    gateway, admin = gateway_for("postgres")
    result = gateway.ensure_iam_user("postgres", admin, user_name, adopt_existing=True)
    assert result.created is False
    assert [a for a in result.changes if "clickpipes_managed" not in a] == [f"GRANT rds_iam TO {user_name}"]
    assert "IAM only" in result.warnings[0]
    assert login(dbs, "postgres", user_name, iam_token(dbs, "postgres", user_name)) == user_name
    with pytest.raises(psycopg.OperationalError, match="PAM authentication failed"):
        login(dbs, "postgres", user_name, "old-password")


def test_existing_mysql_password_user_is_converted(
    dbs: LocalDbsEnv, run_step: Callable[..., dict[str, Any]], gateway_for: GatewayFor, user_name: str
) -> None:
    with mariadb_root_connect(dbs) as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY 'old-password'", (user_name,))
    with pytest.raises(ExistingUserError):
        run_step("mysql", user_name)
    mariadb_connect(user_name, "old-password", env=dbs).close()  # untouched
    gateway, admin = gateway_for("mariadb")
    result = gateway.ensure_iam_user("mysql", admin, user_name, adopt_existing=True)
    assert result.created is False
    assert [a for a in result.changes if "clickpipes_managed" not in a] == [
        f"ALTER USER '{user_name}'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'"
    ]
    assert login(dbs, "mysql", user_name, iam_token(dbs, "mariadb", user_name)) == user_name
    with pytest.raises(pymysql.err.OperationalError):
        login(dbs, "mysql", user_name, "old-password")


def test_postgres_names_are_quoted_not_folded(dbs: LocalDbsEnv, run_step: Callable[..., dict[str, Any]]) -> None:
    name = "ClickPipes_" + unique_name("Mixed")
    try:
        run_step("postgres", name)
        with pg_superuser_connect(dbs) as conn:
            assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (name,)).fetchone() == (1,)
            assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (name.lower(),)).fetchone() == (0,)
    finally:
        drop_everywhere(dbs, name)


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_refused_before_any_sql(
    dbs: LocalDbsEnv, run_step: Callable[..., dict[str, Any]], engine: str, name: str
) -> None:
    before = accounts(dbs)
    with pytest.raises(InvalidInputError, match="db_user"):
        run_step(engine, name)
    assert accounts(dbs) == before


@pytest.fixture
def low_privilege_admin(dbs: LocalDbsEnv) -> Iterator[tuple[str, str]]:
    name, password = unique_name("lowpriv"), "lowpriv-password-1"
    with pg_superuser_connect(dbs) as conn:
        conn.execute(sql.SQL("CREATE USER {} PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
    with mariadb_root_connect(dbs) as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (name, password))
        cur.execute("GRANT SELECT ON mysql.* TO %s@'%%'", (name,))
    yield name, password
    drop_everywhere(dbs, name)


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_admin_without_privilege(
    dbs: LocalDbsEnv,
    run_step: Callable[..., dict[str, Any]],
    low_privilege_admin: tuple[str, str],
    user_name: str,
    engine: str,
) -> None:
    admin, password = low_privilege_admin
    before = accounts(dbs)
    with pytest.raises(DbPrivilegeError, match="may not create"):
        run_step(engine, user_name, username=admin, password=password)
    assert accounts(dbs) == before


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_wrong_admin_password(run_step: Callable[..., dict[str, Any]], user_name: str, engine: str) -> None:
    with pytest.raises(AdminCredentialsError, match="refused the admin user") as caught:
        run_step(engine, user_name, password="wrong-password-123")
    assert "wrong-password-123" not in str(caught.value)


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_server_down(run_step: Callable[..., dict[str, Any]], user_name: str, engine: str) -> None:
    with pytest.raises(DbConnectionError, match="Cannot connect"):
        run_step(engine, user_name, port=1)


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_wrong_ca_fails_verification(
    dbs: LocalDbsEnv,
    run_step: Callable[..., dict[str, Any]],
    user_name: str,
    engine: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DB_CA_BUNDLE", dbs.wrong_ca_file)
    with pytest.raises(DbConnectionError, match="Cannot connect"):
        run_step(engine, user_name)


@pytest.fixture
def plugin_unloaded(dbs: LocalDbsEnv) -> Iterator[None]:
    """MariaDB without AWSAuthenticationPlugin: RDS MySQL before IAM authentication is active."""
    with mariadb_root_connect(dbs) as conn, conn.cursor() as cur:
        cur.execute("UNINSTALL PLUGIN AWSAuthenticationPlugin")
    try:
        yield
    finally:
        with mariadb_root_connect(dbs) as conn, conn.cursor() as cur:
            cur.execute("INSTALL SONAME 'aws_auth'")


def test_mysql_without_the_iam_plugin_is_reported_clearly(
    run_step: Callable[..., dict[str, Any]], plugin_unloaded: None, user_name: str
) -> None:
    with pytest.raises(IamAuthNotActiveError, match="1524|not loaded"):
        run_step("mysql", user_name)


def test_mysql_conversion_without_the_iam_plugin_is_reported_clearly(
    dbs: LocalDbsEnv, gateway_for: GatewayFor, plugin_unloaded: None, user_name: str
) -> None:
    with mariadb_root_connect(dbs) as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY 'old-password'", (user_name,))
    gateway, admin = gateway_for("mariadb")
    with pytest.raises(IamAuthNotActiveError, match="not active"):
        gateway.ensure_iam_user("mysql", admin, user_name, adopt_existing=True)


# plan_only: the same inspection, nothing executed ------------------------------------------------------------
GatewayFor = Callable[..., tuple[DatabaseGateway, AdminCredentials]]


@pytest.fixture
def gateway_for(dbs: LocalDbsEnv) -> GatewayFor:
    """The product's DatabaseGateway and admin credentials for one local server (TLS verified, local CA)."""

    def make(engine: str, **changes: Any) -> tuple[DatabaseGateway, AdminCredentials]:
        srv = dbs.postgres if server(engine) == "postgres" else dbs.mariadb
        fields: dict[str, Any] = {
            "username": srv.admin_user,
            "password": SecretStr(srv.admin_password),
            "host": srv.host,
            "port": srv.port,
            "database": "postgres" if server(engine) == "postgres" else None,
        }
        gateway = DatabaseGateway(DbSettings.from_env({"DB_TLS_MODE": "verify-full", "DB_CA_BUNDLE": dbs.ca_file}))
        return gateway, AdminCredentials(**(fields | changes))

    return make


def family_of(engine: str) -> Literal["postgres", "mysql"]:
    return "postgres" if server(engine) == "postgres" else "mysql"


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_plan_only_for_a_new_user_creates_nothing(
    dbs: LocalDbsEnv, gateway_for: GatewayFor, user_name: str, engine: str
) -> None:
    gateway, admin = gateway_for(engine)
    before = accounts(dbs)
    plan = gateway.ensure_iam_user(family_of(engine), admin, user_name, plan_only=True)
    assert accounts(dbs) == before
    assert (plan.created, plan.changed) == (True, True)
    real = gateway.ensure_iam_user(family_of(engine), admin, user_name)
    assert plan.changes == real.changes  # what the plan said is what the run did
    assert [a for a in plan.changes if not a.startswith(("CREATE ROLE", "COMMENT ON ROLE"))] == (
        [f"CREATE USER {user_name}", f"GRANT rds_iam TO {user_name}", f"GRANT clickpipes_managed TO {user_name}"]
        if engine == "postgres"
        else [
            f"CREATE USER '{user_name}'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'",
            f"GRANT `clickpipes_managed` TO '{user_name}'@'%'",
        ]
    )
    assert not plan.warnings  # the IAM plugin is active here
    again = gateway.ensure_iam_user(family_of(engine), admin, user_name, plan_only=True)
    assert (again.created, again.changed, again.changes) == (False, False, [])


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_plan_only_for_a_password_user_keeps_the_password(
    dbs: LocalDbsEnv, gateway_for: GatewayFor, user_name: str, engine: str
) -> None:
    gateway, admin = gateway_for(engine)
    if engine == "postgres":
        with pg_superuser_connect(dbs) as conn:
            conn.execute(sql.SQL("CREATE USER {} PASSWORD 'old-password'").format(sql.Identifier(user_name)))
    else:
        with mariadb_root_connect(dbs) as conn, conn.cursor() as cur:
            cur.execute("CREATE USER %s@'%%' IDENTIFIED BY 'old-password'", (user_name,))
    before = accounts(dbs)
    with pytest.raises(ExistingUserError, match="adopt_existing_user"):
        gateway.ensure_iam_user(family_of(engine), admin, user_name, plan_only=True)
    plan = gateway.ensure_iam_user(family_of(engine), admin, user_name, plan_only=True, adopt_existing=True)
    assert accounts(dbs) == before
    assert (plan.created, plan.changed) == (False, True)
    actions = [a for a in plan.changes if not a.startswith(("CREATE ROLE", "COMMENT ON ROLE"))]
    assert actions[0].startswith("GRANT rds_iam" if engine == "postgres" else "ALTER USER")
    assert "would then log in with IAM only" in plan.warnings[0]
    if engine == "postgres":  # the password still works: nothing was changed
        with pg_connect(user_name, "old-password", env=dbs) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (user_name,)
    else:
        mariadb_connect(user_name, "old-password", env=dbs).close()


def test_plan_only_postgres_admin_without_createrole(
    dbs: LocalDbsEnv,
    gateway_for: GatewayFor,
    low_privilege_admin: tuple[str, str],
    user_name: str,
) -> None:
    """The plan fails the way the run would (no CREATEROLE), without trying it."""
    name, password = low_privilege_admin
    gateway, admin = gateway_for("postgres", username=name, password=SecretStr(password))
    with pytest.raises(DbPrivilegeError, match="may not create"):
        gateway.ensure_iam_user("postgres", admin, user_name, plan_only=True)
