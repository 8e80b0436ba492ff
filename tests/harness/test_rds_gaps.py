"""The RDS rules of ``rds_rules`` (registered in local_aws.PATCHES): each gap observed with its patch off, and
AWS's documented behaviour with it on (the URL of each rule is in the patch's ``gap`` and in docs/aws-facts.md).
``test_moto_gaps.test_every_patch_has_a_gap_test`` counts these tests too."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from . import rds_rules
from .helpers import create_instance
from .local_aws import LocalWorld
from .test_moto_gaps import with_and_without


def error_code(call: Any) -> str | None:
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    except NotImplementedError:
        return "NotImplemented"
    return None


def cluster_with_readers(world: LocalWorld, identifier: str, engine: str, version: str, readers: int = 2) -> None:
    world.rds.create_db_cluster(
        DBClusterIdentifier=identifier,
        Engine=engine,
        EngineVersion=version,
        MasterUsername="m",
        MasterUserPassword="password1",
    )
    for n in range(readers + 1):
        world.rds.create_db_instance(
            DBInstanceIdentifier=f"{identifier}-{n}",
            DBClusterIdentifier=identifier,
            Engine=engine,
            DBInstanceClass="db.r6g.large",
        )


def test_gap_rds_engine_versions() -> None:
    def check(world: LocalWorld) -> Any:
        try:
            found = world.rds.describe_db_engine_versions(Engine="aurora-mysql", EngineVersion="8.4.mysql_aurora.4.0.0")
        except Exception as exc:  # moto raises NotImplementedError inside, botocore sees a 500
            return type(exc).__name__
        return [v["DBParameterGroupFamily"] for v in found["DBEngineVersions"]]

    without, with_ = with_and_without("rds_engine_versions", check)
    assert without != ["aurora-mysql8.4"]
    assert with_ == ["aurora-mysql8.4"]  # its own family, not aurora-mysql8.0


@pytest.mark.parametrize(
    ("engine", "version", "family"),
    [
        ("postgres", "16.4", "postgres16"),
        ("aurora-postgresql", "16.4", "aurora-postgresql16"),
        ("mysql", "5.7.44", "mysql5.7"),
        ("mysql", "8.4.3", "mysql8.4"),
        ("mariadb", "10.11.9", "mariadb10.11"),
        ("aurora-mysql", "5.7.mysql_aurora.2.11.5", "aurora-mysql5.7"),
        ("aurora-mysql", "8.0.mysql_aurora.3.07.1", "aurora-mysql8.0"),
        ("aurora-mysql", "8.4.mysql_aurora.4.0.0", "aurora-mysql8.4"),
        ("mysql", "9.9.9", None),
    ],
)
def test_engine_families(engine: str, version: str, family: str | None) -> None:
    assert rds_rules.engine_family(engine, version) == family


def test_gap_rds_parameter_catalogue() -> None:
    def check(world: LocalWorld) -> Any:
        rds = world.rds
        rds.create_db_parameter_group(DBParameterGroupName="g", DBParameterGroupFamily="mysql8.0", Description="d")
        found = rds.describe_db_parameters(
            DBParameterGroupName="g", Filters=[{"Name": "parameter-name", "Values": ["binlog_format"]}]
        )["Parameters"]
        default = error_code(lambda: rds.describe_db_parameters(DBParameterGroupName="default.mysql8.0"))
        engine_defaults = error_code(
            lambda: rds.describe_engine_default_cluster_parameters(DBParameterGroupFamily="aurora-mysql5.7")
        )
        return found, default, engine_defaults

    (found, default, engine_defaults), (found_with, default_with, defaults_with) = with_and_without(
        "rds_parameter_catalogue", check
    )
    assert found == []  # moto: nothing unless set
    assert (default, engine_defaults) != (None, None)
    assert [(p["ParameterName"], p["ApplyType"], p["IsModifiable"]) for p in found_with] == [
        ("binlog_format", "dynamic", True)
    ]
    assert (default_with, defaults_with) == (None, None)
    with LocalWorld() as world:
        defaults = world.rds.describe_engine_default_cluster_parameters(DBParameterGroupFamily="aurora-mysql5.7")
        image = {p["ParameterName"]: p for p in defaults["EngineDefaults"]["Parameters"]}["binlog_row_image"]
        assert image["IsModifiable"] is False  # Aurora MySQL 2
        assert "binlog_row_metadata" not in {p["ParameterName"] for p in defaults["EngineDefaults"]["Parameters"]}


@pytest.mark.parametrize(
    ("family", "name", "value", "method", "code"),
    [
        ("mysql5.7", "binlog_row_metadata", "FULL", "immediate", "InvalidParameterValue"),  # not in MySQL 5.7
        ("mariadb10.11", "binlog_row_image", "FULL", "immediate", "InvalidParameterValue"),  # not for MariaDB
        ("mysql8.0", "binlog_format", "FANCY", "immediate", "InvalidParameterValue"),  # not an allowed value
        ("postgres16", "rds.logical_replication", "1", "immediate", "InvalidParameterCombination"),  # static
    ],
)
def test_gap_rds_parameter_validation(family: str, name: str, value: str, method: str, code: str) -> None:
    def check(world: LocalWorld) -> str | None:
        world.rds.create_db_parameter_group(DBParameterGroupName="g", DBParameterGroupFamily=family, Description="d")
        parameters = [{"ParameterName": name, "ParameterValue": value, "ApplyMethod": method}]
        return error_code(lambda: world.rds.modify_db_parameter_group(DBParameterGroupName="g", Parameters=parameters))

    assert with_and_without("rds_parameter_validation", check) == (None, code)


def test_parameter_validation_on_cluster_groups_and_unknown_names() -> None:
    with LocalWorld() as world:
        rds = world.rds
        rds.create_db_cluster_parameter_group(
            DBClusterParameterGroupName="c", DBParameterGroupFamily="aurora-mysql5.7", Description="d"
        )
        image = [{"ParameterName": "binlog_row_image", "ParameterValue": "FULL", "ApplyMethod": "immediate"}]
        call = lambda: rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName="c", Parameters=image)  # noqa: E731
        assert error_code(call) == "InvalidParameterValue"  # not modifiable on Aurora MySQL 2
        other = [{"ParameterName": "innodb_lock_wait_timeout", "ParameterValue": "60", "ApplyMethod": "immediate"}]
        rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName="c", Parameters=other)  # not catalogued


def test_gap_rds_cluster_default_group() -> None:
    def check(world: LocalWorld) -> str:
        world.rds.create_db_cluster(
            DBClusterIdentifier="c",
            Engine="aurora-postgresql",
            EngineVersion="16.4",
            MasterUsername="m",
            MasterUserPassword="password1",
        )
        return str(world.rds.describe_db_clusters(DBClusterIdentifier="c")["DBClusters"][0]["DBClusterParameterGroup"])

    without, with_ = with_and_without("rds_cluster_default_group", check)
    assert without == "default.aurora8.0"
    assert with_ == "default.aurora-postgresql16"


def test_gap_rds_modify_statuses() -> None:
    def check(world: LocalWorld) -> tuple[str, str]:
        rds = world.rds
        rds.create_db_cluster(
            DBClusterIdentifier="c", Engine="aurora-postgresql", MasterUsername="m", MasterUserPassword="password1"
        )
        create_instance(world, "db1")
        rds.modify_db_cluster(DBClusterIdentifier="c", EnableIAMDatabaseAuthentication=True, ApplyImmediately=True)
        rds.modify_db_instance(DBInstanceIdentifier="db1", EnableIAMDatabaseAuthentication=True, ApplyImmediately=True)
        return (
            rds.describe_db_clusters(DBClusterIdentifier="c")["DBClusters"][0]["Status"],
            rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]["DBInstanceStatus"],
        )

    without, with_ = with_and_without("rds_modify_statuses", check)
    assert without == ("available", "available")
    assert with_ == ("update-iam-db-auth", "configuring-iam-database-auth")


def test_gap_rds_reboot_semantics() -> None:
    def check(world: LocalWorld) -> Any:
        create_instance(world, "db1")
        world.rds.reboot_db_instance(DBInstanceIdentifier="db1")
        status = world.rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]["DBInstanceStatus"]
        again = error_code(lambda: world.rds.reboot_db_instance(DBInstanceIdentifier="db1"))
        return status, again

    without, with_ = with_and_without("rds_reboot_semantics", check)
    assert without == ("available", None)
    assert with_ == ("rebooting", "InvalidDBInstanceState")


@pytest.mark.parametrize(
    ("engine", "version", "readers_reboot"),
    [
        ("aurora-postgresql", "14.6", True),  # before read availability
        ("aurora-postgresql", "16.4", False),
        ("aurora-mysql", "5.7.mysql_aurora.2.09.2", True),
        ("aurora-mysql", "8.0.mysql_aurora.3.07.1", False),
    ],
)
def test_a_writer_reboot_reboots_the_readers_where_aws_does(engine: str, version: str, readers_reboot: bool) -> None:
    with LocalWorld() as world:
        cluster_with_readers(world, "c", engine, version)
        world.rds.reboot_db_instance(DBInstanceIdentifier="c-0")  # the first member is the writer
        statuses = {
            d["DBInstanceIdentifier"]: d["DBInstanceStatus"] for d in world.rds.describe_db_instances()["DBInstances"]
        }
        assert statuses == {
            "c-0": "rebooting",
            **dict.fromkeys(["c-1", "c-2"], "rebooting" if readers_reboot else "available"),
        }
        assert rds_rules.reboots(world)[0].with_it == (["c-1", "c-2"] if readers_reboot else [])
        refused = error_code(lambda: world.rds.reboot_db_instance(DBInstanceIdentifier="c-1"))
        assert refused == ("InvalidDBInstanceState" if readers_reboot else None)


def test_gap_rds_pending_modifications() -> None:
    def check(world: LocalWorld) -> Any:
        create_instance(world, "db1")
        rds = world.rds
        rds.modify_db_instance(DBInstanceIdentifier="db1", DBInstanceClass="db.r6g.large")
        rds.modify_db_instance(DBInstanceIdentifier="db1", DBParameterGroupName="default.postgres9.3")
        before = rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]
        rds.modify_db_instance(DBInstanceIdentifier="db1", BackupRetentionPeriod=3, ApplyImmediately=True)
        after = rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]
        return (
            (before["DBInstanceClass"], before.get("PendingModifiedValues")),
            (after["DBInstanceClass"], after.get("PendingModifiedValues")),
        )

    without, with_ = with_and_without("rds_pending_modifications", check)
    assert without[0] == ("db.r6g.large", None)  # moto: applied at once, nothing pending
    assert with_ == (("db.t3.micro", {"DBInstanceClass": "db.r6g.large"}), ("db.r6g.large", {}))


def test_gap_rds_cluster_parameter_status() -> None:
    def check(world: LocalWorld) -> Any:
        cluster_with_readers(world, "c", "aurora-mysql", "8.0.mysql_aurora.3.07.1", readers=1)
        rds = world.rds
        rds.create_db_cluster_parameter_group(
            DBClusterParameterGroupName="ours", DBParameterGroupFamily="aurora-mysql8.0", Description="d"
        )
        rds.modify_db_cluster(DBClusterIdentifier="c", DBClusterParameterGroupName="ours")

        def statuses() -> dict[str, str]:
            members = rds.describe_db_clusters(DBClusterIdentifier="c")["DBClusters"][0]["DBClusterMembers"]
            return {m["DBInstanceIdentifier"]: m["DBClusterParameterGroupStatus"] for m in members}

        attached = statuses()
        rds.reboot_db_instance(DBInstanceIdentifier="c-0")  # the writer; Aurora MySQL 3: the reader stays up
        return attached, statuses()

    without, with_ = with_and_without("rds_cluster_parameter_status", check)
    assert without == ({"c-0": "in-sync", "c-1": "in-sync"},) * 2
    assert with_ == (
        {"c-0": "pending-reboot", "c-1": "pending-reboot"},
        {"c-0": "in-sync", "c-1": "pending-reboot"},
    )
