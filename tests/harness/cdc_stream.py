"""The CDC half of the ClickPipes stand-in (tests/harness/clickpipes_client.py): a change stream opened as the
onboarded IAM user with its token, over verified TLS, as ClickPipes opens it.

* PostgreSQL: a logical replication connection (psycopg2's ``LogicalReplicationConnection``; psycopg 3 cannot
  ``START_REPLICATION``), a ``pgoutput`` slot on the ``clickpipes`` publication, the changes decoded from the
  protocol messages; the slot is dropped afterwards (``DROP_REPLICATION_SLOT ... WAIT``, by the same user).
* MySQL family: the binlog as a replica reads it (``mysql-replication`` over PyMySQL, the token sent with the
  clear-text plugin over TLS only), from the position ``SHOW MASTER STATUS`` gives before the writes.

``stream_changes`` opens the stream, lets ``write`` (the application) change rows, and returns the row changes
received for the tables of interest. A refused stream raises the driver's error.
"""

from __future__ import annotations

import select
import struct
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import psycopg2
import psycopg2.extras
import pymysql
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

from tests.dbs.servers import ClearPasswordOverTLS, LocalDbsEnv

ChangeKind = Literal["insert", "update", "delete"]
PUBLICATION = "clickpipes"


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    table: str  # "schema.table"
    row: dict[str, str | None]  # the new row (insert, update) or the old one (delete); values as text


# ---------------------------------------------------------------------------------------------
# PostgreSQL: pgoutput
# ---------------------------------------------------------------------------------------------
class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> Any:
        value = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return value[0] if len(value) == 1 else value

    def string(self) -> str:
        end = self.data.index(b"\0", self.at)
        text = self.data[self.at : end].decode()
        self.at = end + 1
        return text

    def tuple(self) -> list[str | None]:
        values: list[str | None] = []
        for _ in range(self.take("!h")):
            kind = self.take("!c")
            if kind == b"t":
                length = self.take("!i")
                values.append(self.data[self.at : self.at + length].decode())
                self.at += length
            else:  # b"n" null, b"u" unchanged TOAST value
                values.append(None)
        return values


class PgOutputDecoder:
    """pgoutput protocol version 1: Relation messages name the tables, Insert/Update/Delete carry the rows."""

    def __init__(self) -> None:
        self.relations: dict[int, tuple[str, list[str]]] = {}

    def decode(self, data: bytes) -> Change | None:
        reader = _Reader(data)
        tag = reader.take("!c")
        if tag == b"R":
            relid = reader.take("!I")
            schema, name = reader.string(), reader.string()
            reader.take("!b")  # replica identity
            columns = []
            for _ in range(reader.take("!h")):
                reader.take("!b")
                columns.append(reader.string())
                reader.take("!Ii")
            self.relations[relid] = (f"{schema}.{name}", columns)
            return None
        if tag not in (b"I", b"U", b"D"):
            return None  # Begin, Commit, Origin, Type, Truncate, Message
        table, columns = self.relations[reader.take("!I")]
        part = reader.take("!c")
        if tag == b"U" and part in (b"K", b"O"):  # the old key / row, then the new row
            reader.tuple()
            part = reader.take("!c")
        kinds: dict[bytes, ChangeKind] = {b"I": "insert", b"U": "update", b"D": "delete"}
        kind = kinds[tag]
        return Change(kind, table, dict(zip(columns, reader.tuple(), strict=True)))


def _pg_replication(env: LocalDbsEnv, user: str, token: str, database: str) -> Any:
    return psycopg2.connect(
        host=env.postgres.host,
        port=env.postgres.port,
        user=user,
        password=token,
        dbname=database,
        sslmode="verify-full",
        sslrootcert=env.ca_file,
        connect_timeout=5,
        connection_factory=psycopg2.extras.LogicalReplicationConnection,
    )


def pg_stream(
    env: LocalDbsEnv,
    user: str,
    token: str,
    database: str,
    write: Callable[[], int],
    tables: Iterable[str],
    timeout: float = 15,
) -> list[Change]:
    """Slot, writes, changes: ``write`` returns how many row changes it made (the ones to wait for)."""
    wanted, slot = set(tables), f"clickpipes_standin_{uuid.uuid4().hex[:12]}"
    conn = _pg_replication(env, user, token, database)
    changes: list[Change] = []
    try:
        cur = conn.cursor()
        cur.create_replication_slot(slot, output_plugin="pgoutput")
        expected = write()
        cur.start_replication(
            slot_name=slot, decode=False, options={"proto_version": "1", "publication_names": PUBLICATION}
        )
        decoder, deadline = PgOutputDecoder(), time.monotonic() + timeout
        while len(changes) < expected and time.monotonic() < deadline:
            message = cur.read_message()
            if message is None:
                select.select([cur], [], [], 0.2)
                continue
            change = decoder.decode(message.payload)
            if change is not None and change.table in wanted:
                changes.append(change)
            cur.send_feedback(flush_lsn=message.data_start)
    finally:
        conn.close()
        _pg_drop_slot(env, user, token, database, slot)
    return changes


def _pg_drop_slot(env: LocalDbsEnv, user: str, token: str, database: str, slot: str) -> None:
    try:
        conn = _pg_replication(env, user, token, database)
    except psycopg2.OperationalError:
        return  # the stream was refused: no slot was made
    try:
        conn.cursor().execute(f"DROP_REPLICATION_SLOT {slot} WAIT")  # slot: our own [a-z0-9_] name
    except psycopg2.ProgrammingError:
        pass  # never created (the stream failed before CREATE_REPLICATION_SLOT)
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# MySQL family: the binlog
# ---------------------------------------------------------------------------------------------
def _mysql_settings(env: LocalDbsEnv, user: str, token: str) -> dict[str, Any]:
    return {
        "host": env.mariadb.host,
        "port": env.mariadb.port,
        "user": user,
        "password": token,
        "connect_timeout": 5,
        "ssl": {"ca": env.ca_file, "check_hostname": True, "verify_mode": True},
        "auth_plugin_map": {"mysql_clear_password": ClearPasswordOverTLS},
    }


def mysql_stream(
    env: LocalDbsEnv,
    user: str,
    token: str,
    write: Callable[[], int],
    tables: Iterable[str],
    timeout: float = 15,
) -> list[Change]:
    """Position, writes, row events up to the end of the binlog (or ``timeout``)."""
    wanted = set(tables)
    schemas = sorted({t.split(".", 1)[0] for t in wanted})
    reader = BinLogStreamReader(
        connection_settings=_mysql_settings(env, user, token),
        server_id=int(uuid.uuid4().int % 2**31) + 100,  # a replica's server id, not the server's own (1)
        only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent],
        only_schemas=schemas,
        resume_stream=True,
        blocking=False,
        **_master_position(env, user, token),
    )
    changes: list[Change] = []
    try:
        expected = write()
        deadline = time.monotonic() + timeout
        while len(changes) < expected and time.monotonic() < deadline:
            for event in reader:
                changes.extend(_row_changes(event, wanted))
            if len(changes) < expected:
                time.sleep(0.1)
    finally:
        reader.close()
    return changes


def _master_position(env: LocalDbsEnv, user: str, token: str) -> dict[str, Any]:
    conn = pymysql.connect(**_mysql_settings(env, user, token))
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW MASTER STATUS")
            row = cur.fetchone()
    finally:
        conn.close()
    if row is None:
        raise RuntimeError("SHOW MASTER STATUS is empty: the binary log is off")
    return {"log_file": row[0], "log_pos": int(row[1])}


def _row_changes(event: Any, wanted: set[str]) -> list[Change]:
    table = f"{event.schema}.{event.table}"
    if table not in wanted:
        return []
    kind: ChangeKind = (
        "insert" if isinstance(event, WriteRowsEvent) else "update" if isinstance(event, UpdateRowsEvent) else "delete"
    )
    key = "after_values" if kind == "update" else "values"
    return [Change(kind, table, _text(row[key])) for row in event.rows]


def _text(values: Mapping[str, Any]) -> dict[str, str | None]:
    return {k: None if v is None else str(v) for k, v in values.items()}
