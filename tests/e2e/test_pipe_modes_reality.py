"""``pipe_modes`` against reality: after each onboarding the ClickPipes stand-in opens the CDC stream anyway.
With ``cdc`` in ``pipe_modes`` it must work (tests/e2e/test_cdc.py streams on every engine after a reboot);
without it, the stream must fail, for the reason a warning names. What each DB has in effect comes from
tests/harness/cdc_reality.py (parameter group applied at a reboot, the binlog off without automated backups,
the server's own rds.iam_auth_for_replication); a refused PostgreSQL login says why in the local IAM's REFUSALS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import pymysql
import pytest
from psycopg import sql

from tests.dbs.servers import LocalDbsEnv, pg_superuser_connect
from tests.e2e.scenario import DATABASE, ENGINES, PRINCIPAL, STATE_MACHINE, app_changes, create_db, fresh, sample_table
from tests.harness import cdc_reality, clickpipes_client, iam_authority
from tests.harness.local_aws import LocalWorld

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Case:
    engine: str
    request: dict[str, Any]
    warning: str | None  # what a warning of the output says (None: the request itself asked for no CDC)
    failure: str  # why the stream fails: the local IAM's refusal (PostgreSQL), the server's error, or "no changes"
    setup: str = ""  # "backups-off" | "iam-replication-off"
    expect: list[str] = field(default_factory=lambda: ["initial_load"])


CASES = {
    "pg-reboot-pending": Case("postgres", {}, "CDC needs a reboot", "reboot pending"),
    "pg-cdc-off": Case("postgres", {"cdc": False}, None, "rds.logical_replication is not in effect"),
    "pg-iam-replication-off": Case(
        "postgres",
        {"allow_reboot": True},
        "rds.iam_auth_for_replication",
        "rds.iam_auth_for_replication is off",
        setup="iam-replication-off",
    ),
    "mysql-reboot-pending": Case("mysql", {}, "CDC needs a reboot", "no changes"),
    "mysql-binlog-off": Case("mysql", {}, "automated backups", "no changes", setup="backups-off"),
    "mariadb-cdc-off": Case("mariadb", {"cdc": False}, None, "privilege"),
}


@contextmanager
def iam_replication_off(env: LocalDbsEnv) -> Iterator[None]:
    """The DB's database reports rds.iam_auth_for_replication = 0 (as a DB whose group has it off would)."""
    name = sql.Identifier(DATABASE)
    with pg_superuser_connect(env) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET rds.iam_auth_for_replication = 0").format(name))
        try:
            yield
        finally:
            conn.execute(sql.SQL("ALTER DATABASE {} SET rds.iam_auth_for_replication = 1").format(name))


def stream(env: LocalDbsEnv, output: dict[str, Any], table: str, write: Callable[[], int]) -> int:
    token = clickpipes_client.auth_token(output, PRINCIPAL)
    # the writes are committed before the stream reads on: a short wait is enough to see that none arrive
    return len(clickpipes_client.stream_changes(env, output, token, DATABASE, write, [table], timeout=2))


@pytest.mark.parametrize("name", list(CASES))
def test_a_stream_without_cdc_in_pipe_modes_fails_for_the_warned_reason(
    world: LocalWorld, local_dbs: LocalDbsEnv, name: str
) -> None:
    case = CASES[name]
    identifier, user = fresh(name[:12].rstrip("-"))
    create_db(world, local_dbs, case.engine, identifier)
    table = sample_table(local_dbs, case.engine, identifier, rows=2)
    if case.setup == "backups-off":
        world.rds.modify_db_instance(DBInstanceIdentifier=identifier, BackupRetentionPeriod=0, ApplyImmediately=True)
    body = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, **case.request}
    off = iam_replication_off(local_dbs) if case.setup == "iam-replication-off" else nullcontext()
    with off:
        result = world.run(STATE_MACHINE, body, timeout=120)
        assert result.status == "SUCCEEDED", (result.error, result.cause)
        output = dict(result.output)
        assert output["pipe_modes"] == case.expect
        if case.warning is not None:
            assert any(case.warning in w for w in output["warnings"]), output["warnings"]
        # initial_load is in every pipe_modes: the load works
        token = clickpipes_client.auth_token(output, PRINCIPAL)
        assert clickpipes_client.initial_load(local_dbs, output, token, DATABASE).rows[table] == 2
        binlog = cdc_reality.binlog_in_effect(identifier) if ENGINES[case.engine].server == "mariadb" else "ROW"
        write = lambda: app_changes(local_dbs, case.engine, table, binlog=binlog)  # noqa: E731
        if case.failure == "no changes":  # the binlog does not carry this DB's row changes
            assert stream(local_dbs, output, table, write) == 0
            return
        with pytest.raises((psycopg2.OperationalError, pymysql.err.OperationalError)) as refused:
            stream(local_dbs, output, table, write)
    if ENGINES[case.engine].server == "postgres":
        assert any(u == user and case.failure in why for u, why in iam_authority.REFUSALS), list(iam_authority.REFUSALS)
    else:
        assert case.failure in str(refused.value)


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_cdc_off_initial_load(world: LocalWorld, local_dbs: LocalDbsEnv, engine: str) -> None:
    identifier, user = fresh("cdcoff-load")
    create_db(world, local_dbs, engine, identifier)
    table = sample_table(local_dbs, engine, identifier, rows=2)
    body = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, "cdc": False}
    output = dict(world.run(STATE_MACHINE, body, timeout=120).output)
    assert output["pipe_modes"] == ["initial_load"]
    token = clickpipes_client.auth_token(output, PRINCIPAL)
    assert clickpipes_client.initial_load(local_dbs, output, token, DATABASE).rows.get(table) == 2
