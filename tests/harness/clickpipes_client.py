"""A ClickPipes stand-in: what ClickPipes does with an onboarding's output, and nothing else.

As the ClickHouse principal it assumes ``role_arn`` with a session tag, signs an RDS auth token for
``endpoint``/``port``/``db_user`` with those credentials, logs in over verified TLS and reads every published
table (PostgreSQL: the ``clickpipes`` publication) or every table it can see (MySQL family: the granted
schemas): the initial load. The local DB servers accept the token only if the local IAM
(``tests/harness/iam_authority.py``, which must be open) finds that the role may connect as that user.

The endpoint is a fake RDS name, so ``connect`` goes to the local server of the engine (what DNS would do).
Not done yet: landing the rows in an embedded ClickHouse (chdb) and the CDC stream.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from psycopg import sql

from tests.dbs.servers import LocalDbsEnv, frozen_signing_clock, mariadb_connect, pg_connect

CLICKHOUSE_SESSION_TAG = {"Key": "clickpipes-pipe", "Value": "stand-in"}
SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")


@dataclass(frozen=True)
class InitialLoad:
    rows: dict[str, int]  # "schema.table" -> rows read

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def clickhouse_credentials(principal_arn: str, region: str = "us-east-1") -> Mapping[str, str]:
    """Credentials of the ClickHouse principal (a role in ClickHouse's account, outside the world)."""
    sts = boto3.client("sts", region_name=region)
    return dict(sts.assume_role(RoleArn=principal_arn, RoleSessionName="clickhouse-cloud")["Credentials"])


def _session(creds: Mapping[str, str], region: str) -> boto3.session.Session:
    return boto3.session.Session(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], region)


def auth_token(
    output: Mapping[str, Any],
    principal_arn: str,
    *,
    region: str = "us-east-1",
    tag_session: bool = True,
    signed_at: dt.datetime | None = None,
) -> str:
    """AssumeRole into the output's role as ClickPipes does (with a session tag), then sign the token."""
    sts = _session(clickhouse_credentials(principal_arn, region), region).client("sts")
    tags = {"Tags": [CLICKHOUSE_SESSION_TAG]} if tag_session else {}
    creds = sts.assume_role(RoleArn=output["role_arn"], RoleSessionName="clickpipes", **tags)["Credentials"]
    rds = _session(creds, region).client("rds")
    with frozen_signing_clock(signed_at):  # None: now; else a token signed then (a stale one)
        return str(
            rds.generate_db_auth_token(
                DBHostname=output["endpoint"], Port=output["port"], DBUsername=output["db_user"], Region=region
            )
        )


def initial_load(env: LocalDbsEnv, output: Mapping[str, Any], token: str, database: str) -> InitialLoad:
    """Log in with the token over verified TLS and read every table ClickPipes would load."""
    user = output["db_user"]
    rows: dict[str, int] = {}
    if "postgres" in output["engine"]:
        with pg_connect(user, token, env=env, dbname=database) as conn:
            tables = conn.execute(
                "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = 'clickpipes' ORDER BY 1, 2"
            ).fetchall()
            for schema, table in tables:
                query = sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
                rows[f"{schema}.{table}"] = len(conn.execute(query).fetchall())
        return InitialLoad(rows)
    conn = mariadb_connect(user, token, env=env)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
                " AND table_schema NOT IN %s ORDER BY 1, 2",
                (SYSTEM_SCHEMAS,),
            )
            for schema, table in cur.fetchall():
                cur.execute(f"SELECT * FROM `{schema}`.`{table}`")  # noqa: S608 - names from the server's catalog
                rows[f"{schema}.{table}"] = len(cur.fetchall())
    finally:
        conn.close()
    return InitialLoad(rows)
