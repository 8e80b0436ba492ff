"""deploy_member puts member/template.yaml's resources into a second moto account, and the member role's
credentials act in that account (what the central functions rely on)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .helpers import account_session, session_with
from .local_aws import LocalWorld
from .member import deploy_member

MEMBER = "210987654321"
CALLER = "arn:aws:iam::123456789012:role/central-CreateIamRoleFunctionRole-1"


def test_the_member_stack_lands_in_its_own_account(world: LocalWorld) -> None:
    stack = deploy_member(world, MEMBER, central_role_arns=[CALLER], regions=["us-east-1", "eu-west-1"])
    assert stack.role_arn == f"arn:aws:iam::{MEMBER}:role/clickpipes-iam-member"
    assert stack.boundary_arn == f"arn:aws:iam::{MEMBER}:policy/clickpipes-iam-member-boundary"

    iam = account_session(MEMBER, "us-east-1").client("iam")
    role = iam.get_role(RoleName="clickpipes-iam-member")["Role"]
    document: Any = role["AssumeRolePolicyDocument"]
    trust = json.loads(document) if isinstance(document, str) else document
    assert trust["Statement"][0]["Condition"] == {"ArnEquals": {"aws:PrincipalArn": [CALLER]}}
    assert set(iam.list_role_policies(RoleName="clickpipes-iam-member")["PolicyNames"]) == {"rds", "secrets", "iam"}
    iam.get_role(RoleName="clickpipes-iam-member-forwarder")
    # nothing of it in the central account
    assert not [r for r in world.client("iam").list_roles()["Roles"] if r["RoleName"].startswith("clickpipes-iam")]

    for region in ("us-east-1", "eu-west-1"):
        events = account_session(MEMBER, region).client("events")
        names = {r["Name"] for r in events.list_rules()["Rules"]}
        assert names == {"TagChangeForwarding", "CloudTrailAddTagsForwarding"}
        (target,) = events.list_targets_by_rule(Rule="TagChangeForwarding")["Targets"]
        assert target["Arn"] == "arn:aws:events:us-east-1:123456789012:event-bus/default"
    assert stack.rules == {
        r: ["TagChangeForwarding", "CloudTrailAddTagsForwarding"] for r in ("us-east-1", "eu-west-1")
    }


def test_only_the_central_callers_may_assume_the_member_role(world: LocalWorld) -> None:
    deploy_member(world, MEMBER, central_role_arns=[CALLER])  # not the identity this process calls with
    with pytest.raises(ClientError, match="not authorized to perform: sts:AssumeRole"):
        world.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{MEMBER}:role/clickpipes-iam-member", RoleSessionName="CreateIamRoleFunction"
        )


def test_the_member_roles_credentials_act_in_the_member_account(world: LocalWorld) -> None:
    deploy_member(world, MEMBER)  # trusting the identity the world's functions call AWS with
    creds = world.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{MEMBER}:role/clickpipes-iam-member", RoleSessionName="CreateIamRoleFunction"
    )["Credentials"]
    session = session_with(creds, "us-east-1")
    assert session.client("sts").get_caller_identity()["Account"] == MEMBER
    boundary = f"arn:aws:iam::{MEMBER}:policy/clickpipes-iam-member-boundary"
    session.client("iam").get_policy(PolicyArn=boundary)
