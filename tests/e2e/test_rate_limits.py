"""e2e with AWS's rate limits on (tests.harness.rate_limits): many onboardings at once are throttled, retried
(botocore's standard retries in the functions, the state machine's Retry after them) and all succeed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dbs.servers import LocalDbsEnv
from tests.e2e.scenario import ENGINES, PRINCIPAL, STATE_MACHINE, create_db, deploy, fresh, login_with_token
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
    engines = list(ENGINES)
    runs = []
    for i in range(20):
        engine = engines[i % len(engines)]
        identifier, user = fresh(f"limited{i}")
        create_db(world, local_dbs, engine, identifier)
        body = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, "cdc": False}
        runs.append((engine, user, world.start(STATE_MACHINE, body)))
    results = [(engine, user, running.wait(300)) for engine, user, running in runs]
    assert [r.status for _, _, r in results] == ["SUCCEEDED"] * 20, [(r.error, r.cause) for _, _, r in results]
    assert world.rate_limits is not None
    assert world.rate_limits.throttled.get("rds", 0) > 0, "the run never met RDS's bucket"
    assert len({r.output["role_arn"] for _, _, r in results}) == 20
    for engine, user, _ in results[:5]:
        assert login_with_token(local_dbs, engine, user) == user
