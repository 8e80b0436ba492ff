"""No password, secret string or IAM token in any log line or execution history of full runs."""

from __future__ import annotations

import base64
import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest

from tests.dbs.servers import LocalDbsEnv, iam_token
from tests.e2e.scenario import ENGINES, PRINCIPAL, STATE_MACHINE, create_db, deploy, fresh
from tests.e2e.test_clickhouse_cloud import SERVICE_ROLE, cloud_world, onboard
from tests.harness.local_aws import LocalWorld

pytestmark = pytest.mark.e2e


@pytest.fixture
def function_logs() -> Iterator[io.StringIO]:
    """Every line the functions' logger writes (Powertools' JSON formatter), whatever stream it was bound to."""
    logger = logging.getLogger("clickpipes-onboarding")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.handlers[0].formatter if logger.handlers else None)
    logger.addHandler(handler)
    yield buffer
    logger.removeHandler(handler)


def test_no_secret_or_token_in_logs_or_history(
    local_dbs: LocalDbsEnv, capfd: pytest.CaptureFixture[str], function_logs: io.StringIO
) -> None:
    """A full run at DEBUG log level, CDC included: neither a password, a secret string nor an IAM token
    appears in what the functions print or log, or in the execution history."""
    with LocalWorld() as world:
        deploy(world, local_dbs, LogLevel="DEBUG")
        results = []
        secrets = []
        for engine in ("postgres", "mariadb"):
            identifier, user = fresh("secret")
            db = create_db(world, local_dbs, engine, identifier)
            secret = world.client("secretsmanager").get_secret_value(SecretId=db["MasterUserSecret"]["SecretArn"])
            secrets += [secret["SecretString"], json.loads(secret["SecretString"])["password"]]
            body = {
                "db_identifier": identifier,
                "clickhouse_role_arn": PRINCIPAL,
                "db_user": user,
                "allow_reboot": True,
            }
            results.append(world.run(STATE_MACHINE, body, timeout=120))
            secrets.append(iam_token(local_dbs, ENGINES[engine].server, user))
        # a failing run too: wrong password
        identifier, user = fresh("secretbad")
        create_db(world, local_dbs, "postgres", identifier, password="wrong-secret-password-77")
        secrets.append("wrong-secret-password-77")
        results.append(
            world.run(
                STATE_MACHINE,
                {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user},
                timeout=120,
            )
        )
    captured = capfd.readouterr()
    assert [r.status for r in results] == ["SUCCEEDED", "SUCCEEDED", "FAILED"]
    logs = captured.out + captured.err + function_logs.getvalue()
    assert '"step succeeded"' in logs, "the functions did log"
    assert '"step failed"' in logs
    history = json.dumps([r.events for r in results], default=str)
    for secret in secrets:
        assert secret not in logs
        assert secret not in history
    assert local_dbs.postgres.admin_password not in logs + history
    assert local_dbs.mariadb.admin_password not in logs + history


def test_the_clickhouse_cloud_api_key_never_appears_in_logs_or_history(
    local_dbs: LocalDbsEnv, capfd: pytest.CaptureFixture[str], function_logs: io.StringIO
) -> None:
    """Runs with the ClickHouse Cloud API at DEBUG log level: the role read from the service, a pipe created, a
    refused key (401), a pipe that fails, the offboarding that deletes a pipe. Neither the key's secret nor the
    Basic auth header value it makes appears in what the functions print or log, or in any history event."""
    with cloud_world(local_dbs) as (world, api):
        service = str(uuid.uuid4())
        api.add_service(service, SERVICE_ROLE)
        created = onboard(world, local_dbs, "mariadb", service)
        api.fail_next(401, path_contains=service)
        refused = onboard(world, local_dbs, "postgres", service)
        api.state.pipe_states = ["Provisioning", "Failed"]
        failed = onboard(world, local_dbs, "mysql", service)
        offboarded = world.run(
            "OffboardingStateMachine",
            {"db_identifier": created.output["db_identifier"], "db_user": created.output["db_user"]},
            timeout=120,
        )
    results = [created, refused, failed, offboarded]
    assert [r.status for r in results] == ["SUCCEEDED", "FAILED", "FAILED", "SUCCEEDED"]
    assert (refused.error, failed.error) == ("ClickHouseApiError", "ClickPipeFailedError")
    assert api.state.violations == []
    captured = capfd.readouterr()
    logs = captured.out + captured.err + function_logs.getvalue()
    assert '"step succeeded"' in logs, "the functions did log"
    assert '"step failed"' in logs
    history = json.dumps([r.events for r in results], default=str)
    token = base64.b64encode(f"{api.state.key_id}:{api.state.key_secret}".encode()).decode()
    assert set(api.state.authorizations) >= {f"Basic {token}"}  # the key was used, so there was a value to leak
    for secret in (api.state.key_secret, token):
        assert secret not in logs
        assert secret not in history
