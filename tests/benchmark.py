"""Benchmark (`make benchmark`): figures for later comparison, printed, never asserted.

- local end-to-end time per engine (the real state machine on the local world, IAM part and CDC part),
- AWS API calls (by API) and state transitions per onboarding (`BENCH_ONLY=end_to_end BENCH_RUNS=1`: that alone),
- each function's built package size (`sam build` output, function code + its layers),
- the audit of 10, 50 and 200 onboarded DBs: time, and API calls and state transitions per DB (flat as N grows),
- fleets: DBs per minute for 10, 50 and 200 DBs against 10 at a time and one at a time, calls per DB
  (tests/benchmark_fleet.py),
- each function's cold import time (a fresh interpreter importing its handler module), as built and without
  compiled bytecode,
- cold imports against a bare `import boto3`, with the cost of each part (tests/benchmark_cold.py).

`BENCH_ONLY=cold` (a comma-separated list of the names in SECTIONS) runs only those sections.
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from tests import benchmark_cold, benchmark_fleet
from tests.dbs.servers import load_env
from tests.e2e.scenario import ENGINES, PRINCIPAL, ROOT, STATE_MACHINE, create_db, deploy, onboard_at_once
from tests.harness.local_aws import LocalWorld
from tests.harness.template import load_template

RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def end_to_end() -> None:
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    env = load_env()
    print(f"\n## End to end on the local world (median of {RUNS}; Wait states not slept)")
    print("API calls: what the steps call (the Task states' lambda.Invoke, made by Step Functions, apart)")
    print(f"{'engine':<20}{'cdc':<6}{'seconds':>9}{'API calls':>11}{'lambda.Invoke':>15}{'transitions':>13}")
    with LocalWorld() as world:
        deploy(world, env, LogLevel="ERROR")
        for engine in ENGINES:
            for cdc in (False, True):
                times, calls, invokes, transitions = [], [], [], []
                by_api: Counter[str] = Counter()
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
                    made = step_calls(result.api_calls)
                    calls.append(sum(made.values()))
                    invokes.append(result.api_calls["lambda.Invoke"])
                    if sum(made.values()) >= sum(by_api.values()):
                        by_api = made  # the costliest run's, by API
                    transitions.append(sum(1 for e in result.events if e["type"].endswith("StateEntered")))
                print(
                    f"{engine:<20}{'on' if cdc else 'off':<6}{statistics.median(times):>9.2f}"
                    f"{statistics.median(calls):>11.0f}{statistics.median(invokes):>15.0f}"
                    f"{statistics.median(transitions):>13.0f}"
                )
                print(f"    {calls_by_api(by_api)}")


def step_calls(calls: Counter[str]) -> Counter[str]:
    """The calls the steps make: all but Step Functions' own lambda.Invoke of its Task states."""
    return Counter({api: n for api, n in calls.items() if api != "lambda.Invoke"})


def calls_by_api(calls: Counter[str]) -> str:
    """``rds.DescribeDBInstances 4, iam.GetRole 2, …``: most first, then by name."""
    return ", ".join(f"{api} {n}" for api, n in sorted(calls.items(), key=lambda item: (-item[1], item[0])))


AUDIT_FLEETS = tuple(int(n) for n in os.environ.get("BENCH_AUDIT_FLEETS", "10,50,200").split(","))


def audit_fleet() -> None:
    """The audit's cost per DB as the fleet grows: onboard the largest fleet once (IAM only, every engine in turn),
    then audit the first N of it, read-only, and all of it by its tags."""
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    env = load_env()
    print("\n## Audit of N onboarded DBs (read-only; AuditMaxConcurrency 10; the DBs of every engine in turn)")
    columns = f"{'seconds':>9}{'s per DB':>10}{'API calls per DB':>18}{'Lambda calls per DB':>21}{'bytes per DB':>14}"
    print(f"{'DBs':>6}{columns}")
    with LocalWorld() as world:
        deploy(world, env, LogLevel="ERROR")
        t0 = time.perf_counter()
        fleet = []  # in waves of 20: the two local servers are every DB, and 200 logins at once time out here
        for wave in range(0, max(AUDIT_FLEETS), 20):
            fleet += onboard_at_once(world, env, f"aud{wave}-", min(20, max(AUDIT_FLEETS) - wave))
        onboarded_s = time.perf_counter() - t0
        identifiers = [result.output["db_identifier"] for _, _, result in fleet]
        for n in AUDIT_FLEETS:
            invoked = len(world.invocations)
            result = world.run("AuditStateMachine", {"db_identifiers": identifiers[:n]}, timeout=1800)
            assert result.status == "SUCCEEDED", (result.error, result.cause)
            drifted = [db for db in result.output["databases"] if db["status"] != "ok"]
            assert not drifted, drifted[:3]
            calls = sum(result.api_calls.values())
            # the Distributed Map's child executions keep no history in moto: their Task states are the Lambda calls
            lambda_calls = len(world.invocations) - invoked
            size = len(json.dumps(result.output))  # Step Functions caps a state's output at 256 KiB
            print(
                f"{n:>6}{result.wall_time_s:>9.1f}{result.wall_time_s / n:>10.3f}{calls / n:>18.1f}"
                f"{lambda_calls / n:>21.1f}{size / n:>14.0f}"
            )
        print(f"(onboarding the {max(AUDIT_FLEETS)} DBs first took {onboarded_s:.0f} s)")


def _waits(first: float, poll: float, apply_s: float) -> list[float]:
    """The WaitForDb intervals until a check sees a modification that takes ``apply_s`` seconds:
    ``min(max(first, waited), poll - waited % poll)`` (statemachine/onboarding.asl.json); first == poll is a
    fixed interval."""
    waits: list[float] = []
    while sum(waits) < apply_s:
        waited = sum(waits)
        waits.append(min(max(first, waited), poll - waited % poll))
    return waits


def wait_loop() -> None:
    """What the backoff costs and saves for an RDS modification of a given length (the local world's RDS applies
    instantly, so the runs above take no loop): per wait phase, when it is noticed and the transitions it adds
    (WaitForDb, CheckDbStatus, IsDbReady per loop), against the fixed PollIntervalSeconds."""
    definition = json.loads((ROOT / "statemachine" / "onboarding.asl.json").read_text())
    first = float(definition["States"]["Start"]["Assign"]["firstPollSeconds"])
    poll = float(load_template(ROOT / "template.yaml").parameters["PollIntervalSeconds"] or 30)
    print(f"\n## Wait loop: backoff from {first:g} s to PollIntervalSeconds={poll:g} s, against a fixed {poll:g} s")
    print(f"{'RDS applies in':<16}{'noticed (fixed)':>17}{'noticed (backoff)':>19}{'transitions +':>15}")
    for apply_s in (3, 10, 20, 45, 90, 300, 900):
        fixed, backoff = _waits(poll, poll, apply_s), _waits(first, poll, apply_s)
        extra = 3 * (len(backoff) - len(fixed))
        print(f"{apply_s:>10.0f} s  {sum(fixed):>15.0f} s{sum(backoff):>17.0f} s{extra:>+15d}")


def import_ms(module: str, path: list[Path]) -> float:
    """Median of 5 fresh interpreters importing ``module`` from ``path``, writing no bytecode (Lambda's
    /var/task and /opt are read-only: what is not shipped compiled is compiled at every cold start)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, path)), "AWS_REGION": "us-east-1"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    code = f"import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"
    run = functools.partial(subprocess.run, check=True, capture_output=True, text=True, env=env)
    return statistics.median(float(run([sys.executable, "-c", code]).stdout) for _ in range(5))


def built_packages() -> None:
    """One `sam build`: each function's package size, and its cold import as built (layers with compiled
    bytecode) next to the same code without bytecode (what `BuildMethod: python3.13` would ship)."""
    sam = ROOT / ".tools" / "sam" / "bin" / "sam"
    if not sam.exists():
        print("\n(built packages skipped: SAM CLI not installed; `bash tests/sam_local/samtools.sh install`)")
        return
    python313 = subprocess.run(["pyenv", "prefix", "3.13"], capture_output=True, text=True, check=False).stdout.strip()
    app = load_template(ROOT / "template.yaml")
    layer_ids = {path: layer_id for layer_id, path in app.layers.items()}
    with tempfile.TemporaryDirectory() as tmp:
        build = Path(tmp)
        env = {**os.environ, "PATH": f"{python313}/bin:{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
        t0 = time.perf_counter()
        cmd = [str(sam), "build", "--build-dir", str(build), "--template", str(ROOT / "template.yaml")]
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
        print(f"\n## Built packages (sam build took {time.perf_counter() - t0:.0f} s)")
        print("size: function code + its layers, MB unzipped; cold import: median of 5 fresh interpreters, ms")
        print(f"{'function':<34}{'MB':>6}{'import as built':>17}{'without .pyc':>14}")
        for name, fn in app.functions.items():
            parts = [build / name, *(build / layer_ids[d] for d in fn.layer_dirs)]
            size = sum(f.stat().st_size for part in parts for f in part.rglob("*") if f.is_file())
            built = import_ms(fn.module, [build / name, *(build / layer_ids[d] / "python" for d in fn.layer_dirs)])
            source = import_ms(fn.module, list(fn.code_dirs))  # the repo's sources, no bytecode anywhere
            print(f"{name:<34}{size / 1e6:>6.1f}{built:>17.0f}{source:>14.0f}")


SECTIONS = {
    "end_to_end": end_to_end,
    "wait_loop": wait_loop,
    "audit_fleet": audit_fleet,
    "fleets": benchmark_fleet.fleets,
    "built_packages": built_packages,
    "cold": benchmark_cold.cold_imports,
}

if __name__ == "__main__":
    # BENCH_ONLY=cold (or a comma-separated list of SECTIONS) runs only those sections
    only = [name for name in os.environ.get("BENCH_ONLY", "").split(",") if name]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        sys.exit(f"BENCH_ONLY: unknown sections {unknown}; choose from {sorted(SECTIONS)}")
    for name, section in SECTIONS.items():
        if not only or name in only:
            section()
