"""Benchmark (`make benchmark`): figures for later comparison, printed, never asserted.

- local end-to-end time per engine (the real state machine on the local world, IAM part and CDC part),
- AWS API calls and state transitions per onboarding,
- each function's cold import time (a fresh interpreter importing its handler module),
- each function's built package size (`sam build` output, function code + its layers).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.dbs.servers import load_env
from tests.e2e.scenario import ENGINES, PRINCIPAL, ROOT, STATE_MACHINE, create_db, deploy
from tests.harness.local_aws import LocalWorld
from tests.harness.template import load_template

RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def end_to_end() -> None:
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    env = load_env()
    print(f"\n## End to end on the local world (median of {RUNS}; Wait states not slept)")
    print(f"{'engine':<20}{'cdc':<6}{'seconds':>9}{'API calls':>11}{'transitions':>13}")
    with LocalWorld() as world:
        deploy(world, env, LogLevel="ERROR")
        for engine in ENGINES:
            for cdc in (False, True):
                times, calls, transitions = [], [], []
                for _ in range(RUNS):
                    identifier = f"bench-{uuid.uuid4().hex[:8]}"
                    create_db(world, env, engine, identifier)
                    body = {
                        "db_identifier": identifier,
                        "clickhouse_role_arn": PRINCIPAL,
                        "db_user": "bench_user",
                        "cdc": cdc,
                        "allow_reboot": cdc,
                    }
                    result = world.run(STATE_MACHINE, body, timeout=120)
                    assert result.status == "SUCCEEDED", (result.error, result.cause)
                    times.append(result.wall_time_s)
                    calls.append(sum(result.api_calls.values()))
                    transitions.append(sum(1 for e in result.events if e["type"].endswith("StateEntered")))
                print(
                    f"{engine:<20}{'on' if cdc else 'off':<6}{statistics.median(times):>9.2f}"
                    f"{statistics.median(calls):>11.0f}{statistics.median(transitions):>13.0f}"
                )


def cold_imports() -> None:
    print("\n## Cold import time of each handler (fresh interpreter, median of 5, ms)")
    for name, fn in load_template(ROOT / "template.yaml").functions.items():
        module = fn.module
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(d) for d in fn.code_dirs), "AWS_REGION": "us-east-1"}
        code = f"import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"
        samples = [
            float(
                subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
            )
            for _ in range(5)
        ]
        print(f"{name:<34}{statistics.median(samples):>8.0f}")


def package_sizes() -> None:
    sam = ROOT / ".tools" / "sam" / "bin" / "sam"
    print("\n## Built package size (sam build: function code + layers, MB unzipped)")
    if not sam.exists():
        print("(skipped: SAM CLI not installed; `bash tests/sam_local/samtools.sh install`)")
        return
    python313 = subprocess.run(["pyenv", "prefix", "3.13"], capture_output=True, text=True, check=False).stdout.strip()
    with tempfile.TemporaryDirectory() as build:
        env = {**os.environ, "PATH": f"{python313}/bin:{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
        t0 = time.perf_counter()
        subprocess.run(
            [str(sam), "build", "--build-dir", build, "--template", str(ROOT / "template.yaml")],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        print(f"(sam build took {time.perf_counter() - t0:.0f} s)")
        app = load_template(ROOT / "template.yaml")
        layer_ids = {path: layer_id for layer_id, path in app.layers.items()}
        for name, fn in app.functions.items():
            parts = [Path(build) / name, *(Path(build) / layer_ids[d] for d in fn.layer_dirs)]
            size = sum(f.stat().st_size for part in parts for f in part.rglob("*") if f.is_file())
            print(f"{name:<34}{size / 1e6:>8.1f}")


if __name__ == "__main__":
    end_to_end()
    cold_imports()
    package_sizes()
