"""The command line: its renderings on a TTY and not, its exit codes without a stack, and that nothing of it or
its libraries is in a Lambda layer."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from clickpipes_iam_cli import render
from clickpipes_iam_cli.main import COMMANDS, cli
from clickpipes_iam_cli.stack import Stack
from rich.console import Console

from tests.layer_pins import LAYERS, pins

ROOT = Path(__file__).resolve().parents[2]
VIEW = {
    "id": "orders-pg--x",
    "status": "SUCCEEDED",
    "output": {
        "endpoint": "orders.rds",
        "port": 5432,
        "db_user": "cp",
        "role_arn": "arn:aws:iam::1:role/r",
        "pipe_modes": ["initial_load", "cdc"],
        "changes": ["created user cp"],
        "warnings": [],
        "plan_only": False,
    },
}


def rendered(terminal: bool) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=100, color_system=None)
    with render.Progress(console) as progress:
        progress.update("ResolveTarget", "RUNNING")
        progress.update("WaitForDb", "RUNNING")
    render.result(console, VIEW)
    return out.getvalue()


def test_plain_lines_when_not_a_tty() -> None:
    text = rendered(terminal=False)
    assert "] ResolveTarget (poll 1)\n" in text
    assert "] WaitForDb (poll 1)\n" in text
    assert "\x1b" not in text
    assert "│ Host         │ orders.rds" in text
    assert "  - created user cp" in text
    assert "Warnings: none" in text


def test_a_live_line_on_a_tty() -> None:
    text = rendered(terminal=True)
    assert "WaitForDb · 0s in step · poll 1" in text  # rich's live display (cursor controls around it)
    assert "\x1b[" in text
    assert "(poll 1)\n" not in text


def test_before_the_first_state_the_live_line_says_starting() -> None:
    out = io.StringIO()
    with render.Progress(Console(file=out, force_terminal=True, width=100, color_system=None)) as progress:
        progress.update(None, "RUNNING")
    assert "RUNNING · starting · 0s" in out.getvalue()
    assert " ·  · " not in out.getvalue()


def test_no_credentials_or_stack_exits_3(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    result = CliRunner().invoke(cli, ["--profile", "nobody", "status", "x"])
    assert result.exit_code == 3


def test_aws_region_alone_names_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    stack = Stack("sam-app", profile=None, region=None, endpoint_url=None, api_url=None)
    assert stack.session.region_name == "eu-west-1"
    assert Stack("s", profile=None, region="us-east-2", endpoint_url=None, api_url=None).session.region_name == (
        "us-east-2"
    )


def test_usage_errors_exit_2() -> None:
    assert CliRunner().invoke(cli, ["onboard"]).exit_code == 2
    assert {c.name for c in COMMANDS} == {"onboard", "status", "list", "offboard", "audit", "fleet"}


def test_nothing_of_the_cli_is_in_a_layer() -> None:
    for layer, requirements in LAYERS.items():
        assert not {"click", "rich", "clickpipes-rds-iam-onboarding"} & set(pins(requirements)), layer
        assert not list(requirements.parent.rglob("clickpipes_iam_cli")), layer
    template = (ROOT / "template.yaml").read_text()
    assert "cli/" not in template


AUDIT = {
    "id": "audit--0123456789ab",
    "status": "SUCCEEDED",
    "output": {
        "databases": [
            {"db_identifier": "orders-pg", "status": "ok", "findings": []},
            {
                "db_identifier": "orders-my",
                "status": "drifted",
                "findings": [
                    {"check": "iam-auth", "expected": "true", "actual": "false", "repairable": True},
                    {"check": "principal", "expected": "[allowed]", "actual": "[bold]x", "repairable": False},
                ],
            },
        ],
        "drifted": 1,
        "gone": 0,
    },
}


def test_the_audit_table_shows_each_db_and_its_findings() -> None:
    out = io.StringIO()
    render.audit(Console(file=out, width=120, color_system=None), AUDIT)
    lines = out.getvalue().splitlines()
    assert any(line.split("│")[1:3] == [" orders-pg ", " ok      "] for line in lines), lines
    [iam] = [line for line in lines if "iam-auth" in line]
    assert [c.strip() for c in iam.split("│")[1:-1]] == ["orders-my", "drifted", "iam-auth", "true", "false", "yes"]
    [principal] = [line for line in lines if "principal" in line]
    assert "[allowed]" in principal
    assert "[bold]x" in principal
    assert lines[-1] == "2 audited, 1 drifted, 0 gone"


class Answers:
    """Stack.request stand-in (a class attribute, so called without the stack): records the calls, answers each
    path from ``views``."""

    def __init__(self, views: dict[str, dict[str, Any]]) -> None:
        self.views = views
        self.calls: list[tuple[str, str, Any]] = []

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        self.calls.append((method, path, body))
        return (202 if method == "POST" else 200), self.views[path]


def test_audit_sends_the_dbs_and_flags_and_exits_1_on_drift(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = Answers({"audits": {"id": AUDIT["id"], "status": "RUNNING"}, f"audits/{AUDIT['id']}": AUDIT})
    monkeypatch.setattr(Stack, "request", answers)
    result = CliRunner().invoke(cli, ["audit", "orders-pg", "orders-my", "--repair", "--wait", "--poll-interval", "0"])
    assert result.exit_code == 1, result.output
    assert answers.calls[0] == (
        "POST",
        "audits",
        {"repair": True, "delete_orphans": False, "db_identifiers": ["orders-pg", "orders-my"]},
    )
    clean = AUDIT | {"output": {"databases": [], "drifted": 0, "gone": 0}}
    monkeypatch.setattr(Stack, "request", Answers({f"audits/{AUDIT['id']}": clean}))
    assert CliRunner().invoke(cli, ["status", "--audit", AUDIT["id"]]).exit_code == 0


def test_a_db_whose_audit_failed_is_shown_with_its_error_and_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    failed = {
        "db_identifier": "orders-pg",
        "status": "error",
        "findings": [],
        "error": "TransientError",
        "cause": "RDS",
    }
    view = AUDIT | {"output": {"databases": [failed], "drifted": 0, "gone": 0, "failed": 1}}
    monkeypatch.setattr(Stack, "request", Answers({f"audits/{AUDIT['id']}": view}))
    result = CliRunner().invoke(cli, ["status", "--audit", AUDIT["id"]])
    assert result.exit_code == 1
    [row] = [line for line in result.stdout.splitlines() if "orders-pg" in line]
    assert "TransientError: RDS" in row
    assert "1 audited, 0 drifted, 0 gone, 1 not checked (error)" in result.stdout


def test_an_audit_of_every_db_sends_no_list(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = Answers({"audits": {"id": AUDIT["id"], "status": "RUNNING"}})
    monkeypatch.setattr(Stack, "request", answers)
    assert CliRunner().invoke(cli, ["audit"]).exit_code == 0
    assert answers.calls == [("POST", "audits", {"repair": False, "delete_orphans": False})]


def test_audit_and_fleet_send_accounts_and_regions_comma_separated_or_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = Answers(
        {"audits": {"id": AUDIT["id"], "status": "RUNNING"}, "fleet-onboardings": {"id": "f", "status": "RUNNING"}}
    )
    monkeypatch.setattr(Stack, "request", answers)
    where = ["--accounts", "111122223333,444455556666", "--accounts", "777788889999", "--regions", "eu-west-1"]
    assert CliRunner().invoke(cli, ["audit", *where]).exit_code == 0
    assert CliRunner().invoke(cli, ["fleet", "--tag", "team=a", *where]).exit_code == 0
    expected = {"accounts": ["111122223333", "444455556666", "777788889999"], "regions": ["eu-west-1"]}
    [(_, _, audit_body), (_, _, fleet_body)] = answers.calls
    assert audit_body == {"repair": False, "delete_orphans": False} | expected
    assert {k: fleet_body[k] for k in expected} == expected


def test_onboard_service_id_is_sent_as_clickhouse_service_id(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = Answers({"onboardings": {"id": "orders-pg--0123456789ab", "status": "RUNNING"}})
    monkeypatch.setattr(Stack, "request", answers)
    assert CliRunner().invoke(cli, ["onboard", "orders-pg", "--service-id", "svc-123"]).exit_code == 0
    [(_, _, body)] = answers.calls
    assert body == {
        "db_identifier": "orders-pg",
        "cdc": True,
        "allow_reboot": False,
        "plan_only": False,
        "clickhouse_service_id": "svc-123",
    }


FLEET = {
    "id": "fleet--0123456789ab",
    "status": "SUCCEEDED",
    "output": {
        "databases": [
            {"db_identifier": "orders-pg", "execution_name": "orders-pg--a", "status": "SUCCEEDED",
             "role_arn": "arn:aws:iam::1:role/clickpipes/r", "pipe_modes": ["initial_load", "cdc"]},
            {"db_identifier": "orders-my", "execution_name": "orders-my--a", "status": "FAILED",
             "error": "DbConnectionError", "cause": "Cannot connect"},
        ],
        "total": 2, "succeeded": 1, "failed": 1, "running": 0, "not_started": 0, "plan_only": False, "warnings": [],
    },
    "progress": {"total": 2, "done": 1, "failed": 1, "running": 0, "pending": 0},
}  # fmt: skip


def test_fleet_sends_the_selector_and_defaults_and_exits_1_when_a_db_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = Answers(
        {"fleet-onboardings": {"id": FLEET["id"], "status": "RUNNING"}, f"fleet-onboardings/{FLEET['id']}": FLEET}
    )
    monkeypatch.setattr(Stack, "request", answers)
    args = ["fleet", "--tag", "team=analytics", "--engine", "postgres", "--no-cdc", "--max-concurrency", "20"]
    result = CliRunner().invoke(cli, [*args, "--wait", "--poll-interval", "0"])
    assert result.exit_code == 1, result.output
    assert answers.calls[0] == (
        "POST",
        "fleet-onboardings",
        {
            "cdc": False,
            "allow_reboot": False,
            "plan_only": False,
            "tag": {"key": "team", "value": "analytics"},
            "engines": ["postgres"],
            "max_concurrency": 20,
        },
    )
    rows = [line.split("│") for line in result.stdout.splitlines() if line.count("│") == 6]
    cells = "".join(c for row in rows for c in row[5] if not c.isspace())
    assert "DbConnectionError:Cannotconnect" in cells  # the error column, folded over the table's lines
    assert "2 total, 1 succeeded, 1 failed, 0 running, 0 not started" in result.stdout


def test_fleet_tag_must_be_key_equals_value() -> None:
    result = CliRunner().invoke(cli, ["fleet", "--tag", "no-equals-sign"])
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.output
