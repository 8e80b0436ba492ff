"""PostgreSQL CDC: what the catalogs say (read once, before any change), for :mod:`clickpipes_db.cdc_postgres`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from clickpipes.errors import InvalidInputError

from clickpipes_db import trust
from clickpipes_db.drivers import psycopg
from clickpipes_db.server_values import is_on

GRANTABLE_KINDS: Final = ("r", "v", "m", "f", "p")  # what GRANT … ON ALL TABLES IN SCHEMA covers
PUBLISHABLE_KINDS: Final = ("r", "p")
OPERATIONS: Final = ("insert", "update", "delete", "truncate")


@dataclass(frozen=True)
class CheckedPgRequest:
    """A checked request: names are safe identifiers, duplicates removed, order kept."""

    user: str
    schemas: tuple[str, ...]
    tables: tuple[tuple[str, str], ...]  # (schema, table); empty: publish the schemas
    publication: str
    plan_only: bool
    replication: bool = True  # False: the read grants only (an initial load), no rds_replication or publication
    pipe_tables: tuple[str, ...] = ()  # "schema.table" of the ClickPipe, to report those not published


UNIDENTIFIED_SQL: Final = (
    # For each candidate: itself when it is a plain table, or the leaf partitions of a partitioned one (the rows
    # live there: UPDATE and DELETE are checked there), that have no usable replica identity.
    "SELECT c.oid, ln.nspname, l.relname, quote_ident(ln.nspname) || '.' || quote_ident(l.relname), "
    "  l.relreplident::text "
    "FROM pg_class c "
    "CROSS JOIN LATERAL (SELECT c.oid AS relid UNION "
    "                    SELECT t.relid FROM pg_partition_tree(c.oid) t WHERE t.isleaf) leaf "
    "JOIN pg_class l ON l.oid = leaf.relid JOIN pg_namespace ln ON ln.oid = l.relnamespace "
    "WHERE c.oid = ANY(%(oids)s::oid[]) AND l.relkind = 'r' AND l.relpersistence = 'p' "
    "  AND (l.relreplident = 'n' "
    "       OR (l.relreplident = 'd' AND NOT EXISTS "
    "           (SELECT 1 FROM pg_index i WHERE i.indrelid = l.oid AND i.indisprimary)) "
    "       OR (l.relreplident = 'i' AND NOT EXISTS "
    "           (SELECT 1 FROM pg_index i WHERE i.indrelid = l.oid AND i.indisreplident))) "
    "ORDER BY 2, 3"
)


PUBLISHED_SQL: Final = "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = %s"
READABLE_SQL: Final = (  # cdc: false: the permanent tables of the schemas (partitions through their root)
    "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence = 'p'"
)


def published(cur: psycopg.Cursor[Any], wanted: CheckedPgRequest) -> list[str]:
    """What a ClickPipe replicates ("schema.table"): the publication's tables; with ``replication`` off (no
    publication), the tables of the schemas (only the requested ones, when given)."""
    if wanted.replication:
        return [str(row[0]) for row in cur.execute(PUBLISHED_SQL, (wanted.publication,)).fetchall()]
    found = [str(row[0]) for row in cur.execute(READABLE_SQL, (list(wanted.schemas),)).fetchall()]
    asked = {f"{schema}.{table}" for schema, table in wanted.tables}
    return [t for t in found if t in asked] if asked else found


@dataclass(frozen=True)
class Unidentified:
    """A permanent table without a usable replica identity: PostgreSQL refuses UPDATE/DELETE on it once published."""

    schema: str
    name: str
    quoted: str  # schema.table as SQL accepts it (quote_ident)
    identity: str  # pg_class.relreplident: 'd' (default, no primary key), 'n' (nothing), 'i' (index dropped)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


def unidentified(cur: psycopg.Cursor[Any], oids: Sequence[int]) -> dict[int, tuple[Unidentified, ...]]:
    """The given tables (oids) that have no usable replica identity, with the tables lacking it (themselves, or
    their leaf partitions)."""
    if not oids:
        return {}
    found: dict[int, list[Unidentified]] = {}
    for oid, *table in cur.execute(UNIDENTIFIED_SQL, {"oids": list(oids)}).fetchall():
        found.setdefault(oid, []).append(Unidentified(*table))
    return {oid: tuple(tables) for oid, tables in found.items()}


@dataclass(frozen=True)
class Relation:
    oid: int
    schema: str
    name: str
    kind: str
    persistence: str
    is_partition: bool
    root_schema: str  # schema of the partition root (its own schema when it is not a partition)
    admin_owns: bool  # the admin is (a member of) the owner: may publish it
    admin_may_grant: bool  # SELECT WITH GRANT OPTION
    user_may_select: bool
    root_oid: int  # the partition root (itself when it is not a partition)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Schema:
    oid: int
    name: str
    admin_may_grant_usage: bool
    user_has_usage: bool
    default_select: bool  # the admin's default privileges already give the user SELECT on new tables
    relations: tuple[Relation, ...]


@dataclass(frozen=True)
class Publication:
    marked: bool  # ours: its comment holds trust.PUBLICATION_MARK
    owner: str
    admin_owns: bool
    all_tables: bool
    publishes_all: bool
    publishes: tuple[str, ...]  # the operations it publishes (insert, update, delete, truncate)
    relations: frozenset[int]
    filtered: bool  # a row filter or a column list on some table
    schemas: frozenset[int]
    members: tuple[tuple[str, str], ...]  # (schema, table) of the listed tables
    member_schemas: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    admin: str
    admin_is_superuser: bool
    admin_may_create_publication: bool
    database: str
    user_exists: bool
    user_replicates: bool
    replication_role_exists: bool
    schemas: tuple[Schema, ...]
    publication: Publication | None
    wal_level: str
    iam_auth_for_replication: bool  # unknown to the server (NULL, empty): off
    unidentified: Mapping[int, tuple[Unidentified, ...]]  # tables of the schemas with no usable replica identity


def inspect(cur: psycopg.Cursor[Any], wanted: CheckedPgRequest) -> Catalog:
    admin_row = cur.execute(
        "SELECT current_user, r.rolsuper, has_database_privilege(current_database(), 'CREATE'), current_database(), "
        "current_setting('wal_level'), current_setting('rds.iam_auth_for_replication', true), "
        "EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication') "
        "FROM pg_roles r WHERE r.rolname = current_user"
    ).fetchone()
    assert admin_row is not None
    admin, superuser, may_create, database, wal_level, iam_replication, replication_role = admin_row
    user_row = cur.execute(
        "SELECT CASE WHEN %(r)s THEN pg_has_role(oid, 'rds_replication', 'MEMBER') ELSE false END "
        "FROM pg_roles WHERE rolname = %(u)s",
        {"u": wanted.user, "r": replication_role},
    ).fetchone()
    user_exists = user_row is not None
    rows = cur.execute(
        "SELECT n.oid, n.nspname, has_schema_privilege(n.oid, 'USAGE WITH GRANT OPTION'), "
        "  %(exists)s AND has_schema_privilege(%(u)s, n.oid, 'USAGE'), "
        "  %(exists)s AND EXISTS (SELECT 1 FROM pg_default_acl d, aclexplode(d.defaclacl) a "
        "    WHERE d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = current_user) "
        "      AND d.defaclnamespace IN (0, n.oid) AND d.defaclobjtype = 'r' "
        "      AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = %(u)s) AND a.privilege_type = 'SELECT') "
        "FROM pg_namespace n WHERE n.nspname = ANY(%(schemas)s)",
        {"u": wanted.user, "exists": user_exists, "schemas": list(wanted.schemas)},
    ).fetchall()
    found = {row[1]: row for row in rows}
    missing = [s for s in wanted.schemas if s not in found]
    if missing:
        raise InvalidInputError(
            f"Schema(s) {', '.join(missing)} do not exist in database {database}: check the names (they are "
            "case-sensitive) and the database."
        )
    relations = _relations(cur, wanted, [found[s][0] for s in wanted.schemas], user_exists=user_exists)
    publishable = [r.oid for r in relations if r.kind in PUBLISHABLE_KINDS and r.persistence == "p"]
    schemas = tuple(
        Schema(
            oid=found[s][0],
            name=s,
            admin_may_grant_usage=found[s][2],
            user_has_usage=found[s][3],
            default_select=found[s][4],
            relations=tuple(r for r in relations if r.schema == s),
        )
        for s in wanted.schemas
    )
    return Catalog(
        admin=admin,
        admin_is_superuser=superuser,
        admin_may_create_publication=may_create,
        database=database,
        user_exists=user_exists,
        user_replicates=bool(user_row and user_row[0]),
        replication_role_exists=replication_role,
        schemas=schemas,
        publication=_publication(cur, wanted.publication),
        wal_level=wal_level,
        iam_auth_for_replication=is_on(iam_replication),
        unidentified=unidentified(cur, publishable),
    )


def _relations(
    cur: psycopg.Cursor[Any], wanted: CheckedPgRequest, schema_oids: list[int], *, user_exists: bool
) -> list[Relation]:
    rows = cur.execute(
        "SELECT c.oid, n.nspname, c.relname, c.relkind::text, c.relpersistence::text, c.relispartition, "
        "  rn.nspname, pg_has_role(c.relowner, 'USAGE'), has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION'), "
        "  %(exists)s AND has_table_privilege(%(u)s, c.oid, 'SELECT'), rc.oid "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_class rc ON rc.oid = CASE WHEN c.relispartition THEN pg_partition_root(c.oid) ELSE c.oid END "
        "JOIN pg_namespace rn ON rn.oid = rc.relnamespace "
        "WHERE c.relnamespace = ANY(%(nsp)s) AND c.relkind = ANY(%(kinds)s) ORDER BY n.nspname, c.relname",
        {"u": wanted.user, "exists": user_exists, "nsp": schema_oids, "kinds": list(GRANTABLE_KINDS)},
    ).fetchall()
    return [Relation(*row) for row in rows]


def _publication(cur: psycopg.Cursor[Any], name: str) -> Publication | None:
    row = cur.execute(
        "SELECT p.oid, pg_get_userbyid(p.pubowner), pg_has_role(p.pubowner, 'USAGE'), p.puballtables, "
        "  p.pubinsert AND p.pubupdate AND p.pubdelete AND p.pubtruncate, "
        "  strpos(coalesce(obj_description(p.oid, 'pg_publication'), ''), %s) > 0, "
        "  p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate "
        "FROM pg_publication p WHERE p.pubname = %s",
        (trust.PUBLICATION_MARK, name),
    ).fetchone()
    if row is None:
        return None
    oid = row[0]
    members = cur.execute(
        "SELECT pr.prrelid, n.nspname, c.relname, pr.prqual IS NOT NULL OR pr.prattrs IS NOT NULL "
        "FROM pg_publication_rel pr JOIN pg_class c ON c.oid = pr.prrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE pr.prpubid = %s ORDER BY n.nspname, c.relname",
        (oid,),
    ).fetchall()
    schemas = cur.execute(
        "SELECT pn.pnnspid, n.nspname FROM pg_publication_namespace pn JOIN pg_namespace n ON n.oid = pn.pnnspid "
        "WHERE pn.pnpubid = %s ORDER BY n.nspname",
        (oid,),
    ).fetchall()
    return Publication(
        marked=row[5],
        owner=row[1],
        admin_owns=row[2],
        all_tables=row[3],
        publishes_all=row[4],
        publishes=tuple(op for op, on in zip(OPERATIONS, row[6:10], strict=True) if on),
        relations=frozenset(m[0] for m in members),
        filtered=any(m[3] for m in members),
        schemas=frozenset(s[0] for s in schemas),
        members=tuple((m[1], m[2]) for m in members),
        member_schemas=tuple(s[1] for s in schemas),
    )
