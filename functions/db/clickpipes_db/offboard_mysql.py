"""MySQL, MariaDB, Aurora MySQL offboarding: the IAM user ``'u'@'%'`` and, with revert_settings, the binlog
retention the onboarding recorded.

Only this tool's user (it holds the role ``clickpipes_managed``, see :mod:`clickpipes_db.trust`). Its sessions are
killed, then ``DROP USER``. When it is the DEFINER of a view, routine, trigger or event (MySQL 8.0.22+ refuses the
drop with error 4006; MariaDB would leave those objects orphaned) it is disabled instead: ``ACCOUNT LOCK``, the
marker kept, with a warning naming the objects. User names are always bound as values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from clickpipes.errors import DbPrivilegeError, TransientError
from clickpipes.offboarding_models import DbOffboardRequest, DbOffboardResult

from clickpipes_db import trust
from clickpipes_db.cdc_mysql import RETENTION
from clickpipes_db.drivers import pymysql
from clickpipes_db.mysql import CONNECTION_LOST, PRIVILEGE_ERRORS, _exists
from clickpipes_db.mysql_grants import show_grants
from clickpipes_db.postgres import _first_line

if TYPE_CHECKING:
    from pymysql.connections import Connection
    from pymysql.cursors import Cursor

DEFINER_REFERENCED: Final = 4006  # ER_CANNOT_USER_REFERENCED_AS_DEFINER (MySQL 8.0.22+)
DEFINER_SQL: Final = (
    "SELECT 'view', CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) FROM information_schema.VIEWS WHERE DEFINER = %(d)s "
    "UNION ALL SELECT LOWER(ROUTINE_TYPE), CONCAT(ROUTINE_SCHEMA, '.', ROUTINE_NAME) FROM information_schema.ROUTINES "
    "  WHERE DEFINER = %(d)s "
    "UNION ALL SELECT 'trigger', CONCAT(TRIGGER_SCHEMA, '.', TRIGGER_NAME) FROM information_schema.TRIGGERS "
    "  WHERE DEFINER = %(d)s "
    "UNION ALL SELECT 'event', CONCAT(EVENT_SCHEMA, '.', EVENT_NAME) FROM information_schema.EVENTS "
    "  WHERE DEFINER = %(d)s"
)


def offboard(conn: Connection, request: DbOffboardRequest) -> DbOffboardResult:
    actions: list[str] = []
    warnings: list[str] = []
    restored = False
    try:
        with conn.cursor() as cur:
            user = _user(cur, request, actions, warnings)
            if request.restore_binlog_retention is not None:
                restored = _retention(cur, request, actions)
    except pymysql.err.MySQLError as exc:
        code = exc.args[0] if exc.args else None
        detail = _first_line(str(exc.args[-1])) if exc.args else "no detail"
        if code in PRIVILEGE_ERRORS:
            raise DbPrivilegeError(
                f"The admin user may not drop or lock users ({detail}): use the RDS master user, or grant it "
                "CREATE USER and PROCESS."
            ) from None
        if code in CONNECTION_LOST:
            raise TransientError(f"Connection to MySQL lost ({detail}); will retry.") from None
        raise
    return DbOffboardResult(changes=actions, warnings=warnings, user=user, binlog_retention_restored=restored)


def _user(cur: Cursor, request: DbOffboardRequest, actions: list[str], warnings: list[str]) -> str:
    name = request.user
    if not _exists(cur, name, "%"):
        return "absent"
    if name == trust.MARKER or trust.is_reserved(name) or show_grants(cur, name).roles.get(trust.MARKER) is not False:
        warnings.append(f"User '{name}'@'%' was not created by this tool (no role {trust.MARKER}): left as it is.")
        return "foreign"
    account = f"'{name}'@'%'"
    cur.execute(DEFINER_SQL, {"d": f"{name}@%"})
    definer_of = [f"{kind} {obj}" for kind, obj in cur.fetchall()]
    cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = %s AND ID <> CONNECTION_ID()", (name,))
    sessions = [int(pid) for (pid,) in cur.fetchall()]
    if definer_of:
        return _disable(cur, request, name, account, sessions, ", ".join(definer_of), actions, warnings)
    for pid in sessions:
        if not request.plan_only:
            _kill(cur, pid)
        actions.append(f"KILL {pid} (a session of {account})")
    if request.plan_only:
        actions.append(f"DROP USER {account}")
        return "dropped"
    try:
        cur.execute("DROP USER %s@'%%'", (name,))
    except pymysql.err.OperationalError as exc:
        if not exc.args or exc.args[0] != DEFINER_REFERENCED:
            raise
        return _disable(cur, request, name, account, [], _first_line(str(exc.args[-1])), actions, warnings)
    actions.append(f"DROP USER {account}")
    return "dropped"


def _disable(  # noqa: PLR0917
    cur: Cursor,
    request: DbOffboardRequest,
    name: str,
    account: str,
    sessions: list[int],
    why: str,
    actions: list[str],
    warnings: list[str],
) -> str:
    if not _locked(cur, name):
        if not request.plan_only:
            cur.execute("ALTER USER %s@'%%' ACCOUNT LOCK", (name,))
        actions.append(f"ALTER USER {account} ACCOUNT LOCK")
    for pid in sessions:
        if not request.plan_only:
            _kill(cur, pid)
        actions.append(f"KILL {pid} (a session of {account})")
    warnings.append(
        f"User {account} was disabled (ACCOUNT LOCK), not dropped: it is the DEFINER of {why}. It can no longer log "
        f"in and keeps the role {trust.MARKER}: change the DEFINER of those objects (or drop them), then run the "
        "offboarding again to drop it."
    )
    return "disabled"


def _locked(cur: Cursor, name: str) -> bool:
    cur.execute("SHOW CREATE USER %s@'%%'", (name,))
    row = cur.fetchone()
    return bool(row and "ACCOUNT LOCK" in str(row[0]).upper())


def _kill(cur: Cursor, pid: int) -> None:
    try:
        cur.execute(f"KILL {int(pid)}")
    except pymysql.err.OperationalError as exc:
        if not exc.args or exc.args[0] != 1094:  # ER_NO_SUCH_THREAD: it ended meanwhile
            raise


def _retention(cur: Cursor, request: DbOffboardRequest, actions: list[str]) -> bool:
    """Set the binlog retention back to the recorded value ("NULL": RDS's default); True when it is so now."""
    recorded = request.restore_binlog_retention
    value = None if recorded is None or recorded.strip().upper() in {"NULL", ""} else int(recorded)
    cur.execute("CALL mysql.rds_show_configuration()")
    rows = cur.fetchall()
    while cur.nextset():
        pass
    current = next((row[1] for row in rows if str(row[0]).lower() == RETENTION), None)
    if (None if current is None else str(current).strip()) == (None if value is None else str(value)):
        return True
    text = "NULL" if value is None else str(value)
    if not request.plan_only:
        cur.execute("CALL mysql.rds_set_configuration(%s, %s)", (RETENTION, value))
        while cur.nextset():
            pass
    actions.append(f"CALL mysql.rds_set_configuration('{RETENTION}', {text})")
    return not request.plan_only
