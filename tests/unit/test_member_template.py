"""member/template.yaml grants the member role exactly what the central functions do to a DB's account (their own
policies in template.yaml, with the account the member's and any region), trusts only the central function roles,
and caps every role created there with its own boundary. moto checks no IAM: these tests are the check."""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from tests.harness.template import AwsContext, SamApp, load_template
from tests.unit.test_template_policies import GUARDED, NEVER, actions, statements

ROOT = Path(__file__).resolve().parents[2]
CENTRAL, MEMBER_ACCOUNT = "123456789012", "210987654321"
CALLERS = [f"arn:aws:iam::{CENTRAL}:role/central-ResolveTargetFunctionRole-1", f"arn:aws:iam::{CENTRAL}:role/x/y"]
# what the central functions touch in a DB's account; the rest (Step Functions, DynamoDB, the stack's own
# secrets and events) stays in the central account
DB_SERVICES = ("rds:", "iam:", "secretsmanager:", "kms:")


def member(region: str = "eu-west-1", **overrides: str) -> SamApp:
    """The member template as a stack instance in ``region`` of MEMBER_ACCOUNT resolves it (IamRegion eu-west-1)."""
    parameters = {
        "CentralAccountId": CENTRAL,
        "CentralRegion": "us-east-1",
        "CentralRoleArns": ",".join(CALLERS),
        "IamRegion": "eu-west-1",
        **overrides,
    }
    return load_template(
        ROOT / "member" / "template.yaml", parameters, context=AwsContext(account_id=MEMBER_ACCOUNT, region=region)
    )


def role_statements(app: SamApp) -> list[dict[str, Any]]:
    props = app.resolve(app.resources["MemberRole"]["Properties"], {"MemberRoleBoundary": boundary_arn()})
    return [s for p in props["Policies"] for s in p["PolicyDocument"]["Statement"]]


def boundary_arn() -> str:
    return f"arn:aws:iam::{MEMBER_ACCOUNT}:policy/clickpipes-iam-member-boundary"


def as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def central_needs() -> set[tuple[str, str]]:
    """(action, resource) of every central Allow on a DB-account service, the resource moved to the member account
    and to another region; the ClickHouse API key secret, the state seal's key (read in the stack's own account)
    and the central stack's boundary policy excepted."""
    app = load_template(
        ROOT / "template.yaml", {"AdminSecretArns": [f"arn:aws:secretsmanager:us-east-1:{CENTRAL}:secret:a"]}
    )
    api_key = app.resolve({"Ref": "ClickHouseApiKeySecretArn"})
    seal_key = app.resolve({"Ref": "StateSealSecret"})
    needs: set[tuple[str, str]] = set()
    for function in app.functions:
        for statement in statements(app, function):
            for action in actions(statement):
                if not action.startswith(DB_SERVICES):
                    continue
                for resource in as_list(statement["Resource"]):
                    if resource in (api_key, seal_key) or (
                        action == "secretsmanager:GetSecretValue" and ":secret:a" in resource
                    ):
                        continue  # the stack's own API key and seal key; the operator's central admin secret
                    if action in ("rds:DescribeDBInstances", "rds:DescribeDBClusters") and "pg:" in resource:
                        continue  # RevertSettings lists its Describe beside Modify on the groups: no such resource
                    moved = resource.replace(f":{CENTRAL}:", f":{MEMBER_ACCOUNT}:").replace(
                        ":us-east-1:", ":ap-south-1:"
                    )
                    needs.add((action, moved))
    return needs


def allows(granted: list[dict[str, Any]], action: str, resource: str) -> bool:
    return any(
        s["Effect"] == "Allow"
        and any(fnmatchcase(action, a) for a in as_list(s["Action"]))
        and any(fnmatchcase(resource, r) for r in as_list(s["Resource"]))
        for s in granted
    )


def test_the_member_role_can_do_what_the_central_functions_do_in_a_db_account() -> None:
    granted = role_statements(member())
    missing = sorted(need for need in central_needs() if not allows(granted, *need))
    assert not missing


def test_the_member_role_grants_nothing_the_central_functions_do_not_use() -> None:
    used = {action for action, _ in central_needs()}
    granted = {a for s in role_statements(member()) for a in as_list(s["Action"])}
    assert granted <= used, granted - used
    assert not granted & NEVER
    assert not any(a.endswith("*") for a in granted)


def test_roles_are_created_there_only_under_the_member_boundary() -> None:
    app = member()
    for statement in role_statements(app):
        granted = set(as_list(statement["Action"]))
        if granted & GUARDED:
            assert granted <= GUARDED
            assert statement["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": boundary_arn()}}
        if any(a.startswith("iam:") and a != "iam:ListRoles" for a in granted):
            assert statement["Resource"] == f"arn:aws:iam::{MEMBER_ACCOUNT}:role/clickpipes/*"
    boundary = app.resolve(app.resources["MemberRoleBoundary"]["Properties"])
    assert boundary["ManagedPolicyName"] == "clickpipes-iam-member-boundary"
    assert boundary["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": "rds-db:connect", "Resource": f"arn:aws:rds-db:*:{MEMBER_ACCOUNT}:dbuser:*/*"}
    ]


def test_only_the_central_function_roles_may_assume_the_member_role() -> None:
    app = member()
    trust = app.resolve(app.resources["MemberRole"]["Properties"])["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{CENTRAL}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": CALLERS}},
        }
    ]


@pytest.mark.parametrize(("region", "iam"), [("eu-west-1", True), ("us-west-2", False)])
def test_iam_resources_once_per_account_rules_in_every_region(region: str, iam: bool) -> None:
    app = member(region, CentralRoleArns=CALLERS[0])
    assert app.conditions["IsIamRegion"] is iam
    for name in ("TagChangeForwarding", "CloudTrailAddTagsForwarding"):
        props = app.resolve(app.resources[name]["Properties"])
        assert props["Targets"] == [
            {
                "Id": "central",
                "Arn": f"arn:aws:events:us-east-1:{CENTRAL}:event-bus/default",
                "RoleArn": f"arn:aws:iam::{MEMBER_ACCOUNT}:role/clickpipes-iam-member-forwarder",
            }
        ]


def test_the_forwarding_rules_match_what_the_central_tag_trigger_listens_for() -> None:
    central_app = load_template(ROOT / "template.yaml")
    central = central_app.functions["TagTriggerFunction"].properties["Events"]
    app = member()
    tag_change = app.resolve(app.resources["TagChangeForwarding"]["Properties"])["EventPattern"]
    assert tag_change == central["TagChange"]["Properties"]["Pattern"]
    trail = app.resolve(app.resources["CloudTrailAddTagsForwarding"]["Properties"])["EventPattern"]
    central_trail = central_app.resolve(central["CloudTrailAddTags"]["Properties"]["Pattern"])
    assert {k: v for k, v in trail["detail"].items() if k != "requestParameters"} == {
        k: v for k, v in central_trail["detail"].items() if k != "requestParameters"
    }
    assert trail["detail"]["requestParameters"]["resourceName"] == [
        {"prefix": f"arn:aws:rds:eu-west-1:{MEMBER_ACCOUNT}:db:"},
        {"prefix": f"arn:aws:rds:eu-west-1:{MEMBER_ACCOUNT}:cluster:"},
    ]


def test_exactly_the_functions_the_member_role_trusts_may_assume_it() -> None:
    """MemberRoleAccess is attached to the functions whose roles the output MemberCallerRoleArns lists, and only
    with MemberRoleName and MemberAccounts: one list of callers, on both sides of the trust."""
    members = {"MemberRoleName": "clickpipes-iam-member", "MemberAccounts": [MEMBER_ACCOUNT]}
    app = load_template(ROOT / "template.yaml", members)
    access = app.resolve({"Ref": "MemberRoleAccess"})
    attached = {fn for fn, spec in app.functions.items() if access in app.resolve(spec.properties.get("Policies", []))}
    roles = {app.resolve({"Fn::GetAtt": [f"{fn}Role", "Arn"]}) for fn in attached}
    assert roles == set(app.output("MemberCallerRoleArns").split(","))
    assert "MemberRoleAccess" in app.resources_of("AWS::IAM::ManagedPolicy")
    policy = app.resolve(app.resources["MemberRoleAccess"]["Properties"])["PolicyDocument"]
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": "arn:aws:iam::*:role/clickpipes-iam-member",
            "Condition": {"StringEquals": {"aws:ResourceAccount": [MEMBER_ACCOUNT]}},
        }
    ]

    alone = load_template(ROOT / "template.yaml")  # one account: no policy, attached nowhere
    assert "MemberRoleAccess" not in alone.resources_of("AWS::IAM::ManagedPolicy")
    for spec in alone.functions.values():
        assert access not in alone.resolve(spec.properties.get("Policies", [])), spec.logical_id
