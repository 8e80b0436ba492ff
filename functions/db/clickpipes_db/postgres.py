"""PostgreSQL (RDS and Aurora): CREATE USER u; GRANT rds_iam TO u; GRANT clickpipes_managed TO u.

Which existing roles may become the IAM user, and how the tool marks its own (the role ``clickpipes_managed``):
see :mod:`clickpipes_db.trust`. Admin-class here: SUPERUSER, CREATEROLE, CREATEDB or BYPASSRLS on the role or on a
role it is a member of (directly or not: it could SET ROLE to it), or membership of ``rds_superuser`` (when the
server has that role). REPLICATION alone is not admin-class (ClickPipes' user gets rds_replication anyway).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any, Final

from clickpipes.errors import DbPrivilegeError, TransientError
from clickpipes.models import AdminCredentials, DbUserResult

from clickpipes_db import trust
from clickpipes_db.drivers import conninfo, errors, psycopg, sql
from clickpipes_db.faults import login_refused, postgres_faults
from clickpipes_db.server_values import first_line, is_on
from clickpipes_db.tls import Tls

AUTH_FAILED = {"28P01", "28000"}  # invalid_password, invalid_authorization_specification


@contextmanager
def connect(credentials: AdminCredentials, tls: Tls, timeout: int) -> Iterator[psycopg.Connection]:
    tls.check_bundle()
    where = f"{credentials.host}:{credentials.port}"
    params: dict[str, str | int] = {
        "host": credentials.host,
        "port": credentials.port,
        "user": credentials.username,
        "password": credentials.password.get_secret_value(),
        "dbname": credentials.database or "postgres",
        "connect_timeout": timeout,
        "application_name": "clickpipes-onboarding",
        **tls.libpq(),
    }
    try:
        conn = psycopg.connect(conninfo.make_conninfo("", **params), autocommit=True)
    except psycopg.OperationalError as exc:
        text = str(exc)
        bad = exc.sqlstate in AUTH_FAILED or "authentication failed" in text
        raise login_refused(
            "PostgreSQL", where, credentials.username, bad_credentials=bad, detail=first_line(text)
        ) from None
    with closing(conn):
        yield conn


def ensure_iam_user(
    conn: psycopg.Connection, user: str, *, plan_only: bool = False, adopt_existing: bool = False
) -> DbUserResult:
    """Idempotent, in one transaction: creates the login role in rds_iam, marked with ``clickpipes_managed``.

    An existing role: protected ones (admin-class, the admin, reserved names) raise ProtectedUserError; ours (marked)
    are made whole again; one that logs in with IAM only is adopted (marked, with a warning); any other raises
    ExistingUserError unless ``adopt_existing`` (then converted, with a warning). Every check comes before any change.
    ``plan_only``: only reads the catalogs (a read-only transaction) and raises what the real run would raise;
    ``changes``, ``created`` and ``changed`` say what it would do.
    """
    with postgres_faults(
        "The admin user may not create or grant roles ({detail}): use the RDS master user (rds_superuser, "
        "CREATEROLE) or grant it CREATEROLE and rds_iam WITH ADMIN OPTION (PostgreSQL 16+). Nothing was changed."
    ):
        try:
            with conn.transaction(), conn.cursor() as cur:
                if plan_only:  # belt and braces: the server itself refuses any write
                    cur.execute("SET TRANSACTION READ ONLY")
                role = _inspect(cur, user)
                steps, warnings = _plan(role, user, plan_only=plan_only, adopt_existing=adopt_existing)
                if plan_only:
                    _check_plan(cur, needs_role_changes=bool(steps))
                else:
                    for statement, _ in steps:
                        cur.execute(statement)
                replication = cur.execute("SELECT current_setting('rds.iam_auth_for_replication', true)").fetchone()
                actions = [text if isinstance(text, str) else text.as_string(conn) for _, text in steps]
        except errors.UndefinedObject as exc:
            raise DbPrivilegeError(
                f"Role rds_iam does not exist ({first_line(str(exc))}): this is not an RDS/Aurora PostgreSQL "
                "server, or the secret's host/port point elsewhere."
            ) from None
        except (errors.DuplicateObject, errors.UniqueViolation) as exc:  # another run created the same role meanwhile
            raise TransientError(f"A role was created concurrently ({first_line(str(exc))}); will retry.") from None
    return DbUserResult(
        created=not role.exists,
        changed=bool(actions),
        changes=actions,
        iam_auth_for_replication=is_on(replication[0] if replication else None),
        warnings=warnings,
    )


def is_managed_user(conn: psycopg.Connection, user: str) -> bool:
    """Whether ``user`` was created or adopted by this tool: a direct member of the marker role (no ADMIN OPTION)."""
    row = conn.execute(MANAGED_SQL, {"user": user, "marker": trust.MARKER}).fetchone()
    return bool(row and row[0])


MANAGED_SQL: Final = (
    "SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles k ON k.oid = m.roleid "
    "  JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %(user)s AND k.rolname = %(marker)s "
    "  AND NOT m.admin_option)"
)
ADMIN_ATTRIBUTES: Final = (
    ("rolsuper", "SUPERUSER"),
    ("rolcreaterole", "CREATEROLE"),
    ("rolcreatedb", "CREATEDB"),
    ("rolbypassrls", "BYPASSRLS"),
)
ADMIN_ROLES_SQL: Final = (
    # the role itself and every role it is a member of (directly or not) with an admin-class attribute, or
    # rds_superuser; the columns in the order of ADMIN_ATTRIBUTES
    "SELECT a.rolname, a.rolsuper, a.rolcreaterole, a.rolcreatedb, a.rolbypassrls FROM pg_roles a "
    "WHERE pg_has_role(%(user)s, a.oid, 'MEMBER') "
    "  AND (a.rolsuper OR a.rolcreaterole OR a.rolcreatedb OR a.rolbypassrls OR a.rolname = 'rds_superuser') "
    "ORDER BY a.rolname <> %(user)s, a.rolname"
)


@dataclass(frozen=True)
class Role:
    admin: str  # current_user
    exists: bool
    login: bool = False
    iam: bool = False  # member of rds_iam
    managed: bool = False
    admin_class: tuple[str, ...] = ()  # why it is admin-class
    marker_exists: bool = False


def _inspect(cur: psycopg.Cursor[Any], user: str) -> Role:
    admin_row = cur.execute(
        "SELECT current_user::text, EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)", (trust.MARKER,)
    ).fetchone()
    assert admin_row is not None
    admin, marker_exists = admin_row
    row = cur.execute(
        "SELECT r.rolcanlogin, "
        "  EXISTS (SELECT 1 FROM pg_roles i WHERE i.rolname = 'rds_iam' AND pg_has_role(r.oid, i.oid, 'MEMBER')) "
        "FROM pg_roles r WHERE r.rolname = %s",
        (user,),
    ).fetchone()
    if row is None:
        return Role(admin, exists=False, marker_exists=marker_exists)
    reasons = []
    for name, *flags in cur.execute(ADMIN_ROLES_SQL, {"user": user}).fetchall():
        held = [label for (_, label), flag in zip(ADMIN_ATTRIBUTES, flags, strict=True) if flag]
        if name == user:
            reasons.append(f"a role with {', '.join(held)}")
        else:
            reasons.append(f"a member of {name}" + (f" (which has {', '.join(held)})" if held else ""))
    managed = cur.execute(MANAGED_SQL, {"user": user, "marker": trust.MARKER}).fetchone()
    return Role(admin, True, row[0], row[1], bool(managed and managed[0]), tuple(reasons), marker_exists)


type Step = tuple[sql.Composed, str | sql.Composed]  # the statement, and its text for ``changes``


def _plan(role: Role, user: str, *, plan_only: bool, adopt_existing: bool) -> tuple[list[Step], list[str]]:
    """What to run, after every check. Raises ProtectedUserError / ExistingUserError before any change."""
    reserved = _reserved(role, user)
    if reserved or role.admin_class:
        raise trust.protected(user, [*reserved, *role.admin_class])
    ident = sql.Identifier(user)
    steps: list[Step] = []
    warnings: list[str] = []
    if not role.exists:
        steps.append((sql.SQL("CREATE USER {}").format(ident), f"CREATE USER {user}"))
    elif not role.managed:
        if role.login and role.iam:
            warnings.append(trust.adopted_warning(user, converted=False, plan_only=plan_only))
        elif not adopt_existing:
            raise trust.existing(
                user, "may log in with a password (LOGIN, not in rds_iam)" if role.login else "is a NOLOGIN role"
            )
        else:
            warnings.append(trust.adopted_warning(user, converted=True, plan_only=plan_only))
    if role.exists and not role.login:
        steps.append((sql.SQL("ALTER ROLE {} LOGIN").format(ident), f"ALTER ROLE {user} LOGIN"))
    if not role.iam:
        steps.append((sql.SQL("GRANT rds_iam TO {}").format(ident), f"GRANT rds_iam TO {user}"))
    if role.managed and steps:
        warnings.append(f"Role '{user}' (managed by this tool) had lost LOGIN or rds_iam: given back.")
    if not role.managed:
        marker = sql.Identifier(trust.MARKER)
        if not role.marker_exists:
            comment = sql.SQL("COMMENT ON ROLE {} IS {}").format(marker, sql.Literal(trust.MARKER_COMMENT))
            steps.append((sql.SQL("CREATE ROLE {} NOLOGIN").format(marker), f"CREATE ROLE {trust.MARKER} NOLOGIN"))
            steps.append((comment, comment))
        steps.append((sql.SQL("GRANT {} TO {}").format(marker, ident), f"GRANT {trust.MARKER} TO {user}"))
    return steps, warnings


def _reserved(role: Role, user: str) -> list[str]:
    if user == role.admin:
        return ["the admin user this onboarding connects as"]
    if user == trust.MARKER:
        return [f"this tool's marker role ({trust.MARKER}, NOLOGIN)"]
    if trust.is_reserved(user):  # RDS's own roles, rds_*, pg_*, aws_*: clickpipes.trust
        return ["a role reserved by RDS or PostgreSQL"]
    return []


def _check_plan(cur: psycopg.Cursor[Any], *, needs_role_changes: bool) -> None:
    """Without executing anything, fail the way the real run would: no rds_iam role, or no CREATEROLE."""
    if cur.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'").fetchone() is None:
        raise errors.UndefinedObject('role "rds_iam" does not exist')
    admin = cur.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone()
    if needs_role_changes and not (admin and admin[0]):
        raise errors.InsufficientPrivilege("permission denied to create role (no CREATEROLE)")


# The old private names, for branches written before clickpipes_db.server_values (remove once merged).
_on = is_on
_first_line = first_line
