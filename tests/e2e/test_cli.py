"""`clickpipes-iam` against the local world: the real template and state machine on moto, the API function
behind a local HTTP front, the stack's outputs in moto's CloudFormation, real DB servers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from clickpipes_iam_cli.main import cli

from tests.dbs.servers import LocalDbsEnv
from tests.e2e.scenario import PRINCIPAL, create_db, deploy, fresh
from tests.harness.api_front import api_front, stack_outputs
from tests.harness.local_aws import LocalWorld

pytestmark = [pytest.mark.e2e, pytest.mark.dbs]
STACK = "sam-app"


@pytest.fixture(scope="module")
def world(local_dbs: LocalDbsEnv) -> Iterator[LocalWorld]:
    with LocalWorld() as local_world:
        deployed = deploy(local_world, local_dbs)
        with api_front(local_world) as url:
            stack_outputs(local_world, deployed, STACK, url)
            yield local_world


WAIT = ("--wait", "--poll-interval", "0.2")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def onboard_args(identifier: str, user: str, *options: str) -> tuple[str, ...]:
    """`onboard` of the test principal's role with ``options``, followed to its end."""
    return ("onboard", identifier, "--role-arn", PRINCIPAL, "--user", user, *options, *WAIT)


def onboard(identifier: str, user: str, *options: str) -> tuple[int, str, str]:
    return run(*onboard_args(identifier, user, *options))


def onboarded(world: LocalWorld, local_dbs: LocalDbsEnv, prefix: str) -> str:
    """A fresh MariaDB DB onboarded (IAM only) with the command line; its identifier."""
    identifier, user = fresh(prefix)
    create_db(world, local_dbs, "mariadb", identifier)
    assert onboard(identifier, user, "--no-cdc")[0] == 0
    return identifier


def last_json(out: str) -> Any:
    return json.loads(out.strip().splitlines()[-1])  # the lines before: the in-process functions' metrics


def test_onboard_wait_succeeds_and_shows_the_settings(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("cli-ok")
    create_db(world, local_dbs, "mariadb", identifier)
    code, out, err = onboard(identifier, user, "--no-cdc")
    assert code == 0, (out, err)
    assert "ClickPipes settings" in out
    assert user in out
    assert PRINCIPAL.split("/")[0] in out
    assert err.startswith("[")
    assert "(poll 1)" in err


def test_onboard_json_is_the_apis_json(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("cli-json")
    create_db(world, local_dbs, "postgres", identifier)
    code, out, _ = run("--output", "json", *onboard_args(identifier, user, "--plan"))
    view = last_json(out)
    assert code == 0
    assert view["status"] == "SUCCEEDED"
    assert view["output"]["plan_only"] is True
    assert view["output"]["changes"]


def test_plan_lists_changes_and_makes_none(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("cli-plan")
    create_db(world, local_dbs, "postgres", identifier)
    code, out, _ = onboard(identifier, user, "--plan")
    assert code == 0
    assert "Plan (nothing changed)" in out
    assert (
        world.rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0][
            "IAMDatabaseAuthenticationEnabled"
        ]
        is False
    )


def test_a_refused_input_exits_2_with_the_apis_message(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, _ = fresh("cli-refused")
    create_db(world, local_dbs, "postgres", identifier)
    code, _, err = run("onboard", identifier, "--role-arn", "arn:aws:iam::999999999999:role/outsider")
    assert code == 2
    assert "PrincipalNotAllowedError" in err


def test_a_failed_onboarding_exits_1_with_error_and_cause(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier, user = fresh("cli-fail")
    create_db(world, local_dbs, "mariadb", identifier, password="not-the-password")
    code, out, _ = onboard(identifier, user, "--no-cdc")
    assert code == 1
    assert "FAILED: AdminCredentialsError: MySQL" in out


def test_a_missing_stack_exits_3(world: LocalWorld) -> None:
    code, _, err = run("--stack", "no-such-stack", "status", "x")
    assert code == 3
    assert "no-such-stack" in err


def test_list_and_offboard(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier = onboarded(world, local_dbs, "cli-off")
    code, out, err = run("offboard", identifier, *WAIT)
    assert code == 0, (out, err)
    code, out, _ = run("--output", "json", "list")
    rows = [r for r in last_json(out) if r["id"].startswith(identifier)]
    assert code == 0
    assert sorted(r["workflow"] for r in rows) == ["offboarding", "onboarding"]


def test_audit_shows_a_clean_db_then_its_drift_and_exits_1(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    identifier = onboarded(world, local_dbs, "cli-audit")
    code, out, err = run("audit", identifier, *WAIT)
    assert code == 0, (out, err)
    [row] = [line for line in out.splitlines() if identifier in line]
    assert [c.strip() for c in row.split("│")[1:3]] == [identifier, "ok"], out
    assert "1 audited, 0 drifted, 0 gone" in out
    assert "(poll 1)" in err  # the progress: ResolveAudit, AuditDatabase, SummarizeAudit

    world.rds.modify_db_instance(
        DBInstanceIdentifier=identifier, EnableIAMDatabaseAuthentication=False, ApplyImmediately=True
    )
    code, out, _ = run("audit", identifier, *WAIT)
    assert code == 1, out
    [row] = [line for line in out.splitlines() if "iam-auth" in line]
    assert [c.strip() for c in row.split("│")[1:4]] == [identifier, "drifted", "iam-auth"], out
    assert "1 audited, 1 drifted, 0 gone" in out

    code, out, _ = run("--output", "json", "audit", identifier, *WAIT)
    view = last_json(out)
    assert code == 1
    assert view["id"].startswith("audit--")
    assert view["output"]["drifted"] == 1
    assert set(view) == {
        "id", "status", "db_identifier", "db_identifiers", "current_step", "output", "error", "cause",
        "started_at", "stopped_at",
    }  # fmt: skip
    code, out, _ = run("--output", "json", "status", "--audit", view["id"])
    assert (code, last_json(out)) == (1, view)


def test_fleet_onboards_the_dbs_named_and_shows_each(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    dbs = [fresh(f"cli-fleet{i}")[0] for i in range(2)]
    for identifier in dbs:
        create_db(world, local_dbs, "mariadb", identifier)
    code, out, err = run("fleet", *dbs, "--role-arn", PRINCIPAL, "--no-cdc", *WAIT)
    assert code == 0, (out, err)
    rows = {
        cells[1].strip(): cells[2].strip() for cells in (line.split("│") for line in out.splitlines()) if len(cells) > 3
    }
    assert {identifier: rows.get(identifier) for identifier in dbs} == dict.fromkeys(dbs, "SUCCEEDED"), out
    assert "2 total, 2 succeeded, 0 failed" in out
    code, out, err = run("fleet", "--tag", "clickpipes:no-such-tag=x", "--role-arn", PRINCIPAL, *WAIT)
    assert code == 1, (out, err)  # an empty selection: the fleet fails with the selector's error, shown
    assert "FleetFailed" in err
