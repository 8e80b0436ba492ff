"""PostgreSQL CDC: the publication's part of the plan, for :mod:`clickpipes_db.cdc_postgres`.

Ours (its comment holds ``clickpipes-onboarding``, :data:`clickpipes_db.trust.PUBLICATION_COMMENT`, set when this
tool creates it) is made to hold exactly what is asked. Anyone else's is used as it is: never altered, never
emptied, its publish option never changed; what it lacks is said in warnings, each with the statement to run.
A foreign FOR ALL TABLES publication is used too (it publishes every table, so nothing asked for is missing), with
a warning; ours can never be FOR ALL TABLES (the tool never makes one), so one marked by hand is refused
(InvalidInputError: it cannot be narrowed). The operator hands a publication over to the tool by setting the mark:
``COMMENT ON PUBLICATION p IS 'clickpipes-onboarding'``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from clickpipes.errors import DbPrivilegeError, InvalidInputError

from clickpipes_db import trust
from clickpipes_db.drivers import sql
from clickpipes_db.pg_catalog import PUBLISHABLE_KINDS, Catalog, CheckedPgRequest, Publication, Relation, Unidentified

PUBLISH_ALL: Final = "insert, update, delete, truncate"
MAX_NAMED: Final = 20  # at most this many names in one message


@dataclass(frozen=True)
class Step:
    """One statement. With ``fallback`` set, the statement may be refused (InsufficientPrivilege: PostgreSQL 15+
    lets only superusers publish FOR TABLES IN SCHEMA); the fallback statements then run instead."""

    statement: sql.Composed
    fallback: tuple[sql.Composed, ...] | None = None
    fallback_warnings: tuple[str, ...] = ()
    fallback_problem: str | None = None  # the fallback is impossible too: DbPrivilegeError with this message


@dataclass
class PublicationPlan:
    """The SQL steps of a PostgreSQL CDC run (grants, the publication), in order, and its warnings."""

    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def plan_publication(plan: PublicationPlan, catalog: Catalog, wanted: CheckedPgRequest) -> None:
    """Add the publication's steps. Tables without a usable replica identity are left out, with a warning each.
    A publication this tool did not create is used as it is (:func:`_use_foreign`)."""
    pub = catalog.publication
    name = sql.Identifier(wanted.publication)
    if pub is not None and not pub.marked:
        _use_foreign(plan, catalog, wanted, pub)
        return
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
    if pub is None:  # the mark: ours from now on
        comment = sql.SQL("COMMENT ON PUBLICATION {} IS {}").format(name, sql.Literal(trust.PUBLICATION_COMMENT))
        plan.steps.append(Step(comment))


def _use_foreign(plan: PublicationPlan, catalog: Catalog, wanted: CheckedPgRequest, pub: Publication) -> None:
    """Someone else's publication: nothing is changed; warnings say what it lacks and the statement that adds it.

    FOR ALL TABLES publishes every table already, so it is used as well (it cannot hold less than asked)."""
    p = wanted.publication
    shown = sql.Identifier(p).as_string(None)
    targets = _table_targets(plan, catalog, wanted) if wanted.tables else _schema_targets(plan, wanted, catalog)
    kind = "FOR ALL TABLES " if pub.all_tables else ""
    plan.warnings.append(
        f"Publication {p} exists {kind}and was not created by this tool (its comment lacks "
        f"'{trust.PUBLICATION_MARK}'): it is used as it is, never altered. To let the tool manage it, run COMMENT "
        f"ON PUBLICATION {shown} IS '{trust.PUBLICATION_MARK}' (as its owner {pub.owner}), or choose another "
        "publication name."
    )
    if not pub.publishes_all:
        plan.warnings.append(
            f"Publication {p} publishes only {', '.join(pub.publishes) or 'nothing'}: ClickPipes needs every "
            f"operation. Run ALTER PUBLICATION {shown} SET (publish = '{PUBLISH_ALL}') if nothing else depends on it."
        )
    if pub.filtered:
        plan.warnings.append(
            f"Publication {p} has row filters or column lists: ClickPipes receives only the rows and columns they "
            "let through."
        )
    if pub.all_tables:
        return
    for relation in targets:
        if relation.oid in pub.relations or relation.root_oid in pub.relations:
            continue
        schema_oid = next(s.oid for s in catalog.schemas if s.name == relation.schema)
        if schema_oid in pub.schemas:
            continue
        table = sql.Identifier(relation.schema, relation.name).as_string(None)
        plan.warnings.append(
            f"Publication {p} (not created by this tool, left as it is) does not publish table "
            f"{relation.qualified}: ClickPipes will not replicate it. To add it, run ALTER PUBLICATION {shown} "
            f"ADD TABLE {table}"
        )


def _table_targets(plan: PublicationPlan, catalog: Catalog, wanted: CheckedPgRequest) -> list[Relation]:
    """The requested tables, checked, but those without a replica identity (a warning each)."""
    relations = {(r.schema, r.name): r for s in catalog.schemas for r in s.relations}
    absent = [f"{s}.{t}" for s, t in wanted.tables if (s, t) not in relations]
    wrong = [
        f"{s}.{t}"
        for s, t in wanted.tables
        if (s, t) in relations and (relations[s, t].kind not in PUBLISHABLE_KINDS or relations[s, t].persistence != "p")
    ]
    if absent:
        raise InvalidInputError(
            f"Table(s) {names(absent)} do not exist in database {catalog.database} (names are case-sensitive)."
        )
    if wrong:
        raise InvalidInputError(
            f"{names(wrong)}: only permanent (not UNLOGGED) tables can be published, not views or foreign tables."
        )
    return _with_identity(plan, catalog, [relations[key] for key in wanted.tables])


def _schema_targets(plan: PublicationPlan, wanted: CheckedPgRequest, catalog: Catalog) -> list[Relation]:
    """The publishable tables now in the schemas (partitions through their root), but those without a replica
    identity (a warning each)."""
    return _with_identity(
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


def _plan_tables(plan: PublicationPlan, catalog: Catalog, wanted: CheckedPgRequest) -> None:
    """The publication lists the requested tables (but those without a replica identity)."""
    pub = catalog.publication
    targets = _table_targets(plan, catalog, wanted)
    if not _publication_is(pub, [r.oid for r in targets], ()):
        _check_publishable(catalog, pub, targets)
        plan.steps.extend(Step(s) for s in _set_tables(pub, wanted.publication, targets))


def _plan_schemas(plan: PublicationPlan, catalog: Catalog, wanted: CheckedPgRequest) -> None:
    """The schemas: FOR TABLES IN SCHEMA needs a superuser (PostgreSQL 15+), and would publish the tables without a
    replica identity too; else, the tables there now (but those)."""
    pub = catalog.publication
    name = sql.Identifier(wanted.publication)
    schema_oids = [s.oid for s in catalog.schemas]
    schema_names = sql.SQL(", ").join(sql.Identifier(s.name) for s in catalog.schemas)
    listed = _schema_targets(plan, wanted, catalog)
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


def _with_identity(plan: PublicationPlan, catalog: Catalog, tables: Sequence[Relation]) -> list[Relation]:
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
        raise privilege_error(
            catalog, f"create a publication in database {catalog.database} (no CREATE privilege)", "its owner"
        )
    if pub is not None and not pub.admin_owns:
        raise privilege_error(catalog, f"alter publication owned by {pub.owner}", pub.owner)
    problem = _publish_problem(catalog, tables)
    if problem:
        raise DbPrivilegeError(problem)


def _publish_problem(catalog: Catalog, tables: Sequence[Relation]) -> str | None:
    foreign = [r.qualified for r in tables if not r.admin_owns]
    if not foreign:
        return None
    return str(privilege_error(catalog, f"publish {names(foreign)} (only their owner may)", "the tables' owner"))


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
    partitions = names([t.qualified for t in tables])
    return (
        f"Partitioned table {relation.qualified} is not published: its partition(s) {partitions} have no primary "
        "key and no REPLICA IDENTITY FULL (PostgreSQL would refuse UPDATE and DELETE on them once published). Add a "
        f"primary key to {relation.qualified}, or run ALTER TABLE <partition> REPLICA IDENTITY FULL on each of "
        "them, then run the onboarding again."
    )


def privilege_error(catalog: Catalog, what: str, who: str) -> DbPrivilegeError:
    return DbPrivilegeError(
        f"The admin user {catalog.admin} may not {what}: connect as {who}, or grant that role to {catalog.admin} "
        "(GRANT owner_role TO admin), then run this again. Nothing was changed."
    )


def names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:MAX_NAMED])
    return shown + (f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else "")
