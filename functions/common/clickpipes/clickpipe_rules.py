"""The ClickPipe an onboarding creates, as pure rules: the ClickHouse Cloud API's request body
(``ClickPipePostRequest`` of tests/contracts/clickhouse-cloud-openapi.json), and how an existing pipe differs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from clickpipes.engines import Engine, family
from clickpipes.errors import ClickPipeRefusedError, InvalidInputError
from clickpipes.models import CdcDbResult, CdcOptions, ClickPipeRequest, OnboardingOutput, Target

# the API's source type per engine (ClickPipeMutatePostgresSource / ClickPipeMutateMySQLSource ``type``)
SOURCE_TYPES: Final[dict[Engine, str]] = {
    "postgres": "rdspostgres",
    "aurora-postgresql": "aurorapostgres",
    "mysql": "rdsmysql",
    "aurora-mysql": "auroramysql",
    "mariadb": "rdsmariadb",
}
PIPE_TAG: Final = "clickpipes:clickpipe"  # on the role, "<service id>/<pipe id>": a pipe this tool created
STARTING: Final = frozenset({"Provisioning", "Setup", "Unknown"})  # still setting up: wait
FAILED: Final = frozenset({"Failed", "InternalError"})
# the most tables a pipe is made of without clickpipe.tables (each "schema.table" up to 127 characters: a bounded
# share of Step Functions' 256 KiB payload); beyond it, clickpipe.tables must list them
MAX_PUBLISHED_TABLES: Final = 500
STATUS_TAG: Final = "clickpipes:clickpipe-status"  # on the DB: the pipe's state, or "failed <error>"


def check_mode(pipe: ClickPipeRequest, output: OnboardingOutput) -> None:
    """``cdc`` only when the onboarding says CDC works with IAM auth now (``pipe_modes``)."""
    if pipe.replication_mode == "cdc" and "cdc" not in output.pipe_modes:
        why = (
            "a reboot is still needed (rerun with allow_reboot: true) or rds.iam_auth_for_replication is off"
            if family(output.engine) == "postgres"
            else "the server's binlog settings are not yet in effect (rerun with allow_reboot: true)"
        )
        raise ClickPipeRefusedError(
            f"clickpipe {pipe.name!r}: replication_mode 'cdc' is not possible yet on DB {output.db_identifier} "
            f"(pipe_modes {output.pipe_modes}): {why}; or ask for replication_mode 'snapshot'. No pipe was created."
        )


def published_report(found: Iterable[str], pipe_tables: Sequence[str] | None) -> dict[str, Any]:
    """CdcDbResult's ``published_*`` fields from the tables a DB step found published: the first
    MAX_PUBLISHED_TABLES (sorted), their count, and the pipe's tables that are not among them."""
    every = sorted(set(found))
    published = set(every)
    unpublished = [t for t in dict.fromkeys(pipe_tables or []) if t not in published]
    return {"published_tables": every[:MAX_PUBLISHED_TABLES], "published_count": len(every), "unpublished": unpublished}


def check_tables(pipe: ClickPipeRequest | None, cdc: CdcOptions) -> None:
    """Before any change (ResolveTarget): ``clickpipe.tables`` that the onboarding cannot publish are refused: a table
    outside ``schemas``, or (with the onboarding's ``tables``) not among them."""
    if pipe is None or not pipe.tables:
        return
    scope = cdc.tables or None
    outside = [t for t in pipe.tables if (t not in scope if scope else t.split(".", 1)[0] not in cdc.schemas)]
    if outside:
        where = f"tables {cdc.tables}" if scope else f"schemas {cdc.schemas}"
        raise InvalidInputError(
            f"clickpipe.tables {', '.join(outside[:10])} are not in the onboarding's {where}, so they would not be "
            "published: add them there, or leave them out of clickpipe.tables. Nothing was changed."
        )


def table_mappings(
    pipe: ClickPipeRequest, published: CdcDbResult | None, *, plan_only: bool = False
) -> list[dict[str, str]]:
    """``clickpipe.tables`` (each must be published), else the tables ConfigureCdcDatabase reported published
    (refused beyond MAX_PUBLISHED_TABLES): ``schema.table`` becomes ``schema_table`` in ClickHouse. With plan_only
    before the publication exists, the tables are not known yet: none."""
    refused = f"clickpipe {pipe.name!r}: "
    if plan_only and not pipe.tables and published is not None and published.published_tables is None:
        return []
    if pipe.tables:
        if published is not None and published.unpublished:
            raise ClickPipeRefusedError(
                refused + f"table(s) {', '.join(published.unpublished[:10])} are not published on the DB (a table "
                "that does not exist, or left out of the publication for want of a replica identity: see the "
                "onboarding's warnings). No pipe was created."
            )
        tables = list(pipe.tables)
    else:
        if published is None or published.published_tables is None or published.published_count is None:
            raise ClickPipeRefusedError(
                refused + "the onboarding reported no published tables: give clickpipe.tables as 'schema.table'. "
                "No pipe was created."
            )
        if published.published_count > len(published.published_tables):
            raise ClickPipeRefusedError(
                refused + f"{published.published_count} tables are published, more than the "
                f"{MAX_PUBLISHED_TABLES} a pipe is made of without clickpipe.tables: list the tables to replicate "
                "in clickpipe.tables (up to 1000). No pipe was created."
            )
        tables = list(published.published_tables)
        if not tables:
            raise ClickPipeRefusedError(
                refused + "no table is published on the DB (empty schemas, or every table lacks a replica identity: "
                "see the onboarding's warnings). No pipe was created."
            )
    mappings = []
    for table in tables:
        schema, name = table.split(".", 1)
        mappings.append({"sourceSchemaName": schema, "sourceTable": name, "targetTable": f"{schema}_{name}"})
    return mappings


def pipe_body(
    pipe: ClickPipeRequest, target: Target, output: OnboardingOutput, published: CdcDbResult | None
) -> dict[str, Any]:
    """The POST …/clickpipes body: IAM_ROLE authentication as the onboarding's role and DB user."""
    check_mode(pipe, output)
    source: dict[str, Any] = {
        "type": SOURCE_TYPES[output.engine],
        "host": output.endpoint,
        "port": output.port,
        "credentials": {"username": output.db_user},
        "authentication": "IAM_ROLE",
        "iamRole": output.role_arn,
        "settings": {"replicationMode": pipe.replication_mode},
        "tableMappings": table_mappings(pipe, published, plan_only=output.plan_only),
    }
    if family(output.engine) == "postgres":
        source["database"] = target.database or "postgres"
        if target.cdc.enabled:  # with cdc: false there is no publication (a snapshot reads the tables)
            source["settings"]["publicationName"] = target.cdc.publication
        kind = "postgres"
    else:
        kind = "mysql"
    return {"name": pipe.name, "source": {kind: source}, "destination": {"database": pipe.destination_database}}


COMPARED: Final = ("type", "host", "port", "authentication", "iamRole", "database")


def differences(existing: dict[str, Any], body: dict[str, Any]) -> list[str]:
    """What an existing pipe of that name has that the request does not (reported, never overwritten)."""
    ((kind, wanted),) = body["source"].items()
    have = (existing.get("source") or {}).get(kind) or {}
    found = [
        f"source.{kind}.{k}: {have.get(k)!r}, asked {wanted[k]!r}" for k in COMPARED if have.get(k) != wanted.get(k)
    ]
    if not have:
        found = [f"source: not a {kind} source"]
    mode = (have.get("settings") or {}).get("replicationMode")
    if have and mode != wanted["settings"]["replicationMode"]:
        found.append(f"settings.replicationMode: {mode!r}, asked {wanted['settings']['replicationMode']!r}")
    found += _mapping_differences(kind, have, wanted)
    database = (existing.get("destination") or {}).get("database")
    if database != body["destination"]["database"]:
        found.append(f"destination.database: {database!r}, asked {body['destination']['database']!r}")
    return found


def _mapping_differences(kind: str, have: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """The tables the existing pipe replicates that are not asked, and those asked that it lacks (none asked: a
    plan that does not know the tables yet compares nothing)."""

    def tables(source: dict[str, Any]) -> set[str]:
        mappings = source.get("tableMappings") or []
        return {f"{m.get('sourceSchemaName')}.{m.get('sourceTable')}" for m in mappings if isinstance(m, dict)}

    asked, held = tables(wanted), tables(have)
    if not have or not asked or asked == held:
        return []
    missing, extra = sorted(asked - held), sorted(held - asked)
    parts = [f"lacks {', '.join(missing[:10])}"] if missing else []
    parts += [f"also has {', '.join(extra[:10])}"] if extra else []
    return [f"source.{kind}.tableMappings: {'; '.join(parts)}"]
