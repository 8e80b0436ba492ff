"""ConfigureCdcParameters and RebootDb against moto's RDS: our own parameter group, static changes await a
reboot, plan_only changes nothing."""

from typing import Any

import configure_cdc_parameters
import pytest
import reboot_db

from tests.unit.conftest import PRINCIPAL, FakeContext, resolve


def target_of(
    make_db: Any, context: FakeContext, identifier: str, engine: str, BackupRetentionPeriod: int = 1, **request: Any
) -> dict[str, Any]:
    make_db(
        identifier,
        engine=engine,
        **({} if engine.startswith("aurora") else {"BackupRetentionPeriod": BackupRetentionPeriod}),
    )
    event = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, **request}
    return resolve(event, context)


def parameters(rds: Any, group: str, cluster: bool = False) -> dict[str, str]:
    if cluster:
        found = rds.describe_db_cluster_parameters(DBClusterParameterGroupName=group)["Parameters"]
    else:
        found = rds.describe_db_parameters(DBParameterGroupName=group)["Parameters"]
    return {p["ParameterName"]: p["ParameterValue"] for p in found}


def test_postgres_gets_its_own_group_with_logical_replication(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context, "orders-pg", "postgres")
    result = configure_cdc_parameters.handler({"target": target}, context)
    group = "clickpipes-instance-orders-pg"
    assert result["reboot_required"] is True
    assert result["pending_reboot"] == [f"parameter group {group}", "rds.logical_replication"]
    assert parameters(rds, group) == {"rds.logical_replication": "1", "rds.iam_auth_for_replication": "1"}
    db = rds.describe_db_instances(DBInstanceIdentifier="orders-pg")["DBInstances"][0]
    assert db["DBParameterGroups"][0]["DBParameterGroupName"] == group

    again = configure_cdc_parameters.handler({"target": target}, context)
    assert (again["changes"], again["reboot_required"]) == ([], False)


def test_mysql_binlog_gtid_and_backups_need_allow_reboot(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context, "shop", "mysql", BackupRetentionPeriod=0)
    result = configure_cdc_parameters.handler({"target": target}, context)
    assert parameters(rds, "clickpipes-instance-shop") == {
        "binlog_format": "ROW",
        "binlog_row_image": "FULL",
        "binlog_row_metadata": "FULL",
        "enforce_gtid_consistency": "ON",
        "gtid-mode": "ON",
    }
    assert "automated backups (binlog)" in result["pending_reboot"]
    assert rds.describe_db_instances(DBInstanceIdentifier="shop")["DBInstances"][0]["BackupRetentionPeriod"] == 0


def test_backups_turned_on_with_allow_reboot(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context, "shop", "mariadb", BackupRetentionPeriod=0, allow_reboot=True)
    configure_cdc_parameters.handler({"target": target}, context)
    assert rds.describe_db_instances(DBInstanceIdentifier="shop")["DBInstances"][0]["BackupRetentionPeriod"] == 1
    assert "gtid-mode" not in parameters(rds, "clickpipes-instance-shop"), "MariaDB's GTID is always on"


def test_aurora_uses_the_cluster_parameter_group(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context, "analytics", "aurora-postgresql")
    configure_cdc_parameters.handler({"target": target}, context)
    group = "clickpipes-cluster-analytics"
    assert parameters(rds, group, cluster=True)["rds.logical_replication"] == "1"
    assert (
        rds.describe_db_clusters(DBClusterIdentifier="analytics")["DBClusters"][0]["DBClusterParameterGroup"] == group
    )


def test_a_shared_custom_group_is_copied_not_changed(make_db: Any, rds: Any, context: FakeContext) -> None:
    rds.create_db_parameter_group(
        DBParameterGroupName="team-pg16", DBParameterGroupFamily="postgres16", Description="x"
    )
    rds.modify_db_parameter_group(
        DBParameterGroupName="team-pg16",
        Parameters=[{"ParameterName": "work_mem", "ParameterValue": "65536", "ApplyMethod": "immediate"}],
    )
    make_db("orders-pg", DBParameterGroupName="team-pg16")
    target = resolve({"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL}, context)
    result = configure_cdc_parameters.handler({"target": target}, context)
    assert parameters(rds, "team-pg16") == {"work_mem": "65536"}
    assert parameters(rds, "clickpipes-instance-orders-pg")["work_mem"] == "65536"
    assert "copied it to clickpipes-instance-orders-pg" in result["warnings"][0]


@pytest.mark.parametrize("engine", ["postgres", "mysql", "aurora-mysql"])
def test_plan_only_changes_nothing(make_db: Any, rds: Any, context: FakeContext, engine: str) -> None:
    target = target_of(make_db, context, "planned", engine, BackupRetentionPeriod=0, plan_only=True)
    before = rds_state(rds)
    result = configure_cdc_parameters.handler({"target": target}, context)
    assert result["changes"], "the plan lists the changes"
    assert rds_state(rds) == before


def rds_state(rds: Any) -> Any:
    """What a CDC step could change: groups attached, backups, and every parameter group."""
    instances = [
        (d["DBParameterGroups"], d["BackupRetentionPeriod"]) for d in rds.describe_db_instances()["DBInstances"]
    ]
    clusters = [d["DBClusterParameterGroup"] for d in rds.describe_db_clusters()["DBClusters"]]
    groups = rds.describe_db_parameter_groups()["DBParameterGroups"]
    cluster_groups = rds.describe_db_cluster_parameter_groups()["DBClusterParameterGroups"]
    return instances, clusters, groups, cluster_groups


def test_cdc_off_skips(make_db: Any, context: FakeContext) -> None:
    target = target_of(make_db, context, "orders-pg", "postgres", cdc=False)
    assert configure_cdc_parameters.handler({"target": target}, context)["skipped"] is True


@pytest.mark.parametrize(("engine", "members"), [("postgres", ["orders-pg"]), ("aurora-mysql", ["orders-pg-writer"])])
def test_reboot_reboots_the_instance_or_every_cluster_member(
    make_db: Any, context: FakeContext, engine: str, members: list[str]
) -> None:
    target = target_of(make_db, context, "orders-pg", engine)
    assert reboot_db.handler({"target": target}, context)["rebooted"] == members


@pytest.mark.parametrize(
    ("engine", "hours", "message"),
    [
        ("mysql", 169, "between 1 and 168"),
        ("aurora-mysql", 2161, "less than or equal to 2160"),
        ("postgres", 24, "MySQL"),
    ],
)
def test_binlog_retention_bounds(make_db: Any, context: FakeContext, engine: str, hours: int, message: str) -> None:
    # aurora-mysql's 2160 is the model's bound (the API answers 400 before any AWS call)
    from clickpipes.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match=message):
        target_of(make_db, context, "retention", engine, binlog_retention_hours=hours)


def test_mysql_schema_names_are_checked_before_anything_runs(make_db: Any, context: FakeContext) -> None:
    from clickpipes.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match=r"schemas sales\$eu"):
        target_of(make_db, context, "shop", "mysql", schemas=["sales$eu"])
