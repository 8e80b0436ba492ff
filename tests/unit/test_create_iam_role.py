"""CreateIamRole: exact policies, idempotent re-runs, updates in place, conflicts, IAM eventual consistency."""

import json
from typing import Any
from urllib.parse import unquote

import create_iam_role
import pytest
from botocore.exceptions import ClientError
from clickpipes.aws.iam import IamGateway
from clickpipes.errors import (
    AccountNotAllowedError,
    DbNotFoundError,
    InvalidInputError,
    PrincipalNotAllowedError,
    ProtectedUserError,
    RoleConflictError,
    TransientError,
)

from tests.unit.conftest import BOUNDARY, PRINCIPAL, FakeContext


def doc(value: Any) -> Any:
    return json.loads(unquote(value)) if isinstance(value, str) else value


@pytest.fixture
def target(moto_target: Any) -> dict[str, Any]:
    """The sample event's target, for a DB that exists in moto (the step describes it)."""
    return dict(moto_target())


@pytest.fixture
def event(target: dict[str, Any]) -> dict[str, Any]:
    return {"target": target}


def dbuser_of(target: dict[str, Any], user: str = "clickpipes_iam_user") -> str:
    return f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{target['resource_id']}/{user}"


def test_role_is_created_with_exactly_the_documented_policies(iam: Any, context: FakeContext, event: Any) -> None:
    DBUSER = dbuser_of(event["target"])
    result = create_iam_role.handler(event, context)
    role = iam.get_role(RoleName=result["role_name"])["Role"]
    assert result["role_arn"] == role["Arn"] == f"arn:aws:iam::123456789012:role/clickpipes/{result['role_name']}"
    assert (result["created"], result["updated"], result["dbuser_arn"]) == (True, False, DBUSER)
    assert role["Path"] == "/clickpipes/"
    assert len(role["RoleName"]) <= 64
    assert {t["Key"]: t["Value"] for t in role["Tags"]} == {
        "clickpipes:db-arn": event["target"]["arn"],
        "clickpipes:principal": event["target"]["clickhouse_role_arn"],  # what the audit compares the trust with
    }
    assert role["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": BOUNDARY,
    }
    assert doc(role["AssumeRolePolicyDocument"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": PRINCIPAL}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
        ],
    }
    policies = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
    assert policies == ["clickpipes-rds-db-connect"]
    assert doc(iam.get_role_policy(RoleName=role["RoleName"], PolicyName=policies[0])["PolicyDocument"]) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["rds-db:connect"], "Resource": [DBUSER]}],
    }
    assert iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"] == []


def test_rerun_is_a_no_op(iam: Any, context: FakeContext, event: Any) -> None:
    DBUSER = dbuser_of(event["target"])
    first = create_iam_role.handler(event, context)
    second = create_iam_role.handler(event, context)
    assert second == first | {"created": False, "updated": False, "changes": []}
    assert first["changes"] == [
        f"CreateRole /clickpipes/{first['role_name']}: trust {PRINCIPAL}, permissions boundary {BOUNDARY}",
        f"PutRolePolicy: rds-db:connect on {DBUSER}",
    ]
    assert len(iam.list_roles(PathPrefix="/clickpipes/")["Roles"]) == 1


def test_new_principal_and_user_update_the_role_in_place(
    iam: Any, context: FakeContext, event: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    DBUSER = dbuser_of(event["target"])
    first = create_iam_role.handler(event, context)
    other = "arn:aws:iam::444455556666:role/another-ch-service"
    monkeypatch.setenv("ALLOWED_CLICKHOUSE_PRINCIPALS", f"111122223333,{other}")
    changed = {"target": event["target"] | {"clickhouse_role_arn": other, "db_user": "cp_reader"}}
    second = create_iam_role.handler(changed, context)
    assert (second["role_arn"], second["created"], second["updated"]) == (first["role_arn"], False, True)
    trust = doc(iam.get_role(RoleName=first["role_name"])["Role"]["AssumeRolePolicyDocument"])
    assert trust["Statement"][0]["Principal"] == {"AWS": other}
    policy = doc(
        iam.get_role_policy(RoleName=first["role_name"], PolicyName="clickpipes-rds-db-connect")["PolicyDocument"]
    )
    assert policy["Statement"][0]["Resource"] == [DBUSER.replace("clickpipes_iam_user", "cp_reader")]


def test_a_foreign_role_with_the_same_name_is_not_hijacked(iam: Any, context: FakeContext, event: Any) -> None:
    name = create_iam_role.handler(event, context)["role_name"]
    iam.tag_role(
        RoleName=name, Tags=[{"Key": "clickpipes:db-arn", "Value": "arn:aws:rds:us-east-1:123456789012:db:other"}]
    )
    with pytest.raises(RoleConflictError, match="was not created for"):
        create_iam_role.handler(event, context)


def test_operators_own_boundary_is_attached(
    iam: Any, context: FakeContext, monkeypatch: pytest.MonkeyPatch, event: Any
) -> None:
    boundary = iam.create_policy(
        PolicyName="boundary",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds-db:connect", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    monkeypatch.setenv("PERMISSIONS_BOUNDARY_ARN", boundary)
    name = create_iam_role.handler(event, context)["role_name"]
    assert iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary


@pytest.mark.parametrize("principal", ["*", "arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:user/bob"])
def test_bad_principal_creates_nothing(iam: Any, context: FakeContext, principal: str, target: Any) -> None:
    with pytest.raises(InvalidInputError, match="clickhouse_role_arn"):
        create_iam_role.handler({"target": target | {"clickhouse_role_arn": principal}}, context)
    assert iam.list_roles(PathPrefix="/clickpipes/")["Roles"] == []


def test_principal_outside_the_allowlist_creates_nothing(iam: Any, context: FakeContext, target: Any) -> None:
    outsider = "arn:aws:iam::999988887777:role/not-clickhouse"
    with pytest.raises(PrincipalNotAllowedError, match="AllowedClickHousePrincipals"):
        create_iam_role.handler({"target": target | {"clickhouse_role_arn": outsider}}, context)
    assert iam.list_roles(PathPrefix="/clickpipes/")["Roles"] == []


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"resource_id": "*"}, InvalidInputError, "resource_id"),
        ({"resource_id": "db-OTHERDATABASE0000000000000"}, InvalidInputError, "as RDS does"),
        ({"account": "*"}, InvalidInputError, "account"),
        ({"account": "999999999999"}, AccountNotAllowedError, "not in MemberAccounts"),
        ({"region": "eu-west-1"}, DbNotFoundError, "no longer exists"),  # looked up in the region it names
        ({"partition": "aws-cn"}, InvalidInputError, "as RDS does"),
        ({"db_user": "*"}, InvalidInputError, "db_user"),
        ({"db_user": "master"}, ProtectedUserError, "master user"),
        ({"db_user": "rdsadmin"}, ProtectedUserError, "reserved"),
    ],
)
def test_a_forged_or_wildcard_target_creates_nothing(
    iam: Any, context: FakeContext, target: Any, changes: dict[str, str], error: type[Exception], match: str
) -> None:
    """Invoked directly, the step acts on the DB as RDS describes it, or not at all."""
    with pytest.raises(error, match=match):
        create_iam_role.handler({"target": target | changes}, context)
    assert iam.list_roles(PathPrefix="/clickpipes/")["Roles"] == []


def test_a_role_made_before_the_boundary_gets_it_first(iam: Any, context: FakeContext, event: Any) -> None:
    name = create_iam_role.handler(event, context)["role_name"]
    iam.delete_role_permissions_boundary(RoleName=name)  # as the previous version created it
    result = create_iam_role.handler(event, context)
    assert result["changes"] == [f"PutRolePermissionsBoundary {name}: {BOUNDARY}"]
    assert iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY


def test_the_requester_is_on_the_role(iam: Any, context: FakeContext, target: Any) -> None:
    who = "arn:aws:sts::123456789012:assumed-role/Admin/alice"
    name = create_iam_role.handler({"target": target | {"requested_by": who}}, context)["role_name"]
    tags = {t["Key"]: t["Value"] for t in iam.get_role(RoleName=name)["Role"]["Tags"]}
    assert tags["clickpipes:requested-by"] == who
    create_iam_role.handler({"target": target | {"requested_by": "unknown (tag change event)"}}, context)
    tags = {t["Key"]: t["Value"] for t in iam.get_role(RoleName=name)["Role"]["Tags"]}
    assert tags["clickpipes:requested-by"] == who  # a no-op re-run changes nothing, its requester included


class FlakyIam:
    """boto3 IAM client double: answers NoSuchEntity a few times after create_role, like IAM does."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def put_role_policy(self, **_: Any) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ClientError({"Error": {"Code": "NoSuchEntity", "Message": "role not found"}}, "PutRolePolicy")


def test_eventual_consistency_is_waited_out() -> None:
    flaky = FlakyIam(failures=2)
    IamGateway(flaky, consistency_delay_seconds=0).put_inline_policy("r", "p", {})
    assert flaky.calls == 3


def test_eventual_consistency_that_lasts_becomes_transient() -> None:
    flaky = FlakyIam(failures=99)
    with pytest.raises(TransientError, match="not propagated"):
        IamGateway(flaky, consistency_delay_seconds=0).put_inline_policy("r", "p", {})
    assert flaky.calls == 5
