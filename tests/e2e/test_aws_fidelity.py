"""AWS as documented, not as moto allows, on the real state machine: the local world answers as RDS does
(tests/harness/rds_rules.py: parameter catalogue, engine versions, statuses, reboot semantics, pending
modifications; each fact and its source in docs/aws-facts.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dbs.servers import LocalDbsEnv
from tests.e2e.scenario import PRINCIPAL, STATE_MACHINE, create_db, fresh
from tests.harness import rds_rules
from tests.harness.execution import ExecutionResult
from tests.harness.local_aws import LocalWorld

pytestmark = pytest.mark.e2e


def onboard(world: LocalWorld, identifier: str, user: str, **request: Any) -> ExecutionResult:
    body = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, **request}
    result = world.run(STATE_MACHINE, body, timeout=120)
    assert result.status == "SUCCEEDED", (result.error, result.cause, result.describe())
    return result


def names(result: ExecutionResult) -> list[str]:
    return [s.name for s in result.steps]


def polled_statuses(result: ExecutionResult) -> list[str]:
    return [s.output["status"] for s in result.steps_named("CheckDbStatus") if isinstance(s.output, dict)]


def set_parameters(world: LocalWorld, kind: str, group: str) -> dict[str, str]:
    if kind == "cluster":
        found = world.rds.describe_db_cluster_parameters(DBClusterParameterGroupName=group)["Parameters"]
    else:
        found = world.rds.describe_db_parameters(DBParameterGroupName=group)["Parameters"]
    return {p["ParameterName"]: p["ParameterValue"] for p in found if p.get("Source") == "user"}


def add_readers(world: LocalWorld, cluster: str, engine: str, count: int = 2) -> list[str]:
    readers = [f"{cluster}-reader{n}" for n in range(1, count + 1)]
    for reader in readers:
        world.rds.create_db_instance(
            DBInstanceIdentifier=reader, DBClusterIdentifier=cluster, Engine=engine, DBInstanceClass="db.r6g.large"
        )
    return readers


# --- 1. statuses: anything but a dead end is waited on -----------------------------------------------------------
@pytest.mark.parametrize("engine", ["aurora-postgresql", "aurora-mysql"])
def test_aurora_onboards_through_update_iam_db_auth(world: LocalWorld, local_dbs: LocalDbsEnv, engine: str) -> None:
    identifier, user = fresh("au-iam")
    create_db(world, local_dbs, engine, identifier)
    result = onboard(world, identifier, user, cdc=False)
    # ModifyDBCluster(EnableIAMDatabaseAuthentication) -> the cluster shows update-iam-db-auth (rds_modify_statuses)
    assert "update-iam-db-auth" in polled_statuses(result)
    assert "WaitForDb" in names(result)


@pytest.mark.parametrize("engine", ["aurora-postgresql", "aurora-mysql"])
def test_aurora_onboards_through_failover_backtrack_and_unknown_statuses(
    world: LocalWorld, local_dbs: LocalDbsEnv, engine: str
) -> None:
    identifier, user = fresh("au-status")
    create_db(world, local_dbs, engine, identifier)
    statuses = ["failing-over", "backtracking", "some-status-aws-adds-tomorrow", "update-iam-db-auth"]
    world.feed_statuses(identifier, statuses)
    result = onboard(world, identifier, user, cdc=False)
    assert world.pending_statuses(identifier, "cluster") == []  # every fed status was seen, none ended the run
    assert result.output["db_identifier"] == identifier


def test_a_dead_end_status_still_ends_the_onboarding(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("au-dead")
    create_db(world, local_dbs, "aurora-postgresql", identifier)
    world.feed_statuses(identifier, ["inaccessible-encryption-credentials"] * 20)
    body = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, "cdc": False}
    result = world.run(STATE_MACHINE, body, timeout=120)
    assert result.error == "DbStateError"


# --- 2. reboots: the writer once, readers only where the engine needs it, one at a time ------------------------------
def test_aurora_postgresql_reboots_the_writer_once(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("au-pg-reboot")
    create_db(world, local_dbs, "aurora-postgresql", identifier)
    add_readers(world, identifier, "aurora-postgresql")
    before = len(rds_rules.reboots(world))
    result = onboard(world, identifier, user, allow_reboot=True)
    reboots = rds_rules.reboots(world)[before:]
    assert [r.instance for r in reboots] == [f"{identifier}-writer"]
    assert names(result).count("RebootDb") == 1
    assert f"RebootDBInstance {identifier}-writer" in result.output["changes"]


def test_aurora_mysql_3_reboots_the_writer_then_each_reader_once_available(
    world: LocalWorld, local_dbs: LocalDbsEnv
) -> None:
    identifier, user = fresh("au-my-reboot")
    create_db(world, local_dbs, "aurora-mysql", identifier)
    readers = add_readers(world, identifier, "aurora-mysql")
    before = len(rds_rules.reboots(world))
    result = onboard(world, identifier, user, allow_reboot=True)
    reboots = rds_rules.reboots(world)[before:]
    assert [r.instance for r in reboots] == [f"{identifier}-writer", *readers]
    assert all(r.busy == [] for r in reboots), "each reboot waited until the previous instance was available"
    steps = names(result)
    assert steps.count("RebootDb") == 3
    # between two reboots: the wait loop, until the rebooted instance is available again
    between = steps[steps.index("RebootDb") + 1 :]
    assert between.index("WaitForDb") < between.index("RebootDb")
    assert any("rebooting" in status for status in polled_statuses(result))
    assert result.output["pipe_modes"] == ["initial_load", "cdc"]


# --- 3. GTID is left alone ------------------------------------------------------------------------------------------
def test_a_mysql_source_with_read_replicas_keeps_its_gtid_settings(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("gtid")
    group = f"team-{identifier}"
    world.rds.create_db_parameter_group(DBParameterGroupName=group, DBParameterGroupFamily="mysql8.0", Description="x")
    gtid = [
        {"ParameterName": "gtid-mode", "ParameterValue": "OFF_PERMISSIVE", "ApplyMethod": "pending-reboot"},
        {"ParameterName": "enforce_gtid_consistency", "ParameterValue": "WARN", "ApplyMethod": "pending-reboot"},
    ]
    world.rds.modify_db_parameter_group(DBParameterGroupName=group, Parameters=gtid)
    create_db(world, local_dbs, "mysql", identifier)
    world.rds.modify_db_instance(DBInstanceIdentifier=identifier, DBParameterGroupName=group)
    world.rds.create_db_instance_read_replica(
        DBInstanceIdentifier=f"{identifier}-replica", SourceDBInstanceIdentifier=identifier
    )

    result = onboard(world, identifier, user, allow_reboot=True)

    ours = set_parameters(world, "instance", f"clickpipes-instance-{identifier}")
    assert (ours["gtid-mode"], ours["enforce_gtid_consistency"]) == ("OFF_PERMISSIVE", "WARN")  # copied, untouched
    assert set_parameters(world, "instance", group) == {
        "gtid-mode": "OFF_PERMISSIVE",
        "enforce_gtid_consistency": "WARN",
    }
    changes = "\n".join(result.output["changes"])
    assert "gtid-mode" not in changes
    assert "enforce_gtid_consistency" not in changes


# --- 4./5. parameters from the group's own answer, the family from RDS ---------------------------------------------
def test_mysql_5_7_gets_only_what_its_family_has(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("my57")
    create_db(world, local_dbs, "mysql", identifier)
    world.rds.modify_db_instance(DBInstanceIdentifier=identifier, EngineVersion="5.7.44", ApplyImmediately=True)
    result = onboard(world, identifier, user, allow_reboot=True)
    group = f"clickpipes-instance-{identifier}"
    assert f"Create parameter group {group} (family mysql5.7)" in result.output["changes"]
    assert set_parameters(world, "instance", group) == {"binlog_format": "ROW", "binlog_row_image": "FULL"}
    assert any("family mysql5.7 has no binlog_row_metadata" in w for w in result.output["warnings"])


def test_a_mariadb_group_gets_no_binlog_row_image(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("maria")
    create_db(world, local_dbs, "mariadb", identifier)
    result = onboard(world, identifier, user, allow_reboot=True)
    group = f"clickpipes-instance-{identifier}"
    assert set_parameters(world, "instance", group) == {"binlog_format": "ROW", "binlog_row_metadata": "FULL"}
    assert any("family mariadb10.11 has no binlog_row_image" in w for w in result.output["warnings"])
    assert result.output["pipe_modes"] == ["initial_load", "cdc"]  # the server's own binlog_row_image is FULL


def test_aurora_mysql_8_4_gets_its_own_family(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("au84")
    create_db(world, local_dbs, "aurora-mysql", identifier)
    world.rds.modify_db_cluster(DBClusterIdentifier=identifier, EngineVersion="8.4.mysql_aurora.4.0.0")
    result = onboard(world, identifier, user, allow_reboot=True)
    group = f"clickpipes-cluster-{identifier}"
    assert f"Create parameter group {group} (family aurora-mysql8.4)" in result.output["changes"]
    [created] = world.rds.describe_db_cluster_parameter_groups(DBClusterParameterGroupName=group)[
        "DBClusterParameterGroups"
    ]
    assert created["DBParameterGroupFamily"] == "aurora-mysql8.4"


# --- 6. attaching the group applies no pending modification ----------------------------------------------------------
def test_attaching_the_group_leaves_a_pending_instance_class_change_pending(
    world: LocalWorld, local_dbs: LocalDbsEnv
) -> None:
    identifier, user = fresh("pending")
    create_db(world, local_dbs, "postgres", identifier)
    # IAM auth already on (EnableIamAuth has nothing to apply), then a change the owner scheduled for the window
    world.rds.modify_db_instance(
        DBInstanceIdentifier=identifier, EnableIAMDatabaseAuthentication=True, ApplyImmediately=True
    )
    world.rds.modify_db_instance(DBInstanceIdentifier=identifier, DBInstanceClass="db.r6g.large")

    result = onboard(world, identifier, user)

    db = world.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    assert db["DBParameterGroups"][0]["DBParameterGroupName"] == f"clickpipes-instance-{identifier}"
    assert db["DBInstanceClass"] == "db.t3.micro"
    assert db["PendingModifiedValues"] == {"DBInstanceClass": "db.r6g.large"}
    assert "EnableIamAuth" in names(result)


def test_a_rerun_reboots_only_the_readers_that_still_wait(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("au-my-resume")
    create_db(world, local_dbs, "aurora-mysql", identifier)
    readers = add_readers(world, identifier, "aurora-mysql")
    first = onboard(world, identifier, user)  # no allow_reboot: the reboots are left to the owner
    assert any("CDC needs a reboot" in w for w in first.output["warnings"])
    writer = f"{identifier}-writer"
    world.rds.reboot_db_instance(DBInstanceIdentifier=writer)  # the owner reboots the writer only, and waits for it
    while (
        world.rds.describe_db_instances(DBInstanceIdentifier=writer)["DBInstances"][0]["DBInstanceStatus"]
        != "available"
    ):
        pass
    before = len(rds_rules.reboots(world))
    second = onboard(world, identifier, user, allow_reboot=True)
    assert [r.instance for r in rds_rules.reboots(world)[before:]] == readers
    assert all(r.busy == [] for r in rds_rules.reboots(world)[before:])
    assert second.output["pipe_modes"] == ["initial_load", "cdc"]
