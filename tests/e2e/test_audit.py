"""The audit on the local world (the real audit and onboarding state machines, moto, the real servers): onboard,
induce each drift of the issue's table on the servers and in moto, and the audit reports exactly those findings
with expected and actual; repair fixes the repairable ones; a second audit is clean; the drift event and the
DriftedDatabases metric are emitted."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from clickpipes import rules
from psycopg import sql

from tests.dbs.servers import LocalDbsEnv, mariadb_root_connect, pg_superuser_connect
from tests.e2e.scenario import (
    ALLOWED_ACCOUNT,
    DATABASE,
    PRINCIPAL,
    ROOT,
    STATE_MACHINE,
    audit,
    by_db,
    create_db,
    fresh,
    sample_table,
)
from tests.harness.execution import ExecutionResult
from tests.harness.local_aws import LocalWorld, RunningExecution

pytestmark = pytest.mark.e2e


def onboard(world: LocalWorld, engine: str, prefix: str, **extra: Any) -> dict[str, Any]:
    identifier, user = fresh(prefix)
    db = create_db(world, _env(world), engine, identifier)
    request = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, **extra}
    result = world.run(STATE_MACHINE, request, timeout=120)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return {"db": db, "output": result.output, "identifier": identifier, "user": user, "engine": engine}


def _env(world: LocalWorld) -> LocalDbsEnv:
    return world.local_dbs  # type: ignore[attr-defined,no-any-return]


def checks(db: dict[str, Any]) -> set[str]:
    return {f["check"] for f in db["findings"]}


@pytest.fixture(scope="module")
def onboarded(world: LocalWorld, local_dbs: LocalDbsEnv) -> dict[str, dict[str, Any]]:
    """One DB per drift of the issue's table (one per engine, and three more instances)."""
    world.local_dbs = local_dbs  # type: ignore[attr-defined]
    return {
        "publication": onboard(world, "postgres", "au-pub", allow_reboot=True, publication="pub_audit_pg"),
        "password": onboard(world, "mysql", "au-pw", cdc=False),
        "iam-and-group": onboard(world, "mariadb", "au-iam", allow_reboot=True),
        "trust": onboard(world, "aurora-postgresql", "au-trust", cdc=False),
        "recreated": onboard(world, "aurora-mysql", "au-new", cdc=False),
        "deleted": onboard(world, "postgres", "au-del", cdc=False),
    }


def test_a_fresh_onboarding_audits_clean(world: LocalWorld, onboarded: dict[str, dict[str, Any]]) -> None:
    result = audit(world, db_identifiers=[case["identifier"] for case in onboarded.values()])
    dbs = by_db(result)
    assert {name: (db["status"], db["findings"]) for name, db in dbs.items()} == {
        case["identifier"]: ("ok", []) for case in onboarded.values()
    }
    assert (result.output["drifted"], result.output["gone"], result.output["failed"]) == (0, 0, 0)


def test_a_publication_of_the_tables_asked_for_audits_clean(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    """The audit compares with what the onboarding was asked for (recorded: clickpipes:onboarded-tables)."""
    identifier, user = fresh("au-tbl")
    create_db(world, local_dbs, "postgres", identifier)
    table = sample_table(local_dbs, "postgres", identifier, rows=2)
    request = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, "allow_reboot": True}
    assert world.run(STATE_MACHINE, request | {"tables": [table], "publication": f"pub_{user}"}).status == "SUCCEEDED"
    found = by_db(audit(world, db_identifiers=[identifier]))[identifier]
    assert (found["status"], found["findings"]) == ("ok", [])


OTHER_ACCOUNT = "444455556666"
OTHER_PRINCIPAL = f"arn:aws:iam::{OTHER_ACCOUNT}:role/ClickHouse-other-service"
ADMIN_POLICY = "arn:aws:iam::123456789012:policy/SomeonesAdministratorAccess"  # moto has no AWS-managed ones


@pytest.fixture
def drift_events(world: LocalWorld) -> str:
    """An SQS queue behind a rule for the audit's events on the default bus (as a user routes them to SNS)."""
    sqs, events = world.client("sqs"), world.client("events")
    url = sqs.create_queue(QueueName="clickpipes-drift")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    readme = (ROOT / "README.md").read_text()
    pattern = re.search(r"aws events put-rule --name clickpipes-drift --event-pattern '([^']+)'", readme)
    assert pattern, "the README's rule for the drift events"
    events.put_rule(Name="clickpipes-drift", EventPattern=pattern[1])
    events.put_targets(Rule="clickpipes-drift", Targets=[{"Id": "queue", "Arn": arn}])
    return str(url)


def received(world: LocalWorld, url: str) -> list[dict[str, Any]]:
    sqs = world.client("sqs")
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        found += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch]
        )
    return found


def finished(world: LocalWorld, name: str) -> ExecutionResult:
    """An onboarding the audit's repair started, once it has finished."""
    arn = world.state_machine_arn(STATE_MACHINE).replace(":stateMachine:", ":execution:") + f":{name}"
    return RunningExecution(world, arn, world.api_calls, 0.0).wait(timeout=180)


def role_name(case: dict[str, Any]) -> str:
    return str(case["output"]["role_arn"]).rsplit("/", 1)[1]


def db_tags(world: LocalWorld, case: dict[str, Any]) -> dict[str, str]:
    arn = case["db"].get("DBClusterArn") or case["db"]["DBInstanceArn"]
    return {t["Key"]: t["Value"] for t in world.rds.list_tags_for_resource(ResourceName=arn)["TagList"]}


def recreate(world: LocalWorld, case: dict[str, Any]) -> None:
    """Deleted and created again under the same name (a restore from a snapshot): a new resource ID, no tags."""
    identifier = case["identifier"]
    world.rds.delete_db_instance(DBInstanceIdentifier=f"{identifier}-writer", SkipFinalSnapshot=True)
    world.rds.delete_db_cluster(DBClusterIdentifier=identifier, SkipFinalSnapshot=True)
    # moto keeps the first cluster's automated snapshot, whose name (per minute) the new one would take
    for snapshot in world.rds.describe_db_cluster_snapshots(DBClusterIdentifier=identifier)["DBClusterSnapshots"]:
        world.rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot["DBClusterSnapshotIdentifier"])
    case["db"] = create_db(world, _env(world), case["engine"], identifier)


def induce_drift(world: LocalWorld, local_dbs: LocalDbsEnv, cases: dict[str, dict[str, Any]]) -> None:
    iam = world.client("iam")
    with pg_superuser_connect(local_dbs, dbname=DATABASE) as conn:
        conn.execute("DROP PUBLICATION pub_audit_pg")
    with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
        cur.execute("ALTER USER %s@'%%' IDENTIFIED BY 'a-password-again-1'", (cases["password"]["user"],))
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.create_policy(PolicyName=ADMIN_POLICY.rsplit("/", 1)[1], PolicyDocument=json.dumps(admin))
    iam.attach_role_policy(RoleName=role_name(cases["password"]), PolicyArn=ADMIN_POLICY)
    mariadb = cases["iam-and-group"]["identifier"]
    world.rds.modify_db_instance(
        DBInstanceIdentifier=mariadb,
        EnableIAMDatabaseAuthentication=False,
        DBParameterGroupName="default.mariadb10.11",
        ApplyImmediately=True,
    )
    trust = json.loads(json.dumps(rules.trust_policy(OTHER_PRINCIPAL)))
    iam.update_assume_role_policy(RoleName=role_name(cases["trust"]), PolicyDocument=json.dumps(trust))
    recreate(world, cases["recreated"])
    world.rds.delete_db_instance(DBInstanceIdentifier=cases["deleted"]["identifier"], SkipFinalSnapshot=True)


def test_each_drift_is_found_repaired_and_a_second_audit_is_clean(
    world: LocalWorld,
    local_dbs: LocalDbsEnv,
    onboarded: dict[str, dict[str, Any]],
    drift_events: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # a principal allowed when its DB was onboarded, removed from AllowedClickHousePrincipals since
    monkeypatch.setenv("ALLOWED_CLICKHOUSE_PRINCIPALS", f"{ALLOWED_ACCOUNT},{OTHER_ACCOUNT}")
    onboarded["principal"] = onboard(world, "mariadb", "au-prin", cdc=False, clickhouse_role_arn=OTHER_PRINCIPAL)
    monkeypatch.setenv("ALLOWED_CLICKHOUSE_PRINCIPALS", ALLOWED_ACCOUNT)
    induce_drift(world, local_dbs, onboarded)
    identifiers = [case["identifier"] for case in onboarded.values()]
    capsys.readouterr()

    result = audit(world, db_identifiers=identifiers)
    dbs = by_db(result)
    found = {
        name: (dbs[case["identifier"]]["status"], checks(dbs[case["identifier"]])) for name, case in onboarded.items()
    }
    assert found == {
        "publication": ("drifted", {"cdc-database"}),
        "password": ("drifted", {"db-user", "role-managed-policies"}),
        "iam-and-group": ("drifted", {"iam-auth", "cdc-parameters"}),
        "trust": ("drifted", {"role-trust"}),
        "recreated": ("drifted", {"resource-id", "iam-auth"}),  # a restore turns IAM auth off unless asked
        "deleted": ("gone", {"db-exists"}),
        "principal": ("drifted", {"principal"}),
    }
    findings = {name: {f["check"]: f for f in dbs[case["identifier"]]["findings"]} for name, case in onboarded.items()}
    assert "CREATE PUBLICATION" in findings["publication"]["cdc-database"]["expected"]
    assert "IDENTIFIED WITH" in findings["password"]["db-user"]["expected"]
    assert findings["password"]["role-managed-policies"]["actual"] == json.dumps([ADMIN_POLICY])
    assert findings["iam-and-group"]["iam-auth"]["actual"] == "false"
    assert "Attach clickpipes-instance-" in findings["iam-and-group"]["cdc-parameters"]["expected"]
    assert OTHER_PRINCIPAL in findings["trust"]["role-trust"]["actual"]
    assert PRINCIPAL in findings["trust"]["role-trust"]["expected"]
    new_id = onboarded["recreated"]["db"]["DbClusterResourceId"]
    assert findings["recreated"]["resource-id"]["expected"] == new_id
    assert findings["recreated"]["resource-id"]["actual"] == onboarded["recreated"]["output"]["resource_id"]
    assert findings["deleted"]["db-exists"]["repairable"] is False
    assert findings["principal"]["principal"] == {
        "check": "principal",
        "expected": f"{OTHER_PRINCIPAL} allowed by AllowedClickHousePrincipals",
        "actual": "not allowed",
        "repairable": False,
    }
    assert (result.output["drifted"], result.output["gone"], result.output["failed"]) == (6, 1, 0)
    assert all(db["target"] is None for db in result.output["databases"])  # the Map's result stays small
    # the tag on each DB that still exists, the event per drifted DB, the metric of the run
    assert db_tags(world, onboarded["password"])["clickpipes:drift"] == "db-user role-managed-policies"
    events = {e["detail"]["db_identifier"]: e for e in received(world, drift_events)}
    assert set(events) == set(identifiers)
    assert (
        events[onboarded["trust"]["identifier"]]["detail"]["findings"]
        == dbs[onboarded["trust"]["identifier"]]["findings"]
    )
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"DriftedDatabases"' in line]
    assert [m["DriftedDatabases"] for m in emitted] == [[7.0]]

    repaired = audit(world, db_identifiers=identifiers, repair=True, delete_orphans=True)
    started = {db["db_identifier"]: db.get("repair") for db in repaired.output["databases"]}
    assert started[onboarded["principal"]["identifier"]] is None  # the principal is the operator's call
    assert (started[onboarded["deleted"]["identifier"]] or "").endswith("deleted"), repaired.output["databases"]
    assert "detached " + ADMIN_POLICY in started[onboarded["password"]["identifier"]]
    for name in ("publication", "password", "iam-and-group", "trust", "recreated"):
        execution = re.search(r"onboarding (\S+) started", started[onboarded[name]["identifier"]] or "")
        assert execution, (name, started)
        assert finished(world, execution[1]).status == "SUCCEEDED", name
    with pytest.raises(ClientError):
        world.client("iam").get_role(RoleName=role_name(onboarded["deleted"]))
    # the re-attached parameter group waits for a reboot: the operator's, in a maintenance window
    world.rds.reboot_db_instance(DBInstanceIdentifier=onboarded["iam-and-group"]["identifier"])

    again = by_db(audit(world))  # every DB tagged ready, and the DBs of orphan roles (none left)
    assert {name: (db["status"], checks(db)) for name, db in again.items() if name in identifiers} == {
        case["identifier"]: ("ok", set()) for name, case in onboarded.items() if name not in ("deleted", "principal")
    } | {onboarded["principal"]["identifier"]: ("drifted", {"principal"})}
    assert "clickpipes:drift" not in db_tags(world, onboarded["password"])


def test_an_inactive_slot_holding_wal_is_reported_until_it_is_gone(
    world: LocalWorld, local_dbs: LocalDbsEnv, onboarded: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ClickPipes' slot left behind by a deleted pipe: the WAL it holds fills the disk. Reported, never dropped
    (the slot is not this tool's); SlotWalWarnBytes (here 16 MiB) is the threshold."""
    case = onboard(world, "postgres", "au-slot", allow_reboot=True, publication="pub_audit_slot")
    monkeypatch.setenv("SLOT_WAL_WARN_BYTES", str(16 * 1024**2))
    slot = f"clickpipes_left_{case['user']}"
    with pg_superuser_connect(local_dbs, dbname=DATABASE) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
        try:
            filler = sql.Identifier(f"wal_filler_{case['user']}")  # logged (a temp table writes no WAL)
            conn.execute(sql.SQL("CREATE TABLE {} (n int)").format(filler))
            for _ in range(3):  # three WAL segments (16 MiB each) past the slot's restart point
                conn.execute(sql.SQL("INSERT INTO {} SELECT generate_series(1, 1000)").format(filler))
                conn.execute("SELECT pg_switch_wal()")
            conn.execute(sql.SQL("DROP TABLE {}").format(filler))
            found = by_db(audit(world, db_identifiers=[case["identifier"]]))[case["identifier"]]
            slots = [f for f in found["findings"] if f["check"] == "replication-slots"]
            assert len(slots) == 1, found
            assert re.search(rf"{slot} holds \d+ bytes", slots[0]["actual"])
            assert slots[0]["repairable"] is False
            assert found["status"] == "drifted"
        finally:
            conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
    found = by_db(audit(world, db_identifiers=[case["identifier"]]))[case["identifier"]]
    assert slot not in json.dumps(found["findings"])


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_a_cdc_off_onboarding_is_audited_for_its_read_grants_only(
    world: LocalWorld, local_dbs: LocalDbsEnv, engine: str
) -> None:
    """A DB tagged clickpipes:onboarded-cdc=false: a lost read grant is drift (what an initial load needs), repaired;
    what only CDC needs (rds_replication, the publication, the binlog) is never asked for."""
    world.local_dbs = local_dbs  # type: ignore[attr-defined]
    case = onboard(world, engine, "au-reads", cdc=False)
    if engine == "postgres":
        with pg_superuser_connect(local_dbs, dbname=DATABASE) as conn:
            conn.execute(
                sql.SQL("REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM {}").format(sql.Identifier(case["user"]))
            )
    else:
        with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
            cur.execute(f"REVOKE SELECT ON `{DATABASE}`.* FROM %s@'%%'", (case["user"],))  # noqa: S608 (a constant)
    found = by_db(audit(world, db_identifiers=[case["identifier"]]))[case["identifier"]]
    assert (found["status"], checks(found)) == ("drifted", {"cdc-database"})
    expected = found["findings"][0]["expected"]
    assert expected.startswith("GRANT SELECT ON"), expected
    assert not re.search("rds_replication|REPLICATION|PUBLICATION|binlog", expected), expected
    repaired = audit(world, db_identifiers=[case["identifier"]], repair=True)
    execution = re.search(r"onboarding (\S+) started", repaired.output["databases"][0].get("repair") or "")
    assert execution, repaired.output["databases"]
    assert finished(world, execution[1]).status == "SUCCEEDED"
    assert by_db(audit(world, db_identifiers=[case["identifier"]]))[case["identifier"]]["findings"] == []
