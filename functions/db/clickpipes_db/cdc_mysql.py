"""MySQL, MariaDB, Aurora MySQL CDC readiness: replication grants, binlog retention, binlog settings check.

What ClickPipes' RDS/Aurora MySQL and RDS MariaDB source pages ask for, made idempotent::

    CALL mysql.rds_set_configuration('binlog retention hours', 72);
    GRANT SELECT ON `mysql`.* TO u;  GRANT REPLICATION CLIENT ON *.* TO u;  GRANT REPLICATION SLAVE ON *.* TO u;
    GRANT SELECT ON `schema`.* TO u;   -- each replicated schema

``SHOW GRANTS`` and ``mysql.rds_show_configuration()`` decide what is missing; only that runs. The binlog
parameters (``binlog_format``, ``binlog_row_image``, ``binlog_row_metadata``, ``log_bin``) belong to the
parameter group: they are only checked and reported. With ``plan_only`` nothing but reads runs. With
``replication`` off (an onboarding with ``cdc: false``) only ``GRANT SELECT ON `schema`.*`` runs, what an initial
load reads with: no retention change, no replication grant, no binlog check. Either way it reports the base tables
of the granted schemas (``published_tables``: what a ClickPipe is made of).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from clickpipes import clickpipe_rules, names, rules
from clickpipes.errors import DbPrivilegeError, InvalidInputError
from clickpipes.models import CdcDbRequest, CdcDbResult

from clickpipes_db.drivers import pymysql
from clickpipes_db.faults import mysql_code, mysql_detail, mysql_faults
from clickpipes_db.mysql_grants import show_grants

if TYPE_CHECKING:
    from pymysql.connections import Connection
    from pymysql.cursors import Cursor

IDENTIFIER: Final = names.MYSQL_NAME_PATTERN
SYSTEM_SCHEMAS: Final = frozenset({"information_schema", "performance_schema", "sys"})
RETENTION: Final = "binlog retention hours"
RETENTION_LIMITS: Final = rules.BINLOG_RETENTION_LIMITS
RDS_MAX_RETENTION: Final = rules.BINLOG_RETENTION_MAX["mysql"]
AURORA_MAX_RETENTION: Final = rules.BINLOG_RETENTION_MAX["aurora-mysql"]
SIGNAL: Final = 1644  # ER_SIGNAL_EXCEPTION: what rds_set_configuration raises for a refused value
NO_SUCH_PROCEDURE: Final = 1305
REPLICATION: Final = ("REPLICATION CLIENT", "REPLICATION SLAVE")
BINLOG_SETTINGS: Final = {
    "log_bin": "ON",
    "binlog_format": "ROW",
    "binlog_row_image": "FULL",
    "binlog_row_metadata": "FULL",
}


def quote_identifier(name: str, what: str = "schema") -> str:
    """Check a name and return it backtick-quoted, for the one place PyMySQL cannot help: identifiers.

    PyMySQL only binds values (``%s`` becomes a quoted string literal), so a schema name in
    ``GRANT SELECT ON `name`.*`` has to be written into the SQL text. That is safe only because the name is
    checked first: ``[A-Za-z0-9_]{1,64}`` lets no backtick, quote, backslash, dot, space or ``%`` through,
    so the quoting cannot be escaped. Every identifier this module puts into SQL comes from here
    (user names are bound as values: ``%s@'%%'``). Note that ``_`` stays a one-character wildcard in a
    database-level GRANT (MySQL's rule), so ``a_b`` also covers a database named ``aXb``, if one exists.
    """
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        shown = name if isinstance(name, str) and len(name) <= 80 else f"{str(name)[:80]}…"
        raise InvalidInputError(
            f"{what.capitalize()} name {shown!r} is not allowed: use 1-64 characters from A-Z, a-z, 0-9 and _."
        )
    return f"`{name}`"


@dataclass(frozen=True)
class CheckedMysqlRequest:
    """A CdcDbRequest after check_request: a safe user, the schemas to grant (deduplicated, `mysql` left out)."""

    user: str
    schemas: tuple[str, ...]
    retention_hours: int | None
    plan_only: bool
    replication: bool = True  # False: SELECT on the schemas only (an initial load)
    tables: tuple[str, ...] = ()  # "schema.table": the onboarding's tables (when given, only these are reported)
    pipe_tables: tuple[str, ...] = ()  # "schema.table" of the ClickPipe, to report those not published


def check_request(request: CdcDbRequest) -> CheckedMysqlRequest:
    """Validate the request's names (InvalidInputError) before any SQL. ``publication`` is PostgreSQL's: ignored
    here; ``tables`` only narrows the tables reported published (they are compared, never put into SQL)."""
    user = rules.check_db_user(request.user, "mysql")
    schemas: list[str] = []
    for schema in request.schemas:
        quote_identifier(schema)
        if schema.lower() in SYSTEM_SCHEMAS:
            raise InvalidInputError(f"Schema {schema!r} is a system schema: it cannot be replicated.")
        if schema != "mysql" and schema not in schemas:  # `mysql`.* is granted anyway
            schemas.append(schema)
    retention = request.binlog_retention_hours if request.replication else None
    return CheckedMysqlRequest(
        user,
        tuple(schemas),
        retention,
        request.plan_only,
        replication=request.replication,
        tables=tuple(request.tables),
        pipe_tables=tuple(request.pipe_tables or ()),
    )


@dataclass(frozen=True)
class Statement:
    sql: str
    args: tuple[object, ...]
    text: str  # for ``changes``


def configure_cdc(conn: Connection, wanted: CheckedMysqlRequest) -> CdcDbResult:
    """Idempotent: set the binlog retention if it differs, grant what the IAM user lacks, report binlog settings.

    The retention goes first: if the server refuses the value (InvalidInputError), nothing was granted.
    ``wanted``: the request as :func:`check_request` returned it (checked once, before connecting).
    Errors: InvalidInputError, DbPrivilegeError (the admin may not grant, or this is not an RDS server),
    TransientError (connection lost).
    """
    with mysql_faults(  # 1045 after login: a GRANT without GRANT OPTION
        "The admin user may not grant replication privileges ({detail}): use the RDS master user, or grant it "
        "SELECT, REPLICATION CLIENT and REPLICATION SLAVE WITH GRANT OPTION.",
        access_denied_is_privilege=True,
    ):
        try:
            with conn.cursor() as cur:
                statements = _plan(cur, wanted)
                binlog_warnings = _binlog_warnings(cur) if wanted.replication else []
                retention_changes = any(s.sql.startswith("CALL mysql.rds_set_configuration") for s in statements)
                previous = current_retention(cur) if retention_changes else None
                if not wanted.plan_only:
                    for statement in statements:
                        _run(cur, statement)
                tables = _readable_tables(cur, wanted)
        except pymysql.err.MySQLError as exc:
            if mysql_code(exc) == NO_SUCH_PROCEDURE:
                raise DbPrivilegeError(
                    f"{mysql_detail(exc)}: mysql.rds_show_configuration / rds_set_configuration are missing, so this "
                    "is not an RDS or Aurora MySQL server, or the secret's host/port point elsewhere."
                ) from None
            raise
    return CdcDbResult(
        changes=[s.text for s in statements],
        warnings=binlog_warnings,
        binlog_ready=not binlog_warnings if wanted.replication else None,
        previous_binlog_retention=previous if retention_changes and not wanted.plan_only else None,
        **clickpipe_rules.published_report(tables, wanted.pipe_tables),
    )


def _readable_tables(cur: Cursor, wanted: CheckedMysqlRequest) -> list[str]:
    """What a ClickPipe replicates: the base tables of the granted schemas (the onboarding's tables, when given)."""
    if not wanted.schemas:
        return []
    cur.execute(
        "SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) FROM information_schema.TABLES "
        "WHERE BINARY TABLE_SCHEMA IN %s AND TABLE_TYPE = 'BASE TABLE'",
        (wanted.schemas,),
    )
    found = [str(row[0]) for row in cur.fetchall()]
    return [t for t in found if t in set(wanted.tables)] if wanted.tables else found


def current_retention(cur: Cursor) -> str:
    """The server's binlog retention hours now, as text ("NULL": RDS's default)."""
    cur.execute("CALL mysql.rds_show_configuration()")
    rows = cur.fetchall()
    while cur.nextset():
        pass
    current = next((row[1] for row in rows if str(row[0]).lower() == RETENTION), None)
    return "NULL" if current is None else str(current).strip()


def _plan(cur: Cursor, wanted: CheckedMysqlRequest) -> list[Statement]:
    user = wanted.user
    cur.execute("SELECT 1 FROM mysql.user WHERE User = %s AND Host = '%%'", (user,))
    user_exists = cur.fetchone() is not None
    if not user_exists and not wanted.plan_only:
        raise InvalidInputError(
            f"User '{user}'@'%' does not exist on this server: create the IAM user first (step CreateDbUser)."
        )
    if wanted.schemas:
        cur.execute(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE BINARY SCHEMA_NAME IN %s", (wanted.schemas,)
        )
        found = {str(row[0]) for row in cur.fetchall()}
        missing = [s for s in wanted.schemas if s not in found]
        if missing:
            raise InvalidInputError(
                f"Schema(s) {', '.join(missing)} do not exist on this server, or the admin user cannot see them: "
                "check the names (they are case-sensitive)."
            )
    statements: list[Statement] = []
    if wanted.retention_hours is not None:
        statements.extend(_retention(cur, wanted.retention_hours, plan_only=wanted.plan_only))
    held = _grants(cur, user) if user_exists else {}
    every = held.get("*", set())
    for privilege in REPLICATION if wanted.replication else ():
        if privilege not in every:
            statements.append(
                Statement(f"GRANT {privilege} ON *.* TO %s@'%%'", (user,), f"GRANT {privilege} ON *.* TO '{user}'@'%'")
            )
    for schema in ("mysql", *wanted.schemas) if wanted.replication else wanted.schemas:
        if "SELECT" not in every and "SELECT" not in held.get(schema, set()):
            quoted = quote_identifier(schema)
            statements.append(
                Statement(
                    f"GRANT SELECT ON {quoted}.* TO %s@'%%'", (user,), f"GRANT SELECT ON {quoted}.* TO '{user}'@'%'"
                )
            )
    return statements


def _grants(cur: Cursor, user: str) -> dict[str, set[str]]:
    """What SHOW GRANTS gives the user on ``*.*`` (key ``*``) and on each ``schema.*``; ALL PRIVILEGES expanded."""
    held = show_grants(cur, user).schemas
    for privileges in held.values():
        if "ALL PRIVILEGES" in privileges or "ALL" in privileges:
            privileges |= {"SELECT", *REPLICATION}
    return held


def _retention(cur: Cursor, hours: int, *, plan_only: bool) -> list[Statement]:
    cur.execute("CALL mysql.rds_show_configuration()")
    rows = cur.fetchall()
    while cur.nextset():  # a CALL answers with a result set per SELECT, then a status
        pass
    current = next((row[1] for row in rows if str(row[0]).lower() == RETENTION), None)
    if current is not None and str(current).strip() == str(hours):
        return []
    if plan_only:  # the server would check the range: say now what it would answer
        cur.execute("SHOW GLOBAL VARIABLES LIKE 'aurora_version'")
        limit = AURORA_MAX_RETENTION if cur.fetchone() else RDS_MAX_RETENTION
        if not 1 <= hours <= limit:
            raise _bad_retention(hours, f"at most {limit} hours here")
    return [
        Statement(
            "CALL mysql.rds_set_configuration(%s, %s)",
            (RETENTION, hours),
            f"CALL mysql.rds_set_configuration('{RETENTION}', {hours})",
        )
    ]


def _bad_retention(hours: int, detail: str) -> InvalidInputError:
    return InvalidInputError(
        f"binlog_retention_hours {hours} is refused ({detail}): allowed are {RETENTION_LIMITS} "
        f"({rules.DEFAULT_BINLOG_RETENTION_HOURS} is recommended)."
    )


def _run(cur: Cursor, statement: Statement) -> None:
    try:
        cur.execute(statement.sql, statement.args)
    except pymysql.err.MySQLError as exc:
        if exc.args and exc.args[0] == SIGNAL and statement.sql.startswith("CALL"):
            raise _bad_retention(int(str(statement.args[1])), mysql_detail(exc)) from None
        raise
    while cur.nextset():
        pass


def _binlog_warnings(cur: Cursor) -> list[str]:
    """The binlog parameters ClickPipes needs; the ones this server lacks (MySQL 5.7: binlog_row_metadata) skip."""
    cur.execute(
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN (%s, %s, %s, %s)",
        tuple(BINLOG_SETTINGS),
    )
    values = {str(name).lower(): str(value) for name, value in cur.fetchall()}
    warnings = []
    for name, expected in BINLOG_SETTINGS.items():
        value = values.get(name)
        if value is None or value.upper() == expected:
            continue
        if name == "log_bin":
            warnings.append(
                "Binary logging is off (log_bin=OFF): turn on automated backups (RDS MySQL/MariaDB) or set "
                "binlog_format in the DB cluster parameter group (Aurora MySQL); the change may still be pending a "
                "reboot. ClickPipes CDC cannot start before."
            )
        else:
            warnings.append(
                f"{name} is {value}, ClickPipes CDC needs {expected}: set it in the DB's custom (cluster) parameter "
                "group; if that is done, the change may still be pending a reboot."
            )
    return warnings
