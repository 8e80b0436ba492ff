"""The pure domain rules."""

import pytest
from clickpipes import rules
from clickpipes.errors import DbStateError, InvalidInputError, UnsupportedEngineError


@pytest.mark.parametrize("engine", ["postgres", "mysql", "mariadb", "aurora-postgresql", "aurora-mysql"])
def test_supported_engines_pass(engine: str) -> None:
    assert rules.check_engine(engine, "10.11.9" if engine == "mariadb" else "8.0") == engine


@pytest.mark.parametrize("engine", ["oracle-ee", "sqlserver-se", "db2-se", "aurora", "docdb", "neptune"])
def test_other_engines_are_refused(engine: str) -> None:
    with pytest.raises(UnsupportedEngineError, match="not supported"):
        rules.check_engine(engine, "1.0")


@pytest.mark.parametrize("version", ["10.6.19", "10.5.25", "10.4.34", "10.3.39"])
def test_mariadb_before_10_11_is_refused(version: str) -> None:
    with pytest.raises(UnsupportedEngineError, match="10.11"):
        rules.check_engine("mariadb", version)


@pytest.mark.parametrize("version", ["10.11.9", "11.4.3", "11.8.1"])
def test_mariadb_10_11_and_later_pass(version: str) -> None:
    assert rules.check_engine("mariadb", version) == "mariadb"


def test_aurora_serverless_v1_is_refused() -> None:
    with pytest.raises(UnsupportedEngineError, match="Serverless v1"):
        rules.check_engine("aurora-mysql", "5.7.mysql_aurora.2.11.2", engine_mode="serverless")


@pytest.mark.parametrize("status", ["available"])
def test_available_is_ready(status: str) -> None:
    assert rules.check_db_state("instance", "db1", status) is True


@pytest.mark.parametrize(
    "status",
    [
        "modifying",
        "configuring-iam-database-auth",
        "backing-up",
        "rebooting",
        # Aurora cluster statuses right after ModifyDBCluster(EnableIAMDatabaseAuthentication), a failover, a backtrack
        "update-iam-db-auth",
        "failing-over",
        "backtracking",
        # a status AWS adds tomorrow is waited on (bounded by MaxWaitSeconds), not a dead end; this test used to
        # expect DbStateError for "some-new-state"
        "some-new-state",
    ],
)
def test_transitional_states_wait(status: str) -> None:
    assert rules.check_db_state("instance", "db1", status) is False


@pytest.mark.parametrize(
    "status",
    [
        "stopped",
        "stopping",
        "deleting",
        "failed",
        "storage-full",
        "inaccessible-encryption-credentials",
        "inaccessible-encryption-credentials-recoverable",
        "incompatible-parameters",
        "incompatible-network",
        "restore-error",
    ],
)
def test_dead_end_states_are_refused(status: str) -> None:
    with pytest.raises(DbStateError, match=f"'{status}'"):
        rules.check_db_state("cluster", "db1", status)


@pytest.mark.parametrize("user", ["clickpipes_iam_user", "_x", "A", "a" * 63, "User_1"])
def test_valid_user_names(user: str) -> None:
    assert rules.check_db_user(user) == user


@pytest.mark.parametrize(
    "user",
    ['x"; DROP ROLE admin; --', "o'brien", "back`tick", "back\\slash", "a" * 64, "", "1abc", "has space", "ü", "a-b"],
)
def test_hostile_user_names_are_refused(user: str) -> None:
    with pytest.raises(InvalidInputError, match="db_user"):
        rules.check_db_user(user)


def test_mysql_user_names_stop_at_32_characters() -> None:
    assert rules.check_db_user("a" * 32, "mysql")
    with pytest.raises(InvalidInputError, match="at most 32"):
        rules.check_db_user("a" * 33, "aurora-mysql")
    assert rules.check_db_user("a" * 63, "postgres")


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("orders-pg", (None, "orders-pg", None)),
        ("Orders-PG", (None, "orders-pg", None)),
        ("arn:aws:rds:eu-west-1:123456789012:db:orders-pg", ("instance", "orders-pg", "eu-west-1")),
        ("arn:aws:rds:us-east-1:123456789012:cluster:analytics", ("cluster", "analytics", "us-east-1")),
        ("arn:aws-cn:rds:cn-north-1:123456789012:db:x1", ("instance", "x1", "cn-north-1")),
    ],
)
def test_db_references(reference: str, expected: tuple[str | None, str, str | None]) -> None:
    assert rules.parse_db_reference(reference) == expected


@pytest.mark.parametrize(
    "reference",
    [
        "",
        "1db",
        "db--x",
        "db-",
        "db x",
        " db",
        "db;drop",
        "a" * 64,
        "arn:aws:rds:us-east-1:123:db:x",
        "arn:aws:rds:us-east-1:123456789012:snapshot:x",
        "arn:aws:rds:us-east-1:123456789012:db:bad--id",
    ],
)
def test_bad_db_references(reference: str) -> None:
    with pytest.raises(InvalidInputError, match="db_identifier"):
        rules.parse_db_reference(reference)


def test_role_name_is_deterministic_unique_and_short() -> None:
    name = rules.role_name("instance", "orders-pg", "us-east-1")
    assert name == rules.role_name("instance", "orders-pg", "us-east-1")
    assert name.startswith("clickpipes-orders-pg-")
    assert name != rules.role_name("cluster", "orders-pg", "us-east-1")
    assert name != rules.role_name("instance", "orders-pg", "eu-west-1")
    longest = rules.role_name("instance", "a" * 63, "ap-southeast-2")
    assert len(longest) <= 64


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::111122223333:role/CH-S3-orange-ab-12-Role",
        "arn:aws:iam::111122223333:role/service-role/path/Name_1+=,.@-",
    ],
)
def test_role_principals_are_accepted(arn: str) -> None:
    assert rules.check_principal(arn, partition="aws") == arn


@pytest.mark.parametrize(
    "arn",
    [
        "*",
        "arn:aws:iam::*:role/x",
        "arn:aws:iam::111122223333:role/*",
        "arn:aws:iam::111122223333:root",
        "arn:aws:iam::111122223333:user/alice",
        "arn:aws:sts::111122223333:assumed-role/r/s",
        "111122223333",
        "lambda.amazonaws.com",
        "arn:aws:iam::11112222333:role/short-account",
        " arn:aws:iam::111122223333:role/x",
        "arn:aws:iam::111122223333:role/x ",
        "arn:aws:iam::111122223333:role/x\n",
        "arn:aws:iam::111122223333:role/",
        "arn:aws:iam::111122223333:role/a b",
        "arn:aws:iam::111122223333:role/x,arn:aws:iam::444455556666:role/y",
        "arn:aws:iam:us-east-1:111122223333:role/x",
        "arn:aws:iam::111122223333:group/g",
        "",
    ],
)
def test_non_role_principals_are_refused(arn: str) -> None:
    with pytest.raises(InvalidInputError, match="clickhouse_role_arn"):
        rules.check_principal(arn, partition="aws")


def test_principal_from_another_partition_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="partition"):
        rules.check_principal("arn:aws-cn:iam::111122223333:role/x", partition="aws")


def test_policies_match_the_clickpipes_documentation() -> None:
    dbuser = rules.dbuser_arn(
        partition="aws", region="us-east-1", account="123456789012", resource_id="db-ABC", user="clickpipes_iam_user"
    )
    assert dbuser == "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABC/clickpipes_iam_user"
    assert rules.trust_policy("arn:aws:iam::111122223333:role/R") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:role/R"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
    assert rules.connect_policy(dbuser) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["rds-db:connect"], "Resource": [dbuser]}],
    }


@pytest.mark.parametrize(
    ("engine", "replication", "modes"),
    [
        ("mysql", None, ["initial_load", "cdc"]),
        ("mariadb", None, ["initial_load", "cdc"]),
        ("aurora-mysql", None, ["initial_load", "cdc"]),
        ("postgres", None, ["initial_load"]),
        ("postgres", False, ["initial_load"]),
        ("aurora-postgresql", True, ["initial_load", "cdc"]),
    ],
)
def test_pipe_modes(engine: rules.Engine, replication: bool | None, modes: list[str]) -> None:
    assert rules.pipe_modes(engine, iam_auth_for_replication=replication) == modes


@pytest.mark.parametrize(
    ("region", "partition"), [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")]
)
def test_partition_of_region(region: str, partition: str) -> None:
    assert rules.partition_of(region) == partition
