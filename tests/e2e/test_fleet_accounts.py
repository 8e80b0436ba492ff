"""e2e: many accounts and regions on the local world (moto's multi-account: credentials assumed in an account act
there), with AWS's rate limits on. The central stack takes MemberRoleName and MemberAccounts; each member account
has the member template's resources (tests/harness/member.py: its role, trusting MemberCallerRoleArns, and its
boundary). A fleet over a tag selector across
3 accounts x 2 regions is onboarded by the real state machines, each DB's role made in the DB's own account with
that account's boundary; a single member DB is onboarded and offboarded by its ARN; an account outside
MemberAccounts is refused (AccountNotAllowedError) with nothing changed."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest

from tests.dbs.servers import LocalDbsEnv
from tests.e2e.scenario import ENGINES, PRINCIPAL, create_db, deploy, fresh, login_with_token
from tests.harness.helpers import InAccount
from tests.harness.local_aws import LocalWorld
from tests.harness.member import DEFAULT_MEMBER_ROLE, deploy_member

pytestmark = pytest.mark.e2e
FLEET = "FleetOnboardingStateMachine"
HOME = "123456789012"  # the world's account: the central stack's
MEMBERS = ("210987654321", "310987654321")
OUTSIDER = "999999999999"  # has no member role, and is not in MemberAccounts
REGIONS = ("us-east-1", "us-west-2")
MEMBER_ROLE = DEFAULT_MEMBER_ROLE
PER_PAIR = int(os.environ.get("FLEET_ACCOUNTS_E2E_PER_PAIR", "8"))  # 6 pairs: 48 DBs (the CI fleet across accounts)
TAG_KEY = "team"


@pytest.fixture(scope="module")
def world(local_dbs: LocalDbsEnv) -> Iterator[LocalWorld]:
    with LocalWorld(rate_limits=True) as local_world:
        deploy(
            local_world,
            local_dbs,
            FleetMaxConcurrency=12,
            MemberRoleName=MEMBER_ROLE,
            MemberAccounts=list(MEMBERS),
        )
        callers = local_world.deployments[-1].app.output("MemberCallerRoleArns").split(",")
        for account in MEMBERS:  # the member template, trusting exactly the central output MemberCallerRoleArns
            deploy_member(local_world, account, central_role_arns=callers, regions=REGIONS)
        yield local_world


def db_arn(db: dict[str, Any]) -> str:
    return str(db.get("DBClusterArn") or db["DBInstanceArn"])


def expected_boundary(account: str) -> str:
    if account == HOME:
        return "local-role-boundary"
    return f"arn:aws:iam::{account}:policy/{MEMBER_ROLE}-boundary"


def test_a_fleet_across_three_accounts_and_two_regions(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    tag, user = fresh("accounts")
    engines = list(ENGINES)
    made: dict[str, tuple[InAccount, str]] = {}  # DB ARN -> where, engine
    for i, (account, region) in enumerate((a, r) for a in (HOME, *MEMBERS) for r in REGIONS):
        place = InAccount(world, account, region)
        for j in range(PER_PAIR):
            engine = engines[(i * PER_PAIR + j) % len(engines)]
            identifier, _ = fresh(f"ac{i}{j}")
            arn = db_arn(create_db(cast("LocalWorld", place), local_dbs, engine, identifier))
            place.rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": TAG_KEY, "Value": tag}])
            made[arn] = (place, engine)
    request = {
        "tag": {"key": TAG_KEY, "value": tag},
        "accounts": [HOME, *MEMBERS],
        "regions": list(REGIONS),
        "clickhouse_role_arn": PRINCIPAL,
        "db_user": user,
        "cdc": False,
    }

    t0 = time.perf_counter()
    result = world.run(FLEET, request, timeout=600)
    elapsed = time.perf_counter() - t0

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    summary = result.output
    assert (summary["total"], summary["succeeded"], summary["failed"]) == (len(made), len(made), 0), summary
    children = {db["arn"]: db for db in summary["databases"]}
    assert set(children) == set(made)
    for arn, (place, _engine) in made.items():
        role_arn = children[arn]["role_arn"]
        assert role_arn.split(":")[4] == place.account, (arn, role_arn)  # made in the DB's own account
        role = place.client("iam").get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
        assert role["Path"] == "/clickpipes/"
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith(expected_boundary(place.account))
        assert {t["Key"]: t["Value"] for t in role["Tags"]}["clickpipes:db-arn"] == arn
        trust = role["AssumeRolePolicyDocument"]
        assert [s["Principal"]["AWS"] for s in trust["Statement"]] == [PRINCIPAL]
        policy = place.client("iam").get_role_policy(RoleName=role["RoleName"], PolicyName="clickpipes-rds-db-connect")
        resources = [r for s in policy["PolicyDocument"]["Statement"] for r in s["Resource"]]
        assert resources, policy
        assert all(r.startswith(f"arn:aws:rds-db:{place.region}:{place.account}:dbuser:") for r in resources), resources
    for engine in ENGINES:  # the user logs in with an IAM token (one server per engine family)
        assert login_with_token(local_dbs, engine, user) == user
    assumed = result.api_calls["sts.AssumeRole"]
    assert assumed <= len(MEMBERS), assumed  # once per member account per container (here: one process)
    assert world.rate_limits is not None
    print(
        f"\nfleet of {len(made)} in 6 accountsxregions: {elapsed:.1f} s, throttled {dict(world.rate_limits.throttled)}"
    )
    assert elapsed < 120


def test_a_member_db_is_onboarded_and_offboarded_by_its_arn(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    place = InAccount(world, MEMBERS[1], "us-west-2")
    identifier, user = fresh("member")
    arn = db_arn(create_db(cast("LocalWorld", place), local_dbs, "postgres", identifier))

    onboarded = world.run(
        "OnboardingStateMachine",
        {"db_identifier": arn, "clickhouse_role_arn": PRINCIPAL, "db_user": user, "cdc": False},
    )
    assert onboarded.status == "SUCCEEDED", (onboarded.error, onboarded.cause)
    role_name = onboarded.output["role_arn"].rsplit("/", 1)[-1]
    assert onboarded.output["role_arn"].split(":")[4] == MEMBERS[1]
    role = place.client("iam").get_role(RoleName=role_name)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == expected_boundary(MEMBERS[1])
    db = place.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    assert db["IAMDatabaseAuthenticationEnabled"] is True
    assert {t["Key"]: t["Value"] for t in db["TagList"]}["clickpipes:status"] == "ready"
    assert login_with_token(local_dbs, "postgres", user) == user

    offboarded = world.run("OffboardingStateMachine", {"db_identifier": arn, "revert_settings": True})
    assert offboarded.status == "SUCCEEDED", (offboarded.error, offboarded.cause)
    roles = place.client("iam").list_roles(PathPrefix="/clickpipes/")["Roles"]
    assert role_name not in {r["RoleName"] for r in roles}
    db = place.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    assert db["IAMDatabaseAuthenticationEnabled"] is False


def test_an_account_outside_member_accounts_is_refused_and_nothing_changes(
    world: LocalWorld, local_dbs: LocalDbsEnv
) -> None:
    outsider = InAccount(world, OUTSIDER, "us-east-1")
    identifier, user = fresh("outsider")
    arn = db_arn(create_db(cast("LocalWorld", outsider), local_dbs, "postgres", identifier))
    outsider.rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": TAG_KEY, "Value": "outside"}])
    assumed_before = world.api_calls["sts.AssumeRole"]

    single = world.run("OnboardingStateMachine", {"db_identifier": arn, "clickhouse_role_arn": PRINCIPAL})
    assert (single.status, single.error) == ("FAILED", "AccountNotAllowedError")
    assert f"account {OUTSIDER} is not in MemberAccounts" in (single.cause or "")
    fleet = world.run(
        FLEET, {"tag": {"key": TAG_KEY, "value": "outside"}, "accounts": [OUTSIDER], "clickhouse_role_arn": PRINCIPAL}
    )
    assert (fleet.status, fleet.error) == ("FAILED", "AccountNotAllowedError")
    event = {  # a forwarded tag change of a DB of an account that is not a member
        "id": "e-1",
        "account": OUTSIDER,
        "source": "aws.tag",
        "time": "2026-12-02T05:00:00Z",
        "resources": [arn],
        "detail": {"changed-tag-keys": ["clickpipes:onboard"], "tags": {"clickpipes:onboard": "true"}},
    }
    outsider.rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "clickpipes:onboard", "Value": "true"}])
    tagged = world.invoke("TagTriggerFunction", event)
    assert tagged.function_error is None, tagged.payload
    assert tagged.payload["started"] is None
    assert "is not in MemberAccounts" in tagged.payload["reason"]

    assert world.api_calls["sts.AssumeRole"] == assumed_before  # no call into that account was even tried
    db = outsider.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    assert db["IAMDatabaseAuthenticationEnabled"] is False
    tags = {t["Key"]: t["Value"] for t in db["TagList"]}
    assert "clickpipes:status" not in tags
    assert outsider.client("iam").list_roles(PathPrefix="/clickpipes/")["Roles"] == []
    assert user  # never created: no DB step ran
