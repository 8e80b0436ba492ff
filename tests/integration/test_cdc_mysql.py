"""CDC readiness on the MySQL family (DatabaseGateway.configure_cdc) against a real MariaDB 10.11 server that
behaves like RDS MySQL/MariaDB/Aurora MySQL: grants, binlog retention, binlog settings, hostile names.
PostgreSQL's are in test_cdc_postgres.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from clickpipes.errors import DbPrivilegeError, InvalidInputError
from clickpipes.models import AdminCredentials, CdcDbRequest
from clickpipes.models.base import SecretStr
from clickpipes_db.gateway import DatabaseGateway

from tests.dbs.pytest_plugin import unique_name
from tests.dbs.servers import (
    LocalDbsEnv,
    iam_token,
    mariadb_connect,
    mariadb_root_connect,
)
from tests.integration.cdc_support import HOSTILE_SCHEMAS, request

pytestmark = pytest.mark.dbs


# =========================================================================================================
# MariaDB (RDS MySQL / MariaDB / Aurora MySQL)
# =========================================================================================================
@dataclass(frozen=True)
class MyCase:
    env: LocalDbsEnv
    schema: str
    user: str
    admin: AdminCredentials

    def request(self, **changes: Any) -> CdcDbRequest:
        return request(**({"user": self.user, "schemas": [self.schema], "binlog_retention_hours": 72} | changes))


def retention(env: LocalDbsEnv) -> str | None:
    with mariadb_root_connect(env) as conn, conn.cursor() as cur:
        cur.execute("CALL mysql.rds_show_configuration()")
        rows = cur.fetchall()
    value = next(r[1] for r in rows if r[0] == "binlog retention hours")
    return None if value is None else str(value)


def grants(env: LocalDbsEnv, user: str) -> list[str]:
    with mariadb_root_connect(env) as conn, conn.cursor() as cur:
        cur.execute("SHOW GRANTS FOR %s@'%%'", (user,))
        return sorted(r[0] for r in cur.fetchall())


def my_snapshot(case: MyCase) -> tuple[list[str], str | None]:
    """The user's grants and the server-wide binlog retention. Only for tests that may touch the retention: other
    sessions on the same server (e2e) may set it at any time."""
    return grants(case.env, case.user), retention(case.env)


@pytest.fixture
def my_case(local_dbs: LocalDbsEnv, mariadb_iam_user: str) -> Iterator[MyCase]:
    """A database with a table, an IAM user (raw SQL, the tests/dbs fixture); the server-wide binlog retention
    is put back afterwards (other sessions share the server)."""
    schema = unique_name("shop")
    saved = retention(local_dbs)
    with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{schema}`")
        cur.execute(f"CREATE TABLE `{schema}`.orders (id INT PRIMARY KEY, v TEXT)")
        cur.execute(f"INSERT INTO `{schema}`.orders VALUES (1, 'a')")  # noqa: S608 (unique_name: safe)
        cur.execute("CALL mysql.rds_set_configuration('binlog retention hours', NULL)")
    admin = AdminCredentials(
        username=local_dbs.mariadb.admin_user,
        password=SecretStr(local_dbs.mariadb.admin_password),
        host=local_dbs.mariadb.host,
        port=local_dbs.mariadb.port,
        database=None,
    )
    yield MyCase(local_dbs, schema, mariadb_iam_user, admin)
    with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{schema}`")
        cur.execute("CALL mysql.rds_set_configuration('binlog retention hours', %s)", (saved,))


def test_mariadb_configure_grants_and_retention(my_case: MyCase, gateway: DatabaseGateway) -> None:
    case = my_case
    result = gateway.configure_cdc("mysql", case.admin, case.request())
    u = f"'{case.user}'@'%'"
    assert result.changes == [
        "CALL mysql.rds_set_configuration('binlog retention hours', 72)",
        f"GRANT REPLICATION CLIENT ON *.* TO {u}",
        f"GRANT REPLICATION SLAVE ON *.* TO {u}",
        f"GRANT SELECT ON `mysql`.* TO {u}",
        f"GRANT SELECT ON `{case.schema}`.* TO {u}",
    ]
    shown = grants(case.env, case.user)
    assert shown[0].startswith(f"GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `{case.user}`@`%`")  # MariaDB
    assert f"GRANT SELECT ON `mysql`.* TO `{case.user}`@`%`" in shown
    assert f"GRANT SELECT ON `{case.schema}`.* TO `{case.user}`@`%`" in shown
    assert retention(case.env) == "72"
    assert (result.warnings, result.binlog_ready) == ([], True)  # the server runs as the parameter group says
    assert result.iam_auth_for_replication is None
    # The IAM user itself, logged in with a token: reads the table and the binlog position.
    conn = mariadb_connect(case.user, iam_token(case.env, "mariadb", case.user), env=case.env)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT v FROM `{case.schema}`.orders")  # noqa: S608 (unique_name: safe)
            assert cur.fetchall() == (("a",),)
            cur.execute("SHOW BINARY LOGS")  # needs REPLICATION CLIENT (BINLOG MONITOR)
            assert cur.fetchall()
            cur.execute("SELECT COUNT(*) FROM mysql.db")
    finally:
        conn.close()


def test_mariadb_read_only_grants_select_on_the_schemas_only(
    my_case: MyCase, gateway: DatabaseGateway, binlog_row_metadata_off: None
) -> None:
    """replication off (an onboarding with cdc: false): what an initial load reads with, nothing for CDC: no
    retention change (even though 72 is asked), no replication grant, no binlog check (the binlog is not ready)."""
    case = my_case
    plan = gateway.configure_cdc("mysql", case.admin, case.request(replication=False, plan_only=True))
    select = f"GRANT SELECT ON `{case.schema}`.* TO '{case.user}'@'%'"
    assert plan.changes == [select]
    assert not any(case.schema in g for g in grants(case.env, case.user))  # a plan changes nothing
    result = gateway.configure_cdc("mysql", case.admin, case.request(replication=False))
    assert result.changes == plan.changes
    assert (result.warnings, result.binlog_ready, result.previous_binlog_retention) == ([], None, None)
    shown = grants(case.env, case.user)
    assert f"GRANT SELECT ON `{case.schema}`.* TO `{case.user}`@`%`" in shown
    assert not any("REPLICATION" in g or "BINLOG" in g or "`mysql`" in g for g in shown), shown
    assert retention(case.env) is None  # untouched (the fixture set RDS's default)
    conn = mariadb_connect(case.user, iam_token(case.env, "mariadb", case.user), env=case.env)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT v FROM `{case.schema}`.orders")  # noqa: S608 (unique_name: safe)
            assert cur.fetchall() == (("a",),)
    finally:
        conn.close()
    assert gateway.configure_cdc("mysql", case.admin, case.request(replication=False)).changes == []  # idempotent
    # CDC turned on later: only what replication adds
    assert [c.split(" TO ")[0] for c in gateway.configure_cdc("mysql", case.admin, case.request()).changes] == [
        "CALL mysql.rds_set_configuration('binlog retention hours', 72)",
        "GRANT REPLICATION CLIENT ON *.*",
        "GRANT REPLICATION SLAVE ON *.*",
        "GRANT SELECT ON `mysql`.*",
    ]


@pytest.fixture
def binlog_row_metadata_off(local_dbs: LocalDbsEnv) -> Iterator[None]:
    """The server as before its parameter group applies: MariaDB's default binlog_row_metadata (dynamic)."""
    with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
        cur.execute("SET GLOBAL binlog_row_metadata = 'NO_LOG'")
    yield
    with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
        cur.execute("SET GLOBAL binlog_row_metadata = 'FULL'")


@pytest.mark.usefixtures("binlog_row_metadata_off")
def test_mariadb_binlog_not_ready_is_reported_not_changed(my_case: MyCase, gateway: DatabaseGateway) -> None:
    result = gateway.configure_cdc("mysql", my_case.admin, my_case.request())
    assert result.binlog_ready is False
    assert result.warnings == [
        "binlog_row_metadata is NO_LOG, ClickPipes CDC needs FULL: set it in the DB's custom (cluster) parameter "
        "group; if that is done, the change may still be pending a reboot."
    ]
    assert not any("binlog_row_metadata" in action for action in result.changes)  # a parameter group matter
    with mariadb_root_connect(my_case.env) as conn, conn.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.binlog_row_metadata")
        assert cur.fetchone() == ("NO_LOG",)


def test_mariadb_rerun_is_a_no_op(my_case: MyCase, gateway: DatabaseGateway) -> None:
    gateway.configure_cdc("mysql", my_case.admin, my_case.request())
    before = my_snapshot(my_case)
    assert gateway.configure_cdc("mysql", my_case.admin, my_case.request()).changes == []
    assert my_snapshot(my_case) == before
    # without a retention in the request, the retention is left alone
    assert gateway.configure_cdc("mysql", my_case.admin, my_case.request(binlog_retention_hours=None)).changes == []


def test_mariadb_plan_only_changes_nothing_and_predicts_the_run(my_case: MyCase, gateway: DatabaseGateway) -> None:
    before = my_snapshot(my_case)
    plan = gateway.configure_cdc("mysql", my_case.admin, my_case.request(plan_only=True))
    assert len(plan.changes) == 5
    assert my_snapshot(my_case) == before
    real = gateway.configure_cdc("mysql", my_case.admin, my_case.request())
    assert real.changes == plan.changes
    assert gateway.configure_cdc("mysql", my_case.admin, my_case.request(plan_only=True)).changes == []


def test_mariadb_plan_only_for_a_user_not_created_yet(my_case: MyCase, gateway: DatabaseGateway) -> None:
    future = unique_name("cp_future")
    plan = gateway.configure_cdc("mysql", my_case.admin, my_case.request(user=future, plan_only=True))
    assert sum(f"'{future}'@'%'" in a for a in plan.changes) == 4
    with pytest.raises(InvalidInputError, match="does not exist"):
        gateway.configure_cdc("mysql", my_case.admin, my_case.request(user=future))


@pytest.mark.parametrize("hours", [500, 0])
def test_mariadb_out_of_range_retention(my_case: MyCase, gateway: DatabaseGateway, hours: int) -> None:
    before = my_snapshot(my_case)
    with pytest.raises(InvalidInputError, match="1 to 168 hours") as caught:  # the procedure's SIGNAL, mapped
        gateway.configure_cdc("mysql", my_case.admin, my_case.request(binlog_retention_hours=hours))
    assert "between 1 and 168" in str(caught.value)  # the server's own words
    assert my_snapshot(my_case) == before  # the retention goes first: nothing was granted either
    with pytest.raises(InvalidInputError, match="1 to 168 hours"):
        gateway.configure_cdc("mysql", my_case.admin, my_case.request(binlog_retention_hours=hours, plan_only=True))


MYSQL_HOSTILE_SCHEMAS = [
    *(n for n in HOSTILE_SCHEMAS if n not in {"pg_catalog", "1starts_with_digit_pg"}),
    "performance_schema",
    "dash-ed",
    "dollar$",
    "x%",
    "x_%",
    "x\x00",
]


@pytest.mark.parametrize("name", MYSQL_HOSTILE_SCHEMAS)
def test_mariadb_hostile_schema_names_are_refused_before_any_sql(
    my_case: MyCase, gateway: DatabaseGateway, name: str
) -> None:
    unreachable = my_case.admin.model_copy(update={"port": 1})
    with pytest.raises(InvalidInputError, match="[Ss]chema"):
        gateway.configure_cdc("mysql", unreachable, my_case.request(schemas=[name]))
    before = grants(my_case.env, my_case.user)
    with pytest.raises(InvalidInputError):
        gateway.configure_cdc("mysql", my_case.admin, my_case.request(schemas=[my_case.schema, name]))
    assert grants(my_case.env, my_case.user) == before


def test_mariadb_missing_schema(my_case: MyCase, gateway: DatabaseGateway) -> None:
    before = grants(my_case.env, my_case.user)
    with pytest.raises(InvalidInputError, match="no_such_db"):
        gateway.configure_cdc("mysql", my_case.admin, my_case.request(schemas=[my_case.schema, "no_such_db"]))
    with pytest.raises(InvalidInputError, match=my_case.schema.upper()):  # names are case-sensitive
        gateway.configure_cdc("mysql", my_case.admin, my_case.request(schemas=[my_case.schema.upper()]))
    assert grants(my_case.env, my_case.user) == before


def test_mariadb_admin_without_grant_option(my_case: MyCase, gateway: DatabaseGateway) -> None:
    name, password = unique_name("lowpriv"), "lowpriv-password-1"
    with mariadb_root_connect(my_case.env) as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (name, password))
        cur.execute("GRANT SELECT ON mysql.* TO %s@'%%'", (name,))
        cur.execute(f"GRANT SELECT ON `{my_case.schema}`.* TO %s@'%%'", (name,))
        cur.execute("GRANT EXECUTE ON PROCEDURE mysql.rds_show_configuration TO %s@'%%'", (name,))
    try:
        low = my_case.admin.model_copy(update={"username": name, "password": SecretStr(password)})
        before = grants(my_case.env, my_case.user)
        with pytest.raises(DbPrivilegeError, match="may not grant"):
            gateway.configure_cdc("mysql", low, my_case.request(binlog_retention_hours=None))
        assert grants(my_case.env, my_case.user) == before
    finally:
        with mariadb_root_connect(my_case.env) as conn, conn.cursor() as cur:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (name,))


def test_mariadb_reports_the_tables_of_the_schemas_for_the_clickpipe(my_case: MyCase, gateway: DatabaseGateway) -> None:
    """What CreateClickPipe maps: the base tables of the granted schemas (a view is not one; the onboarding's
    tables narrow them), and the pipe's tables that are not among them. A plan knows them too."""
    case = my_case
    with mariadb_root_connect(case.env) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE `{case.schema}`.items (id INT PRIMARY KEY)")
        cur.execute(f"CREATE VIEW `{case.schema}`.recent AS SELECT id FROM `{case.schema}`.orders")  # noqa: S608 (unique_name: safe)
    plan = gateway.configure_cdc("mysql", case.admin, case.request(plan_only=True, replication=False))
    assert plan.published_tables == [f"{case.schema}.items", f"{case.schema}.orders"]
    wanted = case.request(replication=False, pipe_tables=[f"{case.schema}.orders", f"{case.schema}.recent"])
    result = gateway.configure_cdc("mysql", case.admin, wanted)
    assert (result.published_count, result.unpublished) == (2, [f"{case.schema}.recent"])
    narrowed = case.request(replication=False, tables=[f"{case.schema}.orders"])
    assert gateway.configure_cdc("mysql", case.admin, narrowed).published_tables == [f"{case.schema}.orders"]
