"""MySQL, MariaDB, Aurora MySQL: CREATE USER 'u' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import pymysql
from clickpipes.errors import (
    AdminCredentialsError,
    DbConnectionError,
    DbPrivilegeError,
    IamAuthNotActiveError,
    TransientError,
)
from clickpipes.models import AdminCredentials, DbUserResult
from pymysql.connections import Connection
from pymysql.cursors import Cursor

from clickpipes_db.postgres import _first_line
from clickpipes_db.tls import Tls

IAM_PLUGIN: Final = "AWSAuthenticationPlugin"
ACCESS_DENIED: Final = 1045
PRIVILEGE_ERRORS: Final = {1044, 1142, 1143, 1227, 1410}
PLUGIN_NOT_LOADED: Final = 1524
ALTER_USER_FAILED: Final = 1396  # what ALTER USER … IDENTIFIED WITH answers when the plugin is not loaded
CONNECTION_LOST: Final = {2006, 2013}


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
        if code == ACCESS_DENIED:
            raise AdminCredentialsError(
                f"MySQL at {where} refused the admin user '{credentials.username}': check the admin secret's "
                "username and password."
            ) from None
        raise DbConnectionError(
            f"Cannot connect to MySQL at {where} over TLS ({_first_line(str(exc.args[-1]))}): check the security "
            "group, the endpoint, and the CA bundle (DbCaBundle)."
        ) from None
    try:
        yield conn
    finally:
        conn.close()


def ensure_iam_user(conn: Connection, user: str, *, plan_only: bool = False) -> DbUserResult:
    """Idempotent: creates the IAM user, or converts an existing user of another plugin with ALTER USER.

    ``plan_only``: only reads ``mysql.user``; ``actions``, ``created`` and ``changed`` say what a real run would do.
    """
    actions: list[str] = []
    warnings: list[str] = []
    row = None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT plugin FROM mysql.user WHERE User = %s AND Host = '%%'", (user,))
            row = cur.fetchone()
            if row is None:
                if not plan_only:
                    cur.execute("CREATE USER %s@'%%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'", (user,))
                actions.append(f"CREATE USER '{user}'@'%' IDENTIFIED WITH {IAM_PLUGIN} AS 'RDS'")
            elif str(row[0]).lower() != IAM_PLUGIN.lower():
                if not plan_only:
                    cur.execute("ALTER USER %s@'%%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'", (user,))
                actions.append(f"ALTER USER '{user}'@'%' IDENTIFIED WITH {IAM_PLUGIN} AS 'RDS'")
                now = "would then authenticate" if plan_only else "now authenticates"
                warnings.append(f"User '{user}' already existed with plugin '{row[0]}': it {now} with IAM only.")
            if plan_only and actions and not _iam_plugin_active(cur):
                warnings.append(
                    f"{IAM_PLUGIN} is not active on the server yet: the real run fails with IamAuthNotActiveError "
                    "until IAM database authentication is enabled and the DB is 'available'."
                )
    except pymysql.err.MySQLError as exc:
        code = exc.args[0] if exc.args else None
        detail = _first_line(str(exc.args[-1])) if exc.args else "no detail"
        if code == PLUGIN_NOT_LOADED or (code == ALTER_USER_FAILED and row is not None):
            raise IamAuthNotActiveError(
                f"The server does not accept IAM users yet ({detail}): IAM database authentication is not active "
                "on the DB. Wait until it shows IAM authentication enabled and status 'available', then run the "
                "onboarding again."
            ) from None
        if code in PRIVILEGE_ERRORS:
            raise DbPrivilegeError(
                f"The admin user may not create users ({detail}): use the RDS master user, or grant it "
                "CREATE USER and SELECT on mysql.user."
            ) from None
        if code in CONNECTION_LOST:
            raise TransientError(f"Connection to MySQL lost ({detail}); will retry.") from None
        raise
    return DbUserResult(created=row is None, changed=bool(actions), actions=actions, warnings=warnings)


def _iam_plugin_active(cur: Cursor) -> bool:
    cur.execute(
        "SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = %s AND PLUGIN_STATUS = 'ACTIVE'",
        (IAM_PLUGIN,),
    )
    return cur.fetchone() is not None
