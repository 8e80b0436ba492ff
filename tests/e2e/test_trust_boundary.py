"""The trust boundary on the real state machine: an outside principal, whatever the trigger, changes nothing;
every role the workflow creates carries the stack's boundary; protected users are refused; the requester is
recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.dbs.servers import LocalDbsEnv
from tests.e2e.scenario import PRINCIPAL, ROOT, STATE_MACHINE, create_db, fresh
from tests.harness.local_aws import LocalWorld

pytestmark = pytest.mark.e2e

OUTSIDER = "arn:aws:iam::999988887777:role/CH-S3-orange-ab-12-Role"  # the right name, in nobody's list
EVENTS = Path(ROOT) / "events"


def event(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / name).read_text()))


def untouched(world: LocalWorld, identifier: str) -> None:
    """Nothing of the DB changed: IAM auth still off, no role, no execution that got past ResolveTarget."""
    db = world.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    assert db["IAMDatabaseAuthenticationEnabled"] is False
    roles = world.client("iam").list_roles(PathPrefix="/clickpipes/")["Roles"]
    assert not [r for r in roles if identifier in r["RoleName"]]


def executions_of(world: LocalWorld, identifier: str) -> list[dict[str, Any]]:
    arn = world.state_machine_arn(STATE_MACHINE)
    return [
        dict(e)
        for e in world.sfn.list_executions(stateMachineArn=arn)["executions"]
        if e["name"].startswith(identifier)
    ]


def db_tags(world: LocalWorld, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in world.rds.list_tags_for_resource(ResourceName=arn)["TagList"]}


def test_direct_start_with_an_outside_principal_changes_nothing(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("tb-direct")
    db = create_db(world, local_dbs, "postgres", identifier)
    request = {"db_identifier": identifier, "clickhouse_role_arn": OUTSIDER, "db_user": user}
    result = world.run(STATE_MACHINE, request, timeout=60)
    assert (result.status, result.error) == ("FAILED", "PrincipalNotAllowedError")
    assert "AllowedClickHousePrincipals" in (result.cause or "")
    assert [s.name for s in result.steps if s.name not in ("Start", "Failed")] == ["ResolveTarget", "RecordFailure"]
    untouched(world, identifier)
    assert db_tags(world, db["DBInstanceArn"])["clickpipes:error"] == "PrincipalNotAllowedError"


def test_api_with_an_outside_principal_is_403_and_starts_nothing(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, _ = fresh("tb-api")
    create_db(world, local_dbs, "postgres", identifier)
    request = event("api_post_onboarding.json")
    request["body"] = json.dumps({"db_identifier": identifier, "clickhouse_role_arn": OUTSIDER})
    response = world.invoke("ApiFunction", request).payload
    assert response["statusCode"] == 403
    assert json.loads(response["body"])["error"] == "PrincipalNotAllowedError"
    assert executions_of(world, identifier) == []
    untouched(world, identifier)


def test_a_tag_naming_an_outside_principal_starts_nothing(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, _ = fresh("tb-tag")
    db = create_db(world, local_dbs, "postgres", identifier)
    arn = db["DBInstanceArn"]
    tags = {"clickpipes:onboard": "true", "clickpipes:clickhouse-role-arn": OUTSIDER}
    world.rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    tag_event = event("tag_cloudtrail.json")
    tag_event["detail"]["requestParameters"]["resourceName"] = arn
    result = world.invoke("TagTriggerFunction", tag_event).payload
    assert result["started"] is None
    assert executions_of(world, identifier) == []
    untouched(world, identifier)
    assert db_tags(world, arn) | tags == db_tags(world, arn)
    assert (db_tags(world, arn)["clickpipes:status"], db_tags(world, arn)["clickpipes:error"]) == (
        "failed",
        "PrincipalNotAllowedError",
    )


@pytest.mark.parametrize("user", ["master", "rdsadmin"])
def test_the_master_user_and_reserved_names_are_refused(world: LocalWorld, local_dbs: LocalDbsEnv, user: str) -> None:
    identifier, _ = fresh("tb-user")
    create_db(world, local_dbs, "postgres", identifier)
    request = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user}
    result = world.run(STATE_MACHINE, request, timeout=60)
    assert (result.status, result.error) == ("FAILED", "ProtectedUserError")
    untouched(world, identifier)


def test_every_created_role_carries_the_stacks_boundary(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("tb-boundary")
    create_db(world, local_dbs, "mariadb", identifier)
    request = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, "cdc": False}
    result = world.run(STATE_MACHINE, {**request, "requested_by": "arn:aws:iam::123456789012:user/alice"}, timeout=120)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output["requested_by"] == "arn:aws:iam::123456789012:user/alice"
    iam = world.client("iam")
    role = iam.get_role(RoleName=result.output["role_arn"].rsplit("/", 1)[1])["Role"]
    boundary = role["PermissionsBoundary"]["PermissionsBoundaryArn"]
    stack = world.deployments[0].app.context.stack_name
    assert boundary == f"arn:aws:iam::{world.account_id}:policy/clickpipes/{stack}-role-boundary"
    assert {t["Key"]: t["Value"] for t in role["Tags"]}[
        "clickpipes:requested-by"
    ] == "arn:aws:iam::123456789012:user/alice"
    # the boundary is the stack's policy, and it allows rds-db:connect and nothing else
    version = iam.get_policy(PolicyArn=boundary)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=boundary, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(unquote(document)) if isinstance(document, str) else document
    assert [(s["Effect"], s["Action"]) for s in document["Statement"]] == [("Allow", "rds-db:connect")]
    # every region of the account: a fleet onboards DBs in the regions its selector names
    assert document["Statement"][0]["Resource"] == f"arn:aws:rds-db:*:{world.account_id}:dbuser:*/*"


def test_pending_modifications_are_refused_before_any_change(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    """EnableIamAuth's ApplyImmediately would apply the owner's scheduled instance class change now: refused."""
    identifier, user = fresh("tb-pending")
    create_db(world, local_dbs, "postgres", identifier)
    world.rds.modify_db_instance(DBInstanceIdentifier=identifier, DBInstanceClass="db.r6g.large")  # for the window
    request = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, "cdc": False}

    refused = world.run(STATE_MACHINE, request, timeout=60)

    assert (refused.status, refused.error) == ("FAILED", "PendingModificationsError")
    assert "DBInstanceClass" in (refused.cause or "")
    assert "apply_pending_modifications" in (refused.cause or "")
    untouched(world, identifier)
    db = world.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    assert (db["DBInstanceClass"], db["PendingModifiedValues"]) == ("db.t3.micro", {"DBInstanceClass": "db.r6g.large"})

    applied = world.run(STATE_MACHINE, {**request, "apply_pending_modifications": True}, timeout=120)

    assert applied.status == "SUCCEEDED", (applied.error, applied.cause)
    assert any("DBInstanceClass" in w and "apply_pending_modifications" in w for w in applied.output["warnings"])
    db = world.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    assert db["DBInstanceClass"] == "db.r6g.large"  # ApplyImmediately applied it, as the operator allowed
