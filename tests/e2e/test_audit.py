"""The audit on the local world (the real audit and onboarding state machines, moto, the real servers): onboard,
induce each drift of the issue's table on the servers and in moto, and the audit reports exactly those findings
with expected and actual; repair fixes the repairable ones; a second audit is clean; the drift event and the
DriftedDatabases metric are emitted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from clickpipes import rules

from tests.dbs.servers import LocalDbsEnv, mariadb_root_connect, pg_superuser_connect
from tests.e2e.scenario import DATABASE, ENGINES, PRINCIPAL, STATE_MACHINE, create_db, fresh
from tests.harness.execution import ExecutionResult
from tests.harness.local_aws import LocalWorld

pytestmark = pytest.mark.e2e
AUDIT = "AuditStateMachine"


def onboard(world: LocalWorld, engine: str, prefix: str, **extra: Any) -> dict[str, Any]:
    identifier, user = fresh(prefix)
    db = create_db(world, _env(world), engine, identifier)
    request = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, **extra}
    result = world.run(STATE_MACHINE, request, timeout=120)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return {"db": db, "output": result.output, "identifier": identifier, "user": user, "engine": engine}


def _env(world: LocalWorld) -> LocalDbsEnv:
    return world.local_dbs  # type: ignore[attr-defined,no-any-return]


def audit(world: LocalWorld, **request: Any) -> ExecutionResult:
    result = world.run(AUDIT, request, timeout=300)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


def by_db(result: ExecutionResult) -> dict[str, dict[str, Any]]:
    return {db["db_identifier"]: db for db in result.output["databases"]}


def checks(db: dict[str, Any]) -> set[str]:
    return {f["check"] for f in db["findings"]}


@pytest.fixture(scope="module")
def onboarded(world: LocalWorld, local_dbs: LocalDbsEnv) -> dict[str, dict[str, Any]]:
    world.local_dbs = local_dbs  # type: ignore[attr-defined]
    return {
        "postgres": onboard(world, "postgres", "au-pg", allow_reboot=True, publication="pub_audit_pg"),
        "mariadb": onboard(world, "mariadb", "au-ma", allow_reboot=True),
    }


def test_a_fresh_onboarding_audits_clean(world: LocalWorld, onboarded: dict[str, dict[str, Any]]) -> None:
    result = audit(world, db_identifiers=[case["identifier"] for case in onboarded.values()])
    dbs = by_db(result)
    assert {name: (db["status"], db["findings"]) for name, db in dbs.items()} == {
        case["identifier"]: ("ok", []) for case in onboarded.values()
    }
    assert (result.output["drifted"], result.output["gone"], result.output["failed"]) == (0, 0, 0)
