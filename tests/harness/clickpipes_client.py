"""A ClickPipes stand-in: what ClickPipes does with an onboarding's output, and nothing else.

As the ClickHouse principal it assumes ``role_arn`` with a session tag, signs an RDS auth token for
``endpoint``/``port``/``db_user`` with those credentials, logs in over verified TLS and reads every published
table (PostgreSQL: the ``clickpipes`` publication) or every table it can see (MySQL family: the granted
schemas): the initial load. The local DB servers accept the token only if the local IAM
(``tests/harness/iam_authority.py``, which must be open) finds that the role may connect as that user.

When ``pipe_modes`` contains ``cdc``, :func:`run_pipe` then streams the changes an application makes
(tests/harness/cdc_stream.py: PostgreSQL logical replication with ``pgoutput``, the MySQL binlog), and lands
the initial load and the changes in an embedded ClickHouse (chdb), as ClickPipes does: one
``ReplacingMergeTree(_peerdb_version, _peerdb_is_deleted)`` table per source table; the rows counted there
(``FINAL``, deleted rows left out) are what a ClickHouse user would see.

The endpoint is a fake RDS name, so ``connect`` goes to the local server of the engine (what DNS would do).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from chdb import session as chdb_session
from psycopg import sql

from tests.dbs.servers import (
    LocalDbsEnv,
    frozen_signing_clock,
    mariadb_connect,
    pg_apply_rds_replication_rule,
    pg_connect,
)
from tests.harness.cdc_stream import Change, mysql_stream, pg_stream
from tests.harness.helpers import session_with

CLICKHOUSE_SESSION_TAG = {"Key": "clickpipes-pipe", "Value": "stand-in"}
SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")


@dataclass(frozen=True)
class InitialLoad:
    rows: dict[str, int]  # "schema.table" -> rows read
    data: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = field(default_factory=dict, repr=False)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


@dataclass(frozen=True)
class PipeRun:
    """What one pipe did: rows of the initial load landed, changes streamed, rows in ClickHouse per table after both."""

    rows_loaded: int
    changes_streamed: int
    clickhouse_rows: dict[str, int]
    changes: list[Change] = field(default_factory=list, repr=False)


def clickhouse_credentials(principal_arn: str, region: str = "us-east-1") -> Mapping[str, str]:
    """Credentials of the ClickHouse principal (a role in ClickHouse's account, outside the world)."""
    sts = boto3.client("sts", region_name=region)
    return dict(sts.assume_role(RoleArn=principal_arn, RoleSessionName="clickhouse-cloud")["Credentials"])


def auth_token(
    output: Mapping[str, Any],
    principal_arn: str,
    *,
    region: str = "us-east-1",
    tag_session: bool = True,
    signed_at: dt.datetime | None = None,
) -> str:
    """AssumeRole into the output's role as ClickPipes does (with a session tag), then sign the token."""
    sts = session_with(clickhouse_credentials(principal_arn, region), region).client("sts")
    tags = {"Tags": [CLICKHOUSE_SESSION_TAG]} if tag_session else {}
    creds = sts.assume_role(RoleArn=output["role_arn"], RoleSessionName="clickpipes", **tags)["Credentials"]
    rds = session_with(creds, region).client("rds")
    with frozen_signing_clock(signed_at):  # None: now; else a token signed then (a stale one)
        return str(
            rds.generate_db_auth_token(
                DBHostname=output["endpoint"], Port=output["port"], DBUsername=output["db_user"], Region=region
            )
        )


PG_PUBLISHED = "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = 'clickpipes' ORDER BY 1, 2"
PG_READABLE = (
    "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
    "AND has_table_privilege(format('%I.%I', schemaname, tablename), 'SELECT') ORDER BY 1, 2"
)


def initial_load(env: LocalDbsEnv, output: Mapping[str, Any], token: str, database: str) -> InitialLoad:
    """Log in with the token over verified TLS and read every table ClickPipes would load. PostgreSQL: a CDC pipe
    loads the publication's tables; an initial-load-only pipe (no ``cdc`` in ``pipe_modes``) needs no publication
    and loads every table the user may read."""
    user = output["db_user"]
    if "postgres" in output["engine"]:
        with pg_connect(user, token, env=env, dbname=database) as conn:
            tables = conn.execute(PG_PUBLISHED if "cdc" in output["pipe_modes"] else PG_READABLE).fetchall()
            data = {}
            for schema, table in tables:
                query = sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
                cur = conn.execute(query)
                data[f"{schema}.{table}"] = ([c.name for c in cur.description or []], cur.fetchall())
        return _loaded(data)
    conn = mariadb_connect(user, token, env=env)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
                " AND table_schema NOT IN %s ORDER BY 1, 2",
                (SYSTEM_SCHEMAS,),
            )
            data = {}
            for schema, table in cur.fetchall():
                cur.execute(f"SELECT * FROM `{schema}`.`{table}`")  # noqa: S608 - names from the server's catalog
                data[f"{schema}.{table}"] = ([c[0] for c in cur.description or []], list(cur.fetchall()))
    finally:
        conn.close()
    return _loaded(data)


def _loaded(data: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> InitialLoad:
    return InitialLoad({table: len(rows) for table, (_, rows) in data.items()}, data)


def stream_changes(
    env: LocalDbsEnv,
    output: Mapping[str, Any],
    token: str,
    database: str,
    write: Callable[[], int],
    tables: Sequence[str],
    timeout: float = 15,
) -> list[Change]:
    """The CDC stream as the IAM user with the token: what ``write`` (the application) changed in ``tables``,
    waiting up to ``timeout`` seconds for all of them."""
    if "postgres" in output["engine"]:
        pg_apply_rds_replication_rule(env)  # the local server's stand-in for RDS's rds_replication
        return pg_stream(env, output["db_user"], token, database, write, tables, timeout)
    return mysql_stream(env, output["db_user"], token, write, tables, timeout)


def run_pipe(
    env: LocalDbsEnv,
    output: Mapping[str, Any],
    principal_arn: str,
    database: str,
    write: Callable[[], int],
    *,
    tables: Sequence[str] | None = None,
) -> PipeRun:
    """The whole pipe from the onboarding's output: token, initial load, CDC (if ``pipe_modes`` has it) while
    ``write`` changes rows, both landed in an embedded ClickHouse. ``tables``: the tables to land (default: all
    that the initial load read)."""
    token = auth_token(output, principal_arn)
    load = initial_load(env, output, token, database)
    chosen = list(tables if tables is not None else load.data)
    changes = stream_changes(env, output, token, database, write, chosen) if "cdc" in output["pipe_modes"] else []
    with ClickHouse() as clickhouse:
        for table in chosen:
            columns, rows = load.data[table]
            clickhouse.create(table, columns)
            clickhouse.insert(table, [dict(zip(columns, map(_text, row), strict=True)) for row in rows], version=0)
        for version, change in enumerate(changes, start=1):
            clickhouse.insert(change.table, [change.row], version=version, deleted=change.kind == "delete")
        counts = {table: clickhouse.count(table) for table in chosen}
    return PipeRun(sum(load.rows[t] for t in chosen), len(changes), counts, changes)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class ClickHouse:
    """An embedded ClickHouse (chdb) in a throwaway directory: the destination of the stand-in's pipes."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="clickpipes-chdb-")
        self._session: Any = None
        self._tables: dict[str, tuple[str, list[str]]] = {}

    def __enter__(self) -> ClickHouse:
        self._session = chdb_session.Session(str(Path(self._dir.name) / "db"))  # type: ignore[no-untyped-call]
        self._session.query("CREATE DATABASE IF NOT EXISTS clickpipes")
        return self

    def __exit__(self, *exc: object) -> None:
        self._session.close()
        self._dir.cleanup()

    def create(self, table: str, columns: list[str]) -> None:
        """ClickPipes' shape: the source columns, ``_peerdb_version``, ``_peerdb_is_deleted``; keyed by the first
        column. Names come from the source's catalog."""
        name = f"clickpipes.`{table.replace('.', '_')}`"
        self._tables[table] = (name, columns)
        cols = ", ".join(f"`{c}` Nullable(String)" for c in columns)
        self._session.query(
            f"CREATE TABLE {name} ({cols}, _peerdb_version Int64, _peerdb_is_deleted UInt8) "
            f"ENGINE = ReplacingMergeTree(_peerdb_version, _peerdb_is_deleted) ORDER BY ifNull(`{columns[0]}`, '')"
            " SETTINGS allow_nullable_key = 1"
        )

    def insert(self, table: str, rows: list[Mapping[str, str | None]], *, version: int, deleted: bool = False) -> None:
        if not rows:
            return
        name, columns = self._tables[table]
        path = Path(self._dir.name) / "rows.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                record = {c: row.get(c) for c in columns}
                meta = {"_peerdb_version": version, "_peerdb_is_deleted": int(deleted)}
                fh.write(json.dumps({**record, **meta}) + "\n")
        self._session.query(f"INSERT INTO {name} SELECT * FROM file('{path}', JSONEachRow)")  # noqa: S608

    def count(self, table: str) -> int:
        name, _ = self._tables[table]
        result = self._session.query(f"SELECT count() FROM {name} FINAL", "CSV")  # noqa: S608
        return int(str(result).strip())
