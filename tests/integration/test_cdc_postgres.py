"""CDC readiness on PostgreSQL (DatabaseGateway.configure_cdc) against a real PostgreSQL 15 server that behaves
like RDS: the admin is the RDS-like master (``rdsmaster``: not a superuser), TLS is verified against the local
CA, and what was granted is checked from the catalogs and by logging in as the IAM user with a real token.
The MySQL family's are in test_cdc_mysql.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from clickpipes import rules
from clickpipes.errors import DbConnectionError, DbPrivilegeError, InvalidInputError, TransientError
from clickpipes.models import AdminCredentials, CdcDbRequest, CdcDbResult
from clickpipes.models.base import SecretStr
from clickpipes_db import pg_catalog, trust
from clickpipes_db.gateway import DatabaseGateway
from psycopg import sql

from tests.dbs.pytest_plugin import unique_name
from tests.dbs.servers import (
    LocalDbsEnv,
    iam_token,
    pg_connect,
    pg_superuser_connect,
)
from tests.integration.cdc_support import HOSTILE_SCHEMAS, request

pytestmark = pytest.mark.dbs


# =========================================================================================================
# PostgreSQL
# =========================================================================================================
@pytest.fixture(scope="module")
def pg_db(local_dbs: LocalDbsEnv) -> Iterator[str]:
    """A database the RDS-like master created (so it owns it and may CREATE PUBLICATION there, as on RDS)."""
    name = unique_name("cdc_db")
    with pg_connect(local_dbs.postgres.admin_user, local_dbs.postgres.admin_password, env=local_dbs) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with pg_superuser_connect(local_dbs) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def pg_admin(env: LocalDbsEnv, database: str, **changes: Any) -> AdminCredentials:
    fields: dict[str, Any] = {
        "username": env.postgres.admin_user,
        "password": SecretStr(env.postgres.admin_password),
        "host": env.postgres.host,
        "port": env.postgres.port,
        "database": database,
    }
    return AdminCredentials(**(fields | changes))


@dataclass(frozen=True)
class PgCase:
    env: LocalDbsEnv
    database: str
    schema: str
    user: str
    publication: str
    admin: AdminCredentials

    def table(self, name: str) -> str:
        return f"{self.schema}.{name}"

    def as_admin(self) -> psycopg.Connection[Any]:
        return pg_connect(
            self.env.postgres.admin_user, self.env.postgres.admin_password, env=self.env, dbname=self.database
        )

    def as_superuser(self) -> psycopg.Connection[Any]:
        return pg_superuser_connect(self.env, dbname=self.database)

    def as_user(self) -> psycopg.Connection[Any]:
        """The IAM user, logged in with a real token over verified TLS."""
        token = iam_token(self.env, "postgres", self.user)
        return pg_connect(self.user, token, env=self.env, dbname=self.database)

    def request(self, **changes: Any) -> CdcDbRequest:
        return request(**({"user": self.user, "schemas": [self.schema], "publication": self.publication} | changes))


def drop_pg_role(env: LocalDbsEnv, database: str, role: str) -> None:
    ident = sql.Identifier(role)
    with pg_superuser_connect(env, dbname=database) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(ident))
    with pg_superuser_connect(env) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident))


@pytest.fixture
def pg_case(local_dbs: LocalDbsEnv, pg_db: str, gateway: DatabaseGateway) -> Iterator[PgCase]:
    """A schema with three tables owned by the master (keyed: PK; nokey: none; full: REPLICA IDENTITY FULL),
    and an IAM user made by the product (ensure_iam_user) with no privileges yet."""
    case = PgCase(
        env=local_dbs,
        database=pg_db,
        schema=unique_name("Sales"),  # mixed case: identifiers are quoted, never folded
        user=unique_name("cp_cdc"),
        publication=unique_name("pub"),
        admin=pg_admin(local_dbs, pg_db),
    )
    s = sql.Identifier(case.schema)
    with case.as_admin() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(s))
        conn.execute(sql.SQL("CREATE TABLE {}.keyed (id int PRIMARY KEY, v text)").format(s))
        conn.execute(sql.SQL("CREATE TABLE {}.nokey (id int, v text)").format(s))
        conn.execute(sql.SQL("CREATE TABLE {}.full (id int, v text)").format(s))
        conn.execute(sql.SQL("ALTER TABLE {}.full REPLICA IDENTITY FULL").format(s))
        conn.execute(sql.SQL("INSERT INTO {}.nokey VALUES (1, 'a')").format(s))
    gateway.ensure_iam_user("postgres", case.admin, case.user)
    yield case
    with case.as_superuser() as conn:
        conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(case.publication)))
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(s))
    drop_pg_role(local_dbs, pg_db, case.user)


def marked(case: PgCase) -> str:
    """The action that marks a publication the product creates as its own."""
    return f"COMMENT ON PUBLICATION \"{case.publication}\" IS '{trust.PUBLICATION_COMMENT}'"


def no_identity_warning(case: PgCase, table: str) -> str:
    return (
        f"Table {case.table(table)} has no primary key and no REPLICA IDENTITY FULL: not published (PostgreSQL "
        f'would refuse UPDATE and DELETE on it once published). Add a primary key, or run ALTER TABLE "{case.schema}".'
        f"{table} REPLICA IDENTITY FULL, then run the onboarding again."
    )


def update_and_delete(case: PgCase, table: str) -> None:
    """What the application does: raises if the table is published without a replica identity."""
    t = sql.Identifier(case.schema, table)
    with case.as_admin() as conn:
        conn.execute(sql.SQL("INSERT INTO {} VALUES (99, 'x')").format(t))
        conn.execute(sql.SQL("UPDATE {} SET v = 'y' WHERE id = 99").format(t))
        conn.execute(sql.SQL("DELETE FROM {} WHERE id = 99").format(t))


def published(case: PgCase) -> set[str]:
    with case.as_superuser() as conn:
        rows = conn.execute(
            "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = %s", (case.publication,)
        ).fetchall()
    return {r[0] for r in rows}


def pg_snapshot(case: PgCase, user: str | None = None) -> dict[str, Any]:
    """Everything configure_cdc could change, read as the superuser. Publications and ACLs are those of the test's
    own database; roles and memberships (cluster-wide, shared with other sessions) those of the user."""
    user = user or case.user
    with case.as_superuser() as conn:

        def rows(query: str, *args: Any) -> list[tuple[Any, ...]]:
            return conn.execute(query, args).fetchall()

        return {
            "publications": rows(
                "SELECT pubname, pubowner, puballtables, pubinsert, pubupdate, pubdelete, pubtruncate "
                "FROM pg_publication"
            ),
            "publication_tables": rows("SELECT * FROM pg_publication_tables ORDER BY 1, 2, 3"),
            "publication_schemas": rows("SELECT pnpubid, pnnspid FROM pg_publication_namespace ORDER BY 1, 2"),
            "members": rows(
                "SELECT roleid::regrole::text FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                "WHERE r.rolname = %s ORDER BY 1",
                user,
            ),
            "role": rows("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = %s", user),
            "schema_acl": rows("SELECT nspname, nspacl::text FROM pg_namespace ORDER BY 1"),
            "table_acl": rows("SELECT oid::regclass::text, relacl::text FROM pg_class WHERE relkind = 'r' ORDER BY 1"),
            "default_acl": rows(
                "SELECT defaclrole, defaclnamespace, defaclacl::text FROM pg_default_acl ORDER BY 1, 2"
            ),
        }


def test_pg_configure_grants_publishes_and_warns(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    case = pg_case
    result = gateway.configure_cdc("postgres", case.admin, case.request())
    s, u, p = f'"{case.schema}"', f'"{case.user}"', f'"{case.publication}"'
    assert result.changes == [
        f"GRANT USAGE ON SCHEMA {s} TO {u}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {u}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT ON TABLES TO {u}",
        f"GRANT rds_replication TO {u}",
        # rdsmaster is not a superuser: FOR TABLES IN SCHEMA is refused, the tables are listed instead; nokey (no
        # primary key, no REPLICA IDENTITY FULL) is left out
        f'CREATE PUBLICATION {p} FOR TABLE {s}."full", {s}."keyed"',
        marked(case),
    ]
    assert published(case) == {case.table("keyed"), case.table("full")}
    assert result.iam_auth_for_replication is False  # the server does not know the setting: counts as off
    assert [w for w in result.warnings if "REPLICA IDENTITY" in w] == [no_identity_warning(case, "nokey")]
    assert any("lists the 2 table(s)" in w and "tables created later are not replicated" in w for w in result.warnings)

    with case.as_superuser() as conn:
        member = conn.execute("SELECT pg_has_role(%s, 'rds_replication', 'MEMBER')", (case.user,)).fetchone()
    assert member == (True,)
    with case.as_user() as conn:  # the IAM user itself, logged in with a token
        for table in ("keyed", "nokey", "full"):
            qualified = sql.Identifier(case.schema, table)
            assert conn.execute(
                sql.SQL("SELECT has_table_privilege({}, 'SELECT')").format(sql.Literal(f'"{case.schema}".{table}'))
            ).fetchone() == (True,)
            conn.execute(sql.SQL("SELECT * FROM {}").format(qualified)).fetchall()
    # Not published, the table without a replica identity still takes UPDATE and DELETE: the application works.
    update_and_delete(case, "nokey")
    with case.as_admin() as conn:
        conn.execute(sql.SQL("UPDATE {}.nokey SET v = 'b'").format(sql.Identifier(case.schema)))
        conn.execute(sql.SQL("DELETE FROM {}.nokey").format(sql.Identifier(case.schema)))
    # Given a replica identity, as the warning says, the next run publishes it.
    with case.as_admin() as conn:
        conn.execute(sql.SQL("ALTER TABLE {}.nokey REPLICA IDENTITY FULL").format(sql.Identifier(case.schema)))
    again = gateway.configure_cdc("postgres", case.admin, case.request())
    assert again.changes == [f'ALTER PUBLICATION {p} SET TABLE {s}."full", {s}."keyed", {s}."nokey"']
    assert not any("REPLICA IDENTITY" in w for w in again.warnings)
    assert published(case) == {case.table("keyed"), case.table("nokey"), case.table("full")}
    update_and_delete(case, "nokey")  # FULL: published and still updatable
    assert gateway.configure_cdc("postgres", case.admin, case.request()).changes == []


def test_pg_default_privileges_and_new_tables(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    case = pg_case
    gateway.configure_cdc("postgres", case.admin, case.request())
    with case.as_admin() as conn:
        conn.execute(sql.SQL("CREATE TABLE {}.later (id int PRIMARY KEY)").format(sql.Identifier(case.schema)))
    with case.as_user() as conn:  # ALTER DEFAULT PRIVILEGES: readable without a new GRANT
        conn.execute(sql.SQL("SELECT * FROM {}.later").format(sql.Identifier(case.schema))).fetchall()
    assert case.table("later") not in published(case)  # as the fallback warning says
    again = gateway.configure_cdc("postgres", case.admin, case.request())
    assert again.changes == [
        f'ALTER PUBLICATION "{case.publication}" SET TABLE "{case.schema}"."full", "{case.schema}"."keyed", '
        f'"{case.schema}"."later"'
    ]
    assert case.table("later") in published(case)


def test_pg_read_only_grants_what_an_initial_load_needs(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    """replication off (an onboarding with cdc: false): USAGE, SELECT, default privileges; no rds_replication, no
    publication, no warning about replication (wal_level, replica identities)."""
    case = pg_case
    s, u = f'"{case.schema}"', f'"{case.user}"'
    reads = [
        f"GRANT USAGE ON SCHEMA {s} TO {u}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {u}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT ON TABLES TO {u}",
    ]
    before = pg_snapshot(case)
    plan = gateway.configure_cdc("postgres", case.admin, case.request(replication=False, plan_only=True))
    assert (plan.changes, plan.warnings) == (reads, [])
    assert pg_snapshot(case) == before
    result = gateway.configure_cdc("postgres", case.admin, case.request(replication=False))
    assert (result.changes, result.warnings) == (reads, [])
    after = pg_snapshot(case)
    assert (after["publications"], after["members"]) == (before["publications"], before["members"])
    assert published(case) == set()
    with case.as_admin() as conn:
        conn.execute(sql.SQL("CREATE TABLE {}.later (id int PRIMARY KEY)").format(sql.Identifier(case.schema)))
    with case.as_user() as conn:  # the IAM user, with a token: every table, and one created later
        for table in ("keyed", "nokey", "full", "later"):
            conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(case.schema, table))).fetchall()
    assert gateway.configure_cdc("postgres", case.admin, case.request(replication=False)).changes == []
    # CDC turned on later: only what replication adds
    assert gateway.configure_cdc("postgres", case.admin, case.request()).changes[0] == f"GRANT rds_replication TO {u}"


def test_pg_rerun_is_a_no_op(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    first = gateway.configure_cdc("postgres", pg_case.admin, pg_case.request())
    before = pg_snapshot(pg_case)
    again = gateway.configure_cdc("postgres", pg_case.admin, pg_case.request())
    assert first.changes
    assert again.changes == []
    assert again.warnings == first.warnings  # the state is the same, so is what is worth saying
    assert pg_snapshot(pg_case) == before


def test_pg_tables_subset_sets_the_publication(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    case = pg_case
    gateway.configure_cdc("postgres", case.admin, case.request())
    subset = case.request(tables=[case.table("keyed")])
    result = gateway.configure_cdc("postgres", case.admin, subset)
    assert result.changes == [f'ALTER PUBLICATION "{case.publication}" SET TABLE "{case.schema}"."keyed"']
    assert published(case) == {case.table("keyed")}
    assert not any("REPLICA IDENTITY" in w for w in result.warnings)  # nokey is not asked for
    assert gateway.configure_cdc("postgres", case.admin, subset).changes == []
    back = gateway.configure_cdc("postgres", case.admin, case.request())
    assert back.changes == [
        f'ALTER PUBLICATION "{case.publication}" SET TABLE "{case.schema}"."full", "{case.schema}"."keyed"'
    ]
    assert published(case) == {case.table("keyed"), case.table("full")}


def test_pg_requested_table_without_identity_is_not_published(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    """Asked for by name, a table without a replica identity is left out all the same; a publication an earlier
    run (or someone) made with it loses it, and the plan says so."""
    case = pg_case
    p, s = f'"{case.publication}"', f'"{case.schema}"'
    wanted = case.request(tables=[case.table("nokey"), case.table("keyed")])
    result = gateway.configure_cdc("postgres", case.admin, wanted)
    assert result.changes[-2:] == [f'CREATE PUBLICATION {p} FOR TABLE {s}."keyed"', marked(case)]
    assert [w for w in result.warnings if "REPLICA IDENTITY" in w] == [no_identity_warning(case, "nokey")]
    assert published(case) == {case.table("keyed")}
    update_and_delete(case, "nokey")
    again = gateway.configure_cdc("postgres", case.admin, wanted)
    assert again.changes == []
    assert again.warnings == result.warnings

    # Only nokey asked for: an empty publication, not a broken table.
    alone = gateway.configure_cdc("postgres", case.admin, case.request(tables=[case.table("nokey")]))
    assert alone.changes == [f'ALTER PUBLICATION {p} DROP TABLE {s}."keyed"']
    assert no_identity_warning(case, "nokey") in alone.warnings
    assert published(case) == set()
    update_and_delete(case, "nokey")

    # A publication holding it (as earlier versions made): UPDATE is refused until the run takes it out.
    with case.as_admin() as conn:
        conn.execute(
            sql.SQL("ALTER PUBLICATION {} SET TABLE {}, {}").format(
                sql.Identifier(case.publication),
                sql.Identifier(case.schema, "keyed"),
                sql.Identifier(case.schema, "nokey"),
            )
        )
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="replica identity"):
        update_and_delete(case, "nokey")
    before = pg_snapshot(case)
    plan = gateway.configure_cdc("postgres", case.admin, wanted.model_copy(update={"plan_only": True}))
    assert plan.changes == [f'ALTER PUBLICATION {p} SET TABLE {s}."keyed"']
    assert no_identity_warning(case, "nokey") in plan.warnings
    assert pg_snapshot(case) == before
    fixed = gateway.configure_cdc("postgres", case.admin, wanted)
    assert fixed.changes == plan.changes
    assert published(case) == {case.table("keyed")}
    update_and_delete(case, "nokey")

    # With REPLICA IDENTITY FULL, the next run publishes it, in the order asked.
    with case.as_admin() as conn:
        conn.execute(sql.SQL("ALTER TABLE {}.nokey REPLICA IDENTITY FULL").format(sql.Identifier(case.schema)))
    last = gateway.configure_cdc("postgres", case.admin, wanted)
    assert last.changes == [f'ALTER PUBLICATION {p} SET TABLE {s}."nokey", {s}."keyed"']
    assert not any("REPLICA IDENTITY" in w for w in last.warnings)
    assert published(case) == {case.table("keyed"), case.table("nokey")}
    update_and_delete(case, "nokey")


def test_pg_identity_lost_during_the_run_rolls_back(
    pg_case: PgCase, gateway: DatabaseGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last check, in the run's transaction: if the publication ends up holding a table without a replica
    identity (here: the catalog read is made to miss nokey's, as if it lost it meanwhile), nothing is committed."""
    case = pg_case
    real = pg_catalog.unidentified
    calls: list[int] = []

    def stale_then_real(cur: Any, oids: Any) -> Any:
        calls.append(1)
        return {} if len(calls) == 1 else real(cur, oids)

    monkeypatch.setattr(pg_catalog, "unidentified", stale_then_real)
    before = pg_snapshot(case)
    with pytest.raises(TransientError, match=f"{case.table('nokey')} lost their replica identity") as caught:
        gateway.configure_cdc("postgres", case.admin, case.request())
    assert "Nothing was changed" in str(caught.value)
    assert pg_snapshot(case) == before
    update_and_delete(case, "nokey")


def test_pg_other_tables_without_identity(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    """REPLICA IDENTITY NOTHING (even with a primary key), USING INDEX on a dropped index, a partitioned table with
    a partition without a primary key: none is published, each with its own warning."""
    case = pg_case
    s = sql.Identifier(case.schema)
    with case.as_admin() as conn:
        conn.execute(sql.SQL("CREATE TABLE {}.nothing (id int PRIMARY KEY, v text)").format(s))
        conn.execute(sql.SQL("ALTER TABLE {}.nothing REPLICA IDENTITY NOTHING").format(s))
        conn.execute(sql.SQL("CREATE TABLE {}.dropped (id int NOT NULL, v text)").format(s))
        conn.execute(sql.SQL("CREATE UNIQUE INDEX dropped_id ON {}.dropped (id)").format(s))
        conn.execute(sql.SQL("ALTER TABLE {}.dropped REPLICA IDENTITY USING INDEX dropped_id").format(s))
        conn.execute(sql.SQL("DROP INDEX {}.dropped_id").format(s))
        conn.execute(sql.SQL("CREATE TABLE {}.parted (id int, v text) PARTITION BY RANGE (id)").format(s))
        conn.execute(
            sql.SQL("CREATE TABLE {}.parted_1 PARTITION OF {}.parted FOR VALUES FROM (0) TO (1000)").format(s, s)
        )
        conn.execute(
            sql.SQL("CREATE TABLE {}.keyed_parted (id int PRIMARY KEY, v text) PARTITION BY RANGE (id)").format(s)
        )
        conn.execute(
            sql.SQL("CREATE TABLE {}.keyed_parted_1 PARTITION OF {}.keyed_parted FOR VALUES FROM (0) TO (1000)").format(
                s, s
            )
        )
    result = gateway.configure_cdc("postgres", case.admin, case.request())
    assert published(case) == {case.table(t) for t in ("keyed", "full", "keyed_parted_1")}  # leaves are shown
    excluded = sorted(w for w in result.warnings if "not published" in w)
    assert len(excluded) == 4
    assert excluded[0].startswith(f"Partitioned table {case.table('parted')} is not published: its partition(s) ")
    assert case.table("parted_1") in excluded[0]
    assert excluded[1].startswith(f"Table {case.table('dropped')} has no replica identity (the index of its")
    assert excluded[2].startswith(f"Table {case.table('nokey')} has no primary key")
    assert excluded[3].startswith(f"Table {case.table('nothing')} has REPLICA IDENTITY NOTHING: not published")
    for table in ("nokey", "nothing", "dropped", "parted", "parted_1"):
        update_and_delete(case, table)
    plan = gateway.configure_cdc("postgres", case.admin, case.request(plan_only=True))
    assert plan.changes == []
    assert sorted(w for w in plan.warnings if "not published" in w) == excluded


def test_pg_our_publication_with_other_contents_is_corrected(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    """Ours (marked: its comment), changed by hand since: made to hold exactly what is asked again."""
    case = pg_case
    with case.as_admin() as conn:
        conn.execute(
            sql.SQL("CREATE PUBLICATION {} FOR TABLE {} WHERE (id > 10) WITH (publish = 'insert')").format(
                sql.Identifier(case.publication), sql.Identifier(case.schema, "keyed")
            )
        )
        conn.execute(
            sql.SQL("COMMENT ON PUBLICATION {} IS {}").format(
                sql.Identifier(case.publication), sql.Literal(trust.PUBLICATION_COMMENT)
            )
        )
    wanted = case.request(tables=[case.table("keyed")])
    result = gateway.configure_cdc("postgres", case.admin, wanted)
    assert result.changes[-2:] == [
        f"ALTER PUBLICATION \"{case.publication}\" SET (publish = 'insert, update, delete, truncate')",
        f'ALTER PUBLICATION "{case.publication}" SET TABLE "{case.schema}"."keyed"',
    ]
    with case.as_superuser() as conn:
        row = conn.execute(
            "SELECT p.pubupdate AND p.pubdelete AND p.pubtruncate, pr.prqual IS NULL FROM pg_publication p "
            "JOIN pg_publication_rel pr ON pr.prpubid = p.oid WHERE p.pubname = %s",
            (case.publication,),
        ).fetchall()
    assert row == [(True, True)]  # every operation, no row filter left
    assert gateway.configure_cdc("postgres", case.admin, wanted).changes == []


def test_pg_plan_only_changes_nothing_and_predicts_the_run(
    pg_case: PgCase, gateway: DatabaseGateway, local_dbs: LocalDbsEnv
) -> None:
    case = pg_case
    before = pg_snapshot(case)
    started = time.monotonic()
    plan = gateway.configure_cdc("postgres", case.admin, case.request(plan_only=True))
    assert time.monotonic() - started < 10
    assert plan.changes  # fresh user, fresh schema: everything is to do
    assert pg_snapshot(case) == before  # grants, memberships, publications: untouched
    assert any(case.table("nokey") in w for w in plan.warnings)
    real = gateway.configure_cdc("postgres", case.admin, case.request())
    assert real.changes == plan.changes  # the plan said exactly what the run did
    assert gateway.configure_cdc("postgres", case.admin, case.request(plan_only=True)).changes == []


def test_pg_plan_only_for_a_user_not_created_yet(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    """A plan_only onboarding does not create the user either: the CDC plan still lists everything."""
    future = unique_name("cp_future")
    before = pg_snapshot(pg_case, future)
    wanted = request(user=future, schemas=[pg_case.schema], plan_only=True)
    plan = gateway.configure_cdc("postgres", pg_case.admin, wanted)
    assert [a.split(" TO ")[-1] for a in plan.changes[:4]] == [f'"{future}"'] * 4
    assert plan.changes[3] == f'GRANT rds_replication TO "{future}"'
    assert pg_snapshot(pg_case, future) == before
    with pytest.raises(InvalidInputError, match="does not exist"):
        gateway.configure_cdc("postgres", pg_case.admin, request(user=future, schemas=[pg_case.schema]))


def test_pg_superuser_admin_publishes_tables_in_schema(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    """With a superuser (the unix socket's trust login), FOR TABLES IN SCHEMA is used, and a table list left by
    an earlier fallback is converted to it."""
    case = pg_case
    gateway.configure_cdc("postgres", case.admin, case.request())  # as rdsmaster: the table-list fallback
    superuser = pg_admin(
        case.env, case.database, username=case.env.postgres.superuser, password=SecretStr("unused"),
        host=case.env.postgres.socket_dir,
    )  # fmt: skip
    # nokey has no replica identity: FOR TABLES IN SCHEMA would publish it, so the table list stays
    kept = gateway.configure_cdc("postgres", superuser, case.request())
    assert kept.changes == [
        # default privileges belong to the role that creates the tables: now the superuser's are set too
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{case.schema}" GRANT SELECT ON TABLES TO "{case.user}"',
    ]
    assert no_identity_warning(case, "nokey") in kept.warnings
    assert any("which would publish the tables without a replica identity too" in w for w in kept.warnings)
    assert published(case) == {case.table("keyed"), case.table("full")}
    with case.as_admin() as conn:
        conn.execute(sql.SQL("ALTER TABLE {}.nokey REPLICA IDENTITY FULL").format(sql.Identifier(case.schema)))
    result = gateway.configure_cdc("postgres", superuser, case.request())
    assert result.changes == [f'ALTER PUBLICATION "{case.publication}" SET TABLES IN SCHEMA "{case.schema}"']
    assert not any("tables created later" in w or "REPLICA IDENTITY" in w for w in result.warnings)
    with case.as_superuser() as conn:
        conn.execute(sql.SQL("CREATE TABLE {}.later (id int PRIMARY KEY)").format(sql.Identifier(case.schema)))
    assert case.table("later") in published(case)  # new tables are published by themselves now
    assert gateway.configure_cdc("postgres", superuser, case.request()).changes == []
    # rdsmaster, which cannot publish schemas, accepts the schema publication as it is
    assert gateway.configure_cdc("postgres", case.admin, case.request()).changes == []
    # A table created later without a primary key is published by the schema form: UPDATE on it is refused. The
    # next run (the plan says it) goes back to a table list without it.
    with case.as_admin() as conn:
        conn.execute(sql.SQL("CREATE TABLE {}.later_nokey (id int, v text)").format(sql.Identifier(case.schema)))
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="replica identity"):
        update_and_delete(case, "later_nokey")
    s, p = f'"{case.schema}"', f'"{case.publication}"'
    plan = gateway.configure_cdc("postgres", superuser, case.request(plan_only=True))
    assert plan.changes == [f'ALTER PUBLICATION {p} SET TABLE {s}."full", {s}."keyed", {s}."later", {s}."nokey"']
    assert no_identity_warning(case, "later_nokey") in plan.warnings
    fixed = gateway.configure_cdc("postgres", superuser, case.request())
    assert fixed.changes == plan.changes
    assert fixed.warnings == plan.warnings
    update_and_delete(case, "later_nokey")
    assert published(case) == {case.table(t) for t in ("full", "keyed", "later", "nokey")}
    assert gateway.configure_cdc("postgres", superuser, case.request()).changes == []


def test_pg_missing_schema_or_table(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    before = pg_snapshot(pg_case)
    with pytest.raises(InvalidInputError, match="no_such_schema"):
        gateway.configure_cdc("postgres", pg_case.admin, pg_case.request(schemas=[pg_case.schema, "no_such_schema"]))
    with pytest.raises(InvalidInputError, match="no_such_table"):
        gateway.configure_cdc(
            "postgres", pg_case.admin, pg_case.request(tables=[pg_case.table("keyed"), pg_case.table("no_such_table")])
        )
    with pytest.raises(InvalidInputError, match="not in schemas"):
        gateway.configure_cdc("postgres", pg_case.admin, pg_case.request(tables=["public.keyed"]))
    assert pg_snapshot(pg_case) == before


@pytest.mark.parametrize("name", HOSTILE_SCHEMAS)
def test_pg_hostile_schema_names_are_refused_before_any_sql(
    pg_case: PgCase, gateway: DatabaseGateway, name: str
) -> None:
    # An unreachable port proves no connection is even opened: the name is refused first.
    unreachable = pg_case.admin.model_copy(update={"port": 1})
    with pytest.raises(InvalidInputError, match="[Ss]chema"):
        gateway.configure_cdc("postgres", unreachable, pg_case.request(schemas=[name]))
    with pytest.raises(InvalidInputError):
        gateway.configure_cdc("postgres", unreachable, pg_case.request(tables=[f"{name}.t"], schemas=[name]))
    before = pg_snapshot(pg_case)
    with pytest.raises(InvalidInputError):
        gateway.configure_cdc("postgres", pg_case.admin, pg_case.request(schemas=[pg_case.schema, name]))
    assert pg_snapshot(pg_case) == before


@pytest.mark.parametrize(
    "changes",
    [
        {"tables": ['keyed"; DROP TABLE x; --']},
        {"tables": ["a.b.c"]},
        {"publication": 'p"; DROP PUBLICATION x; --'},
        {"user": 'u"; DROP ROLE rdsmaster; --'},
    ],
)
def test_pg_other_hostile_names_are_refused(pg_case: PgCase, gateway: DatabaseGateway, changes: dict[str, Any]) -> None:
    unreachable = pg_case.admin.model_copy(update={"port": 1})
    with pytest.raises(InvalidInputError):
        gateway.configure_cdc("postgres", unreachable, pg_case.request(**changes))


def test_pg_unreachable_server_is_a_connection_error(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    """The same connect function as ensure_iam_user: the same errors."""
    with pytest.raises(DbConnectionError, match="Cannot connect"):
        gateway.configure_cdc("postgres", pg_case.admin.model_copy(update={"port": 1}), pg_case.request())


def test_pg_table_the_admin_does_not_own(pg_case: PgCase, gateway: DatabaseGateway, local_dbs: LocalDbsEnv) -> None:
    """On RDS the master is not a superuser: a table of another role can be neither granted nor published by it.
    The check comes before any change."""
    case = pg_case
    owner = unique_name("app_owner")
    try:
        with case.as_superuser() as conn:
            conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(owner)))
            conn.execute(
                sql.SQL("CREATE TABLE {}.foreign_owned (id int PRIMARY KEY)").format(sql.Identifier(case.schema))
            )
            conn.execute(
                sql.SQL("ALTER TABLE {}.foreign_owned OWNER TO {}").format(
                    sql.Identifier(case.schema), sql.Identifier(owner)
                )
            )
        before = pg_snapshot(case)
        with pytest.raises(DbPrivilegeError, match="foreign_owned") as caught:
            gateway.configure_cdc("postgres", case.admin, case.request())
        assert "Nothing was changed" in str(caught.value)
        assert pg_snapshot(case) == before
    finally:
        with case.as_superuser() as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}.foreign_owned").format(sql.Identifier(case.schema)))
        drop_pg_role(local_dbs, case.database, owner)


def test_pg_all_tables_publication_is_not_narrowed(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    """Someone else's FOR ALL TABLES publication publishes every table already: used as it is, with a warning. One
    marked as ours (only by hand: the tool never makes one) cannot be narrowed: refused, nothing changed."""
    with pg_case.as_superuser() as conn:
        conn.execute(sql.SQL("CREATE PUBLICATION {} FOR ALL TABLES").format(sql.Identifier(pg_case.publication)))
    gateway.configure_cdc("postgres", pg_case.admin, pg_case.request(plan_only=True))
    gateway.configure_cdc("postgres", pg_case.admin, pg_case.request())  # the grants
    before = pg_snapshot(pg_case)
    result = gateway.configure_cdc("postgres", pg_case.admin, pg_case.request())
    assert result.changes == []
    assert any(f"Publication {pg_case.publication} exists FOR ALL TABLES and was not created by this tool" in w
               for w in result.warnings)  # fmt: skip
    assert pg_snapshot(pg_case) == before
    with pg_case.as_superuser() as conn:
        conn.execute(
            sql.SQL("COMMENT ON PUBLICATION {} IS {}").format(
                sql.Identifier(pg_case.publication), sql.Literal(trust.PUBLICATION_COMMENT)
            )
        )
    with pytest.raises(InvalidInputError, match="FOR ALL TABLES"):
        gateway.configure_cdc("postgres", pg_case.admin, pg_case.request())
    assert pg_snapshot(pg_case) == before


def test_result_model_round_trips(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    """What the step returns to Step Functions: plain JSON."""
    result = gateway.configure_cdc("postgres", pg_case.admin, pg_case.request(plan_only=True))
    assert CdcDbResult.model_validate_json(result.model_dump_json()) == result


def test_pg_schema_without_tables(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    """Publishing an empty schema: an empty publication (SET needs a table), and a publication that had tables
    is emptied with DROP TABLE."""
    case = pg_case
    empty = unique_name("empty")
    with case.as_admin() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(empty)))
    gateway.configure_cdc("postgres", case.admin, case.request(tables=[case.table("keyed")]))
    result = gateway.configure_cdc("postgres", case.admin, case.request(schemas=[empty]))
    assert result.changes[-1] == f'ALTER PUBLICATION "{case.publication}" DROP TABLE "{case.schema}"."keyed"'
    assert published(case) == set()
    assert any("lists the 0 table(s)" in w for w in result.warnings)
    assert gateway.configure_cdc("postgres", case.admin, case.request(schemas=[empty])).changes == []
    with case.as_superuser() as conn:
        conn.execute(sql.SQL("DROP PUBLICATION {}").format(sql.Identifier(case.publication)))
    again = gateway.configure_cdc("postgres", case.admin, case.request(schemas=[empty]))
    assert again.changes == [f'CREATE PUBLICATION "{case.publication}"', marked(case)]
    with case.as_superuser() as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(empty)))


# =========================================================================================================
# The trust boundary: a publication this tool did not create; rds.iam_auth_for_replication
# =========================================================================================================
def publication_state(case: PgCase) -> list[list[tuple[Any, ...]]]:
    """The publication's options, tables, schemas and comment."""
    with case.as_superuser() as conn:
        return [
            conn.execute(query, (case.publication,)).fetchall()
            for query in (
                "SELECT pubname, pubowner, puballtables, pubinsert, pubupdate, pubdelete, pubtruncate, "
                "  obj_description(oid, 'pg_publication') FROM pg_publication WHERE pubname = %s",
                "SELECT schemaname, tablename, attnames::text, rowfilter FROM pg_publication_tables "
                "WHERE pubname = %s ORDER BY 1, 2",
                "SELECT pn.pnnspid FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid "
                "WHERE p.pubname = %s",
            )
        ]


def add_table_warning(case: PgCase, table: str) -> str:
    return (
        f"Publication {case.publication} (not created by this tool, left as it is) does not publish table "
        f"{case.table(table)}: ClickPipes will not replicate it. To add it, run ALTER PUBLICATION "
        f'"{case.publication}" ADD TABLE "{case.schema}"."{table}"'
    )


@pytest.mark.parametrize("asked", ["schema", "tables"])
def test_pg_foreign_publication_is_used_as_it_is(pg_case: PgCase, gateway: DatabaseGateway, asked: str) -> None:
    """A publication the tool did not create (no mark), with a table list and publish = 'insert': never altered,
    never emptied; each table it lacks is named with the statement that adds it."""
    case = pg_case
    with case.as_admin() as conn:
        conn.execute(
            sql.SQL("CREATE PUBLICATION {} FOR TABLE {} WITH (publish = 'insert')").format(
                sql.Identifier(case.publication), sql.Identifier(case.schema, "keyed")
            )
        )
    wanted = case.request() if asked == "schema" else case.request(tables=[case.table("full"), case.table("nokey")])
    before = publication_state(case)
    plan = gateway.configure_cdc("postgres", case.admin, wanted.model_copy(update={"plan_only": True}))
    result = gateway.configure_cdc("postgres", case.admin, wanted)
    assert publication_state(case) == before  # same tables, same publish option, still no comment
    assert not any("PUBLICATION" in a for a in result.changes)  # only the user's grants
    assert add_table_warning(case, "full") in result.warnings
    assert no_identity_warning(case, "nokey") in result.warnings  # not to be added: it has no replica identity
    assert not any("ADD TABLE" in w and case.table("nokey") in w for w in result.warnings)
    assert not any(f'ADD TABLE "{case.schema}"."keyed"' in w for w in result.warnings)  # it has it
    assert any("publishes only insert: ClickPipes needs every operation" in w for w in result.warnings)
    assert any("was not created by this tool" in w and "used as it is" in w for w in result.warnings)
    assert plan.warnings == result.warnings
    again = gateway.configure_cdc("postgres", case.admin, wanted)
    assert (again.changes, again.warnings) == ([], result.warnings)
    assert publication_state(case) == before
    update_and_delete(case, "nokey")


def test_pg_foreign_publication_for_tables_in_schema_covers_them(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    case = pg_case
    with case.as_superuser() as conn:
        conn.execute(
            sql.SQL("CREATE PUBLICATION {} FOR TABLES IN SCHEMA {}").format(
                sql.Identifier(case.publication), sql.Identifier(case.schema)
            )
        )
    before = publication_state(case)
    result = gateway.configure_cdc("postgres", case.admin, case.request(tables=[case.table("keyed")]))
    assert publication_state(case) == before  # not narrowed to the one table asked
    assert not any("ADD TABLE" in w for w in result.warnings)


@pytest.fixture
def replication_setting(pg_case: PgCase) -> Iterator[Callable[[str], None]]:
    """Set rds.iam_auth_for_replication for the test's own database (as a parameter group would, server-wide)."""
    database = sql.Identifier(pg_case.database)

    def set_to(value: str) -> None:
        with pg_superuser_connect(pg_case.env) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET rds.iam_auth_for_replication = {}").format(database, sql.Literal(value))
            )

    yield set_to
    with pg_superuser_connect(pg_case.env) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} RESET rds.iam_auth_for_replication").format(database))


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("", False), ("0", False), ("1", True), ("on", True)])
def test_pg_iam_auth_for_replication_unknown_counts_as_off(
    pg_case: PgCase,
    gateway: DatabaseGateway,
    replication_setting: Callable[[str], None],
    value: str | None,
    expected: bool,
) -> None:
    """None: the setting does not exist on this server (as on a version before it): off, so no CDC pipe is offered."""
    if value is not None:
        replication_setting(value)
    cdc = gateway.configure_cdc("postgres", pg_case.admin, pg_case.request(plan_only=True))
    user = gateway.ensure_iam_user("postgres", pg_case.admin, pg_case.user, plan_only=True)
    assert (cdc.iam_auth_for_replication, user.iam_auth_for_replication) == (expected, expected)
    modes = rules.pipe_modes("postgres", iam_auth_for_replication=cdc.iam_auth_for_replication)
    assert ("cdc" in modes) is expected


def test_pg_reports_the_published_tables_for_the_clickpipe(pg_case: PgCase, gateway: DatabaseGateway) -> None:
    """What CreateClickPipe maps: the publication's tables (nokey left out), and the pipe's tables that are not
    among them; unknown in a plan before the publication exists; without replication, the schema's tables."""
    case = pg_case
    planned = gateway.configure_cdc("postgres", case.admin, case.request(plan_only=True))
    assert (planned.published_tables, planned.published_count) == (None, None)
    wanted = case.request(pipe_tables=[case.table("keyed"), case.table("nokey")])
    result = gateway.configure_cdc("postgres", case.admin, wanted)
    assert (result.published_tables, result.published_count) == ([case.table("full"), case.table("keyed")], 2)
    assert result.unpublished == [case.table("nokey")]
    again = gateway.configure_cdc("postgres", case.admin, case.request(plan_only=True))
    assert again.published_tables == [case.table("full"), case.table("keyed")]  # nothing planned: known
    reads = gateway.configure_cdc("postgres", case.admin, case.request(replication=False))
    assert reads.published_tables == [case.table(t) for t in ("full", "keyed", "nokey")]
    narrowed = case.request(replication=False, tables=[case.table("nokey")])
    assert gateway.configure_cdc("postgres", case.admin, narrowed).published_tables == [case.table("nokey")]
