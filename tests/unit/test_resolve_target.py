"""ResolveTarget: every bad input gets its named error, and nothing is changed."""

from typing import Any

import pytest
from clickpipes.errors import (
    AccountNotAllowedError,
    AdminCredentialsError,
    DbNotFoundError,
    DbStateError,
    InvalidInputError,
    UnsupportedEngineError,
)

from tests.unit.conftest import PRINCIPAL, FakeContext, load_event, resolve


def nothing_changed(rds: Any, iam: Any) -> None:
    for db in rds.describe_db_instances()["DBInstances"]:
        assert db["IAMDatabaseAuthenticationEnabled"] is False
        tags = rds.list_tags_for_resource(ResourceName=db["DBInstanceArn"])["TagList"]
        assert not [t for t in tags if t["Key"].startswith("clickpipes:")]
    assert iam.list_roles(PathPrefix="/clickpipes/")["Roles"] == []


def test_instance_is_resolved(make_db: Any, context: FakeContext) -> None:
    db = make_db("orders-pg")
    target = resolve(load_event("resolve_target.json")["request"], context)
    assert target == {
        "db_identifier": "orders-pg",
        "kind": "instance",
        "arn": db["DBInstanceArn"],
        "partition": "aws",
        "region": "us-east-1",
        "account": "123456789012",
        "engine": "postgres",
        "engine_version": "16.4",
        "resource_id": db["DbiResourceId"],
        "endpoint": db["Endpoint"]["Address"],
        "port": 5432,
        "database": "postgres",
        "iam_auth_enabled": False,
        "admin_secret_arn": db["MasterUserSecret"]["SecretArn"],
        "db_user": "clickpipes_iam_user",
        "clickhouse_role_arn": PRINCIPAL,
        "clickhouse_service_id": None,
        "clickpipe": None,
        "cdc": {
            "enabled": True,
            "schemas": ["public"],
            "tables": [],
            "publication": "clickpipes",
            "binlog_retention_hours": None,
            "allow_reboot": False,
        },
        "plan_only": False,
        "warnings": [],
        "adopt_existing_user": False,
        "apply_pending_modifications": False,
        "requested_by": None,
    }


def test_cluster_by_arn_uses_cluster_resource_id_and_writer_endpoint(make_db: Any, context: FakeContext) -> None:
    cluster = make_db("analytics", engine="aurora-mysql")
    target = resolve({"db_identifier": cluster["DBClusterArn"], "clickhouse_role_arn": PRINCIPAL}, context)
    assert target["kind"] == "cluster"
    assert target["resource_id"] == cluster["DbClusterResourceId"]
    assert target["resource_id"].startswith("cluster-")
    assert target["endpoint"] == cluster["Endpoint"]
    assert target["database"] is None


def test_aurora_member_instance_is_onboarded_through_its_cluster(make_db: Any, context: FakeContext) -> None:
    cluster = make_db("analytics", engine="aurora-postgresql")
    target = resolve({"db_identifier": "analytics-writer", "clickhouse_role_arn": PRINCIPAL}, context)
    assert (target["kind"], target["db_identifier"]) == ("cluster", "analytics")
    assert target["resource_id"] == cluster["DbClusterResourceId"]
    assert "belongs to Aurora cluster 'analytics'" in target["warnings"][0]


def test_stack_default_principal_and_custom_user(
    make_db: Any, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_db("shop", engine="mariadb")
    monkeypatch.setenv("CLICKHOUSE_ROLE_ARN", PRINCIPAL)
    target = resolve({"db_identifier": "shop", "db_user": "cp_reader"}, context)
    assert (target["clickhouse_role_arn"], target["db_user"], target["engine"]) == (PRINCIPAL, "cp_reader", "mariadb")


def test_given_admin_secret_wins(make_db: Any, context: FakeContext) -> None:
    make_db("shop", engine="mysql")
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop-admin-AbCdEf"
    target = resolve({"db_identifier": "shop", "clickhouse_role_arn": PRINCIPAL, "admin_secret_arn": arn}, context)
    assert target["admin_secret_arn"] == arn


@pytest.mark.parametrize(
    ("event", "error", "message"),
    [
        ({}, InvalidInputError, "db_identifier: Field required"),
        (
            {"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL, "db_users": "x"},
            InvalidInputError,
            "db_users",
        ),
        ({"db_identifier": "orders pg", "clickhouse_role_arn": PRINCIPAL}, InvalidInputError, "db_identifier"),
        ({"db_identifier": "orders-pg"}, InvalidInputError, "clickhouse_role_arn is required"),
        ({"db_identifier": "orders-pg", "clickhouse_role_arn": "*"}, InvalidInputError, "clickhouse_role_arn"),
        (
            {"db_identifier": "orders-pg", "clickhouse_role_arn": "arn:aws:iam::111122223333:root"},
            InvalidInputError,
            "clickhouse_role_arn",
        ),
        (
            {"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL, "db_user": 'x"; DROP ROLE rdsadmin; --'},
            InvalidInputError,
            "db_user",
        ),
        (
            {"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL, "admin_secret_arn": "not-an-arn"},
            InvalidInputError,
            "admin_secret_arn",
        ),
        (
            {"db_identifier": "arn:aws:rds:us-east-1:999999999999:db:orders-pg", "clickhouse_role_arn": PRINCIPAL},
            AccountNotAllowedError,  # another region is looked up there (DbNotFoundError here); another account:
            "account 999999999999 is not in MemberAccounts",  # only one of MemberAccounts
        ),
        (
            {"db_identifier": "arn:aws:rds:eu-west-1:123456789012:db:orders-pg", "clickhouse_role_arn": PRINCIPAL},
            DbNotFoundError,
            "orders-pg",
        ),
        ({"db_identifier": "missing-db", "clickhouse_role_arn": PRINCIPAL}, DbNotFoundError, "missing-db"),
        (
            {"db_identifier": "arn:aws:rds:us-east-1:123456789012:cluster:orders-pg", "clickhouse_role_arn": PRINCIPAL},
            DbNotFoundError,
            "cluster 'orders-pg'",
        ),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    make_db: Any, rds: Any, iam: Any, context: FakeContext, event: dict[str, Any], error: type[Exception], message: str
) -> None:
    make_db("orders-pg")
    with pytest.raises(error, match=message):
        resolve(event, context)
    nothing_changed(rds, iam)


@pytest.mark.parametrize(
    ("engine", "version", "extra", "message"),
    [
        ("mariadb", "10.6.19", {}, "10.11"),
        ("oracle-ee", "19.0.0.0.ru-2024-01.rur-2024-01.r1", {"LicenseModel": "bring-your-own-license"}, "oracle-ee"),
        ("sqlserver-se", "15.00.4355.3.v1", {"LicenseModel": "license-included"}, "sqlserver-se"),
    ],
)
def test_unsupported_engines_are_refused(
    make_db: Any,
    rds: Any,
    iam: Any,
    context: FakeContext,
    engine: str,
    version: str,
    extra: dict[str, Any],
    message: str,
) -> None:
    make_db("legacy", engine=engine, version=version, **extra)
    with pytest.raises(UnsupportedEngineError, match=message):
        resolve({"db_identifier": "legacy", "clickhouse_role_arn": PRINCIPAL}, context)
    nothing_changed(rds, iam)


def test_aurora_serverless_v1_is_refused(rds: Any, context: FakeContext) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier="sv1",
        Engine="aurora-mysql",
        EngineMode="serverless",
        MasterUsername="master",
        MasterUserPassword="password123",
    )
    with pytest.raises(UnsupportedEngineError, match="Serverless v1"):
        resolve({"db_identifier": "sv1", "clickhouse_role_arn": PRINCIPAL}, context)


def test_mysql_user_name_over_32_characters_is_refused(make_db: Any, context: FakeContext) -> None:
    make_db("shop", engine="mysql")
    with pytest.raises(InvalidInputError, match="at most 32"):
        resolve({"db_identifier": "shop", "clickhouse_role_arn": PRINCIPAL, "db_user": "u" * 33}, context)


def test_stopped_db_is_refused(make_db: Any, rds: Any, iam: Any, context: FakeContext) -> None:
    make_db("orders-pg")
    rds.stop_db_instance(DBInstanceIdentifier="orders-pg")
    with pytest.raises(DbStateError, match="'stopped'.*start it"):
        resolve(load_event("resolve_target.json")["request"], context)
    nothing_changed(rds, iam)


def test_db_without_managed_secret_needs_admin_secret_arn(rds: Any, iam: Any, context: FakeContext) -> None:
    rds.create_db_instance(
        DBInstanceIdentifier="orders-pg",
        Engine="postgres",
        EngineVersion="16.4",
        DBInstanceClass="db.t3.micro",
        MasterUsername="master",
        MasterUserPassword="password123",
        AllocatedStorage=20,
    )
    with pytest.raises(AdminCredentialsError, match="admin_secret_arn"):
        resolve(load_event("resolve_target.json")["request"], context)
    nothing_changed(rds, iam)


ME = "arn:aws:states:us-east-1:123456789012:execution:onboarding:orders-pg--aaaaaaaaaaaa"
RIVAL = "arn:aws:states:us-east-1:123456789012:execution:offboarding:orders-pg--bbbbbbbbbbbb"


@pytest.mark.parametrize(
    ("held", "running", "goes_on"),
    [
        ({}, set(), True),  # nobody holds the DB
        ({"123456789012/us-east-1/orders-pg": ME}, {ME}, True),  # the API held it for this execution
        ({"123456789012/us-east-1/orders-pg": RIVAL}, {RIVAL}, False),  # an offboarding (or onboarding) of the DB runs
        (
            {"123456789012/us-east-1/orders-pg": RIVAL},
            set(),
            True,
        ),  # its holder finished (or never started): taken over
        ({"123456789012/us-east-1/other-pg": RIVAL}, {RIVAL}, True),  # another DB does not block
        ({"123456789012/eu-west-1/orders-pg": RIVAL}, {RIVAL}, True),  # nor the same name in another region
    ],
)
def test_one_onboarding_per_db_at_a_time(held: dict[str, str], running: set[str], goes_on: bool) -> None:
    from clickpipes.errors import OnboardingInProgressError
    from clickpipes.models import OnboardingInput, Target
    from clickpipes.settings import ResolveSettings
    from clickpipes.steps.resolve_target import resolve_target

    from tests.fakes import FakeGuard, FakeRds, description_of

    target = Target.model_validate(load_event("create_iam_role.json")["target"])
    rds, guard = FakeRds(description_of(target)), FakeGuard(held, running)
    request = OnboardingInput(db_identifier="orders-pg", clickhouse_role_arn=PRINCIPAL)
    settings = ResolveSettings.from_env()
    if goes_on:
        assert resolve_target(request, rds=rds, settings=settings, guard=guard, execution_arn=ME)
        assert guard.held["123456789012/us-east-1/orders-pg"] == ME
    else:
        with pytest.raises(OnboardingInProgressError, match=r"\(orders-pg--bbbbbbbbbbbb\).*already running"):
            resolve_target(request, rds=rds, settings=settings, guard=guard, execution_arn=ME)
        assert rds.calls == []  # changed nothing
    assert guard.calls == [("123456789012/us-east-1/orders-pg", ME)]  # one acquire per execution, whatever else runs
