"""The ClickPipe an onboarding creates, as pure rules: the ClickHouse Cloud API's request body
(``ClickPipePostRequest`` of tests/contracts/clickhouse-cloud-openapi.json), and how an existing pipe differs."""

from __future__ import annotations

from typing import Any, Final

from clickpipes.engines import Engine, family
from clickpipes.errors import ClickPipeRefusedError
from clickpipes.models import ClickPipeRequest, OnboardingOutput, Target

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


def table_mappings(pipe: ClickPipeRequest, target: Target) -> list[dict[str, str]]:
    """``schema.table`` of ``clickpipe.tables``, else the onboarding's ``tables``: ``schema_table`` in ClickHouse."""
    tables = list(pipe.tables or target.cdc.tables)
    if not tables:
        raise ClickPipeRefusedError(
            f"clickpipe {pipe.name!r} names no tables: give clickpipe.tables (or the onboarding's tables) as "
            "'schema.table'. No pipe was created."
        )
    mappings = []
    for table in tables:
        schema, name = table.split(".", 1)
        mappings.append({"sourceSchemaName": schema, "sourceTable": name, "targetTable": f"{schema}_{name}"})
    return mappings


def pipe_body(pipe: ClickPipeRequest, target: Target, output: OnboardingOutput) -> dict[str, Any]:
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
        "tableMappings": table_mappings(pipe, target),
    }
    if family(output.engine) == "postgres":
        source["database"] = target.database or "postgres"
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
    database = (existing.get("destination") or {}).get("database")
    if database != body["destination"]["database"]:
        found.append(f"destination.database: {database!r}, asked {body['destination']['database']!r}")
    return found
