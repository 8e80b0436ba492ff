"""PostgreSQL (RDS, Aurora) CDC readiness for the IAM user: grants, rds_replication, the publication.

What ClickPipes' RDS/Aurora PostgreSQL source pages ask for, made idempotent::

    GRANT USAGE ON SCHEMA s TO u;  GRANT SELECT ON ALL TABLES IN SCHEMA s TO u;
    ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO u;  GRANT rds_replication TO u;
    CREATE PUBLICATION p FOR TABLE s.t1, s.t2   -- or FOR TABLES IN SCHEMA s1, s2

Everything is read from the catalogs first; then only what is missing runs, in one transaction (all or
nothing). With ``plan_only`` nothing but catalog reads runs, and ``actions`` is what a real run would execute.
Every identifier goes through ``psycopg.sql.Identifier``; names are checked by :func:`check_request`
before any SQL.

A table without a usable replica identity (no primary key and no REPLICA IDENTITY FULL, or REPLICA IDENTITY
NOTHING, or USING INDEX on a dropped index) is never published: once it is in a publication that publishes UPDATE
and DELETE, PostgreSQL refuses them on it, and the application using it breaks. Such tables are left out (with a
warning each), removed from a publication an earlier run made, and FOR TABLES IN SCHEMA (which would publish them
too) is used only when the schemas have none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import psycopg
from clickpipes import rules
from clickpipes.errors import DbPrivilegeError, InvalidInputError, TransientError
from clickpipes.models import CdcDbRequest, CdcDbResult
from psycopg import errors, sql

from clickpipes_db.postgres import _first_line, _on

NAME_PATTERN: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")
PUBLISH_ALL: Final = "insert, update, delete, truncate"
GRANTABLE_KINDS: Final = ("r", "v", "m", "f", "p")  # what GRANT … ON ALL TABLES IN SCHEMA covers
PUBLISHABLE_KINDS: Final = ("r", "p")
LOCK_TIMEOUT: Final = "10s"
MAX_NAMED: Final = 20  # at most this many names in one message


@dataclass(frozen=True)
class Wanted:
    """A checked request: names are safe identifiers, duplicates removed, order kept."""

    user: str
    schemas: tuple[str, ...]
    tables: tuple[tuple[str, str], ...]  # (schema, table); empty: publish the schemas
    publication: str
    plan_only: bool


def check_request(request: CdcDbRequest) -> Wanted:
    """Validate every name of the request (InvalidInputError), before any SQL."""
    user = rules.check_db_user(request.user)
    publication = _check_name("publication", request.publication)
    schemas = tuple(dict.fromkeys(_check_schema(s) for s in request.schemas))
    tables: list[tuple[str, str]] = []
    for qualified in dict.fromkeys(request.tables):
        parts = qualified.split(".") if isinstance(qualified, str) else []
        if len(parts) != 2:
            raise InvalidInputError(f"Table {qualified!r} must be written schema.table.")
        schema, table = _check_schema(parts[0]), _check_name("table", parts[1])
        if schema not in schemas:
            raise InvalidInputError(
                f"Table {qualified!r} is in schema {schema!r}, which is not in schemas {list(schemas)}: add it, "
                "so that the user may read the table."
            )
        tables.append((schema, table))
    if not schemas:
        raise InvalidInputError("Give at least one schema to publish (for example 'public').")
    return Wanted(user, schemas, tuple(tables), publication, request.plan_only)


def _check_name(what: str, name: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        shown = name if isinstance(name, str) and len(name) <= 80 else f"{str(name)[:80]}…"
        raise InvalidInputError(
            f"{what.capitalize()} name {shown!r} is not allowed: use 1-63 characters from A-Z, a-z, 0-9, _ and $, "
            "not starting with a digit or $."
        )
    return name


def _check_schema(name: str) -> str:
    _check_name("schema", name)
    if name.lower().startswith("pg_") or name.lower() == "information_schema":
        raise InvalidInputError(f"Schema {name!r} is a system schema: it cannot be published.")
    return name


def configure_cdc(conn: psycopg.Connection[Any], request: CdcDbRequest) -> CdcDbResult:
    """Idempotent: grant what the IAM user lacks, make the publication hold exactly what is asked.

    Errors: InvalidInputError (a bad or missing name), DbPrivilegeError (the admin may not do something:
    checked before anything runs), TransientError (connection lost, a lock not obtained within 10 s).
    """
    wanted = check_request(request)
    try:
        with conn.transaction(), conn.cursor() as cur:
            if wanted.plan_only:  # belt and braces: the server itself refuses any write
                cur.execute("SET TRANSACTION READ ONLY")
            catalog = _inspect(cur, wanted)
            plan = _plan(catalog, wanted)
            if wanted.plan_only:
                actions, warnings = _pretend(conn, catalog, plan)
            else:
                cur.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
                actions, warnings = _execute(conn, cur, plan)
                _check_published_identities(cur, wanted.publication)
    except errors.InsufficientPrivilege as exc:
        raise DbPrivilegeError(
            f"The admin user may not configure CDC ({_first_line(str(exc))}): use the RDS master user, or the "
            "owner of the schemas and tables. Nothing was changed."
        ) from None
    except errors.LockNotAvailable:
        raise TransientError(
            f"A table or schema stayed locked for {LOCK_TIMEOUT} (a long transaction or DDL); will retry. "
            "Nothing was changed."
        ) from None
    except psycopg.OperationalError as exc:
        raise TransientError(f"Connection to PostgreSQL lost ({_first_line(str(exc))}); will retry.") from None
    return CdcDbResult(
        actions=actions,
        warnings=list(dict.fromkeys(warnings)),
        iam_auth_for_replication=catalog.iam_auth_for_replication,
    )


def _pretend(conn: psycopg.Connection[Any], catalog: Catalog, plan: Plan) -> tuple[list[str], list[str]]:
    """plan_only: the statements a real run would execute. Whether the server lets the admin publish FOR TABLES
    IN SCHEMA cannot be known without trying: vanilla PostgreSQL 15+ lets only superusers."""
    actions: list[str] = []
    warnings = list(plan.warnings)
    for step in plan.steps:
        if step.fallback is not None and not catalog.admin_is_superuser:
            if step.fallback_problem:
                raise DbPrivilegeError(step.fallback_problem)
            actions.extend(s.as_string(conn) for s in step.fallback)
            warnings.extend(step.fallback_warnings)
            warnings.append(
                f"Plan assumes the server refuses FOR TABLES IN SCHEMA to {catalog.admin} (not a superuser); "
                "if it allows it (a managed server may), the real run publishes the schemas instead of a table list."
            )
        else:
            actions.append(step.statement.as_string(conn))
    return actions, warnings


def _execute(conn: psycopg.Connection[Any], cur: psycopg.Cursor[Any], plan: Plan) -> tuple[list[str], list[str]]:
    actions: list[str] = []
    warnings = list(plan.warnings)
    for step in plan.steps:
        if step.fallback is None:
            cur.execute(step.statement)
            actions.append(step.statement.as_string(conn))
            continue
        try:
            with conn.transaction():  # a savepoint: a refusal leaves the outer transaction usable
                cur.execute(step.statement)
            actions.append(step.statement.as_string(conn))
        except errors.InsufficientPrivilege:
            if step.fallback_problem:
                raise DbPrivilegeError(step.fallback_problem) from None
            for statement in step.fallback:
                cur.execute(statement)
                actions.append(statement.as_string(conn))
            warnings.extend(step.fallback_warnings)
    return actions, warnings


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


def _unidentified(cur: psycopg.Cursor[Any], oids: Sequence[int]) -> dict[int, tuple[Unidentified, ...]]:
    """The given tables (oids) that have no usable replica identity, with the tables lacking it (themselves, or
    their leaf partitions)."""
    if not oids:
        return {}
    found: dict[int, list[Unidentified]] = {}
    for oid, *table in cur.execute(UNIDENTIFIED_SQL, {"oids": list(oids)}).fetchall():
        found.setdefault(oid, []).append(Unidentified(*table))
    return {oid: tuple(tables) for oid, tables in found.items()}


def _check_published_identities(cur: psycopg.Cursor[Any], publication: str) -> None:
    """After the changes, in the same transaction: the publication holds no table without a replica identity (one
    may have lost it, or been created, since the catalogs were read). Else everything is rolled back."""
    oids = [
        row[0]
        for row in cur.execute(
            "SELECT c.oid FROM pg_publication_tables pt JOIN pg_namespace n ON n.nspname = pt.schemaname "
            "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename WHERE pt.pubname = %s",
            (publication,),
        ).fetchall()
    ]
    tables = sorted({t.qualified for found in _unidentified(cur, oids).values() for t in found})
    if tables:
        raise TransientError(
            f"Table(s) {_names(tables)} lost their replica identity (or were created without one) while "
            f"publication {publication} was being set: will retry. Nothing was changed."
        )


def _exclusion_warning(relation: Relation, tables: Sequence[Unidentified]) -> str:
    refuses = "PostgreSQL would refuse UPDATE and DELETE on it once published"
    if len(tables) == 1 and (tables[0].schema, tables[0].name) == (relation.schema, relation.name):
        table = tables[0]
        if table.identity == "n":
            return (
                f"Table {table.qualified} has REPLICA IDENTITY NOTHING: not published ({refuses}). Run ALTER TABLE "
                f"{table.quoted} REPLICA IDENTITY FULL (or DEFAULT, if it has a primary key), then run the "
                "onboarding again."
            )
        if table.identity == "i":
            return (
                f"Table {table.qualified} has no replica identity (the index of its REPLICA IDENTITY USING INDEX "
                f"was dropped): not published ({refuses}). Run ALTER TABLE {table.quoted} REPLICA IDENTITY FULL, "
                "or USING INDEX on a unique index, then run the onboarding again."
            )
        return (
            f"Table {table.qualified} has no primary key and no REPLICA IDENTITY FULL: not published ({refuses}). "
            f"Add a primary key, or run ALTER TABLE {table.quoted} REPLICA IDENTITY FULL, then run the onboarding "
            "again."
        )
    partitions = _names([t.qualified for t in tables])
    return (
        f"Partitioned table {relation.qualified} is not published: its partition(s) {partitions} have no primary "
        "key and no REPLICA IDENTITY FULL (PostgreSQL would refuse UPDATE and DELETE on them once published). Add a "
        f"primary key to {relation.qualified}, or run ALTER TABLE <partition> REPLICA IDENTITY FULL on each of "
        "them, then run the onboarding again."
    )


# ---------------------------------------------------------------------------------------------------------
# What the catalogs say
# ---------------------------------------------------------------------------------------------------------
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
    owner: str
    admin_owns: bool
    all_tables: bool
    publishes_all: bool
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
    iam_auth_for_replication: bool | None
    unidentified: Mapping[int, tuple[Unidentified, ...]]  # tables of the schemas with no usable replica identity


def _inspect(cur: psycopg.Cursor[Any], wanted: Wanted) -> Catalog:
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
        iam_auth_for_replication=_on(iam_replication),
        unidentified=_unidentified(cur, publishable),
    )


def _relations(
    cur: psycopg.Cursor[Any], wanted: Wanted, schema_oids: list[int], *, user_exists: bool
) -> list[Relation]:
    rows = cur.execute(
        "SELECT c.oid, n.nspname, c.relname, c.relkind::text, c.relpersistence::text, c.relispartition, "
        "  rn.nspname, pg_has_role(c.relowner, 'USAGE'), has_table_privilege(c.oid, 'SELECT WITH GRANT OPTION'), "
        "  %(exists)s AND has_table_privilege(%(u)s, c.oid, 'SELECT') "
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
        "  p.pubinsert AND p.pubupdate AND p.pubdelete AND p.pubtruncate "
        "FROM pg_publication p WHERE p.pubname = %s",
        (name,),
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
        owner=row[1],
        admin_owns=row[2],
        all_tables=row[3],
        publishes_all=row[4],
        relations=frozenset(m[0] for m in members),
        filtered=any(m[3] for m in members),
        schemas=frozenset(s[0] for s in schemas),
        members=tuple((m[1], m[2]) for m in members),
        member_schemas=tuple(s[1] for s in schemas),
    )


# ---------------------------------------------------------------------------------------------------------
# What to do
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One statement. With ``fallback`` set, the statement may be refused (InsufficientPrivilege: PostgreSQL 15+
    lets only superusers publish FOR TABLES IN SCHEMA); the fallback statements then run instead."""

    statement: sql.Composed
    fallback: tuple[sql.Composed, ...] | None = None
    fallback_warnings: tuple[str, ...] = ()
    fallback_problem: str | None = None  # the fallback is impossible too: DbPrivilegeError with this message


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _plan(catalog: Catalog, wanted: Wanted) -> Plan:
    plan = Plan()
    user = sql.Identifier(wanted.user)
    if not catalog.user_exists and not wanted.plan_only:
        raise InvalidInputError(
            f"User {wanted.user} does not exist in this server: create the IAM user first (step CreateDbUser)."
        )
    for schema in catalog.schemas:
        nsp = sql.Identifier(schema.name)
        if not schema.user_has_usage:
            if not schema.admin_may_grant_usage:
                raise _privilege(catalog, f"grant USAGE on schema {schema.name}", "the schema's owner")
            plan.steps.append(Step(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(nsp, user)))
        unreadable = [r for r in schema.relations if not r.user_may_select]
        if unreadable:
            refused = [r.qualified for r in unreadable if not r.admin_may_grant]
            if refused:
                raise _privilege(catalog, f"grant SELECT on {_names(refused)}", "the tables' owner")
            plan.steps.append(Step(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(nsp, user)))
        if not schema.default_select:
            plan.steps.append(
                Step(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(nsp, user))
            )
    if not catalog.replication_role_exists:
        raise DbPrivilegeError(
            f"Role rds_replication does not exist in database {catalog.database}: this is not an RDS/Aurora "
            "PostgreSQL server, or the secret's host/port point elsewhere."
        )
    if not catalog.user_replicates:
        plan.steps.append(Step(sql.SQL("GRANT rds_replication TO {}").format(user)))
    _plan_publication(plan, catalog, wanted)
    plan.warnings.extend(_unpublishable(catalog, wanted))
    if catalog.wal_level != "logical":
        plan.warnings.append(
            f"Logical replication is off (wal_level={catalog.wal_level}): set rds.logical_replication = 1 in the "
            "DB's custom (cluster) parameter group and reboot; ClickPipes CDC cannot start before."
        )
    return plan


def _plan_publication(plan: Plan, catalog: Catalog, wanted: Wanted) -> None:
    """Add the publication's steps. Tables without a usable replica identity are left out, with a warning each."""
    pub = catalog.publication
    name = sql.Identifier(wanted.publication)
    if pub is not None and pub.all_tables:
        raise InvalidInputError(
            f"Publication {wanted.publication} exists FOR ALL TABLES: it cannot be narrowed. Choose another "
            "publication name, or drop it if no subscriber uses it."
        )
    if pub is not None and not pub.publishes_all:
        plan.steps.append(
            Step(sql.SQL("ALTER PUBLICATION {} SET (publish = {})").format(name, sql.Literal(PUBLISH_ALL)))
        )
    if wanted.tables:
        _plan_tables(plan, catalog, wanted)
    else:
        _plan_schemas(plan, catalog, wanted)


def _plan_tables(plan: Plan, catalog: Catalog, wanted: Wanted) -> None:
    """The publication lists the requested tables (but those without a replica identity)."""
    pub = catalog.publication
    relations = {(r.schema, r.name): r for s in catalog.schemas for r in s.relations}
    absent = [f"{s}.{t}" for s, t in wanted.tables if (s, t) not in relations]
    wrong = [
        f"{s}.{t}"
        for s, t in wanted.tables
        if (s, t) in relations and (relations[s, t].kind not in PUBLISHABLE_KINDS or relations[s, t].persistence != "p")
    ]
    if absent:
        raise InvalidInputError(
            f"Table(s) {_names(absent)} do not exist in database {catalog.database} (names are case-sensitive)."
        )
    if wrong:
        raise InvalidInputError(
            f"{_names(wrong)}: only permanent (not UNLOGGED) tables can be published, not views or foreign tables."
        )
    targets = _with_identity(plan, catalog, [relations[key] for key in wanted.tables])
    if not _publication_is(pub, [r.oid for r in targets], ()):
        _check_publishable(catalog, pub, targets)
        plan.steps.extend(Step(s) for s in _set_tables(pub, wanted.publication, targets))


def _plan_schemas(plan: Plan, catalog: Catalog, wanted: Wanted) -> None:
    """The schemas: FOR TABLES IN SCHEMA needs a superuser (PostgreSQL 15+), and would publish the tables without a
    replica identity too; else, the tables there now (but those)."""
    pub = catalog.publication
    name = sql.Identifier(wanted.publication)
    schema_oids = [s.oid for s in catalog.schemas]
    schema_names = sql.SQL(", ").join(sql.Identifier(s.name) for s in catalog.schemas)
    listed = _with_identity(
        plan,
        catalog,
        [
            r
            for s in catalog.schemas
            for r in s.relations
            if r.kind in PUBLISHABLE_KINDS
            and r.persistence == "p"
            and not (r.is_partition and r.root_schema in wanted.schemas)
        ],
    )
    if catalog.admin_is_superuser and catalog.unidentified:
        why = "rather than FOR TABLES IN SCHEMA, which would publish the tables without a replica identity too"
    else:
        why = (
            f"because only a superuser may publish FOR TABLES IN SCHEMA (PostgreSQL 15+) and {catalog.admin} is not one"
        )
    fallback_warning = (
        f"Publication {wanted.publication} lists the {len(listed)} table(s) now in schema(s) "
        f"{', '.join(wanted.schemas)}, {why}: tables created later are not replicated until you run "
        f"ALTER PUBLICATION {wanted.publication} ADD TABLE <schema.table> (or run this again)."
    )
    if catalog.unidentified:  # the table list, whoever the admin is
        if not _publication_is(pub, [r.oid for r in listed], ()):
            _check_publishable(catalog, pub, listed)
            plan.steps.extend(Step(s) for s in _set_tables(pub, wanted.publication, listed))
        plan.warnings.append(fallback_warning)
        return
    if _publication_is(pub, (), schema_oids):
        return
    if not catalog.admin_is_superuser and _publication_is(pub, [r.oid for r in listed], ()):
        plan.warnings.append(fallback_warning)
        return
    if pub is None:
        _check_publishable(catalog, pub, ())
        primary: sql.Composed = sql.SQL("CREATE PUBLICATION {} FOR TABLES IN SCHEMA {}").format(name, schema_names)
    else:
        _check_publishable(catalog, pub, ())
        primary = sql.SQL("ALTER PUBLICATION {} SET TABLES IN SCHEMA {}").format(name, schema_names)
    problem = _publish_problem(catalog, listed)
    fallback = tuple(_set_tables(pub, wanted.publication, listed))
    plan.steps.append(Step(primary, fallback=fallback, fallback_warnings=(fallback_warning,), fallback_problem=problem))


def _with_identity(plan: Plan, catalog: Catalog, tables: Sequence[Relation]) -> list[Relation]:
    """The tables that may be published; a warning for each of the others."""
    kept: list[Relation] = []
    for relation in tables:
        missing = catalog.unidentified.get(relation.oid)
        if missing:
            plan.warnings.append(_exclusion_warning(relation, missing))
        else:
            kept.append(relation)
    return kept


def _publication_is(pub: Publication | None, relations: Iterable[int], schemas: Iterable[int]) -> bool:
    return (
        pub is not None
        and pub.relations == frozenset(relations)
        and pub.schemas == frozenset(schemas)
        and not pub.filtered
    )


def _check_publishable(catalog: Catalog, pub: Publication | None, tables: Sequence[Relation]) -> None:
    if pub is None and not catalog.admin_may_create_publication:
        raise _privilege(
            catalog, f"create a publication in database {catalog.database} (no CREATE privilege)", "its owner"
        )
    if pub is not None and not pub.admin_owns:
        raise _privilege(catalog, f"alter publication owned by {pub.owner}", pub.owner)
    problem = _publish_problem(catalog, tables)
    if problem:
        raise DbPrivilegeError(problem)


def _publish_problem(catalog: Catalog, tables: Sequence[Relation]) -> str | None:
    foreign = [r.qualified for r in tables if not r.admin_owns]
    if not foreign:
        return None
    return str(_privilege(catalog, f"publish {_names(foreign)} (only their owner may)", "the tables' owner"))


def _set_tables(pub: Publication | None, publication: str, tables: Sequence[Relation]) -> list[sql.Composed]:
    name = sql.Identifier(publication)
    listed = sql.SQL(", ").join(sql.Identifier(r.schema, r.name) for r in tables)
    if pub is None:
        if tables:
            return [sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(name, listed)]
        return [sql.SQL("CREATE PUBLICATION {}").format(name)]
    if tables:
        return [sql.SQL("ALTER PUBLICATION {} SET TABLE {}").format(name, listed)]
    # SET needs at least one object: empty the publication instead.
    steps: list[sql.Composed] = []
    if pub.members:
        members = sql.SQL(", ").join(sql.Identifier(s, t) for s, t in pub.members)
        steps.append(sql.SQL("ALTER PUBLICATION {} DROP TABLE {}").format(name, members))
    if pub.member_schemas:
        schemas = sql.SQL(", ").join(sql.Identifier(s) for s in pub.member_schemas)
        steps.append(sql.SQL("ALTER PUBLICATION {} DROP TABLES IN SCHEMA {}").format(name, schemas))
    return steps


def _unpublishable(catalog: Catalog, wanted: Wanted) -> list[str]:
    if wanted.tables:
        return []
    unlogged = [r.qualified for s in catalog.schemas for r in s.relations if r.kind == "r" and r.persistence != "p"]
    if not unlogged:
        return []
    return [f"UNLOGGED table(s) {_names(unlogged)} cannot be replicated: ClickPipes will not see their changes."]


def _privilege(catalog: Catalog, what: str, who: str) -> DbPrivilegeError:
    return DbPrivilegeError(
        f"The admin user {catalog.admin} may not {what}: connect as {who}, or grant that role to {catalog.admin} "
        "(GRANT owner_role TO admin), then run this again. Nothing was changed."
    )


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:MAX_NAMED])
    return shown + (f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")
