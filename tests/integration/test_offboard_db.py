"""The offboarding's DB layer (clickpipes_db.offboard_*) against real PostgreSQL 15 and MariaDB 10.11 servers that
authenticate like RDS: the onboarding's own functions make the user and the publication first."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pymysql
import pytest
from clickpipes.models import AdminCredentials, CdcDbRequest
from clickpipes.models.base import SecretStr
from clickpipes.offboarding_models import DbOffboardRequest
from clickpipes.settings import DbSettings
from clickpipes_db.offboard_gateway import OffboardDatabaseGateway
from psycopg import sql

from tests.dbs.pytest_plugin import unique_name
from tests.dbs.servers import (
    LocalDbsEnv,
    iam_token,
    mariadb_login_with_token,
    mariadb_root_connect,
    pg_connect,
    pg_login_with_token,
    pg_superuser_connect,
)

pytestmark = pytest.mark.dbs


@pytest.fixture(scope="module")
def gateway(local_dbs: LocalDbsEnv) -> OffboardDatabaseGateway:
    return OffboardDatabaseGateway(
        DbSettings.from_env({"DB_TLS_MODE": "verify-full", "DB_CA_BUNDLE": local_dbs.ca_file})
    )


def offboard_request(user: str, publication: str = "clickpipes", **changes: Any) -> DbOffboardRequest:
    return DbOffboardRequest(**({"user": user, "publication": publication, "plan_only": False} | changes))


# =========================================================================================================
# PostgreSQL
# =========================================================================================================
@dataclass(frozen=True)
class PgCase:
    env: LocalDbsEnv
    database: str
    schema: str
    user: str
    publication: str
    admin: AdminCredentials

    def superuser(self) -> psycopg.Connection[Any]:
        return pg_superuser_connect(self.env, dbname=self.database)

    def role(self) -> tuple[bool, bool] | None:
        """(rolcanlogin, member of rds_iam), or None when the role is gone."""
        with self.superuser() as conn:
            row = conn.execute(
                "SELECT rolcanlogin, pg_has_role(oid, 'rds_iam', 'MEMBER') FROM pg_roles WHERE rolname = %s",
                (self.user,),
            ).fetchone()
        return None if row is None else (row[0], row[1])

    def publications(self) -> list[str]:
        with self.superuser() as conn:
            return [r[0] for r in conn.execute("SELECT pubname FROM pg_publication").fetchall()]

    def slots(self) -> list[str]:
        with self.superuser() as conn:
            rows = conn.execute("SELECT slot_name FROM pg_replication_slots WHERE database = %s", (self.database,))
            return [r[0] for r in rows.fetchall()]


@pytest.fixture(scope="module")
def pg_db(local_dbs: LocalDbsEnv) -> Iterator[str]:
    name = unique_name("off_db")
    with pg_connect(local_dbs.postgres.admin_user, local_dbs.postgres.admin_password, env=local_dbs) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with pg_superuser_connect(local_dbs) as conn:
        for (slot,) in conn.execute("SELECT slot_name FROM pg_replication_slots WHERE database = %s", (name,)):
            conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def pg_case(local_dbs: LocalDbsEnv, pg_db: str, gateway: OffboardDatabaseGateway) -> Iterator[PgCase]:
    """What an onboarding leaves: a marked IAM user with its CDC grants and rds_replication, a marked publication."""
    case = PgCase(
        env=local_dbs,
        database=pg_db,
        schema=unique_name("shop"),
        user=unique_name("cp_off"),
        publication=unique_name("pub"),
        admin=AdminCredentials(
            username=local_dbs.postgres.admin_user,
            password=SecretStr(local_dbs.postgres.admin_password),
            host=local_dbs.postgres.host,
            port=local_dbs.postgres.port,
            database=pg_db,
        ),
    )
    with pg_connect(local_dbs.postgres.admin_user, local_dbs.postgres.admin_password, env=local_dbs, dbname=pg_db) as c:
        c.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(case.schema)))
        c.execute(sql.SQL("CREATE TABLE {}.orders (id int PRIMARY KEY)").format(sql.Identifier(case.schema)))
    gateway.ensure_iam_user("postgres", case.admin, case.user)
    cdc = CdcDbRequest(
        user=case.user,
        schemas=[case.schema],
        tables=[],
        publication=case.publication,
        binlog_retention_hours=None,
        plan_only=False,
    )
    gateway.configure_cdc("postgres", case.admin, cdc)
    yield case
    ident = sql.Identifier(case.user)
    with case.superuser() as conn:
        conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(case.publication)))
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(case.schema)))
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (case.user,)).fetchone():
            conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(ident))
            conn.execute(sql.SQL("DROP ROLE {}").format(ident))


def test_pg_user_and_publication_dropped_then_a_rerun_does_nothing(
    pg_case: PgCase, gateway: OffboardDatabaseGateway
) -> None:
    case = pg_case
    assert pg_login_with_token(case.user, iam_token(case.env, "postgres", case.user), env=case.env)
    plan = gateway.offboard("postgres", case.admin, offboard_request(case.user, case.publication, plan_only=True))
    assert plan.user == "dropped"
    assert f"DROP ROLE {case.user}" in plan.changes
    assert f"DROP PUBLICATION {case.publication}" in plan.changes
    assert case.role() == (True, True)  # plan_only changed nothing
    assert case.publication in case.publications()

    result = gateway.offboard("postgres", case.admin, offboard_request(case.user, case.publication))
    assert (result.user, result.publication) == ("dropped", "dropped")
    assert result.changes[0] == f"ALTER ROLE {case.user} NOLOGIN"
    assert f"DROP OWNED BY {case.user}" in result.changes
    assert result.changes[-2:] == [f"DROP ROLE {case.user}", f"DROP PUBLICATION {case.publication}"]
    assert case.role() is None
    assert case.publication not in case.publications()
    with pytest.raises(psycopg.OperationalError):
        pg_login_with_token(case.user, iam_token(case.env, "postgres", case.user), env=case.env)

    again = gateway.offboard("postgres", case.admin, offboard_request(case.user, case.publication))
    assert (again.user, again.publication, again.changes) == ("absent", "absent", [])


def test_pg_user_owning_a_table_is_disabled_not_dropped(pg_case: PgCase, gateway: OffboardDatabaseGateway) -> None:
    case = pg_case
    with case.superuser() as conn:
        conn.execute(sql.SQL("CREATE TABLE {}.mine (id int)").format(sql.Identifier(case.schema)))
        conn.execute(
            sql.SQL("ALTER TABLE {}.mine OWNER TO {}").format(sql.Identifier(case.schema), sql.Identifier(case.user))
        )
    result = gateway.offboard("postgres", case.admin, offboard_request(case.user, case.publication))
    assert result.user == "disabled"
    assert result.changes[:1] == [f"ALTER ROLE {case.user} NOLOGIN"]
    assert f"REVOKE rds_iam FROM {case.user}" in result.changes
    assert f"REVOKE rds_replication FROM {case.user}" in result.changes
    assert any("disabled, not dropped" in w and "owner of table" in w for w in result.warnings), result.warnings
    assert case.role() == (False, False)
    with case.superuser() as conn:  # the table is still there, still its
        assert conn.execute(sql.SQL("SELECT count(*) FROM {}.mine").format(sql.Identifier(case.schema))).fetchone() == (
            0,
        )
    with pytest.raises(psycopg.OperationalError):
        pg_login_with_token(case.user, iam_token(case.env, "postgres", case.user), env=case.env)
    again = gateway.offboard("postgres", case.admin, offboard_request(case.user, case.publication))
    assert (again.user, again.changes) == ("disabled", [])


def test_pg_foreign_user_and_publication_are_untouched(pg_case: PgCase, gateway: OffboardDatabaseGateway) -> None:
    case = pg_case
    foreign, pub = unique_name("foreign"), unique_name("fpub")
    with case.superuser() as conn:
        conn.execute(sql.SQL("CREATE USER {}").format(sql.Identifier(foreign)))
        conn.execute(sql.SQL("GRANT rds_iam TO {}").format(sql.Identifier(foreign)))
        conn.execute(sql.SQL("CREATE PUBLICATION {} FOR ALL TABLES").format(sql.Identifier(pub)))
    try:
        result = gateway.offboard("postgres", case.admin, offboard_request(foreign, pub))
        assert (result.user, result.publication, result.changes) == ("foreign", "foreign", [])
        assert any("not created by this tool" in w and foreign in w for w in result.warnings)
        assert any(f"Publication '{pub}' was not created by this tool" in w for w in result.warnings)
        with case.superuser() as conn:
            assert conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (foreign,)).fetchone() == (True,)
        assert pub in case.publications()
    finally:
        with case.superuser() as conn:
            conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(pub)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(foreign)))


@pytest.fixture
def replication_admin(pg_case: PgCase) -> Iterator[AdminCredentials]:
    """An admin like RDS's master, whose rds_superuser may drop slots (locally: the REPLICATION attribute)."""
    name, password = unique_name("repl_admin"), unique_name("pw")
    with pg_superuser_connect(pg_case.env) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} CREATEROLE REPLICATION").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )
    yield pg_case.admin.model_copy(update={"username": name, "password": SecretStr(password)})
    with pg_superuser_connect(pg_case.env) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def test_pg_slot_not_dropped_without_the_right_is_named(pg_case: PgCase, gateway: OffboardDatabaseGateway) -> None:
    case = pg_case
    slot = unique_name("slot")
    with case.superuser() as conn:
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
    try:
        result = gateway.offboard(
            "postgres", case.admin, offboard_request(case.user, case.publication, drop_replication_slots=True)
        )
        assert any(f"'{slot}' (pgoutput) could not be dropped" in w for w in result.warnings), result.warnings
        assert slot in case.slots()
    finally:
        with case.superuser() as conn:
            conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))


def test_pg_inactive_slot_reported_and_dropped_only_when_asked(
    pg_case: PgCase, gateway: OffboardDatabaseGateway, replication_admin: AdminCredentials
) -> None:
    case = pg_case
    slot = unique_name("slot")
    with case.superuser() as conn:
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
    result = gateway.offboard("postgres", replication_admin, offboard_request(case.user, "no_such_pub"))
    [warning] = [w for w in result.warnings if slot in w]
    assert "inactive and retains" in warning
    assert "of WAL" in warning
    assert f"SELECT pg_drop_replication_slot('{slot}')" in warning
    assert slot in case.slots()
    plan = gateway.offboard(
        "postgres",
        case.admin,
        offboard_request(case.user, "no_such_pub", drop_replication_slots=True, plan_only=True),
    )
    assert any(a.startswith(f"SELECT pg_drop_replication_slot('{slot}')") for a in plan.changes)
    assert slot in case.slots()
    dropped = gateway.offboard(
        "postgres", replication_admin, offboard_request(case.user, "no_such_pub", drop_replication_slots=True)
    )
    assert any(a.startswith(f"SELECT pg_drop_replication_slot('{slot}')") for a in dropped.changes)
    assert slot not in case.slots()


def test_pg_active_slot_is_kept(
    pg_case: PgCase, gateway: OffboardDatabaseGateway, replication_admin: AdminCredentials
) -> None:
    """A live logical replication connection (pg_recvlogical, the server's own client) holds the slot active."""
    case = pg_case
    slot = unique_name("live")
    with case.superuser() as conn:
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (slot,))
        binary = conn.execute("SELECT setting FROM pg_config() WHERE name = 'BINDIR'").fetchone()
    recvlogical = f"{binary[0]}/pg_recvlogical" if binary else "pg_recvlogical"
    consumer = subprocess.Popen(
        [
            recvlogical,
            "-h",
            case.env.postgres.socket_dir,
            "-p",
            str(case.env.postgres.port),
            "-U",
            case.env.postgres.superuser,
            "-d",
            case.database,
            "--slot",
            slot,
            "--start",
            "-f",
            "/dev/null",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            with case.superuser() as conn:
                row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)).fetchone()
            if row == (True,) or consumer.poll() is not None:
                break
            time.sleep(0.1)
        assert row == (True,), consumer.stderr.read() if consumer.stderr and consumer.poll() is not None else row
        result = gateway.offboard(
            "postgres", replication_admin, offboard_request(case.user, "no_such_pub", drop_replication_slots=True)
        )
        assert any(slot in w and "is active: kept" in w for w in result.warnings), result.warnings
        assert not any(slot in a for a in result.changes)
        assert slot in case.slots()
    finally:
        consumer.terminate()
        consumer.wait(10)


# =========================================================================================================
# MariaDB
# =========================================================================================================
@dataclass(frozen=True)
class MyCase:
    env: LocalDbsEnv
    schema: str
    user: str
    admin: AdminCredentials

    def exists(self) -> bool:
        with mariadb_root_connect(self.env) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1 FROM mysql.user WHERE User = %s AND Host = '%%'", (self.user,))
            return cur.fetchone() is not None


def retention(env: LocalDbsEnv) -> str | None:
    with mariadb_root_connect(env) as conn, conn.cursor() as cur:
        cur.execute("SELECT value FROM mysql.rds_configuration WHERE name = 'binlog retention hours'")
        row = cur.fetchone()
    return None if row is None or row[0] is None else str(row[0])


@pytest.fixture
def my_case(local_dbs: LocalDbsEnv, gateway: OffboardDatabaseGateway) -> Iterator[MyCase]:
    schema, user = unique_name("shop"), unique_name("cp_off")
    with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{schema}`")
        cur.execute(f"CREATE TABLE `{schema}`.orders (id INT PRIMARY KEY)")
    admin = AdminCredentials(
        username=local_dbs.mariadb.admin_user,
        password=SecretStr(local_dbs.mariadb.admin_password),
        host=local_dbs.mariadb.host,
        port=local_dbs.mariadb.port,
        database=None,
    )
    gateway.ensure_iam_user("mysql", admin, user)
    yield MyCase(local_dbs, schema, user, admin)
    with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{schema}`")
        cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")


def test_mariadb_user_dropped_then_a_rerun_does_nothing(my_case: MyCase, gateway: OffboardDatabaseGateway) -> None:
    case = my_case
    assert mariadb_login_with_token(case.user, iam_token(case.env, "mariadb", case.user), env=case.env)
    plan = gateway.offboard("mysql", case.admin, offboard_request(case.user, plan_only=True))
    assert plan.changes == [f"DROP USER '{case.user}'@'%'"]
    assert case.exists()
    result = gateway.offboard("mysql", case.admin, offboard_request(case.user))
    assert (result.user, result.changes) == ("dropped", [f"DROP USER '{case.user}'@'%'"])
    assert not case.exists()
    with pytest.raises(pymysql.err.OperationalError):
        mariadb_login_with_token(case.user, iam_token(case.env, "mariadb", case.user), env=case.env)
    again = gateway.offboard("mysql", case.admin, offboard_request(case.user))
    assert (again.user, again.changes) == ("absent", [])


def test_mariadb_definer_of_a_view_is_locked_not_dropped(my_case: MyCase, gateway: OffboardDatabaseGateway) -> None:
    case = my_case
    with mariadb_root_connect(case.env) as conn, conn.cursor() as cur:
        view = f"CREATE DEFINER = '{case.user}'@'%' SQL SECURITY DEFINER VIEW `{case.schema}`.v AS "
        cur.execute(view + f"SELECT id FROM `{case.schema}`.orders")  # noqa: S608 (unique names)
    result = gateway.offboard("mysql", case.admin, offboard_request(case.user))
    assert result.user == "disabled"
    assert result.changes == [f"ALTER USER '{case.user}'@'%' ACCOUNT LOCK"]
    assert any("DEFINER of view" in w and f"{case.schema}.v" in w for w in result.warnings), result.warnings
    assert case.exists()
    with pytest.raises(pymysql.err.OperationalError):
        mariadb_login_with_token(case.user, iam_token(case.env, "mariadb", case.user), env=case.env)
    again = gateway.offboard("mysql", case.admin, offboard_request(case.user))
    assert (again.user, again.changes) == ("disabled", [])


def test_mariadb_foreign_user_is_untouched(local_dbs: LocalDbsEnv, gateway: OffboardDatabaseGateway) -> None:
    foreign = unique_name("foreign")
    admin = AdminCredentials(
        username=local_dbs.mariadb.admin_user,
        password=SecretStr(local_dbs.mariadb.admin_password),
        host=local_dbs.mariadb.host,
        port=local_dbs.mariadb.port,
        database=None,
    )
    with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{foreign}'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'")
    try:
        result = gateway.offboard("mysql", admin, offboard_request(foreign))
        assert (result.user, result.changes) == ("foreign", [])
        assert any("not created by this tool" in w for w in result.warnings)
        with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1 FROM mysql.user WHERE User = %s", (foreign,))
            assert cur.fetchone() is not None
    finally:
        with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{foreign}'@'%'")


def test_mariadb_binlog_retention_restored_to_the_recorded_value(
    my_case: MyCase, gateway: OffboardDatabaseGateway
) -> None:
    case = my_case
    saved = retention(case.env)
    with mariadb_root_connect(case.env) as conn, conn.cursor() as cur:
        cur.execute("CALL mysql.rds_set_configuration('binlog retention hours', 72)")
    try:
        result = gateway.offboard("mysql", case.admin, offboard_request(case.user, restore_binlog_retention="24"))
        assert "CALL mysql.rds_set_configuration('binlog retention hours', 24)" in result.changes
        assert result.binlog_retention_restored
        assert retention(case.env) == "24"
    finally:
        with mariadb_root_connect(case.env) as conn, conn.cursor() as cur:
            cur.execute("CALL mysql.rds_set_configuration('binlog retention hours', %s)", (saved,))
