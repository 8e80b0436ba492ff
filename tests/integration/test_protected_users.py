"""The trust boundary of ensure_iam_user, on the real local PostgreSQL 15 and MariaDB 10.11 ("RDS"): protected users
are never converted, existing password users only with adopt_existing, and the tool marks (clickpipes_managed) and
recognises its own. Every refusal is checked to have changed nothing: attributes, grants, the password login."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pymysql
import pytest
from clickpipes.errors import ExistingUserError, ProtectedUserError
from clickpipes.models import AdminCredentials, DbUserResult
from clickpipes.models.base import SecretStr
from clickpipes.settings import DbSettings
from clickpipes_db import mysql, postgres, trust
from clickpipes_db.gateway import DatabaseGateway
from clickpipes_db.tls import Tls
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

pytestmark = pytest.mark.dbs

PASSWORD = "app-password-1"
MODES = [
    pytest.param({}, id="default"),
    pytest.param({"adopt_existing": True}, id="adopt"),
    pytest.param({"plan_only": True}, id="plan"),
    pytest.param({"adopt_existing": True, "plan_only": True}, id="adopt-plan"),
]


@pytest.fixture(scope="module")
def gateway(local_dbs: LocalDbsEnv) -> DatabaseGateway:
    return DatabaseGateway(DbSettings.from_env({"DB_TLS_MODE": "verify-full", "DB_CA_BUNDLE": local_dbs.ca_file}))


def admin_of(env: LocalDbsEnv, engine: str) -> AdminCredentials:
    srv = env.postgres if engine == "postgres" else env.mariadb
    return AdminCredentials(
        username=srv.admin_user,
        password=SecretStr(srv.admin_password),
        host=srv.host,
        port=srv.port,
        database="postgres" if engine == "postgres" else None,
    )


def family(engine: str) -> Any:
    return "postgres" if engine == "postgres" else "mysql"


def ensure(gateway: DatabaseGateway, env: LocalDbsEnv, engine: str, user: str, **options: Any) -> DbUserResult:
    return gateway.ensure_iam_user(family(engine), admin_of(env, engine), user, **options)


def managed(env: LocalDbsEnv, engine: str, user: str) -> bool:
    tls = Tls(mode="verify-full", ca_bundle=env.ca_file)
    if engine == "postgres":
        with postgres.connect(admin_of(env, engine), tls, 5) as conn:
            return postgres.is_managed_user(conn, user)
    with mysql.connect(admin_of(env, engine), tls, 5) as conn:
        return mysql.is_managed_user(conn, user)


def without_marker_setup(actions: list[str]) -> list[str]:
    """The actions but the marker role's creation (done once per server, by whichever run comes first)."""
    return [a for a in actions if not a.startswith(("CREATE ROLE", "COMMENT ON ROLE"))]


# --- PostgreSQL --------------------------------------------------------------------------------------------------
def pg_state(env: LocalDbsEnv, user: str) -> list[tuple[Any, ...]]:
    """The role's attributes, password hash and memberships, as the superuser sees them."""
    with pg_superuser_connect(env) as conn:
        return [
            *conn.execute(
                "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, rolcanlogin, "
                "  rolpassword FROM pg_authid WHERE rolname = %s",
                (user,),
            ).fetchall(),
            *conn.execute(
                "SELECT roleid::regrole::text, admin_option FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                "WHERE r.rolname = %s ORDER BY 1",
                (user,),
            ).fetchall(),
        ]


def pg_password_login_works(env: LocalDbsEnv, user: str) -> None:
    with pg_connect(user, PASSWORD, env=env) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (user,)


@pytest.fixture
def pg_user(local_dbs: LocalDbsEnv) -> Iterator[Callable[[str], str]]:
    """make(options): a fresh role made by the superuser, with a password, and ``options`` (e.g. CREATEROLE)."""
    made: list[str] = []

    def make(options: str) -> str:
        name = unique_name("app_pg")
        made.append(name)
        with pg_superuser_connect(local_dbs) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} " + options).format(  # options: the test's own constants
                    sql.Identifier(name), sql.Literal(PASSWORD)
                )
            )
        return name

    yield make
    with pg_superuser_connect(local_dbs) as conn:
        for name in made:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def pg_group(local_dbs: LocalDbsEnv) -> Iterator[str]:
    """A NOLOGIN group role with CREATEROLE: its members could SET ROLE to it."""
    name = unique_name("app_admins")
    with pg_superuser_connect(local_dbs) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN CREATEROLE").format(sql.Identifier(name)))
    yield name
    with pg_superuser_connect(local_dbs) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.mark.parametrize("options", MODES)
def test_pg_admin_login_is_protected(gateway: DatabaseGateway, local_dbs: LocalDbsEnv, options: dict[str, Any]) -> None:
    admin = local_dbs.postgres.admin_user
    before = pg_state(local_dbs, admin)
    with pytest.raises(ProtectedUserError, match="admin user.*Choose another db_user"):
        ensure(gateway, local_dbs, "postgres", admin, **options)
    tls = Tls(mode="verify-full", ca_bundle=local_dbs.ca_file)
    with (  # the engine's own check, too
        postgres.connect(admin_of(local_dbs, "postgres"), tls, 5) as conn,
        pytest.raises(ProtectedUserError, match="connects as"),
    ):
        postgres.ensure_iam_user(conn, admin, **options)
    assert pg_state(local_dbs, admin) == before
    with pg_connect(admin, local_dbs.postgres.admin_password, env=local_dbs):
        pass


@pytest.mark.parametrize("options", MODES)
@pytest.mark.parametrize(
    ("attributes", "reason"),
    [
        ("SUPERUSER", "SUPERUSER"),
        ("CREATEROLE", "CREATEROLE"),
        ("CREATEDB", "CREATEDB"),
        ("BYPASSRLS", "BYPASSRLS"),
        ("IN ROLE rds_superuser", "a member of rds_superuser"),
        ("GROUP", "which has CREATEROLE"),
    ],
)
def test_pg_admin_class_users_are_protected(
    gateway: DatabaseGateway,
    local_dbs: LocalDbsEnv,
    pg_user: Callable[[str], str],
    pg_group: str,
    attributes: str,
    reason: str,
    options: dict[str, Any],
) -> None:
    user = pg_user("" if attributes == "GROUP" else attributes)
    if attributes == "GROUP":  # indirect: a member of a role with CREATEROLE
        with pg_superuser_connect(local_dbs) as conn:
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(pg_group), sql.Identifier(user)))
    before = pg_state(local_dbs, user)
    with pytest.raises(ProtectedUserError, match=reason) as caught:
        ensure(gateway, local_dbs, "postgres", user, **options)
    assert f"db_user '{user}' is protected" in str(caught.value)
    assert pg_state(local_dbs, user) == before
    pg_password_login_works(local_dbs, user)
    assert not managed(local_dbs, "postgres", user)


@pytest.mark.parametrize("name", [trust.MARKER, "rds_superuser", "rds_iam", "rdsadmin"])
def test_pg_marker_and_reserved_roles_are_protected(
    gateway: DatabaseGateway, local_dbs: LocalDbsEnv, name: str
) -> None:
    before = pg_state(local_dbs, name)
    for options in ({}, {"adopt_existing": True}, {"plan_only": True}):
        with pytest.raises(ProtectedUserError):
            ensure(gateway, local_dbs, "postgres", name, **options)
    assert pg_state(local_dbs, name) == before


@pytest.mark.parametrize("attributes", ["", "REPLICATION"])  # REPLICATION alone is not admin-class
def test_pg_password_user_needs_adopt_existing(
    gateway: DatabaseGateway, local_dbs: LocalDbsEnv, pg_user: Callable[[str], str], attributes: str
) -> None:
    user = pg_user(attributes)
    before = pg_state(local_dbs, user)
    for options in ({}, {"plan_only": True}):
        with pytest.raises(ExistingUserError, match=f"'{user}' already exists.*adopt_existing_user: true"):
            ensure(gateway, local_dbs, "postgres", user, **options)
    assert pg_state(local_dbs, user) == before
    pg_password_login_works(local_dbs, user)

    plan = ensure(gateway, local_dbs, "postgres", user, adopt_existing=True, plan_only=True)
    assert pg_state(local_dbs, user) == before
    result = ensure(gateway, local_dbs, "postgres", user, adopt_existing=True)
    assert result.changes == plan.changes
    assert without_marker_setup(result.changes) == [f"GRANT rds_iam TO {user}", f"GRANT {trust.MARKER} TO {user}"]
    assert (result.created, result.changed) == (False, True)
    assert result.warnings == [trust.adopted_warning(user, converted=True, plan_only=False)]
    assert f"'{user}'" in result.warnings[0]
    assert "IAM only" in result.warnings[0]
    assert managed(local_dbs, "postgres", user)
    assert pg_login_with_token(user, iam_token(local_dbs, "postgres", user), env=local_dbs) == user
    with pytest.raises(psycopg.OperationalError, match="PAM authentication failed"):
        pg_password_login_works(local_dbs, user)
    again = ensure(gateway, local_dbs, "postgres", user)  # ours now: no flag needed, nothing to do
    assert (again.changed, again.changes, again.warnings) == (False, [], [])


def test_pg_runbook_iam_user_is_adopted_without_the_flag(
    gateway: DatabaseGateway, local_dbs: LocalDbsEnv, pg_iam_user: str
) -> None:
    """CREATE USER u; GRANT rds_iam TO u (the manual runbook, or this tool before it marked its users)."""
    user = pg_iam_user
    plan = ensure(gateway, local_dbs, "postgres", user, plan_only=True)
    assert not managed(local_dbs, "postgres", user)
    result = ensure(gateway, local_dbs, "postgres", user)
    assert result.changes == plan.changes
    assert without_marker_setup(result.changes) == [f"GRANT {trust.MARKER} TO {user}"]
    assert result.warnings == [f"Existing user '{user}' already logged in with IAM only: it was adopted as it is "
                               f"and is now marked as managed by this tool (role {trust.MARKER})."]  # fmt: skip
    assert managed(local_dbs, "postgres", user)
    assert pg_login_with_token(user, iam_token(local_dbs, "postgres", user), env=local_dbs) == user
    again = ensure(gateway, local_dbs, "postgres", user)
    assert (again.changed, again.changes, again.warnings) == (False, [], [])


def test_pg_created_user_is_marked(gateway: DatabaseGateway, local_dbs: LocalDbsEnv) -> None:
    user = unique_name("cp_new")
    try:
        result = ensure(gateway, local_dbs, "postgres", user)
        assert without_marker_setup(result.changes) == [
            f"CREATE USER {user}",
            f"GRANT rds_iam TO {user}",
            f"GRANT {trust.MARKER} TO {user}",
        ]
        assert (result.created, result.warnings) == (True, [])
        assert managed(local_dbs, "postgres", user)
        assert not managed(local_dbs, "postgres", local_dbs.postgres.admin_user)  # ADMIN OPTION (PG16+) is not ours
        again = ensure(gateway, local_dbs, "postgres", user)
        assert (again.created, again.changed, again.changes, again.warnings) == (False, False, [], [])
        with pg_superuser_connect(local_dbs) as conn:
            marker = conn.execute(
                "SELECT rolcanlogin, shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s",
                (trust.MARKER,),
            ).fetchone()
        assert marker == (False, trust.MARKER_COMMENT)
    finally:
        with pg_superuser_connect(local_dbs) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))


# --- MariaDB (the MySQL family) ----------------------------------------------------------------------------------
def my_state(env: LocalDbsEnv, user: str) -> list[Any]:
    with mariadb_root_connect(env) as conn, conn.cursor() as cur:
        cur.execute("SELECT plugin, authentication_string FROM mysql.user WHERE User = %s AND Host = '%%'", (user,))
        account = cur.fetchall()
        cur.execute("SHOW GRANTS FOR %s@'%%'", (user,))
        return [account, sorted(r[0] for r in cur.fetchall())]


def my_password_login_works(env: LocalDbsEnv, user: str) -> None:
    conn = mariadb_connect(user, PASSWORD, env=env)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER()")
            assert cur.fetchone() == (f"{user}@%",)
    finally:
        conn.close()


@pytest.fixture
def my_user(local_dbs: LocalDbsEnv) -> Iterator[Callable[..., str]]:
    """make(*grants): a fresh password user 'u'@'%' with the given GRANT statements ({u}: the account)."""
    made: list[str] = []

    def make(*grants: str) -> str:
        name = unique_name("app_my")
        made.append(name)
        with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
            cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (name, PASSWORD))
            for grant in grants:
                cur.execute(grant.format(u=f"'{name}'@'%'"))
        return name

    yield make
    with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
        for name in made:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (name,))
        cur.execute("DROP ROLE IF EXISTS cp_test_powerful")


@pytest.mark.parametrize("options", MODES)
def test_mariadb_admin_login_is_protected(
    gateway: DatabaseGateway, local_dbs: LocalDbsEnv, options: dict[str, Any]
) -> None:
    admin = local_dbs.mariadb.admin_user
    before = my_state(local_dbs, admin)
    with pytest.raises(ProtectedUserError, match="admin user"):
        ensure(gateway, local_dbs, "mariadb", admin, **options)
    tls = Tls(mode="verify-full", ca_bundle=local_dbs.ca_file)
    with (
        mysql.connect(admin_of(local_dbs, "mariadb"), tls, 5) as conn,
        pytest.raises(ProtectedUserError, match="connects as"),
    ):
        mysql.ensure_iam_user(conn, admin, **options)
    assert my_state(local_dbs, admin) == before


@pytest.mark.parametrize("options", MODES)
@pytest.mark.parametrize(
    ("grants", "reason"),
    [
        (["GRANT PROCESS ON *.* TO {u}"], "holds PROCESS ON"),
        (["GRANT ALL ON *.* TO {u}"], "holds ALL PRIVILEGES ON"),
        (["GRANT REPLICATION SLAVE ON *.* TO {u} WITH GRANT OPTION"], "WITH GRANT OPTION"),
        (["GRANT SELECT ON `mysql`.* TO {u} WITH GRANT OPTION"], "WITH GRANT OPTION"),
        (["GRANT INSERT ON `mysql`.* TO {u}"], "holds INSERT ON `mysql`"),
        (
            [
                "CREATE ROLE cp_test_powerful",
                "GRANT CREATE USER ON *.* TO cp_test_powerful",
                "GRANT cp_test_powerful TO {u}",
            ],
            "holds role cp_test_powerful, which holds CREATE USER ON",
        ),
    ],
)
def test_mariadb_admin_class_users_are_protected(
    gateway: DatabaseGateway,
    local_dbs: LocalDbsEnv,
    my_user: Callable[..., str],
    grants: list[str],
    reason: str,
    options: dict[str, Any],
) -> None:
    user = my_user(*grants)
    before = my_state(local_dbs, user)
    with pytest.raises(ProtectedUserError, match=reason):
        ensure(gateway, local_dbs, "mariadb", user, **options)
    assert my_state(local_dbs, user) == before
    my_password_login_works(local_dbs, user)


def test_mariadb_onboarding_grants_are_not_admin_class(
    gateway: DatabaseGateway, local_dbs: LocalDbsEnv, my_user: Callable[..., str]
) -> None:
    """What configure_cdc grants (REPLICATION CLIENT = BINLOG MONITOR, REPLICATION SLAVE, SELECT) does not protect."""
    user = my_user("GRANT REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO {u}", "GRANT SELECT ON `mysql`.* TO {u}")
    with pytest.raises(ExistingUserError):
        ensure(gateway, local_dbs, "mariadb", user)


@pytest.mark.parametrize("name", [trust.MARKER, "rdsadmin", "root"])
def test_mariadb_marker_and_reserved_are_protected(gateway: DatabaseGateway, local_dbs: LocalDbsEnv, name: str) -> None:
    for options in ({}, {"adopt_existing": True}, {"plan_only": True}):
        with pytest.raises(ProtectedUserError):
            ensure(gateway, local_dbs, "mariadb", name, **options)


def test_mariadb_password_user_needs_adopt_existing(
    gateway: DatabaseGateway, local_dbs: LocalDbsEnv, my_user: Callable[..., str]
) -> None:
    user = my_user("GRANT SELECT ON `mysql`.* TO {u}")
    before = my_state(local_dbs, user)
    for options in ({}, {"plan_only": True}):
        with pytest.raises(ExistingUserError, match=f"'{user}' already exists.*mysql_native_password"):
            ensure(gateway, local_dbs, "mariadb", user, **options)
    assert my_state(local_dbs, user) == before
    my_password_login_works(local_dbs, user)

    plan = ensure(gateway, local_dbs, "mariadb", user, adopt_existing=True, plan_only=True)
    assert my_state(local_dbs, user) == before
    result = ensure(gateway, local_dbs, "mariadb", user, adopt_existing=True)
    assert result.changes == plan.changes
    assert [a for a in result.changes if not a.startswith("CREATE ROLE")] == [
        f"ALTER USER '{user}'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'",
        f"GRANT `{trust.MARKER}` TO '{user}'@'%'",
    ]
    assert result.warnings == [trust.adopted_warning(user, converted=True, plan_only=False)]
    assert managed(local_dbs, "mariadb", user)
    assert mariadb_login_with_token(user, iam_token(local_dbs, "mariadb", user), env=local_dbs) == user
    with pytest.raises(pymysql.err.OperationalError):
        my_password_login_works(local_dbs, user)
    again = ensure(gateway, local_dbs, "mariadb", user)
    assert (again.changed, again.changes, again.warnings) == (False, [], [])


def test_mariadb_runbook_iam_user_is_adopted_without_the_flag(
    gateway: DatabaseGateway, local_dbs: LocalDbsEnv, mariadb_iam_user: str
) -> None:
    user = mariadb_iam_user
    plan = ensure(gateway, local_dbs, "mariadb", user, plan_only=True)
    assert not managed(local_dbs, "mariadb", user)
    result = ensure(gateway, local_dbs, "mariadb", user)
    assert result.changes == plan.changes
    assert [a for a in result.changes if not a.startswith("CREATE ROLE")] == [f"GRANT `{trust.MARKER}` TO '{user}'@'%'"]
    assert result.warnings == [trust.adopted_warning(user, converted=False, plan_only=False)]
    assert f"'{user}'" in result.warnings[0]
    assert managed(local_dbs, "mariadb", user)
    again = ensure(gateway, local_dbs, "mariadb", user)
    assert (again.changed, again.changes, again.warnings) == (False, [], [])


def test_mariadb_created_user_is_marked(gateway: DatabaseGateway, local_dbs: LocalDbsEnv) -> None:
    user = unique_name("cp_new")
    try:
        result = ensure(gateway, local_dbs, "mariadb", user)
        assert [a for a in result.changes if not a.startswith("CREATE ROLE")] == [
            f"CREATE USER '{user}'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'",
            f"GRANT `{trust.MARKER}` TO '{user}'@'%'",
        ]
        assert (result.created, result.warnings) == (True, [])
        assert managed(local_dbs, "mariadb", user)
        assert not managed(local_dbs, "mariadb", local_dbs.mariadb.admin_user)  # WITH ADMIN OPTION: not ours
        again = ensure(gateway, local_dbs, "mariadb", user)
        assert (again.created, again.changed, again.changes, again.warnings) == (False, False, [], [])
        assert mariadb_login_with_token(user, iam_token(local_dbs, "mariadb", user), env=local_dbs) == user
    finally:
        with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))
