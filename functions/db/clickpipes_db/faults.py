"""Driver errors as the error contract's names, one context manager per engine (like
``clickpipes.aws.clients.transient_faults`` for botocore).

Inside the block: a missing privilege becomes DbPrivilegeError with the caller's advice (``{detail}`` is
the server's first line), a lost connection becomes TransientError. Errors a block knows better (a missing
procedure, the IAM plugin not loaded, a lock timeout) are caught inside the block, before these."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from clickpipes.errors import AdminCredentialsError, DbConnectionError, DbPrivilegeError, TransientError

from clickpipes_db.drivers import errors, psycopg, pymysql
from clickpipes_db.server_values import first_line

MYSQL_ACCESS_DENIED: Final = 1045
MYSQL_PRIVILEGE_ERRORS: Final = frozenset({1044, 1142, 1143, 1227, 1410})
MYSQL_CONNECTION_LOST: Final = frozenset({2006, 2013})


def mysql_detail(exc: pymysql.err.MySQLError) -> str:
    return first_line(str(exc.args[-1])) if exc.args else "no detail"


def mysql_code(exc: pymysql.err.MySQLError) -> object:
    return exc.args[0] if exc.args else None


@contextmanager
def postgres_faults(privilege: str) -> Iterator[None]:
    """``privilege``: what to tell the user when the admin lacks a privilege, with ``{detail}``."""
    try:
        yield
    except errors.InsufficientPrivilege as exc:
        raise DbPrivilegeError(privilege.format(detail=first_line(str(exc)))) from None
    except psycopg.OperationalError as exc:
        raise TransientError(f"Connection to PostgreSQL lost ({first_line(str(exc))}); will retry.") from None


@contextmanager
def mysql_faults(privilege: str, *, access_denied_is_privilege: bool = False) -> Iterator[None]:
    """``privilege``: what to tell the user when the admin lacks a privilege, with ``{detail}``.
    ``access_denied_is_privilege``: 1045 after login (a GRANT without GRANT OPTION) is a privilege error too."""
    try:
        yield
    except pymysql.err.MySQLError as exc:
        code = mysql_code(exc)
        if code in MYSQL_PRIVILEGE_ERRORS or (access_denied_is_privilege and code == MYSQL_ACCESS_DENIED):
            raise DbPrivilegeError(privilege.format(detail=mysql_detail(exc))) from None
        if code in MYSQL_CONNECTION_LOST:
            raise TransientError(f"Connection to MySQL lost ({mysql_detail(exc)}); will retry.") from None
        raise


def login_refused(engine: str, where: str, username: str, *, bad_credentials: bool, detail: str) -> Exception:
    """Why the admin login failed, as the contract names it: the secret's credentials, or the way to the server."""
    if bad_credentials:
        return AdminCredentialsError(
            f"{engine} at {where} refused the admin user '{username}': check the admin secret's username and password."
        )
    return DbConnectionError(
        f"Cannot connect to {engine} at {where} over TLS ({detail}): check the security group, the endpoint, and "
        "the CA bundle (DbCaBundle)."
    )
