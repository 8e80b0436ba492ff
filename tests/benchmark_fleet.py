"""Fleet benchmark (part of `make benchmark`): DBs per minute for fleets of 10, 50 and 200 DBs spread over 3 accounts
(the stack's and 2 member accounts, their member role in place) x 2 regions, the simulated RDS apply time held fixed,
beside the same DBs applied 10 at a time (Terraform's default parallelism) and one at a time (the runbook), all
through FleetOnboardingStateMachine (MaxConcurrency 200, 10 and 1) with AWS's rate limits on; and the AWS API calls
per DB (AssumeRole included), which must stay flat as the fleet grows. Every run must succeed for every DB, each DB's
role checked in its own account (path, boundary, db-arn tag, rds-db:connect on that account and region), and the
DB user must log in with an IAM token.

Every DB reports "modifying" for MODIFYING_POLLS status checks after EnableIamAuth (the wait loop's 5 + 5 + 10 s:
RDS applying the change in about 20 s), with the Waits really slept at WAIT_SCALE of their length. Handlers run one
at a time here (one process), so the local fleet is bound by their CPU time where AWS runs them in parallel:
the local ratios understate the fleet's speed-up. One at a time is measured on SERIAL_SAMPLE DBs (its DBs per
minute do not depend on the fleet's size).

``BENCH_FLEET_ACCOUNTS=1``: instead, one fleet of BENCH_FLEET_ACCOUNTS_SIZE (200) DBs spread over 3 accounts (the
stack's and 2 member accounts, their member role in place) x 2 regions, beside the same number of DBs in the
stack's own account and region: DBs per minute and AWS API calls per DB (AssumeRole included) for both.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from tests.dbs.servers import LocalDbsEnv, load_env
from tests.e2e.scenario import PRINCIPAL, create_db, deploy, login_with_token
from tests.e2e.test_fleet_accounts import HOME, MEMBER_ROLE, MEMBERS, REGIONS, expected_boundary
from tests.harness.helpers import InAccount
from tests.harness.local_aws import LocalWorld
from tests.harness.member import deploy_member

FLEET = "FleetOnboardingStateMachine"
SIZES = [int(n) for n in os.environ.get("BENCH_FLEET_SIZES", "10,50,200").split(",")]
MODIFYING_POLLS = 3
WAIT_SCALE = float(os.environ.get("BENCH_FLEET_WAIT_SCALE", "0.1"))  # 20 s of RDS apply -> 2 s here
SERIAL_SAMPLE = int(os.environ.get("BENCH_FLEET_SERIAL", "5"))
FLEET_CONCURRENCY = 200


def _fleet_of(world: LocalWorld, env: LocalDbsEnv, count: int, places: list[InAccount] | None = None) -> str:
    """``count`` fresh PostgreSQL instances tagged bench-fleet=<tag>, each set to take the fixed apply time (in
    ``places`` in turn: accounts and regions; default the world's own)."""
    tag = uuid.uuid4().hex[:8]
    for i in range(count):
        identifier = f"bf{i}-{tag}"
        where: Any = places[i % len(places)] if places else world
        db = create_db(where, env, "postgres", identifier)
        where.rds.add_tags_to_resource(ResourceName=db["DBInstanceArn"], Tags=[{"Key": "bench-fleet", "Value": tag}])
        # ResolveFleet's listing and ResolveTarget see it available (EnableIamAuth acts on its seal), then it applies
        world.feed_statuses(identifier, ["available"] * 2 + ["modifying"] * MODIFYING_POLLS, kind="instance")
    return tag


def _run(
    world: LocalWorld, env: LocalDbsEnv, count: int, concurrency: int, places: list[InAccount] | None = None
) -> tuple[float, float]:
    """(DBs per minute, AWS API calls per DB) of one fleet of ``count`` DBs at ``concurrency``; every DB onboarded
    and its role checked."""
    tag = _fleet_of(world, env, count, places)
    body: dict[str, Any] = {
        "tag": {"key": "bench-fleet", "value": tag},
        "clickhouse_role_arn": PRINCIPAL,
        "db_user": "bench_fleet",
        "cdc": False,
        "max_concurrency": concurrency,
    }
    if places:
        body |= {"accounts": sorted({p.account for p in places}), "regions": sorted({p.region for p in places})}
    before = world.api_calls
    t0 = time.perf_counter()
    result = world.run(FLEET, body, timeout=3600)
    elapsed = time.perf_counter() - t0
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    summary = result.output
    assert (summary["total"], summary["succeeded"], summary["failed"]) == (count, count, 0), summary
    calls = sum((world.api_calls - before).values())
    _check_roles(world, summary["databases"], places)
    return count / elapsed * 60, calls / count


def _check_roles(world: LocalWorld, databases: list[dict[str, Any]], places: list[InAccount] | None) -> None:
    """Each DB's role, in the DB's own account: path, that account's boundary, its DB ARN tag, and rds-db:connect
    on that account and region only."""
    where = {(p.account, p.region): p for p in places or []}
    for db in databases:
        _, _, _, region, account, *_ = db["arn"].split(":")
        place: Any = where.get((account, region), world)
        role_arn = db["role_arn"]
        assert role_arn.split(":")[4] == account, (db["arn"], role_arn)
        iam = place.client("iam")
        role = iam.get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
        assert role["Path"] == "/clickpipes/", role
        assert role["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith(expected_boundary(account)), role
        assert {t["Key"]: t["Value"] for t in role["Tags"]}["clickpipes:db-arn"] == db["arn"], role
        policy = iam.get_role_policy(RoleName=role["RoleName"], PolicyName="clickpipes-rds-db-connect")
        resources = [r for s in policy["PolicyDocument"]["Statement"] for r in s["Resource"]]
        assert resources, policy
        assert all(r.startswith(f"arn:aws:rds-db:{region}:{account}:dbuser:") for r in resources), policy


def _spread_world(world: LocalWorld, env: LocalDbsEnv) -> list[InAccount]:
    """The stack with MemberRoleName/MemberAccounts, the member template in both member accounts: the 6 places."""
    deploy(
        world, env, LogLevel="ERROR", PollIntervalSeconds=30, MemberRoleName=MEMBER_ROLE, MemberAccounts=list(MEMBERS)
    )
    callers = world.deployments[-1].app.output("MemberCallerRoleArns").split(",")
    for account in MEMBERS:
        deploy_member(world, account, central_role_arns=callers, regions=REGIONS)
    return [InAccount(world, a, r) for a in (HOME, *MEMBERS) for r in REGIONS]


def fleets() -> None:
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    if os.environ.get("BENCH_FLEET_ACCOUNTS"):
        accounts()
        return
    env = load_env()
    print(
        f"\n## Fleets over 3 accounts x 2 regions: DBs per minute (RDS applies in ~20 s, slept at {WAIT_SCALE:g}x; "
        f"rate limits on; "
        f"one at a time measured on {SERIAL_SAMPLE} DBs)"
    )
    print(
        f"{'DBs':>5}{'fleet':>9}{'10 at a time':>14}{'1 at a time':>13}{'fleet/10':>10}{'fleet/1':>9}"
        f"{'calls/DB fleet':>16}{'calls/DB 10':>13}"
    )
    with LocalWorld(rate_limits=True, wait_scale=WAIT_SCALE) as world:
        places = _spread_world(world, env)
        t0 = time.perf_counter()
        serial, _ = _run(world, env, SERIAL_SAMPLE, 1, places)
        for size in SIZES:
            fleet, fleet_calls = _run(world, env, size, FLEET_CONCURRENCY, places)
            ten, ten_calls = _run(world, env, size, 10, places)
            print(
                f"{size:>5}{fleet:>9.1f}{ten:>14.1f}{serial:>13.1f}{fleet / ten:>9.1f}x{fleet / serial:>8.1f}x"
                f"{fleet_calls:>16.1f}{ten_calls:>13.1f}",
                flush=True,
            )
        assert login_with_token(env, "postgres", "bench_fleet") == "bench_fleet"
        print("every run: 0 failed; every DB's role checked in its account; bench_fleet logs in with an IAM token")
        assert world.rate_limits is not None
        print(f"throttled calls by bucket: {dict(world.rate_limits.throttled) or 'none'}")
        print(f"(the fleets took {time.perf_counter() - t0:.0f} s)")


def accounts() -> None:
    """One fleet over 3 accounts x 2 regions beside one in the stack's own account and region (same size)."""
    size = int(os.environ.get("BENCH_FLEET_ACCOUNTS_SIZE", "200"))
    env = load_env()
    print(f"\n## Fleets across accounts: {size} DBs, 3 accounts x 2 regions vs one account and region")
    with LocalWorld(rate_limits=True, wait_scale=WAIT_SCALE) as world:
        places = _spread_world(world, env)
        setup = world.api_calls["sts.AssumeRole"]  # deploy_member's own
        spread, spread_calls = _run(world, env, size, FLEET_CONCURRENCY, places)
        assumed = world.api_calls["sts.AssumeRole"] - setup
        home, home_calls = _run(world, env, size, FLEET_CONCURRENCY)
        print(f"{'where':>22}{'DBs/min':>9}{'calls/DB':>10}")
        print(f"{'3 accounts x 2 regions':>22}{spread:>9.1f}{spread_calls:>10.1f}")
        print(f"{'1 account, 1 region':>22}{home:>9.1f}{home_calls:>10.1f}")
        print(f"AssumeRole calls: {assumed} (one per member account per container)")
        assert world.rate_limits is not None
        print(f"throttled calls by bucket: {dict(world.rate_limits.throttled) or 'none'}")


if __name__ == "__main__":
    fleets()
