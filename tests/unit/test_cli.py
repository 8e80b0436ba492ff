"""The command line: its renderings on a TTY and not, its exit codes without a stack, and that nothing of it or
its libraries is in a Lambda layer."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner
from clickpipes_iam_cli import render
from clickpipes_iam_cli.main import COMMANDS, cli
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


def test_no_credentials_or_stack_exits_3(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    result = CliRunner().invoke(cli, ["--profile", "nobody", "status", "x"])
    assert result.exit_code == 3


def test_usage_errors_exit_2() -> None:
    assert CliRunner().invoke(cli, ["onboard"]).exit_code == 2
    assert {c.name for c in COMMANDS} == {"onboard", "status", "list", "offboard"}


def test_nothing_of_the_cli_is_in_a_layer() -> None:
    for layer, requirements in LAYERS.items():
        assert not {"click", "rich", "clickpipes-rds-iam-onboarding"} & set(pins(requirements)), layer
        assert not list(requirements.parent.rglob("clickpipes_iam_cli")), layer
    template = (ROOT / "template.yaml").read_text()
    assert "cli/" not in template
