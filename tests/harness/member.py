"""Deploy member/template.yaml into one moto account, as a StackSets stack instance per region would.

moto keeps one backend per account; credentials that ``sts:AssumeRole`` returns for a role ARN of account X act in
X (moto takes the account from the role ARN). So the member's resources are created with credentials of that
account, and the central functions reach them the same way: by assuming ``MemberRoleName`` there.

What a stack instance creates, per the template's conditions: in ``IamRegion`` the boundary, the execution role
(trust, inline policies) and the forwarding role; in every region the two EventBridge rules with their target, the
central account's default bus. moto's STS does not evaluate the trust policy: tests/harness/test_member.py checks
the document itself against the central stack's roles.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import boto3

from tests.harness.helpers import account_session
from tests.harness.template import AwsContext, SamApp, load_template

MEMBER_TEMPLATE: Final = Path(__file__).resolve().parents[2] / "member" / "template.yaml"
DEFAULT_MEMBER_ROLE: Final = "clickpipes-iam-member"


@dataclass(frozen=True)
class MemberStack:
    """What deploy_member created in one account."""

    account_id: str
    role_arn: str
    boundary_arn: str
    regions: tuple[str, ...]
    rules: Mapping[str, list[str]] = field(default_factory=dict)  # region -> rule names


def deploy_member(
    world: Any,
    account_id: str,
    *,
    central_role_arns: Iterable[str] | None = None,
    member_role_name: str = DEFAULT_MEMBER_ROLE,
    regions: Iterable[str] | None = None,
    iam_region: str | None = None,
    admin_secret_arns: Iterable[str] = (),
) -> MemberStack:
    """Create the member template's resources in ``account_id`` for each of ``regions`` (default: the world's).
    ``central_role_arns`` defaults to the identity the world's functions call AWS with (they run in this process
    with its credentials: moto's user; on AWS, the central output MemberCallerRoleArns)."""
    regions = tuple(regions or (world.region,))
    iam_region = iam_region or regions[0]
    callers = list(central_role_arns or [world.client("sts").get_caller_identity()["Arn"]])
    overrides = {
        "CentralAccountId": world.account_id,
        "CentralRegion": world.region,
        "CentralRoleArns": ",".join(callers),
        "MemberRoleName": member_role_name,
        "IamRegion": iam_region,
        "AdminSecretArns": ",".join(admin_secret_arns),
    }
    role_arn = boundary_arn = ""
    rules: dict[str, list[str]] = {}
    for region in (iam_region, *[r for r in regions if r != iam_region]):
        app = load_template(MEMBER_TEMPLATE, overrides, context=AwsContext(account_id=account_id, region=region))
        # what an administrator of that account would use: the credentials StackSets' execution role has there
        session = account_session(account_id, region, role="AWSCloudFormationStackSetExecutionRole")
        if app.conditions.get("IsIamRegion"):
            role_arn, boundary_arn = _iam_resources(app, session)
        rules[region] = _rules(app, session)
    return MemberStack(account_id, role_arn, boundary_arn, regions, rules)


def _iam_resources(app: SamApp, session: boto3.session.Session) -> tuple[str, str]:
    iam = session.client("iam")
    arns: dict[str, str] = {}
    for logical_id, resource in app.resources_of("AWS::IAM::ManagedPolicy").items():
        props = app.resolve(resource["Properties"])
        arns[logical_id] = iam.create_policy(
            PolicyName=props["ManagedPolicyName"],
            Path=props.get("Path", "/"),
            PolicyDocument=json.dumps(props["PolicyDocument"]),
            Description=props.get("Description", ""),
        )["Policy"]["Arn"]
    for logical_id, resource in app.resources_of("AWS::IAM::Role").items():
        props = app.resolve(resource["Properties"], arns)
        arns[logical_id] = iam.create_role(
            RoleName=props["RoleName"],
            Path=props.get("Path", "/"),
            AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]),
            Description=props.get("Description", ""),
            MaxSessionDuration=int(props.get("MaxSessionDuration", 3600)),
        )["Role"]["Arn"]
        for policy in props.get("Policies", []):
            iam.put_role_policy(
                RoleName=props["RoleName"],
                PolicyName=policy["PolicyName"],
                PolicyDocument=json.dumps(policy["PolicyDocument"]),
            )
    return arns["MemberRole"], arns["MemberRoleBoundary"]


def _rules(app: SamApp, session: boto3.session.Session) -> list[str]:
    events = session.client("events")
    names = []
    for logical_id, resource in app.resources_of("AWS::Events::Rule").items():
        props = app.resolve(resource["Properties"])
        events.put_rule(
            Name=logical_id, EventPattern=json.dumps(props["EventPattern"]), Description=props.get("Description", "")
        )
        events.put_targets(
            Rule=logical_id,
            Targets=[{"Id": t["Id"], "Arn": t["Arn"], "RoleArn": t["RoleArn"]} for t in props["Targets"]],
        )
        names.append(logical_id)
    return names
