"""`clickpipes-iam onboard --wait` as a person runs it: the installed console script in its own process, on a
real pseudo-terminal (``pty``) and, when tmux is installed, in a tmux pane whose screen is captured while the
onboarding runs; beside it the same command with pipes (no TTY): plain lines. The world: the real template and
state machine on moto (served over HTTP, so the CLI's CloudFormation calls reach it), the API function behind the
local HTTP front, a real MariaDB server."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dbs.servers import LocalDbsEnv
from tests.e2e.scenario import PRINCIPAL, ROOT, create_db, deploy, fresh
from tests.harness.api_front import api_front, stack_outputs
from tests.harness.local_aws import LocalWorld

pytestmark = [pytest.mark.e2e, pytest.mark.dbs]
STACK = "sam-app"
STATES = json.loads((ROOT / "statemachine" / "onboarding.asl.json").read_text())["States"]
CLI = Path(sys.executable).with_name("clickpipes-iam")  # the console script `make deps` installed
ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[()][A-Z0-9])")
LIVE = re.compile(r"RUNNING · (\w+) · \d+s in step · poll \d+")  # render.Progress's live line
STARTING = re.compile(r"RUNNING · starting · \d+s")
PLAIN = re.compile(r"^\[ *\d+\.\ds\] (\w+) \(poll \d+\)$", re.MULTILINE)  # its lines without a TTY


@pytest.fixture(scope="module")
def world(local_dbs: LocalDbsEnv) -> Iterator[LocalWorld]:
    # Wait states sleep a tenth of their time: the tmux test holds its DB in `modifying` for one WaitForDb (0.5 s)
    with LocalWorld(server=True, wait_scale=0.1) as local_world:
        deployed = deploy(local_world, local_dbs)
        with api_front(local_world) as url:
            stack_outputs(local_world, deployed, STACK, url)
            yield local_world


def command(world: LocalWorld, local_dbs: LocalDbsEnv, prefix: str) -> list[str]:
    """`clickpipes-iam onboard` of a fresh MariaDB DB (IAM only), followed to its end."""
    identifier, user = fresh(prefix)
    create_db(world, local_dbs, "mariadb", identifier)
    assert world.endpoint_url
    return [
        str(CLI), "--endpoint-url", world.endpoint_url, "onboard", identifier, "--role-arn", PRINCIPAL,
        "--user", user, "--no-cdc", "--wait", "--poll-interval", "0.05",
    ]  # fmt: skip


def environment(**extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION")
    return {k: os.environ[k] for k in keep if k in os.environ} | {"AWS_DEFAULT_REGION": "us-east-1"} | extra


def run_on_a_pty(args: list[str], timeout: float = 120) -> tuple[int, str]:
    """Run with stdin, stdout and stderr on one pseudo-terminal (100x30); everything the terminal received."""
    controller, terminal = pty.openpty()
    os.set_inheritable(terminal, True)
    env = environment(TERM="xterm-256color", COLUMNS="100", LINES="30")
    process = subprocess.Popen(args, stdin=terminal, stdout=terminal, stderr=terminal, env=env, close_fds=True)
    os.close(terminal)
    received, deadline = bytearray(), time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # EIO: the process closed the terminal
                    break
                if not chunk:
                    break
                received += chunk
            elif process.poll() is not None:
                break
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    return code, received.decode(errors="replace")


def test_on_a_tty_one_live_line_then_the_settings(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    args = command(world, local_dbs, "tty")
    # three CheckDbStatus modifying: the loop runs four times, so the line draws more than WaitForDb however fast the
    # run (since EnableIamAuth acts on ResolveTarget's seal, a loaded run drew only WaitForDb)
    world.feed_statuses(args[args.index("onboard") + 1], ["available", "modifying", "modifying", "modifying"])
    code, screen = run_on_a_pty(args)
    assert code == 0, screen
    assert "\x1b[?25l" in screen  # rich's live display hides the cursor while it redraws the line
    text = ANSI.sub("", screen)
    steps = LIVE.findall(text)
    assert len(set(steps)) >= 2, screen  # the line follows the workflow's states
    assert set(steps) <= set(STATES), steps
    assert not PLAIN.search(text), "plain progress lines on a TTY"
    assert "ClickPipes settings (authentication: IAM role)" in text
    assert "IAM Role ARN" in text


def test_without_a_tty_plain_lines(world: LocalWorld, local_dbs: LocalDbsEnv) -> None:
    done = subprocess.run(
        command(world, local_dbs, "notty"), capture_output=True, text=True, env=environment(), timeout=120, check=False
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "\x1b" not in done.stdout + done.stderr
    steps = PLAIN.findall(done.stderr)
    # one line per state seen, in the workflow's order, to its last (the pipe step's choice, then Succeeded)
    assert steps[-1] == "Succeeded", done.stderr
    assert len(set(steps)) == len(steps) >= 2, done.stderr
    assert set(steps) <= set(STATES), steps
    assert len(PLAIN.findall(done.stderr)) == len([line for line in done.stderr.splitlines() if line.startswith("[")])
    assert not LIVE.search(done.stderr)
    assert "│ IAM Role ARN │" in done.stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_live_view_in_a_tmux_pane(world: LocalWorld, local_dbs: LocalDbsEnv, tmp_path: Path) -> None:
    """The screen as a terminal draws it, captured while the onboarding runs and after it ended."""
    socket = f"clickpipes-cli-{uuid.uuid4().hex[:8]}"  # a tmux server of this test's own
    tmux = ["tmux", "-L", socket]
    script, go, drawn = tmp_path / "run.sh", tmp_path / "go", tmp_path / "drawn"
    env = " ".join(f"{k}={v}" for k, v in environment(TERM="xterm-256color").items())
    # the CLI starts once the pane's output is piped to `drawn`: every redraw is recorded, not only what a capture
    # of the screen happens to see (a fast run on a loaded machine shows a capture one step)
    args = command(world, local_dbs, "tmux")
    identifier = args[args.index("onboard") + 1]
    script.write_text(f"while [ ! -e {go} ]; do sleep 0.02; done\nenv -i {env} {' '.join(args)}; echo EXIT=$?\n")
    subprocess.run([*tmux, "new-session", "-d", "-x", "100", "-y", "30", "bash", str(script)], check=True)
    try:
        subprocess.run([*tmux, "set-option", "-g", "remain-on-exit", "on"], check=True)
        subprocess.run([*tmux, "pipe-pane", "-o", f"cat >> {drawn}"], check=True)
        # ResolveTarget and EnableIamAuth see it available, three CheckDbStatus modifying: three WaitForDb (2 s at
        # the world's 0.1x), so the live view redraws while the workflow moves (step, time, poll count), however
        # fast or loaded the machine (with one WaitForDb, a loaded run drew only "WaitForDb · poll 1")
        world.feed_statuses(identifier, ["available", "modifying", "modifying", "modifying"])
        go.touch()
        final, deadline = "", time.monotonic() + 120
        while time.monotonic() < deadline:
            final = subprocess.run(
                [*tmux, "capture-pane", "-p", "-S", "-"], capture_output=True, text=True, check=True
            ).stdout
            if "EXIT=" in final:
                break
            time.sleep(0.05)
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)
    # one line, redrawn in place: the step, the time in it, the poll count (before the first state: starting)
    # colours (SGR, ``m``) vanish; any other control sequence (cursor moves, erasing a line) ends a drawn line
    raw = drawn.read_text(errors="replace")
    redraws = re.split(r"[\r\n]", ANSI.sub(lambda m: "" if m[0].endswith("m") else "\n", raw))
    live = [line.strip() for line in redraws if line.strip().startswith("RUNNING · ")]
    assert live, raw[-2000:]
    assert all(LIVE.fullmatch(line) or STARTING.fullmatch(line) for line in live), sorted(set(live))
    steps = [LIVE.fullmatch(line)[1] for line in live if LIVE.fullmatch(line)]  # type: ignore[index]
    assert len({line for line in live if LIVE.fullmatch(line)}) >= 2, sorted(set(live))  # it follows the workflow
    assert set(steps) <= set(STATES), steps
    assert "EXIT=0" in final, final
    assert "ClickPipes settings (authentication: IAM role)" in final, final
    assert not PLAIN.search(final), final  # a TTY never gets the plain lines
