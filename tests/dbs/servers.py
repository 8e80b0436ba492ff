"""Helpers for tests that use the local RDS-emulating servers started by ``tests/dbs/localdbs.sh``.

* :func:`load_env` reads ``$LOCALDBS_DIR/env.json`` into a frozen :class:`LocalDbsEnv`.
* :func:`iam_token` makes a real RDS IAM auth token with botocore, signed with the test keys.
* :func:`pg_superuser_connect` / :func:`mariadb_root_connect`: privileged connections for test setup
  (unix sockets, no TLS, no password).
* :func:`pg_connect` / :func:`mariadb_connect`: TCP connections as a client of "RDS" would open
  them (verified TLS by default); :func:`pg_login_with_token` / :func:`mariadb_login_with_token`
  log in with an IAM token and return the authenticated user or raise.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast
from unittest import mock

import botocore.auth
import botocore.credentials
import botocore.session
import psycopg
import pymysql
from botocore.awsrequest import AWSRequest

if TYPE_CHECKING:
    from mypy_boto3_rds import RDSClient

DEFAULT_BASE_DIR = "/tmp/clickpipes-localdbs"  # the default of localdbs.sh (LOCALDBS_DIR)
RDS_TOKEN_MAX_EXPIRES = 900

Engine = Literal["postgres", "mariadb"]


# ---------------------------------------------------------------------------------------------
# env.json
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PostgresEnv:
    """PostgreSQL 15 posing as RDS for PostgreSQL."""

    host: str
    port: int
    admin_user: str  # the RDS "master user": CREATEROLE CREATEDB, member of rds_superuser, not superuser
    admin_password: str
    superuser: str  # a real superuser, only over the unix socket (trust): test setup only
    socket_dir: str


@dataclass(frozen=True)
class MariaDBEnv:
    """MariaDB 10.11 posing as RDS for MySQL/MariaDB."""

    host: str
    port: int
    admin_user: str  # the RDS "master user": ALL PRIVILEGES WITH GRANT OPTION
    admin_password: str
    root_socket: str  # root without password over this unix socket: test setup only


@dataclass(frozen=True)
class IamEnv:
    """The static test key pair the servers' token verifier knows."""

    access_key_id: str
    secret_access_key: str
    region: str


@dataclass(frozen=True)
class LocalDbsEnv:
    """Everything ``localdbs.sh up`` wrote to env.json."""

    postgres: PostgresEnv
    mariadb: MariaDBEnv
    ca_file: str
    wrong_ca_file: str
    iam: IamEnv
    base_dir: str
    verifier: str
    verifier_config: str
    pam_service: str

    def endpoint(self, engine: Engine) -> tuple[str, int]:
        """(host, port) of one engine's TCP listener."""
        server = self.postgres if engine == "postgres" else self.mariadb
        return server.host, server.port


def base_dir() -> Path:
    """The harness's base directory: $LOCALDBS_DIR or /tmp/clickpipes-localdbs."""
    return Path(os.environ.get("LOCALDBS_DIR") or DEFAULT_BASE_DIR)


def env_path() -> Path:
    """Where ``localdbs.sh up`` writes env.json."""
    return base_dir() / "env.json"


def load_env(path: str | os.PathLike[str] | None = None) -> LocalDbsEnv:
    """Read env.json (default: :func:`env_path`). Raises FileNotFoundError when the servers are down."""
    data: dict[str, Any] = json.loads(Path(path or env_path()).read_text(encoding="utf-8"))
    pg, my, iam = data["postgres"], data["mariadb"], data["iam"]
    return LocalDbsEnv(
        postgres=PostgresEnv(
            host=pg["host"],
            port=int(pg["port"]),
            admin_user=pg["admin_user"],
            admin_password=pg["admin_password"],
            superuser=pg["superuser"],
            socket_dir=pg["socket_dir"],
        ),
        mariadb=MariaDBEnv(
            host=my["host"],
            port=int(my["port"]),
            admin_user=my["admin_user"],
            admin_password=my["admin_password"],
            root_socket=my["root_socket"],
        ),
        ca_file=data["ca_file"],
        wrong_ca_file=data["wrong_ca_file"],
        iam=IamEnv(iam["access_key_id"], iam["secret_access_key"], iam["region"]),
        base_dir=data.get("base_dir", str(base_dir())),
        verifier=data.get("verifier", ""),
        verifier_config=data.get("verifier_config", ""),
        pam_service=data.get("pam_service", ""),
    )


# ---------------------------------------------------------------------------------------------
# IAM tokens
# ---------------------------------------------------------------------------------------------
def _isolated_session(access_key: str, secret_key: str) -> botocore.session.Session:
    """A botocore session that ignores AWS_* variables and ~/.aws: only the given credentials."""
    session = botocore.session.Session(
        session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )
    session.set_credentials(access_key, secret_key)
    return session


@contextmanager
def frozen_signing_clock(now: dt.datetime | None) -> Iterator[None]:
    """Make botocore's SigV4 signers believe it is ``now`` (timezone-aware); no-op for None."""
    if now is None:
        yield
        return
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    naive_utc = now.astimezone(dt.UTC).replace(tzinfo=None)

    def fake_now(remove_tzinfo: bool = True) -> dt.datetime:
        return naive_utc if remove_tzinfo else naive_utc.replace(tzinfo=dt.UTC)

    with mock.patch.object(botocore.auth, "get_current_datetime", fake_now):
        yield


def iam_token(
    env: LocalDbsEnv,
    engine: Engine,
    user: str,
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    region: str | None = None,
    hostname: str | None = None,
    port: int | None = None,
    now: dt.datetime | None = None,
    expires_in: int = RDS_TOKEN_MAX_EXPIRES,
) -> str:
    """A real RDS IAM auth token for ``user`` from botocore's ``generate_db_auth_token``.

    Defaults: the test keys and region of ``env`` and the engine's local endpoint. ``hostname`` and
    ``port`` sign another endpoint (e.g. a fake RDS DNS name). ``now`` signs as of another time (for
    expired / not-yet-valid tokens). ``expires_in`` other than 900 (which botocore's helper cannot
    do) signs the same request with botocore's SigV4QueryAuth directly.
    """
    access_key = access_key or env.iam.access_key_id
    secret_key = secret_key or env.iam.secret_access_key
    region = region or env.iam.region
    default_host, default_port = env.endpoint(engine)
    hostname = hostname or default_host
    port = port or default_port
    with frozen_signing_clock(now):
        if expires_in == RDS_TOKEN_MAX_EXPIRES:
            client = cast(
                "RDSClient", _isolated_session(access_key, secret_key).create_client("rds", region_name=region)
            )
            return str(client.generate_db_auth_token(DBHostname=hostname, Port=port, DBUsername=user, Region=region))
        request = AWSRequest(
            method="GET",
            url=f"https://{hostname}:{port}/",
            data={"Action": "connect", "DBUser": user},
        )
        credentials = botocore.credentials.Credentials(access_key, secret_key)
        botocore.auth.SigV4QueryAuth(credentials, "rds-db", region, expires=expires_in).add_auth(request)
        return str(request.url)[len("https://") :]


# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
def pg_superuser_connect(env: LocalDbsEnv | None = None, dbname: str = "postgres") -> psycopg.Connection[Any]:
    """Superuser connection over the unix socket (autocommit), for test setup."""
    env = env or load_env()
    return psycopg.connect(
        host=env.postgres.socket_dir,
        port=env.postgres.port,
        user=env.postgres.superuser,
        dbname=dbname,
        autocommit=True,
        connect_timeout=5,
    )


def pg_connect(
    user: str,
    password: str,
    *,
    env: LocalDbsEnv | None = None,
    host: str | None = None,
    dbname: str = "postgres",
    sslmode: str = "verify-full",
    ca_file: str | None = None,
) -> psycopg.Connection[Any]:
    """TCP connection as a client of RDS would open it: verified TLS against the local CA by default.

    ``host`` may be ``localhost`` (DNS SAN) instead of 127.0.0.1 (IP SAN); ``ca_file`` may be
    ``env.wrong_ca_file``; ``sslmode="disable"`` tries plain TCP (refused by pg_hba).
    """
    env = env or load_env()
    return psycopg.connect(
        host=host or env.postgres.host,
        port=env.postgres.port,
        user=user,
        password=password,
        dbname=dbname,
        sslmode=sslmode,
        sslrootcert=ca_file or env.ca_file,
        connect_timeout=5,
        autocommit=True,
    )


def pg_login_with_token(user: str, token: str, *, env: LocalDbsEnv | None = None, **kwargs: Any) -> str:
    """Log in with an IAM token over verified TLS; return ``current_user`` or raise psycopg.Error."""
    with pg_connect(user, token, env=env, **kwargs) as conn:
        row = conn.execute("SELECT current_user").fetchone()
    assert row is not None
    return str(row[0])


# ---------------------------------------------------------------------------------------------
# MariaDB
# ---------------------------------------------------------------------------------------------
def mariadb_root_connect(env: LocalDbsEnv | None = None, database: str | None = None) -> pymysql.Connection:
    """root over the unix socket (autocommit), for test setup."""
    env = env or load_env()
    return pymysql.connect(
        unix_socket=env.mariadb.root_socket,
        user="root",
        password="",
        database=database,
        autocommit=True,
        connect_timeout=5,
    )


class ClearPasswordOverTLS:
    """PyMySQL auth handler for ``mysql_clear_password`` (the client side of AWSAuthenticationPlugin).

    Sends the password (the IAM token) only over TLS, like ``mysql --enable-cleartext-plugin`` with
    ``--ssl-mode=VERIFY_IDENTITY`` should, and records on the connection that it did
    (``conn.clear_password_sent``), so tests can prove the token travelled this way.
    """

    def __init__(self, conn: pymysql.Connection) -> None:
        self.conn = conn

    def authenticate(self, pkt: Any) -> Any:
        conn: Any = self.conn
        if not isinstance(conn._sock, ssl.SSLSocket):
            raise pymysql.err.OperationalError(2061, "refusing to send a clear-text password (IAM token) without TLS")
        conn.write_packet(conn.password + b"\0")
        conn.clear_password_sent = True
        return conn._read_packet()


def mariadb_connect(
    user: str,
    password: str,
    *,
    env: LocalDbsEnv | None = None,
    host: str | None = None,
    database: str | None = None,
    tls: bool = True,
    ca_file: str | None = None,
    check_hostname: bool = True,
) -> pymysql.Connection:
    """TCP connection as a client of RDS would open it: verified TLS (CA + host name) by default.

    ``tls=False`` connects without TLS (the server requires secure transport, so it is refused).
    A clear-text password (an IAM token) is only ever sent over TLS.
    """
    env = env or load_env()
    tls_options: dict[str, Any] = (
        {"ssl": {"ca": ca_file or env.ca_file, "check_hostname": check_hostname, "verify_mode": True}}
        if tls
        else {"ssl_disabled": True}
    )
    return pymysql.connect(
        host=host or env.mariadb.host,
        port=env.mariadb.port,
        user=user,
        password=password,
        database=database,
        autocommit=True,
        connect_timeout=5,
        auth_plugin_map={"mysql_clear_password": ClearPasswordOverTLS},
        **tls_options,
    )


@contextmanager
def mariadb_iam_plugin_uninstalled(env: LocalDbsEnv | None = None) -> Iterator[None]:
    """RDS before IAM auth is enabled: AWSAuthenticationPlugin is not loaded (CREATE USER ... fails with 1524).

    Uninstalls the plugin for the duration of the block and installs it again afterwards. The plugin is
    server-wide: do not run this while another test session logs in with IAM on the same server.
    """
    conn = mariadb_root_connect(env)
    try:
        with conn.cursor() as cur:
            cur.execute("UNINSTALL PLUGIN AWSAuthenticationPlugin")
        try:
            yield
        finally:
            with conn.cursor() as cur:
                cur.execute("INSTALL SONAME 'aws_auth'")
    finally:
        conn.close()


def mariadb_login_with_token(user: str, token: str, *, env: LocalDbsEnv | None = None, **kwargs: Any) -> str:
    """Log in with an IAM token over verified TLS; return the user of ``CURRENT_USER()`` or raise.

    Raises AssertionError if the server did not ask for ``mysql_clear_password`` (i.e. the account
    is not an AWSAuthenticationPlugin account) yet the login succeeded.
    """
    conn = mariadb_connect(user, token, env=env, **kwargs)
    try:
        assert getattr(conn, "clear_password_sent", False), "the token was not sent via mysql_clear_password"
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER()")
            row = cur.fetchone()
    finally:
        conn.close()
    assert row is not None
    return str(row[0]).rsplit("@", 1)[0]


def pg_apply_rds_replication_rule(env: LocalDbsEnv | None = None) -> None:
    """RDS lets members of ``rds_replication`` open replication connections; plain PostgreSQL wants the role
    attribute REPLICATION, which membership does not pass on. The local server's stand-in for that rule: every
    IAM login role (``rds_iam``) that is a member gets the attribute (never taken away: other suites' roles keep
    theirs). Run before a test opens a replication connection (the server has no hook for GRANT of a role)."""
    with pg_superuser_connect(env) as conn:
        conn.execute(
            """DO $$
            DECLARE r record;
            BEGIN
              FOR r IN SELECT rolname FROM pg_roles
                       WHERE rolcanlogin AND NOT rolsuper AND NOT rolreplication
                         AND pg_has_role(oid, 'rds_replication', 'MEMBER') AND pg_has_role(oid, 'rds_iam', 'MEMBER')
              LOOP
                EXECUTE format('ALTER ROLE %I REPLICATION', r.rolname);
              END LOOP;
            END $$"""
        )
