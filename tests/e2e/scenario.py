"""The product on the local world: the real template deployed into moto, sample databases whose admin
secrets point at the local PostgreSQL/MariaDB servers. Shared by the e2e suite, the demo and the benchmark."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from psycopg import sql

from tests.dbs.servers import (
    LocalDbsEnv,
    iam_token,
    mariadb_login_with_token,
    mariadb_root_connect,
    pg_login_with_token,
    pg_superuser_connect,
)
from tests.harness.execution import ExecutionResult
from tests.harness.local_aws import Deployed, LocalWorld

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
STATE_MACHINE = "OnboardingStateMachine"
PRINCIPAL = "arn:aws:iam::111122223333:role/CH-S3-orange-ab-12-Role"
ALLOWED_ACCOUNT = "111122223333"


@dataclass(frozen=True)
class EngineCase:
    engine: str
    kind: Literal["instance", "cluster"]
    version: str
    server: Literal["postgres", "mariadb"]


ENGINES: dict[str, EngineCase] = {
    "postgres": EngineCase("postgres", "instance", "16.4", "postgres"),
    "mysql": EngineCase("mysql", "instance", "8.0.39", "mariadb"),
    "mariadb": EngineCase("mariadb", "instance", "10.11.9", "mariadb"),
    "aurora-postgresql": EngineCase("aurora-postgresql", "cluster", "16.4", "postgres"),
    "aurora-mysql": EngineCase("aurora-mysql", "cluster", "8.0.mysql_aurora.3.07.1", "mariadb"),
}


def fresh(prefix: str) -> tuple[str, str]:
    """A DB identifier and a DB user name that no other test uses (the servers are shared)."""
    suffix = uuid.uuid4().hex[:8]
    return f"{prefix}-{suffix}", f"cp_{suffix}"


def deploy(world: LocalWorld, env: LocalDbsEnv, **parameters: object) -> Deployed:
    """Deploy template.yaml as is; the only local choices are stack parameters a user has too."""
    overrides: dict[str, object] = {
        "DbCaBundle": env.ca_file,
        "PollIntervalSeconds": 5,
        "MaxWaitSeconds": 120,
        "AllowedClickHousePrincipals": [ALLOWED_ACCOUNT],  # PRINCIPAL's account: the ClickHouse Cloud side
    }
    overrides.update(parameters)
    return world.deploy(TEMPLATE, overrides)


DATABASE = "clickpipes_e2e"  # the DBs' initial database: PostgreSQL CDC works in it, apart from other suites'


def ensure_database(env: LocalDbsEnv) -> None:
    """The DBs' initial database (DBName) on both local servers, as RDS creates it (PostgreSQL: master-owned)."""
    with pg_superuser_connect(env) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
            owner = sql.Identifier(env.postgres.admin_user)
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE), owner))
        # as on RDS with the ClickPipes parameter group applied (rds.iam_auth_for_replication = 1); a server
        # that does not know the setting counts as off (tests/integration/test_cdc_db.py)
        conn.execute(sql.SQL("ALTER DATABASE {} SET rds.iam_auth_for_replication = 1").format(sql.Identifier(DATABASE)))
    with mariadb_root_connect(env) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{DATABASE}`")


def create_db(world: LocalWorld, env: LocalDbsEnv, engine: str, identifier: str, **secret: Any) -> dict[str, Any]:
    """A DB in moto (IAM auth off, RDS-managed master secret) whose secret reaches the local server."""
    case = ENGINES[engine]
    ensure_database(env)
    db: Any  # a DBInstance or a DBCluster, read by key below
    if case.kind == "cluster":
        db = world.rds.create_db_cluster(
            DBClusterIdentifier=identifier,
            DatabaseName=DATABASE,
            Engine=case.engine,
            EngineVersion=case.version,
            MasterUsername="master",
            ManageMasterUserPassword=True,
        )["DBCluster"]
        world.rds.create_db_instance(
            DBInstanceIdentifier=f"{identifier}-writer",
            DBClusterIdentifier=identifier,
            Engine=case.engine,
            DBInstanceClass="db.r6g.large",
        )
    else:
        db = world.rds.create_db_instance(
            DBInstanceIdentifier=identifier,
            Engine=case.engine,
            EngineVersion=case.version,
            DBInstanceClass="db.t3.micro",
            MasterUsername="master",
            ManageMasterUserPassword=True,
            AllocatedStorage=20,
            DBName=DATABASE,
        )["DBInstance"]
    server = env.postgres if case.server == "postgres" else env.mariadb
    value = {"username": server.admin_user, "password": server.admin_password, "host": server.host, "port": server.port}
    value.update(secret)
    world.client("secretsmanager").put_secret_value(
        SecretId=db["MasterUserSecret"]["SecretArn"], SecretString=json.dumps(value)
    )
    return dict(db)


def onboard_at_once(world: LocalWorld, env: LocalDbsEnv, prefix: str, count: int) -> list[tuple[str, str, Any]]:
    """``count`` DBs of the engines in turn, their IAM-only onboardings started together, then waited for:
    (engine, db user, ExecutionResult) each, in order; asserts that every one succeeded, each with its own role."""
    engines = list(ENGINES)
    dbs = []
    for i in range(count):  # every DB first: the setup's calls do not compete with the onboardings' (rate limits)
        engine = engines[i % len(engines)]
        identifier, user = fresh(f"{prefix}{i}")
        create_db(world, env, engine, identifier)
        dbs.append((engine, identifier, user))
    runs = []
    for engine, identifier, user in dbs:
        body = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, "cdc": False}
        runs.append((engine, user, world.start(STATE_MACHINE, body)))
    results = [(engine, user, running.wait(300)) for engine, user, running in runs]
    assert [r.status for _, _, r in results] == ["SUCCEEDED"] * count, [(r.error, r.cause) for _, _, r in results]
    assert len({r.output["role_arn"] for _, _, r in results}) == count
    return results


def sample_table(env: LocalDbsEnv, engine: str, identifier: str, *, rows: int) -> str:
    """A table with rows in the DB's initial database, created by the master user as an application would."""
    name = identifier.replace("-", "_")
    if ENGINES[engine].server == "postgres":
        with pg_superuser_connect(env, dbname=DATABASE) as conn:
            table = sql.Identifier("public", name)
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(env.postgres.admin_user)))
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))  # the demo reuses its names
            conn.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, v text)").format(table))
            conn.execute(
                sql.SQL("INSERT INTO {} SELECT g, 'v' || g FROM generate_series(1, %s) g").format(table), (rows,)
            )
        return f"public.{name}"
    with mariadb_root_connect(env) as conn, conn.cursor() as cur:
        qualified = f"`{DATABASE}`.`{name}`"  # name: from fresh(), letters, digits and _
        cur.execute(f"DROP TABLE IF EXISTS {qualified}")
        cur.execute(f"CREATE TABLE {qualified} (id int PRIMARY KEY, v text)")
        cur.executemany(f"INSERT INTO {qualified} VALUES (%s, %s)", [(i, f"v{i}") for i in range(rows)])  # noqa: S608
        conn.commit()
    return f"{DATABASE}.{name}"


def login_with_token(env: LocalDbsEnv, engine: str, user: str) -> str:
    """Log in as ``user`` with a fresh IAM token (what ClickPipes does); returns the server's current user."""
    server = ENGINES[engine].server
    token = iam_token(env, server, user)
    if server == "postgres":
        return pg_login_with_token(user, token, env=env)
    return mariadb_login_with_token(user, token, env=env)


def clickpipes_settings(output: dict[str, Any]) -> dict[str, Any]:
    """What the user pastes into the ClickPipes form (authentication: IAM role)."""
    return {
        "Host": output["endpoint"],
        "Port": output["port"],
        "User": output["db_user"],
        "Authentication": "IAM role",
        "IAM Role ARN": output["role_arn"],
        "Pipe types": output["pipe_modes"],
    }


def app_changes(env: LocalDbsEnv, engine: str, table: str, *, binlog: str = "ROW") -> int:
    """What an application does to ``table`` (from ``sample_table``) while a pipe streams: three inserts, one
    update, one delete, as the master user. Returns the row changes made (5). MySQL family: ``binlog`` is the
    binlog_format in effect on the DB, or ``OFF`` (no binlog: automated backups off), so that one shared server
    logs each DB's writes as that DB would."""
    schema, name = table.split(".", 1)
    if ENGINES[engine].server == "postgres":
        with pg_superuser_connect(env, dbname=DATABASE) as conn:
            target = sql.Identifier(schema, name)
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(env.postgres.admin_user)))
            conn.execute(sql.SQL("INSERT INTO {} VALUES (100001, 'a'), (100002, 'b'), (100003, 'c')").format(target))
            conn.execute(sql.SQL("UPDATE {} SET v = 'a2' WHERE id = 100001").format(target))
            conn.execute(sql.SQL("DELETE FROM {} WHERE id = 100002").format(target))
        return 5
    qualified = f"`{schema}`.`{name}`"  # from sample_table: letters, digits and _
    with mariadb_root_connect(env) as conn, conn.cursor() as cur:
        if binlog == "OFF":
            cur.execute("SET SESSION sql_log_bin = 0")
        else:
            cur.execute("SET SESSION binlog_format = %s", (binlog,))
        cur.execute(f"INSERT INTO {qualified} VALUES (100001, 'a'), (100002, 'b'), (100003, 'c')")  # noqa: S608
        cur.execute(f"UPDATE {qualified} SET v = 'a2' WHERE id = 100001")  # noqa: S608
        cur.execute(f"DELETE FROM {qualified} WHERE id = 100002")  # noqa: S608
    return 5


AUDIT = "AuditStateMachine"


def audit(world: LocalWorld, **request: Any) -> ExecutionResult:
    """A run of the audit, which must succeed (its findings are in the output)."""
    result = world.run(AUDIT, request, timeout=300)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


def by_db(result: ExecutionResult) -> dict[str, dict[str, Any]]:
    """An audit's per-DB results by DB identifier."""
    return {db["db_identifier"]: db for db in result.output["databases"]}
