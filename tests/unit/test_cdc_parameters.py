"""ConfigureCdcParameters and RebootDb against moto's RDS: our own parameter group, static changes await a
reboot, plan_only changes nothing."""

from typing import Any

import configure_cdc_parameters
import pytest
import reboot_db

from tests.harness import rds_rules
from tests.unit.conftest import PRINCIPAL, FakeContext, resolve


def target_of(
    make_db: Any,
    context: FakeContext,
    identifier: str,
    engine: str,
    BackupRetentionPeriod: int = 1,
    version: str | None = None,
    DBParameterGroupName: str | None = None,
    **request: Any,
) -> dict[str, Any]:
    make_db(
        identifier,
        engine=engine,
        version=version,
        **({} if engine.startswith("aurora") else {"BackupRetentionPeriod": BackupRetentionPeriod}),
        **({"DBParameterGroupName": DBParameterGroupName} if DBParameterGroupName else {}),
    )
    event = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, **request}
    return resolve(event, context)


def parameters(rds: Any, group: str, cluster: bool = False) -> dict[str, str]:
    """The parameters set in the group (Source "user"; the rest are the family's defaults)."""
    if cluster:
        found = rds.describe_db_cluster_parameters(DBClusterParameterGroupName=group)["Parameters"]
    else:
        found = rds.describe_db_parameters(DBParameterGroupName=group)["Parameters"]
    return {p["ParameterName"]: p["ParameterValue"] for p in found if p.get("Source") == "user"}


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


def test_mysql_binlog_and_backups_need_allow_reboot_gtid_is_left_alone(
    make_db: Any, rds: Any, context: FakeContext
) -> None:
    # This test used to expect gtid-mode=ON and enforce_gtid_consistency=ON: ClickPipes does not need GTID, and
    # turning gtid-mode ON in one step breaks a source with read replicas, so the product no longer sets them.
    target = target_of(make_db, context, "shop", "mysql", BackupRetentionPeriod=0)
    result = configure_cdc_parameters.handler({"target": target}, context)
    assert parameters(rds, "clickpipes-instance-shop") == {
        "binlog_format": "ROW",
        "binlog_row_image": "FULL",
        "binlog_row_metadata": "FULL",
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
        ("aurora-mysql", 2161, "Expected `int` <= 2160"),
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


# --- AWS as documented (tests/harness/rds_rules.py answers as RDS does) ------------------------------------------
def change_set(result: dict[str, Any]) -> str:
    return "\n".join(result["changes"])


def test_mysql_5_7_gets_only_what_its_family_has(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context, "legacy", "mysql", version="5.7.44")
    result = configure_cdc_parameters.handler({"target": target}, context)
    assert "Create parameter group clickpipes-instance-legacy (family mysql5.7)" in result["changes"]
    assert parameters(rds, "clickpipes-instance-legacy") == {"binlog_format": "ROW", "binlog_row_image": "FULL"}
    assert any("family mysql5.7 has no binlog_row_metadata" in w for w in result["warnings"])


def test_mariadb_follows_its_group_binlog_row_image_is_not_there(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context, "maria", "mariadb")
    result = configure_cdc_parameters.handler({"target": target}, context)
    assert parameters(rds, "clickpipes-instance-maria") == {"binlog_format": "ROW", "binlog_row_metadata": "FULL"}
    assert any("family mariadb10.11 has no binlog_row_image" in w for w in result["warnings"])


def test_aurora_mysql_2_binlog_row_image_is_not_modifiable(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context, "au2", "aurora-mysql", version="5.7.mysql_aurora.2.11.5")
    result = configure_cdc_parameters.handler({"target": target}, context)
    # binlog_row_image is FULL by default and not modifiable: nothing to set, nothing refused
    assert parameters(rds, "clickpipes-cluster-au2", cluster=True) == {"binlog_format": "ROW"}
    assert any("aurora-mysql5.7 has no binlog_row_metadata" in w for w in result["warnings"])
    assert "binlog_format" in result["pending_reboot"]  # static in Aurora MySQL


def test_aurora_mysql_8_4_gets_its_own_family(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context, "au84", "aurora-mysql", version="8.4.mysql_aurora.4.0.0")
    result = configure_cdc_parameters.handler({"target": target}, context)
    assert "Create parameter group clickpipes-cluster-au84 (family aurora-mysql8.4)" in result["changes"]
    [group] = rds.describe_db_cluster_parameter_groups(DBClusterParameterGroupName="clickpipes-cluster-au84")[
        "DBClusterParameterGroups"
    ]
    assert group["DBParameterGroupFamily"] == "aurora-mysql8.4"


def test_dynamic_parameters_apply_immediately_static_ones_at_reboot(
    make_db: Any, rds: Any, context: FakeContext
) -> None:
    target = target_of(make_db, context, "shop", "mysql")
    configure_cdc_parameters.handler({"target": target}, context)
    found = rds.describe_db_parameters(DBParameterGroupName="clickpipes-instance-shop")["Parameters"]
    methods = {p["ParameterName"]: p["ApplyMethod"] for p in found if p.get("Source") == "user"}
    assert methods == {
        "binlog_format": "immediate",
        "binlog_row_image": "immediate",
        "binlog_row_metadata": "immediate",
    }


def test_partial_json_in_the_current_group_is_named(make_db: Any, rds: Any, context: FakeContext) -> None:
    rds.create_db_parameter_group(DBParameterGroupName="team", DBParameterGroupFamily="mysql8.0", Description="x")
    rds.modify_db_parameter_group(
        DBParameterGroupName="team",
        Parameters=[
            {"ParameterName": "binlog_row_value_options", "ParameterValue": "PARTIAL_JSON", "ApplyMethod": "immediate"}
        ],
    )
    target = target_of(make_db, context, "shop", "mysql", DBParameterGroupName="team")
    result = configure_cdc_parameters.handler({"target": target}, context)
    assert any("binlog_row_value_options is PARTIAL_JSON" in w for w in result["warnings"])


def test_a_mysql_group_with_gtid_keeps_it(make_db: Any, rds: Any, context: FakeContext) -> None:
    rds.create_db_parameter_group(DBParameterGroupName="gtid", DBParameterGroupFamily="mysql8.0", Description="x")
    gtid = [
        {"ParameterName": "gtid-mode", "ParameterValue": "OFF_PERMISSIVE", "ApplyMethod": "pending-reboot"},
        {"ParameterName": "enforce_gtid_consistency", "ParameterValue": "WARN", "ApplyMethod": "pending-reboot"},
    ]
    rds.modify_db_parameter_group(DBParameterGroupName="gtid", Parameters=gtid)
    target = target_of(make_db, context, "shop", "mysql", DBParameterGroupName="gtid")
    result = configure_cdc_parameters.handler({"target": target}, context)
    copied = parameters(rds, "clickpipes-instance-shop")
    assert (copied["gtid-mode"], copied["enforce_gtid_consistency"]) == ("OFF_PERMISSIVE", "WARN")
    assert "gtid-mode" not in change_set(result)
    assert "enforce_gtid_consistency" not in change_set(result)


def test_attaching_the_group_applies_no_pending_modification(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context, "orders-pg", "postgres")
    rds.modify_db_instance(DBInstanceIdentifier="orders-pg", DBInstanceClass="db.r6g.large")  # pending
    configure_cdc_parameters.handler({"target": target}, context)
    db = rds.describe_db_instances(DBInstanceIdentifier="orders-pg")["DBInstances"][0]
    assert db["DBParameterGroups"][0]["DBParameterGroupName"] == "clickpipes-instance-orders-pg"  # attached now
    assert (db["DBInstanceClass"], db["PendingModifiedValues"]) == ("db.t3.micro", {"DBInstanceClass": "db.r6g.large"})


def test_backups_are_not_turned_on_over_pending_modifications(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context, "shop", "mariadb", BackupRetentionPeriod=0, allow_reboot=True)
    rds.modify_db_instance(DBInstanceIdentifier="shop", DBInstanceClass="db.r6g.large")  # pending
    result = configure_cdc_parameters.handler({"target": target}, context)
    db = rds.describe_db_instances(DBInstanceIdentifier="shop")["DBInstances"][0]
    assert (db["BackupRetentionPeriod"], db["DBInstanceClass"]) == (0, "db.t3.micro")
    assert any(
        "would also apply the pending modifications of shop now (DBInstanceClass)" in w for w in result["warnings"]
    )
    assert "automated backups (binlog)" in result["pending_reboot"]


def add_readers(rds: Any, cluster: str, engine: str, count: int = 2) -> None:
    for n in range(1, count + 1):
        rds.create_db_instance(
            DBInstanceIdentifier=f"{cluster}-r{n}",
            DBClusterIdentifier=cluster,
            Engine=engine,
            DBInstanceClass="db.r6g.large",
        )


def test_reboot_one_instance_per_call_writer_then_each_reader(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context, "shop", "aurora-mysql")  # Aurora MySQL 3: readers stay up
    add_readers(rds, "shop", "aurora-mysql")
    configure_cdc_parameters.handler({"target": target}, context)  # attaches our group: every member pending-reboot
    first = reboot_db.handler({"target": target}, context)
    assert (first["rebooted"], first["current"], first["remaining"]) == (
        ["shop-writer"],
        "shop-writer",
        ["shop-r1", "shop-r2"],
    )
    second = reboot_db.handler({"target": target, "previous": first}, context)
    third = reboot_db.handler({"target": target, "previous": second}, context)
    assert (third["rebooted"], third["current"], third["remaining"]) == (
        ["shop-writer", "shop-r1", "shop-r2"],
        "shop-r2",
        [],
    )
    assert third["changes"] == [f"RebootDBInstance {name}" for name in third["rebooted"]]
    assert [r.instance for r in rds_rules.reboots()] == ["shop-writer", "shop-r1", "shop-r2"]


def test_aurora_postgresql_reboots_the_writer_once(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context, "pgc", "aurora-postgresql")
    add_readers(rds, "pgc", "aurora-postgresql")
    result = reboot_db.handler({"target": target}, context)
    assert (result["rebooted"], result["remaining"]) == (["pgc-writer"], [])


def test_a_rebooting_instance_refuses_another_reboot_transiently(make_db: Any, context: FakeContext) -> None:
    from clickpipes.aws.rds import RdsGateway
    from clickpipes.errors import TransientError
    from clickpipes.models import RebootRequest, Target
    from clickpipes.steps.reboot_db import reboot_db as reboot_step

    target = Target.model_validate(target_of(make_db, context, "orders-pg", "postgres"))
    reboot_step(RebootRequest(target=target), rds=RdsGateway())
    with pytest.raises(TransientError, match="InvalidDBInstanceState"):
        reboot_step(RebootRequest(target=target), rds=RdsGateway())


def test_status_waits_for_the_rebooted_instance(make_db: Any, rds: Any, context: FakeContext) -> None:
    import check_db_status

    target = target_of(make_db, context, "shop", "aurora-mysql")
    rebooted = reboot_db.handler({"target": target}, context)
    target = {**target, "plan_only": True}  # plain moto keeps a cluster's IAM flag off: only the reboot is waited on
    event = {"target": target, "max_wait_seconds": 60, "instance": rebooted["current"]}
    polls = [check_db_status.handler(event, context) for _ in range(3)]
    assert [p["ready"] for p in polls] == [False, False, True]
    # writer-first: while the rebooted instance is not back, the cluster is not described (nor said to be anything)
    assert (polls[0]["status"], polls[0]["iam_auth_enabled"]) == ("instance shop-writer: rebooting", None)


@pytest.mark.parametrize(
    ("group", "asks"),
    [("default.postgres16", False), ("default.postgres15", True), ("team", True), (None, True)],
)
def test_the_family_of_a_default_group_needs_no_describe(group: str | None, asks: bool) -> None:
    """The default group RDS attached names the family (``default.<family>``): when it is the one the engine
    version implies, DescribeDBEngineVersions is not asked; any other group (or a mismatch) asks RDS."""
    from clickpipes.models import Target
    from clickpipes.steps.configure_cdc_parameters import parameter_group_family

    from tests.fakes import FakeRds, description_of
    from tests.unit.conftest import load_event

    target = Target(**load_event("configure_cdc_database.json")["target"]).model_copy(
        update={"engine": "postgres", "engine_version": "16.3"}
    )

    class Asked(FakeRds):
        asked = 0

        def parameter_group_family(self, engine: str, version: str) -> str | None:
            self.asked += 1
            return "postgres16"

    rds = Asked(description_of(target))
    warnings: list[str] = []
    db = description_of(target, parameter_group=group)
    assert parameter_group_family(target, db, rds, warnings) == "postgres16"
    assert (rds.asked, warnings) == (int(asks), [])
