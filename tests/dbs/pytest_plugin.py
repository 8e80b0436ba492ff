"""pytest plugin: local PostgreSQL 15 and MariaDB 10.11 servers that emulate RDS IAM authentication.

Enable it in ``tests/conftest.py`` with ``pytest_plugins = ["tests.dbs.pytest_plugin"]`` (or on the
command line with ``-p tests.dbs.pytest_plugin``).

Fixtures:

* ``local_dbs`` (session): a :class:`~tests.dbs.servers.LocalDbsEnv`. Reuses running servers when
  env.json exists and both answer; otherwise runs ``localdbs.sh ensure`` (= ``up`` unless another
  session just started them; needs root) and ``down`` at the end of the session (only when it started
  them; ``LOCALDBS_KEEP=1`` keeps them running).
* ``pg_iam_user`` / ``mariadb_iam_user``: a fresh IAM-authenticated database user (dropped afterwards).

Tests that use ``local_dbs`` get the ``dbs`` marker automatically (``-m "not dbs"`` skips them).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import sql

from tests.dbs.servers import (
    LocalDbsEnv,
    env_path,
    load_env,
    mariadb_root_connect,
    pg_superuser_connect,
)

LOCALDBS_SH = Path(__file__).with_name("localdbs.sh")
UP_TIMEOUT_SECONDS = 900  # a first run installs MariaDB from apt


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dbs: needs the local PostgreSQL/MariaDB servers (tests/dbs/localdbs.sh up)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "local_dbs" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.dbs)


def servers_answer(env: LocalDbsEnv) -> bool:
    """True if both servers accept a trivial query over their admin unix sockets."""
    try:
        with pg_superuser_connect(env) as conn:
            conn.execute("SELECT 1")
        with mariadb_root_connect(env) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
    except Exception:
        return False
    return True


def running_env() -> LocalDbsEnv | None:
    """The env of already running servers, or None."""
    try:
        env = load_env()
    except (OSError, ValueError, KeyError):
        return None
    return env if servers_answer(env) else None


def run_localdbs(command: str) -> subprocess.CompletedProcess[str]:
    """Run ``localdbs.sh COMMAND``; fail the test session with its output if it fails."""
    result = subprocess.run(
        ["bash", str(LOCALDBS_SH), command],
        capture_output=True,
        text=True,
        timeout=UP_TIMEOUT_SECONDS,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        pytest.fail(
            f"localdbs.sh {command} failed (rc={result.returncode}):\n{result.stderr[-4000:]}\n{result.stdout[-2000:]}",
            pytrace=False,
        )
    return result


@pytest.fixture(scope="session")
def local_dbs() -> Iterator[LocalDbsEnv]:
    """The local RDS-emulating servers (started for the session if they are not running)."""
    env = running_env()
    if env is not None:
        yield env
        return
    if os.geteuid() != 0:
        pytest.fail(
            f"local databases are not running ({env_path()}) and starting them needs root: "
            f"run `sudo bash {LOCALDBS_SH} up` first, or deselect with -m 'not dbs'",
            pytrace=False,
        )
    # `ensure` holds the script's lock: if another session is starting the servers right now, it
    # waits and reuses them instead of restarting them under that session.
    started = "reusing running servers" not in run_localdbs("ensure").stderr
    try:
        env = running_env()
        if env is None:
            pytest.fail("localdbs.sh up succeeded but the servers do not answer", pytrace=False)
        yield env
    finally:
        if started and os.environ.get("LOCALDBS_KEEP") != "1":
            run_localdbs("down")


def unique_name(prefix: str) -> str:
    """A fresh lower-case identifier, safe for both engines."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def pg_iam_user(local_dbs: LocalDbsEnv) -> Iterator[str]:
    """A PostgreSQL login role in rds_iam (authenticates with IAM tokens only)."""
    name = unique_name("iam_pg")
    with pg_superuser_connect(local_dbs) as conn:
        conn.execute(sql.SQL("CREATE USER {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("GRANT rds_iam TO {}").format(sql.Identifier(name)))
    yield name
    with pg_superuser_connect(local_dbs) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def mariadb_iam_user(local_dbs: LocalDbsEnv) -> Iterator[str]:
    """A MariaDB account IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'."""
    name = unique_name("iam_my")
    with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{name}'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'")
    yield name
    with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{name}'@'%'")
