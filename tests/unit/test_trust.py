"""The trust boundary: allowlist matching, protected users, bound secrets, pending modifications, who asked.

Each refusal happens in ResolveTarget (or before starting, at the triggers), names its error, says what to do,
and leaves everything as it was."""

from typing import Any

import pytest
import resolve_target  # noqa: F401  # imported before the no-network fixture: Powertools' tracer opens a socket
from clickpipes import trust
from clickpipes.errors import (
    ConfigurationError,
    InvalidInputError,
    PendingModificationsError,
    PrincipalNotAllowedError,
    ProtectedUserError,
)
from clickpipes.settings import ResolveSettings

from tests.unit.conftest import PRINCIPAL, FakeContext, resolve
from tests.unit.test_resolve_target import nothing_changed

STACK_ROLE = "arn:aws:iam::444455556666:role/stack-default"
LISTED_ROLE = "arn:aws:iam::777788889999:role/listed"


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        (STACK_ROLE, True),  # the stack's ClickHouseRoleArn
        (LISTED_ROLE, True),  # a listed role ARN
        ("arn:aws:iam::111122223333:role/any/path/CH-Role", True),  # any role of a listed account
        ("arn:aws:iam::777788889999:role/listed-not", False),  # a listed role's look-alike
        ("arn:aws:iam::444455556666:role/stack-default-2", False),  # the stack role's account is not listed
        ("arn:aws:iam::999999999999:role/CH-S3-orange-ab-12-Role", False),
        ("arn:aws:iam::111122223333:root", False),  # never a root, even of a listed account
        ("arn:aws:iam::111122223333:user/bob", False),
        ("arn:aws:iam::1111222233334:role/x", False),
    ],
)
def test_allowlist_matching(principal: str, allowed: bool) -> None:
    listed = ("111122223333", LISTED_ROLE)
    assert trust.principal_allowed(principal, default_principal=STACK_ROLE, allowed=listed) is allowed


def test_empty_allowlist_allows_only_the_stack_role() -> None:
    assert trust.principal_allowed(STACK_ROLE, default_principal=STACK_ROLE, allowed=())
    assert not trust.principal_allowed(PRINCIPAL, default_principal=STACK_ROLE, allowed=())
    assert not trust.principal_allowed(PRINCIPAL, default_principal="", allowed=())


@pytest.mark.parametrize(
    "entry", ["*", "11112222333", "arn:aws:iam::111122223333:role/*", "arn:aws:iam::111122223333:root"]
)
def test_a_bad_allowlist_entry_is_a_configuration_error(entry: str) -> None:
    with pytest.raises(ConfigurationError, match="ALLOWED_CLICKHOUSE_PRINCIPALS"):
        ResolveSettings.from_env({"AWS_REGION": "us-east-1", "ALLOWED_CLICKHOUSE_PRINCIPALS": f"111122223333,{entry}"})


def test_allowlist_from_the_stacks_comma_delimited_list() -> None:
    settings = ResolveSettings.from_env(
        {"AWS_REGION": "us-east-1", "ALLOWED_CLICKHOUSE_PRINCIPALS": f" 111122223333 ,{LISTED_ROLE},"}
    )
    assert settings.allowed_principals == ("111122223333", LISTED_ROLE)


@pytest.mark.parametrize(
    "user",
    [
        "rdsadmin",
        "RDSADMIN",
        "rdsrepladmin",
        "rdstopmgr",
        "rdsproxyadmin",
        "root",
        "postgres",
        "admin",
        "rds_superuser",
        "rds_iam",
        "pg_monitor",
        "aws_lambda",
        "clickpipes_managed",
    ],
)
def test_reserved_names_are_protected(user: str) -> None:
    with pytest.raises(ProtectedUserError, match="reserved"):
        trust.check_not_protected(user)


@pytest.mark.parametrize("name", ["mysql.sys", "mysql.session", "mysql.infoschema", "mariadb.sys"])
def test_mysql_system_users_are_reserved(name: str) -> None:
    assert name in trust.RESERVED_USERS


def test_master_and_admin_users_are_protected() -> None:
    with pytest.raises(ProtectedUserError, match="master user"):
        trust.check_not_protected("Master", master_username="master")
    with pytest.raises(ProtectedUserError, match="admin user of the admin secret"):
        trust.check_not_protected("dba", master_username="master", admin_username="dba")
    assert trust.check_not_protected("clickpipes_iam_user", master_username="master", admin_username="dba")


def test_iam_tag_values_keep_only_what_iam_allows() -> None:
    assert trust.iam_tag_value("unknown (tag change event)") == "unknown _tag change event_"
    assert trust.iam_tag_value("arn:aws:sts::1:assumed-role/A/b@c") == "arn:aws:sts::1:assumed-role/A/b@c"
    assert len(trust.iam_tag_value("x" * 999)) == 256


# ResolveTarget: refused before any change, whatever started the execution ------------------------------
def test_principal_outside_the_allowlist_is_refused(make_db: Any, rds: Any, iam: Any, context: FakeContext) -> None:
    make_db("orders-pg")
    outsider = "arn:aws:iam::999988887777:role/CH-S3-orange-ab-12-Role"
    with pytest.raises(PrincipalNotAllowedError, match="AllowedClickHousePrincipals"):
        resolve({"db_identifier": "orders-pg", "clickhouse_role_arn": outsider}, context)
    nothing_changed(rds, iam)


def test_the_stack_role_is_allowed_without_a_list(
    make_db: Any, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_db("orders-pg")
    monkeypatch.setenv("ALLOWED_CLICKHOUSE_PRINCIPALS", "")
    monkeypatch.setenv("CLICKHOUSE_ROLE_ARN", STACK_ROLE)
    assert resolve({"db_identifier": "orders-pg"}, context)["clickhouse_role_arn"] == STACK_ROLE
    with pytest.raises(PrincipalNotAllowedError):
        resolve({"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL}, context)


@pytest.mark.parametrize(
    ("user", "match"), [("master", "master user"), ("rdsadmin", "reserved"), ("pg_read", "prefix")]
)
def test_protected_users_are_refused(
    make_db: Any, rds: Any, iam: Any, context: FakeContext, user: str, match: str
) -> None:
    make_db("orders-pg")
    with pytest.raises(ProtectedUserError, match=match):
        resolve({"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL, "db_user": user}, context)
    nothing_changed(rds, iam)


def test_another_dbs_rds_secret_is_refused(make_db: Any, rds: Any, iam: Any, context: FakeContext) -> None:
    make_db("orders-pg")
    other = make_db("billing-pg")["MasterUserSecret"]["SecretArn"]
    with pytest.raises(InvalidInputError, match="RDS-managed secret of another database"):
        resolve({"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL, "admin_secret_arn": other}, context)
    nothing_changed(rds, iam)


def test_pending_modifications_are_refused_before_any_change(
    make_db: Any, rds: Any, iam: Any, context: FakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_db("orders-pg")
    from clickpipes.aws import rds as rds_gateway

    original = rds_gateway._pending
    monkeypatch.setattr(rds_gateway, "_pending", lambda values: [*original(values), "DBInstanceClass"])
    request = {"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL}
    with pytest.raises(PendingModificationsError, match=r"\(DBInstanceClass\).*apply_pending_modifications"):
        resolve(request, context)
    nothing_changed(rds, iam)
    target = resolve(request | {"apply_pending_modifications": True}, context)
    assert target["apply_pending_modifications"] is True
    assert any("DBInstanceClass" in w for w in target["warnings"])


@pytest.mark.parametrize(
    ("fake", "port"),
    [
        ("FakeRds", "Rds"),
        ("FakeSecrets", "Secrets"),
        ("FakeDatabase", "Database"),
        ("FakeGuard", "Guard"),
        ("FakeClickHouseCloud", "ClickHouseCloud"),
        ("FakeAuditDatabase", "audit_ports.AuditDatabase"),
    ],
)
def test_the_fakes_are_complete(fake: str, port: str) -> None:
    """Every method of a port has its fake, with the same parameters (the fakes stand in for the gateways)."""
    import inspect

    from clickpipes.steps import audit_ports, ports

    from tests import fakes

    holder, _, name = port.rpartition(".")
    protocol, double = getattr(audit_ports if holder else ports, name), getattr(fakes, fake)
    methods = {n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")}
    for name in methods:
        expected = list(inspect.signature(getattr(protocol, name)).parameters)
        assert list(inspect.signature(getattr(double, name)).parameters) == expected, name
