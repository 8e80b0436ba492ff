"""MySQL, MariaDB, Aurora MySQL: CREATE USER 'u' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS', marked.

The marker is the role ``clickpipes_managed`` (``CREATE ROLE``, MySQL 8 and MariaDB 10.5+), granted to the user:
see :mod:`clickpipes_db.trust`. Admin-class rights: :mod:`clickpipes_db.mysql_grants`. Only the account
``'u'@'%'`` is considered (the one the onboarding makes); user names are always bound as values.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import TYPE_CHECKING, Final

from clickpipes.errors import (
    IamAuthNotActiveError,
)
from clickpipes.models import AdminCredentials, DbUserResult

from clickpipes_db import trust
from clickpipes_db.drivers import pymysql
from clickpipes_db.faults import (
    MYSQL_ACCESS_DENIED,
    MYSQL_CONNECTION_LOST,
    MYSQL_PRIVILEGE_ERRORS,
    login_refused,
    mysql_code,
    mysql_detail,
    mysql_faults,
)
from clickpipes_db.mysql_grants import admin_class, show_grants
from clickpipes_db.tls import Tls

if TYPE_CHECKING:
    from pymysql.connections import Connection
    from pymysql.cursors import Cursor

IAM_PLUGIN: Final = "AWSAuthenticationPlugin"
ACCESS_DENIED: Final = MYSQL_ACCESS_DENIED
PRIVILEGE_ERRORS: Final = MYSQL_PRIVILEGE_ERRORS
PLUGIN_NOT_LOADED: Final = 1524
ALTER_USER_FAILED: Final = 1396  # what ALTER USER … IDENTIFIED WITH answers when the plugin is not loaded
CONNECTION_LOST: Final = MYSQL_CONNECTION_LOST
MARKER_SQL: Final = f"`{trust.MARKER}`"  # a constant of [a-z_]: safe to write into SQL as an identifier


@contextmanager
def connect(credentials: AdminCredentials, tls: Tls, timeout: int) -> Iterator[Connection]:
    tls.check_bundle()
    where = f"{credentials.host}:{credentials.port}"
    try:
        conn = pymysql.connect(
            host=credentials.host,
            port=credentials.port,
            user=credentials.username,
            password=credentials.password.get_secret_value(),
            connect_timeout=timeout,
            read_timeout=60,
            write_timeout=60,
            ssl=tls.ssl_context(),
            autocommit=True,
            program_name="clickpipes-onboarding",
        )
    except pymysql.err.OperationalError as exc:
        code = exc.args[0] if exc.args else None
        raise login_refused(
            "MySQL", where, credentials.username, bad_credentials=code == ACCESS_DENIED, detail=mysql_detail(exc)
        ) from None
    with closing(conn):
        yield conn


def ensure_iam_user(
    conn: Connection, user: str, *, plan_only: bool = False, adopt_existing: bool = False
) -> DbUserResult:
    """Idempotent: creates the IAM user ``'u'@'%'`` marked with the role ``clickpipes_managed``.

    An existing user: protected ones (admin-class, the admin, reserved names) raise ProtectedUserError; ours (marked)
    keep the IAM plugin; one with the IAM plugin already is adopted (marked, with a warning); any other raises
    ExistingUserError unless ``adopt_existing`` (then ALTER USER ... IDENTIFIED WITH, with a warning). Every check
    comes before any change. ``plan_only``: only reads; raises what the real run would raise.
    """
    actions: list[str] = []
    warnings: list[str] = []
    row = None
    running = ""
    with mysql_faults(
        "The admin user may not create users or roles ({detail}): use the RDS master user, or grant it "
        "CREATE USER, CREATE ROLE and SELECT on mysql.user."
    ):
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT plugin FROM mysql.user WHERE User = %s AND Host = '%%'", (user,))
                row = cur.fetchone()
                steps = _plan(cur, user, row, warnings, plan_only=plan_only, adopt_existing=adopt_existing)
                for statement, text in steps:
                    running = statement
                    if not plan_only:
                        cur.execute(statement, (user,) if "%s" in statement else ())
                    actions.append(text)
                if plan_only and actions and not _iam_plugin_active(cur):
                    warnings.append(
                        f"{IAM_PLUGIN} is not active on the server yet: the real run fails with "
                        "IamAuthNotActiveError until IAM database authentication is enabled and the DB is 'available'."
                    )
        except pymysql.err.MySQLError as exc:
            code = mysql_code(exc)
            if code == PLUGIN_NOT_LOADED or (code == ALTER_USER_FAILED and running.startswith("ALTER USER")):
                raise IamAuthNotActiveError(
                    f"The server does not accept IAM users yet ({mysql_detail(exc)}): IAM database authentication "
                    "is not active on the DB. Wait until it shows IAM authentication enabled and status "
                    "'available', then run the onboarding again."
                ) from None
            raise
    return DbUserResult(created=row is None, changed=bool(actions), changes=actions, warnings=warnings)


def is_managed_user(conn: Connection, user: str) -> bool:
    """Whether ``'user'@'%'`` was created or adopted by this tool: it holds the marker role (without ADMIN OPTION)."""
    with conn.cursor() as cur:
        if not _exists(cur, user, "%"):
            return False
        return show_grants(cur, user).roles.get(trust.MARKER) is False


Step = tuple[str, str]  # the statement (``%s``: the user name, bound), and its text for ``changes``


def _plan(
    cur: Cursor,
    user: str,
    row: tuple[object, ...] | None,
    warnings: list[str],
    *,
    plan_only: bool,
    adopt_existing: bool,
) -> list[Step]:
    """What to run, after every check; raises ProtectedUserError / ExistingUserError before any change."""
    cur.execute("SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1)")
    admin = cur.fetchone()
    if admin is not None and user == admin[0]:
        raise trust.protected(user, ["the admin user this onboarding connects as"])
    if user == trust.MARKER:
        raise trust.protected(user, [f"this tool's marker role ({trust.MARKER})"])
    if trust.is_reserved(user):
        raise trust.protected(user, ["an account reserved by RDS or the server"])
    identified = f"IDENTIFIED WITH {IAM_PLUGIN} AS 'RDS'"
    steps: list[Step] = []
    managed = False
    if row is None:
        steps.append((f"CREATE USER %s@'%%' {identified}", f"CREATE USER '{user}'@'%' {identified}"))
    else:
        reasons = admin_class(cur, user, ignore_role=trust.MARKER)
        if reasons:
            raise trust.protected(user, reasons)
        managed = show_grants(cur, user).roles.get(trust.MARKER) is False
        iam_only = str(row[0]).lower() == IAM_PLUGIN.lower()
        if not iam_only:
            if not managed and not adopt_existing:
                raise trust.existing(user, f"logs in with plugin '{row[0]}' (a password), not {IAM_PLUGIN}")
            steps.append((f"ALTER USER %s@'%%' {identified}", f"ALTER USER '{user}'@'%' {identified}"))
        if not managed:
            warnings.append(trust.adopted_warning(user, converted=not iam_only, plan_only=plan_only))
    if not managed:
        if not _exists(cur, trust.MARKER, ""):
            steps.insert(0, (f"CREATE ROLE IF NOT EXISTS {MARKER_SQL}", f"CREATE ROLE IF NOT EXISTS {MARKER_SQL}"))
        steps.append((f"GRANT {MARKER_SQL} TO %s@'%%'", f"GRANT {MARKER_SQL} TO '{user}'@'%'"))
    return steps


def _exists(cur: Cursor, name: str, host: str) -> bool:
    """An account (host '%') or a role (MariaDB: host ''; MySQL 8: host '%')."""
    hosts = ("%",) if host == "%" else ("", "%")
    cur.execute("SELECT 1 FROM mysql.user WHERE User = %s AND Host IN %s", (name, hosts))
    return cur.fetchone() is not None


def _iam_plugin_active(cur: Cursor) -> bool:
    cur.execute(
        "SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = %s AND PLUGIN_STATUS = 'ACTIVE'",
        (IAM_PLUGIN,),
    )
    return cur.fetchone() is not None
