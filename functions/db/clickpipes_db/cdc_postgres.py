"""PostgreSQL (RDS, Aurora) CDC readiness for the IAM user: grants, rds_replication, the publication.

What ClickPipes' RDS/Aurora PostgreSQL source pages ask for, made idempotent::

    GRANT USAGE ON SCHEMA s TO u;  GRANT SELECT ON ALL TABLES IN SCHEMA s TO u;
    ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO u;  GRANT rds_replication TO u;
    CREATE PUBLICATION p FOR TABLE s.t1, s.t2   -- or FOR TABLES IN SCHEMA s1, s2

Then it reports the publication's tables (``published_tables``: what a ClickPipe is made of).

With ``replication`` off (an onboarding with ``cdc: false``) only the first three run: what an initial load reads
with; no rds_replication, no publication.

Everything is read from the catalogs first; then only what is missing runs, in one transaction (all or
nothing). With ``plan_only`` nothing but catalog reads runs, and ``changes`` is what a real run would execute.
Every identifier goes through ``psycopg.sql.Identifier``; names are checked by :func:`check_request`
before any SQL.

A table without a usable replica identity (no primary key and no REPLICA IDENTITY FULL, or REPLICA IDENTITY
NOTHING, or USING INDEX on a dropped index) is never published: once it is in a publication that publishes UPDATE
and DELETE, PostgreSQL refuses them on it, and the application using it breaks. Such tables are left out (with a
warning each), removed from a publication an earlier run made, and FOR TABLES IN SCHEMA (which would publish them
too) is used only when the schemas have none.

The publication is changed only when it is ours (marked with a comment when this tool creates it); anyone else's is
used as it is, with warnings: see :mod:`clickpipes_db.pg_publication`. Catalog reads: :mod:`clickpipes_db.pg_catalog`.
"""

from __future__ import annotations

from typing import Any, Final

from clickpipes import clickpipe_rules, rules
from clickpipes.errors import DbPrivilegeError, InvalidInputError, TransientError
from clickpipes.models import CdcDbRequest, CdcDbResult
from clickpipes.names import PG_NAME_PATTERN

from clickpipes_db import pg_catalog
from clickpipes_db.drivers import errors, psycopg, sql
from clickpipes_db.faults import postgres_faults
from clickpipes_db.pg_catalog import Catalog, CheckedPgRequest
from clickpipes_db.pg_publication import PublicationPlan, Step, names, plan_publication, privilege_error

NAME_PATTERN: Final = PG_NAME_PATTERN
LOCK_TIMEOUT: Final = "10s"


def check_request(request: CdcDbRequest) -> CheckedPgRequest:
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
    return CheckedPgRequest(
        user,
        schemas,
        tuple(tables),
        publication,
        request.plan_only,
        request.replication,
        pipe_tables=tuple(request.pipe_tables or ()),
    )


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


def configure_cdc(conn: psycopg.Connection[Any], wanted: CheckedPgRequest) -> CdcDbResult:
    """Idempotent: grant what the IAM user lacks, make the publication hold exactly what is asked.

    ``wanted``: the request as :func:`check_request` returned it (checked once, before connecting).
    Errors: InvalidInputError (a bad or missing name), DbPrivilegeError (the admin may not do something:
    checked before anything runs), TransientError (connection lost, a lock not obtained within 10 s).
    """
    with postgres_faults(
        "The admin user may not configure CDC ({detail}): use the RDS master user, or the owner of the schemas "
        "and tables. Nothing was changed."
    ):
        try:
            with conn.transaction(), conn.cursor() as cur:
                if wanted.plan_only:  # belt and braces: the server itself refuses any write
                    cur.execute("SET TRANSACTION READ ONLY")
                catalog = pg_catalog.inspect(cur, wanted)
                plan = _plan(catalog, wanted)
                if wanted.plan_only:
                    actions, warnings = _plan_only_statements(conn, catalog, plan)
                else:
                    cur.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
                    actions, warnings = _execute(conn, cur, plan)
                    if wanted.replication and (catalog.publication is None or catalog.publication.marked):
                        # another's publication is not ours to check
                        _check_published_identities(cur, wanted.publication)
                # plan_only: what the publication holds after the planned changes is not known yet
                planned = wanted.plan_only and wanted.replication and any("PUBLICATION" in a for a in actions)
                tables = None if planned else pg_catalog.published(cur, wanted)
        except errors.LockNotAvailable:
            raise TransientError(
                f"A table or schema stayed locked for {LOCK_TIMEOUT} (a long transaction or DDL); will retry. "
                "Nothing was changed."
            ) from None
    return CdcDbResult(
        changes=actions,
        warnings=list(dict.fromkeys(warnings)),
        iam_auth_for_replication=catalog.iam_auth_for_replication,
        **(clickpipe_rules.published_report(tables, wanted.pipe_tables) if tables is not None else {}),
    )


def _plan_only_statements(
    conn: psycopg.Connection[Any], catalog: Catalog, plan: PublicationPlan
) -> tuple[list[str], list[str]]:
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


def _execute(
    conn: psycopg.Connection[Any], cur: psycopg.Cursor[Any], plan: PublicationPlan
) -> tuple[list[str], list[str]]:
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
    tables = sorted({t.qualified for found in pg_catalog.unidentified(cur, oids).values() for t in found})
    if tables:
        raise TransientError(
            f"Table(s) {names(tables)} lost their replica identity (or were created without one) while "
            f"publication {publication} was being set: will retry. Nothing was changed."
        )


def _plan(catalog: Catalog, wanted: CheckedPgRequest) -> PublicationPlan:
    plan = PublicationPlan()
    user = sql.Identifier(wanted.user)
    if not catalog.user_exists and not wanted.plan_only:
        raise InvalidInputError(
            f"User {wanted.user} does not exist in this server: create the IAM user first (step CreateDbUser)."
        )
    for schema in catalog.schemas:
        nsp = sql.Identifier(schema.name)
        if not schema.user_has_usage:
            if not schema.admin_may_grant_usage:
                raise privilege_error(catalog, f"grant USAGE on schema {schema.name}", "the schema's owner")
            plan.steps.append(Step(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(nsp, user)))
        unreadable = [r for r in schema.relations if not r.user_may_select]
        if unreadable:
            refused = [r.qualified for r in unreadable if not r.admin_may_grant]
            if refused:
                raise privilege_error(catalog, f"grant SELECT on {names(refused)}", "the tables' owner")
            plan.steps.append(Step(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(nsp, user)))
        if not schema.default_select:
            plan.steps.append(
                Step(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(nsp, user))
            )
    if not wanted.replication:  # an initial load only: reading is all it needs
        return plan
    if not catalog.replication_role_exists:
        raise DbPrivilegeError(
            f"Role rds_replication does not exist in database {catalog.database}: this is not an RDS/Aurora "
            "PostgreSQL server, or the secret's host/port point elsewhere."
        )
    if not catalog.user_replicates:
        plan.steps.append(Step(sql.SQL("GRANT rds_replication TO {}").format(user)))
    plan_publication(plan, catalog, wanted)
    plan.warnings.extend(_unpublishable(catalog, wanted))
    if catalog.wal_level != "logical":
        plan.warnings.append(
            f"Logical replication is off (wal_level={catalog.wal_level}): set rds.logical_replication = 1 in the "
            "DB's custom (cluster) parameter group and reboot; ClickPipes CDC cannot start before."
        )
    return plan


def _unpublishable(catalog: Catalog, wanted: CheckedPgRequest) -> list[str]:
    if wanted.tables:
        return []
    unlogged = [r.qualified for s in catalog.schemas for r in s.relations if r.kind == "r" and r.persistence != "p"]
    if not unlogged:
        return []
    return [f"UNLOGGED table(s) {names(unlogged)} cannot be replicated: ClickPipes will not see their changes."]
