"""e2e with AWS's rate limits on (tests.harness.rate_limits): many onboardings at once are throttled, retried
(botocore's standard retries in the functions, the state machine's Retry after them) and all succeed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dbs.servers import LocalDbsEnv
from tests.e2e.scenario import deploy, login_with_token, onboard_at_once
from tests.harness.local_aws import LocalWorld

# AWS's figures, except RDS's bucket: 300 calls of burst would never be reached by 20 DBs here, so a smaller one
# (20 of burst, 10 per second) makes the run meet throttling as a fleet of hundreds would.
TIGHT_RDS = {"rds": (20.0, 10.0)}


@pytest.fixture(scope="module")
def world(local_dbs: LocalDbsEnv) -> Iterator[LocalWorld]:
    with LocalWorld(rate_limits=TIGHT_RDS) as local_world:
        deploy(local_world, local_dbs)
        yield local_world


def test_twenty_onboardings_at_once_are_throttled_and_all_succeed(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    results = onboard_at_once(world, local_dbs, "limited", 20)
    assert world.rate_limits is not None
    assert world.rate_limits.throttled.get("rds", 0) > 0, "the run never met RDS's bucket"
    for engine, user, _ in results[:5]:
        assert login_with_token(local_dbs, engine, user) == user
