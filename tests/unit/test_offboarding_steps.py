"""The offboarding's steps on moto: each one idempotent, each only to what this tool made, plan_only never writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import delete_iam_role
import pytest
import record_offboarding
import resolve_offboarding
import revert_settings
from clickpipes import rules
from clickpipes.aws.iam_offboard import IamOffboardGateway
from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.rds_offboard import RdsOffboardGateway
from clickpipes.errors import (
    AccountNotAllowedError,
    DbNotFoundError,
    InvalidInputError,
    OnboardingInProgressError,
    ProtectedUserError,
)
from clickpipes.models import AdminCredentials
from clickpipes.offboarding_models import (
    DbOffboardRequest,
    DbOffboardResult,
    OffboardingInput,
    OffboardTarget,
)
from clickpipes.settings import ResolveSettings
from clickpipes.steps.offboard_db_user import drop_db_user
from clickpipes.steps.offboard_resolve import resolve_offboarding as resolve_step

from tests.unit.conftest import BOUNDARY, FakeContext, load_event

SETTINGS = ResolveSettings.from_env({"AWS_REGION": "us-east-1", "HOME_ACCOUNT": "123456789012"})


def allow(action: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})


def db_tags(rds: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"]}


def tag(rds: Any, arn: str, **tags: str) -> None:
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


@pytest.fixture
def offboard_target(make_db: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """ResolveOffboarding's output for a DB created in moto, through the real step."""

    def make(identifier: str = "orders-pg", engine: str = "postgres", **request: Any) -> dict[str, Any]:
        make_db(identifier, engine)
        target = resolve_step(
            OffboardingInput(db_identifier=identifier, **request), rds=RdsGateway(), settings=SETTINGS
        )
        return target.model_dump(mode="json")

    return make


# ResolveOffboarding -------------------------------------------------------------------------------
def test_resolve_reads_what_the_onboarding_recorded(make_db: Any, rds: Any) -> None:
    db = make_db("orders-pg")
    tag(
        rds,
        db["DBInstanceArn"],
        **{
            "clickpipes:onboarded-db-user": "cp_orders",
            "clickpipes:onboarded-publication": "orders_pub",
            "clickpipes:iam-auth-enabled-by-us": "true",
            "clickpipes:original-parameter-group": "default.postgres16",
            "clickpipes:onboard": "false",
        },
    )
    target = resolve_step(
        OffboardingInput(db_identifier="orders-pg", revert_settings=True), rds=RdsGateway(), settings=SETTINGS
    )
    assert (target.db_user, target.publication) == ("cp_orders", "orders_pub")
    assert target.records == {
        "clickpipes:iam-auth-enabled-by-us": "true",
        "clickpipes:original-parameter-group": "default.postgres16",
    }
    assert target.role_name == rules.role_name("instance", "orders-pg", "us-east-1")
    assert target.admin_secret_arn == db["MasterUserSecret"]["SecretArn"]
    assert (target.revert_settings, target.plan_only, target.drop_replication_slots) == (True, False, False)


def test_resolve_defaults_without_records(make_db: Any) -> None:
    make_db("orders-pg")
    target = resolve_step(OffboardingInput(db_identifier="orders-pg"), rds=RdsGateway(), settings=SETTINGS)
    assert (target.db_user, target.publication, target.records) == (rules.DEFAULT_DB_USER, "clickpipes", {})


@pytest.mark.parametrize(
    ("request_fields", "error"),
    [
        ({"db_identifier": "no-such-db"}, DbNotFoundError),
        ({"db_identifier": "arn:aws:rds:us-east-1:999999999999:db:orders-pg"}, AccountNotAllowedError),
        ({"db_identifier": "orders-pg", "db_user": "master"}, ProtectedUserError),
        ({"db_identifier": "orders-pg", "db_user": "rdsadmin"}, ProtectedUserError),
        ({"db_identifier": "orders-pg", "db_user": 'x"; DROP ROLE y; --'}, InvalidInputError),
    ],
)
def test_resolve_refuses(make_db: Any, request_fields: dict[str, Any], error: type[Exception]) -> None:
    make_db("orders-pg")
    with pytest.raises(error):
        resolve_step(OffboardingInput(**request_fields), rds=RdsGateway(), settings=SETTINGS)


def test_resolve_refuses_an_unknown_field() -> None:
    with pytest.raises(InvalidInputError, match="db_users"):
        resolve_offboarding.handler(
            {"request": {"db_identifier": "x", "db_users": "y"}, "execution_arn": "a", "state_machine_arn": "b"},
            FakeContext(),
        )


def test_the_guard_counts_both_state_machines(make_db: Any) -> None:
    """One guard item per DB for both workflows: an onboarding that holds the DB stops the offboarding."""
    from tests.fakes import FakeGuard

    make_db("orders-pg")
    me = "arn:aws:states:us-east-1:123456789012:execution:off:orders-pg--bbbbbbbbbbbb"
    onboarding = "arn:aws:states:us-east-1:123456789012:execution:on:orders-pg--aaaaaaaaaaaa"
    request = OffboardingInput(db_identifier="orders-pg")
    guard = FakeGuard({"123456789012/us-east-1/orders-pg": onboarding}, running={onboarding})
    with pytest.raises(OnboardingInProgressError, match=r"orders-pg--aaaaaaaaaaaa"):
        resolve_step(request, rds=RdsGateway(), settings=SETTINGS, guard=guard, execution_arn=me)
    # the onboarding finished, or another DB's runs: goes on
    for guard in (
        FakeGuard({"123456789012/us-east-1/orders-pg": onboarding}),
        FakeGuard({"123456789012/us-east-1/other-pg": onboarding}, running={onboarding}),
    ):
        assert resolve_step(request, rds=RdsGateway(), settings=SETTINGS, guard=guard, execution_arn=me)
        assert guard.held["123456789012/us-east-1/orders-pg"] == me


def test_resolve_handler_with_both_machines(make_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    make_db("orders-pg")
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    definition = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    role = "arn:aws:iam::123456789012:role/sfn"
    onboarding = sfn.create_state_machine(name="on", definition=definition, roleArn=role)["stateMachineArn"]
    offboarding = sfn.create_state_machine(name="off", definition=definition, roleArn=role)["stateMachineArn"]
    monkeypatch.setenv("ONBOARDING_STATE_MACHINE_ARN", onboarding)
    mine = sfn.start_execution(
        stateMachineArn=offboarding, name="orders-pg--bbbbbbbbbbbb", input='{"db_identifier": "orders-pg"}'
    )
    event = {
        "request": {"db_identifier": "orders-pg"},
        "execution_arn": mine["executionArn"],
        "state_machine_arn": offboarding,
    }
    assert resolve_offboarding.handler(event, FakeContext())["db_identifier"] == "orders-pg"
    sfn.start_execution(
        stateMachineArn=onboarding, name="orders-pg--aaaaaaaaaaaa", input='{"db_identifier": "orders-pg"}'
    )
    # moto's start dates are the same second: the onboarding started first only if its (date, ARN) is smaller
    try:
        resolve_offboarding.handler(event, FakeContext())
    except OnboardingInProgressError as exc:
        assert "orders-pg--aaaaaaaaaaaa" in str(exc)
    # a missing other machine counts as none running
    monkeypatch.setenv("ONBOARDING_STATE_MACHINE_ARN", onboarding.replace(":on", ":gone"))
    assert resolve_offboarding.handler(event, FakeContext())["db_identifier"] == "orders-pg"


# DeleteIamRole ------------------------------------------------------------------------------------
def make_role(iam: Any, target: dict[str, Any], *, db_arn: str | None = None, path: str = "/clickpipes/") -> str:
    name = str(target["role_name"])
    iam.create_role(
        RoleName=name,
        Path=path,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        Tags=[{"Key": rules.DB_ARN_TAG, "Value": db_arn or target["arn"]}],
        PermissionsBoundary=BOUNDARY,
    )
    iam.put_role_policy(RoleName=name, PolicyName=rules.CONNECT_POLICY_NAME, PolicyDocument=allow("rds-db:connect"))
    return name


def test_delete_iam_role_takes_ours_apart_and_a_rerun_does_nothing(
    offboard_target: Any, iam: Any, context: FakeContext
) -> None:
    target = offboard_target()
    iam.create_policy(
        PolicyName="clickpipes-role-boundary",
        Path="/clickpipes/",
        PolicyDocument=allow("rds-db:connect"),
    )
    name = make_role(iam, target)
    plan = delete_iam_role.handler({"target": target | {"plan_only": True}}, context)
    assert plan["changes"] == [
        f"DeleteRolePolicy {name}: {rules.CONNECT_POLICY_NAME}",
        f"DeleteRolePermissionsBoundary {name}: {BOUNDARY}",
        f"DeleteRole /clickpipes/{name}",
    ]
    assert plan["deleted"] is False
    assert iam.get_role(RoleName=name)
    result = delete_iam_role.handler({"target": target}, context)
    assert (result["changes"], result["deleted"]) == (plan["changes"], True)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=name)
    again = delete_iam_role.handler({"target": target}, context)
    assert (again["changes"], again["warnings"], again["deleted"]) == ([], [], False)


@pytest.mark.parametrize(
    "foreign", [{"db_arn": "arn:aws:rds:us-east-1:123456789012:db:someone-else"}, {"path": "/other/"}]
)
def test_delete_iam_role_never_touches_a_role_made_for_another_db(
    offboard_target: Any, iam: Any, context: FakeContext, foreign: dict[str, str]
) -> None:
    target = offboard_target()
    name = make_role(iam, target, **foreign)
    result = delete_iam_role.handler({"target": target}, context)
    assert result["changes"] == []
    assert "was not created for" in result["warnings"][0]
    assert iam.get_role(RoleName=name)
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == [rules.CONNECT_POLICY_NAME]


def test_delete_iam_role_refused_by_iam_is_named(offboard_target: Any, iam: Any) -> None:
    target = OffboardTarget(**offboard_target())
    name = make_role(iam, target.model_dump())
    iam.create_policy(
        PolicyName="extra",
        PolicyDocument=allow("s3:ListBucket"),
    )
    iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::123456789012:policy/extra")
    from clickpipes.steps.offboard_delete_role import delete_iam_role as step

    result = step(target, iam=IamOffboardGateway(), rds=RdsGateway())
    assert not result.deleted
    assert "could not be deleted" in result.warnings[0]
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == []  # it can no longer connect


# DropDbUser (the step; the SQL: tests/integration/test_offboard_db.py) ---------------------------
class FakeDatabase:
    def __init__(self) -> None:
        self.calls: list[tuple[str, AdminCredentials, DbOffboardRequest]] = []

    def offboard(self, family: Any, credentials: AdminCredentials, request: DbOffboardRequest) -> DbOffboardResult:
        self.calls.append((family, credentials, request))
        return DbOffboardResult(user="dropped", changes=[f"DROP USER {request.user}"])


@pytest.mark.parametrize("revert", [False, True])
def test_drop_db_user_passes_the_recorded_retention_only_with_revert_settings(
    offboard_target: Any, secrets: Any, revert: bool
) -> None:
    target = OffboardTarget(**offboard_target("orders-my", "mysql", revert_settings=revert))
    target = target.model_copy(update={"records": {"clickpipes:original-binlog-retention": "NULL"}})
    secrets.put_secret_value(
        SecretId=target.admin_secret_arn, SecretString='{"username": "admin", "password": "pw", "host": "db.local"}'
    )
    database = FakeDatabase()
    result = drop_db_user(
        target,
        rds=RdsGateway(),
        secrets=__import__("clickpipes.aws.secrets", fromlist=["x"]).SecretsGateway(),
        database=database,
    )
    assert result.user == "dropped"
    [(family, credentials, request)] = database.calls
    assert (family, credentials.username, credentials.host) == ("mysql", "admin", "db.local")
    assert request.user == rules.DEFAULT_DB_USER
    assert request.restore_binlog_retention == ("NULL" if revert else None)


def test_drop_db_user_refuses_the_admin_itself(offboard_target: Any, secrets: Any) -> None:
    from clickpipes.aws.secrets import SecretsGateway

    target = OffboardTarget(**offboard_target(db_user="cp_admin"))
    secrets.put_secret_value(
        SecretId=target.admin_secret_arn, SecretString='{"username": "cp_admin", "password": "pw"}'
    )
    with pytest.raises(ProtectedUserError):
        drop_db_user(target, rds=RdsGateway(), secrets=SecretsGateway(), database=FakeDatabase())


# RevertSettings -----------------------------------------------------------------------------------
def onboarded(rds: Any, target: dict[str, Any], **records: str) -> dict[str, Any]:
    """What the onboarding left: IAM auth on, our group attached, its records on the tags."""
    rds.modify_db_instance(
        DBInstanceIdentifier=target["db_identifier"], EnableIAMDatabaseAuthentication=True, ApplyImmediately=True
    )
    ours = rules.cdc_parameter_group_name("instance", target["db_identifier"])
    rds.create_db_parameter_group(DBParameterGroupName=ours, DBParameterGroupFamily="postgres16", Description="ours")
    rds.modify_db_instance(DBInstanceIdentifier=target["db_identifier"], DBParameterGroupName=ours)
    tag(rds, target["arn"], **records)
    return target | {"records": records}


RECORDS = {"clickpipes:iam-auth-enabled-by-us": "true", "clickpipes:original-parameter-group": "default.postgres16"}


def instance(rds: Any, identifier: str) -> dict[str, Any]:
    return dict(rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0])


def test_revert_settings_off_keeps_and_names_them(offboard_target: Any, rds: Any, context: FakeContext) -> None:
    target = onboarded(rds, offboard_target(), **RECORDS)
    result = revert_settings.handler({"target": target}, context)
    assert result["changes"] == []
    assert result["untag"] == []
    assert any("IAM database authentication" in w and "stays on" in w for w in result["warnings"])
    assert any("keeps parameter group" in w and "default.postgres16" in w for w in result["warnings"])
    assert instance(rds, "orders-pg")["IAMDatabaseAuthenticationEnabled"] is True


def test_revert_settings_sets_back_what_the_onboarding_changed(
    offboard_target: Any, rds: Any, context: FakeContext
) -> None:
    target = onboarded(rds, offboard_target(), **RECORDS) | {"revert_settings": True}
    plan = revert_settings.handler({"target": target | {"plan_only": True}}, context)
    assert plan["changes"] == [
        "ModifyInstance(orders-pg): EnableIAMDatabaseAuthentication=false, ApplyImmediately=true",
        "Attach default.postgres16 to instance orders-pg (in effect at the next reboot)",
    ]
    assert plan["untag"] == []
    assert instance(rds, "orders-pg")["IAMDatabaseAuthenticationEnabled"] is True
    result = revert_settings.handler({"target": target}, context)
    assert result["changes"] == plan["changes"]
    assert sorted(result["untag"]) == sorted(RECORDS)
    described = instance(rds, "orders-pg")
    assert described["IAMDatabaseAuthenticationEnabled"] is False
    assert described["DBParameterGroups"][0]["DBParameterGroupName"] == "default.postgres16"
    again = revert_settings.handler({"target": target}, context)
    assert again["changes"] == []


def test_revert_settings_without_records_changes_nothing(offboard_target: Any, rds: Any, context: FakeContext) -> None:
    target = offboard_target(revert_settings=True)
    rds.modify_db_instance(
        DBInstanceIdentifier="orders-pg", EnableIAMDatabaseAuthentication=True, ApplyImmediately=True
    )
    result = revert_settings.handler({"target": target}, context)
    assert (result["changes"], result["warnings"]) == ([], [])
    assert instance(rds, "orders-pg")["IAMDatabaseAuthenticationEnabled"] is True  # someone else turned it on


def test_revert_settings_leaves_iam_auth_on_over_foreign_pending_modifications(offboard_target: Any) -> None:
    from clickpipes.models import DbDescription
    from clickpipes.steps.offboard_revert_settings import revert_settings as step

    target = OffboardTarget(**offboard_target(revert_settings=True)).model_copy(
        update={"records": {"clickpipes:iam-auth-enabled-by-us": "true"}}
    )
    db = RdsGateway().describe("instance", "orders-pg")
    assert db is not None

    class PendingRds(RdsOffboardGateway):
        def describe(self, kind: Any, identifier: str) -> DbDescription | None:
            assert db is not None
            return db.model_copy(update={"iam_auth_enabled": True, "pending_modifications": ["DBInstanceClass"]})

        def disable_iam_auth(self, kind: Any, identifier: str) -> None:
            raise AssertionError("ApplyImmediately would apply the pending instance class change")

    result = step(target, rds=PendingRds())
    assert result.changes == []
    assert "DBInstanceClass" in result.warnings[0]


# RecordOffboarding --------------------------------------------------------------------------------
def test_record_offboarding_tags_and_outputs(offboard_target: Any, rds: Any, context: FakeContext) -> None:
    target = offboard_target(requested_by="arn:aws:iam::123456789012:user/alice")
    tag(
        rds,
        target["arn"],
        **{
            "clickpipes:status": "ready",
            "clickpipes:role-arn": "arn:aws:iam::123456789012:role/clickpipes/x",
            "clickpipes:onboard": "false",
            "clickpipes:iam-auth-enabled-by-us": "true",
            "clickpipes:onboarded-db-user": "clickpipes_iam_user",
        },
    )
    event = {
        "target": target,
        "role": {"role_name": "x", "changes": ["DeleteRole /clickpipes/x"], "deleted": True},
        "db": {"changes": ["DROP ROLE clickpipes_iam_user"], "warnings": ["w"], "user": "dropped"},
        "settings": {"changes": ["ModifyInstance(orders-pg): …"], "untag": ["clickpipes:iam-auth-enabled-by-us"]},
    }
    plan = record_offboarding.handler({**event, "target": target | {"plan_only": True}}, context)
    assert plan["plan_only"] is True
    assert db_tags(rds, target["arn"])["clickpipes:status"] == "ready"  # plan_only: no tag written
    output = record_offboarding.handler(event, context)
    assert output == {
        "db_identifier": "orders-pg",
        "changes": ["DeleteRole /clickpipes/x", "DROP ROLE clickpipes_iam_user", "ModifyInstance(orders-pg): …"],
        "warnings": ["w"],
        "plan_only": False,
        "requested_by": "arn:aws:iam::123456789012:user/alice",
    }
    assert db_tags(rds, target["arn"]) == {
        "clickpipes:status": "offboarded",
        "clickpipes:onboard": "false",  # as the user set it
        "clickpipes:onboarded-db-user": "clickpipes_iam_user",  # a re-run looks for the same user
    }


def test_sample_events_parse() -> None:
    """events/ (what `sam local invoke` uses) holds a valid event for each offboarding function."""
    from clickpipes.offboarding_models import (
        OffboardTargetRequest,
        RecordOffboardingRequest,
        ResolveOffboardingRequest,
    )

    OffboardingInput.model_validate(load_event("offboarding_input.json"))
    ResolveOffboardingRequest.model_validate(load_event("resolve_offboarding.json"))
    for name in ("offboarding_target.json", "delete_iam_role.json", "drop_db_user.json", "revert_settings.json"):
        OffboardTargetRequest.model_validate(load_event(name))
    RecordOffboardingRequest.model_validate(load_event("record_offboarding.json"))


def test_the_onboardings_resolve_target_refuses_while_an_offboarding_runs(make_db: Any) -> None:
    """The real guard (DynamoDB item + DescribeExecution): a running offboarding that holds the DB stops the
    onboarding's ResolveTarget; once it stops, the onboarding takes the DB over."""
    from tests.unit.conftest import GUARD_TABLE, PRINCIPAL, resolve

    make_db("orders-pg")
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    definition = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    offboarding = sfn.create_state_machine(
        name="off", definition=definition, roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    running = sfn.start_execution(
        stateMachineArn=offboarding, name="orders-pg--aaaaaaaaaaaa", input='{"db_identifier": "orders-pg"}'
    )["executionArn"]
    item = {"db": {"S": "123456789012/us-east-1/orders-pg"}, "holder": {"S": running}}
    boto3.client("dynamodb", region_name="us-east-1").put_item(TableName=GUARD_TABLE, Item=item)
    request = {"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL}
    with pytest.raises(OnboardingInProgressError, match="orders-pg--aaaaaaaaaaaa"):
        resolve(request)
    sfn.stop_execution(executionArn=running)
    assert resolve(request)["db_identifier"] == "orders-pg"
