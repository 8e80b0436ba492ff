"""PostgreSQL (RDS and Aurora): CREATE USER u; GRANT rds_iam TO u."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from clickpipes.errors import AdminCredentialsError, DbConnectionError, DbPrivilegeError, TransientError
from clickpipes.models import AdminCredentials, DbUserResult
from psycopg import errors, sql
from psycopg.conninfo import make_conninfo

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
        conn = psycopg.connect(make_conninfo("", **params), autocommit=True)
    except psycopg.OperationalError as exc:
        text = str(exc)
        if exc.sqlstate in AUTH_FAILED or "authentication failed" in text:
            raise AdminCredentialsError(
                f"PostgreSQL at {where} refused the admin user '{credentials.username}': check the admin "
                "secret's username and password."
            ) from None
        raise DbConnectionError(
            f"Cannot connect to PostgreSQL at {where} over TLS ({_first_line(text)}): check the security group, "
            "the endpoint, and the CA bundle (DbCaBundle)."
        ) from None
    try:
        yield conn
    finally:
        conn.close()


def ensure_iam_user(conn: psycopg.Connection, user: str, *, plan_only: bool = False) -> DbUserResult:
    """Idempotent: creates the login role if missing, grants rds_iam if not a member yet.

    ``plan_only``: only reads the catalogs; ``actions``, ``created`` and ``changed`` say what a real run would do.
    """
    actions: list[str] = []
    warnings: list[str] = []
    ident = sql.Identifier(user)
    try:
        with conn.cursor() as cur:

            def run(statement: sql.Composed, action: str) -> None:
                if not plan_only:
                    cur.execute(statement)
                actions.append(action)

            row = cur.execute(
                "SELECT r.rolcanlogin, pg_has_role(r.oid, 'rds_iam', 'MEMBER') FROM pg_roles r WHERE r.rolname = %s",
                (user,),
            ).fetchone()
            if plan_only:
                _check_plan(cur, needs_role_changes=row is None or not row[0] or not row[1])
            if row is None:
                run(sql.SQL("CREATE USER {}").format(ident), f"CREATE USER {user}")
            elif not row[0]:
                run(sql.SQL("ALTER ROLE {} LOGIN").format(ident), f"ALTER ROLE {user} LOGIN")
            if row is None or not row[1]:
                run(sql.SQL("GRANT rds_iam TO {}").format(ident), f"GRANT rds_iam TO {user}")
                if row is not None:
                    now = "would then authenticate" if plan_only else "now authenticates"
                    warnings.append(
                        f"Role '{user}' already existed and {now} with IAM only: its password no "
                        "longer works (PostgreSQL answers 'PAM authentication failed')."
                    )
            replication = cur.execute("SELECT current_setting('rds.iam_auth_for_replication', true)").fetchone()
    except errors.InsufficientPrivilege as exc:
        raise DbPrivilegeError(
            f"The admin user may not create or grant roles ({_first_line(str(exc))}): use the RDS master user "
            "(rds_superuser, CREATEROLE) or grant it CREATEROLE and rds_iam WITH ADMIN OPTION (PostgreSQL 16+)."
        ) from None
    except errors.UndefinedObject as exc:
        raise DbPrivilegeError(
            f"Role rds_iam does not exist ({_first_line(str(exc))}): this is not an RDS/Aurora PostgreSQL "
            "server, or the secret's host/port point elsewhere."
        ) from None
    except psycopg.OperationalError as exc:
        raise TransientError(f"Connection to PostgreSQL lost ({_first_line(str(exc))}); will retry.") from None
    return DbUserResult(
        created=row is None,
        changed=bool(actions),
        actions=actions,
        iam_auth_for_replication=_on(replication[0] if replication else None),
        warnings=warnings,
    )


def _check_plan(cur: psycopg.Cursor[Any], *, needs_role_changes: bool) -> None:
    """Without executing anything, fail the way the real run would: no rds_iam role, or no CREATEROLE."""
    if cur.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'").fetchone() is None:
        raise errors.UndefinedObject('role "rds_iam" does not exist')
    admin = cur.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone()
    if needs_role_changes and not (admin and admin[0]):
        raise errors.InsufficientPrivilege("permission denied to create role (no CREATEROLE)")


def _on(value: str | None) -> bool | None:
    return None if value is None or value == "" else value.lower() in {"1", "on", "true"}


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no detail"
