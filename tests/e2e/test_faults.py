"""Faults injected into a full run: throttling, IAM eventual consistency, a Lambda timeout in the DB step,
concurrent onboardings."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import botocore.client
import pytest
from botocore.exceptions import ClientError

from tests.dbs.servers import LocalDbsEnv
from tests.e2e.scenario import PRINCIPAL, STATE_MACHINE, create_db, fresh, login_with_token, onboard_at_once
from tests.harness.execution import ExecutionResult
from tests.harness.local_aws import LocalWorld

pytestmark = pytest.mark.e2e


def request(identifier: str, user: str) -> dict[str, Any]:
    return {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, "cdc": False}


def attempts(result: ExecutionResult, state: str) -> int:
    return sum(s.attempts for s in result.steps if s.name == state)


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str, int], list[str]]:
    """Make the next ``times`` calls of ``service.Operation`` fail with ``code`` (after botocore's own retries)."""

    def arm(operation: str, code: str, times: int) -> list[str]:
        raised: list[str] = []
        original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]  # botocore's private

        def failing(client: Any, name: str, params: dict[str, Any]) -> Any:
            if f"{client.meta.service_model.service_name}.{name}" == operation and len(raised) < times:
                raised.append(name)
                raise ClientError({"Error": {"Code": code, "Message": "injected"}}, name)
            return original(client, name, params)

        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", failing)
        return raised

    return arm


@pytest.mark.parametrize(
    ("operation", "code", "state"),
    [
        ("rds.DescribeDBInstances", "Throttling", "ResolveTarget"),
        ("rds.ModifyDBInstance", "Throttling", "EnableIamAuth"),
        ("iam.CreateRole", "TooManyRequestsException", "CreateIamRole"),
        ("secretsmanager.GetSecretValue", "ThrottlingException", "CreateDbUser"),
    ],
)
def test_throttling_is_retried_with_backoff_and_jitter(
    world: LocalWorld, local_dbs: LocalDbsEnv, inject: Any, operation: str, code: str, state: str
) -> None:
    identifier, user = fresh("throttled")
    create_db(world, local_dbs, "postgres", identifier)
    sleeps_before = len(world.retry_sleeps)
    raised = inject(operation, code, 3)
    result = world.run(STATE_MACHINE, request(identifier, user), timeout=120)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert len(raised) == 3
    assert attempts(result, state) == 4, "three TransientError retries, then success"
    sleeps = world.retry_sleeps[sleeps_before:]
    assert len(sleeps) == 3
    assert all(0 <= s <= 2 * 2**i for i, s in enumerate(sleeps)), f"full jitter under the backoff: {sleeps}"


def test_iam_eventual_consistency_after_create_role(
    world: LocalWorld, local_dbs: LocalDbsEnv, inject: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import clickpipes.aws.iam

    # the gateway's own waits only: patching time.sleep itself would turn every sleep of the process (the
    # harness's polling, moto's workers) into a busy loop
    monkeypatch.setattr(clickpipes.aws.iam, "time", SimpleNamespace(sleep=lambda _: None))
    identifier, user = fresh("consistency")
    create_db(world, local_dbs, "mysql", identifier)
    raised = inject("iam.PutRolePolicy", "NoSuchEntity", 2)
    result = world.run(STATE_MACHINE, request(identifier, user), timeout=120)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert (len(raised), attempts(result, "CreateIamRole")) == (2, 1), "waited out inside the step"


SandboxTimedout = type("Sandbox.Timedout", (Exception,), {})  # the error name Lambda gives a timed-out function


@pytest.fixture
def db_step_times_out(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], list[str]]:
    """The DB step does its work, then the function times out (the next ``times`` invocations)."""
    import clickpipes_db.postgres

    def arm(times: int) -> list[str]:
        timed_out: list[str] = []
        real = clickpipes_db.postgres.ensure_iam_user

        def slow(conn: Any, user: str, **kwargs: Any) -> Any:
            result = real(conn, user, **kwargs)
            if len(timed_out) < times:
                timed_out.append(user)
                raise SandboxTimedout("Task timed out after 60.00 seconds")
            return result

        monkeypatch.setattr(clickpipes_db.postgres, "ensure_iam_user", slow)
        return timed_out

    return arm


def test_lambda_timeout_in_the_db_step_is_retried(
    world: LocalWorld, local_dbs: LocalDbsEnv, db_step_times_out: Any
) -> None:
    identifier, user = fresh("timeout")
    create_db(world, local_dbs, "postgres", identifier)
    db_step_times_out(1)
    result = world.run(STATE_MACHINE, request(identifier, user), timeout=120)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert attempts(result, "CreateDbUser") == 2
    assert login_with_token(local_dbs, "postgres", user) == user


def test_a_rerun_completes_what_timeouts_left_half_done(
    world: LocalWorld, local_dbs: LocalDbsEnv, db_step_times_out: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    identifier, user = fresh("halfdone")
    db = create_db(world, local_dbs, "postgres", identifier)
    db_step_times_out(10)
    failed = world.run(STATE_MACHINE, request(identifier, user), timeout=120)
    assert (failed.status, failed.error) == ("FAILED", "Sandbox.Timedout")
    tags = {t["Key"]: t["Value"] for t in world.rds.list_tags_for_resource(ResourceName=db["DBInstanceArn"])["TagList"]}
    assert tags["clickpipes:status"] == "failed"
    monkeypatch.undo()
    rerun = world.run(STATE_MACHINE, request(identifier, user), timeout=120)
    assert rerun.status == "SUCCEEDED", (rerun.error, rerun.cause)
    assert login_with_token(local_dbs, "postgres", user) == user


def test_two_onboardings_of_one_db_at_once_exactly_one_runs(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("twice")
    db = create_db(world, local_dbs, "mariadb", identifier)
    world.feed_statuses(identifier, ["available", *["modifying"] * 3])  # the winner keeps polling
    first = world.start(STATE_MACHINE, request(identifier, user))
    second = world.start(STATE_MACHINE, request(identifier, user))
    results = sorted([first.wait(120), second.wait(120)], key=lambda r: r.status)
    assert [r.status for r in results] == ["FAILED", "SUCCEEDED"]
    assert results[0].error == "OnboardingInProgressError"
    assert [s.name for s in results[0].steps] == ["Start", "ResolveTarget", "RecordFailure", "Failed"]
    tags = {t["Key"]: t["Value"] for t in world.rds.list_tags_for_resource(ResourceName=db["DBInstanceArn"])["TagList"]}
    assert tags["clickpipes:status"] == "ready", "the loser does not tag the winner's DB"


def test_twenty_databases_at_once(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    results = onboard_at_once(world, local_dbs, "fleet", 20)
    for engine, user, _ in results[:5]:
        assert login_with_token(local_dbs, engine, user) == user
