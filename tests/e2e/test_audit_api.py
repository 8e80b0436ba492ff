"""POST /audits and GET /audits/{id} on the local world: the API function starts the template's real
AuditStateMachine on moto, which audits a DB onboarded by the real onboarding on a local server; the result is
read back through the API, clean, then with the drift induced in moto."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.dbs.servers import LocalDbsEnv
from tests.e2e.scenario import PRINCIPAL, ROOT, STATE_MACHINE, create_db, fresh
from tests.harness.local_aws import LocalWorld

pytestmark = [pytest.mark.e2e, pytest.mark.dbs]


def api(world: LocalWorld, name: str, **replace: Any) -> tuple[int, dict[str, Any]]:
    event = json.loads((ROOT / "events" / name).read_text()) | replace
    response = world.invoke("ApiFunction", event).payload
    return response["statusCode"], json.loads(response["body"])


def audit(world: LocalWorld, body: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    """POST /audits, then GET /audits/{id} until it stops; the last view."""
    status, accepted = api(world, "api_post_audit.json", body=json.dumps(body))
    assert status == 202, accepted
    audit_id = accepted["id"]
    deadline = time.monotonic() + timeout
    while True:
        status, view = api(
            world, "api_get_audit.json", path=f"/audits/{audit_id}", pathParameters={"audit_id": audit_id}
        )
        assert status == 200, view
        if view["status"] != "RUNNING":
            return view
        assert time.monotonic() < deadline, f"audit {audit_id} still running after {timeout} s"
        time.sleep(0.2)


def test_an_audit_started_through_the_api_reports_its_findings(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("audit-api")
    create_db(world, local_dbs, "mariadb", identifier)
    request = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, "cdc": False}
    onboarded = world.run(STATE_MACHINE, request, timeout=120)
    assert onboarded.status == "SUCCEEDED", (onboarded.error, onboarded.cause)

    clean = audit(world, {"db_identifiers": [identifier]})
    assert clean["status"] == "SUCCEEDED", clean
    assert clean["db_identifiers"] == [identifier]
    [db] = clean["output"]["databases"]
    assert (db["db_identifier"], db["status"], db["findings"]) == (identifier, "ok", []), db
    assert clean["output"]["drifted"] == clean["output"]["gone"] == 0

    world.rds.modify_db_instance(
        DBInstanceIdentifier=identifier, EnableIAMDatabaseAuthentication=False, ApplyImmediately=True
    )
    drifted = audit(world, {"db_identifiers": [identifier]})
    [db] = drifted["output"]["databases"]
    assert db["status"] == "drifted", db
    [finding] = [f for f in db["findings"] if f["check"] == "iam-auth"]
    assert (finding["actual"], finding["repairable"]) == ("false", True), finding
    assert "true" in finding["expected"]
    assert drifted["output"]["drifted"] == 1


def test_a_refused_audit_starts_nothing(world: LocalWorld) -> None:
    arn = world.state_machine_arn("AuditStateMachine")
    before = world.sfn.list_executions(stateMachineArn=arn)["executions"]
    status, problem = api(world, "api_post_audit.json", body=json.dumps({"db_identifiers": ["Not--valid"]}))
    assert (status, problem["error"]) == (400, "InvalidInputError"), problem
    assert world.sfn.list_executions(stateMachineArn=arn)["executions"] == before
