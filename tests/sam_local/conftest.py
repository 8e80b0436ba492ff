"""Session fixture of the container suite: the real template built by `sam build`, every function run by
`sam local invoke` in the locally built Lambda image, against moto on the docker bridge address.

One session = `samtools.sh up` (only when the engine or the base image is missing; then `down` at the end),
one `sam build` (`--cached`, cache under $SAMLOCAL_DATA_DIR), one moto_server (stopped by PID), and
one `sam local invoke` per call of :meth:`SamLocal.invoke`, one `sam local start-api` per
:meth:`SamLocal.start_api` (stopped by PID with SIGTERM). Logs of every step go to
``$SAMLOCAL_DATA_DIR/sam-local-tests`` (build.log, moto.log, invokes/NN-<function>.{event,env,out,err},
invokes/NN-start-api.{env.json,out,err,http}).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.sam_local.samlocal import (
    DOCKER,
    MOTO_SERVER,
    TIMINGS,
    UP_TIMEOUT,
    WORK,
    SamLocal,
    _engine_env,
    _engine_ready,
    _run,
    _sam_build,
    _sam_env,
    _samtools,
    _start_moto,
    _stop,
    _timed,
)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TIMINGS:
        return
    terminalreporter.section("sam local timings")
    for name, values in TIMINGS.items():
        line = f"{name}: {sum(values):.1f} s"
        if len(values) > 1:
            mean = sum(values) / len(values)
            line += f" ({len(values)} calls, {min(values):.1f}-{max(values):.1f} s, mean {mean:.1f} s)"
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def samlocal() -> Iterator[SamLocal]:
    if os.geteuid() != 0:
        pytest.skip("the container suite runs a private dockerd: run it as root")
    if not MOTO_SERVER.exists():
        pytest.fail(f"no {MOTO_SERVER}: run `make deps`", pytrace=False)
    WORK.mkdir(parents=True, exist_ok=True)
    invokes = WORK / "invokes"
    shutil.rmtree(invokes, ignore_errors=True)
    invokes.mkdir()

    docker_host, sam_bin_dir = _engine_env()
    dockerd_was_up, ready = _engine_ready(docker_host, sam_bin_dir)
    started_dockerd = False
    if not ready:
        t0 = time.monotonic()
        _samtools("up", timeout=UP_TIMEOUT)
        _timed("samtools.sh up", time.monotonic() - t0)
        started_dockerd = not dockerd_was_up
    moto: subprocess.Popen[bytes] | None = None
    # Kept between sessions: `--cached` finds its dependency folders through <build_dir>/../build.toml.
    build_dir = WORK / "build"
    try:
        template = _sam_build(_sam_env(docker_host, sam_bin_dir), build_dir)
        host_ip = _samtools("host-ip").strip()  # sam's containers sit on the default bridge
        moto, endpoint = _start_moto(host_ip, WORK / "moto.log")
        world = SamLocal(
            env=_sam_env(docker_host, sam_bin_dir, endpoint),
            sam=f"{sam_bin_dir}/sam",
            template=template,
            host_ip=host_ip,
            endpoint=endpoint,
            invokes=invokes,
        )
        world.stack_tables()  # the template's GuardTable, as env.json names it: a deployed stack has it
        yield world
    finally:
        if moto is not None:
            _stop(moto)
        env = dict(os.environ, DOCKER_HOST=docker_host)
        if _run([DOCKER, "version"], env=env, timeout=30).returncode == 0:
            # sam rebuilds its layer image on every invoke: a changed build leaves the old one dangling
            _run([DOCKER, "image", "prune", "-f"], env=env, timeout=120)
        if started_dockerd:
            _samtools("down", timeout=120)
