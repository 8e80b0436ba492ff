"""The local demo (`make demo`): the product's main job on the local world, no AWS account needed.

Brings up the local PostgreSQL and MariaDB servers (RDS-like IAM authentication), deploys template.yaml's
functions and state machine into moto, creates a sample table with rows in each sample database, onboards
them, shows each execution step by step as it runs, prints what to paste into ClickPipes, then does what
ClickPipes does with that (tests/harness/clickpipes_client.py: AssumeRole with a session tag, IAM token,
verified TLS, initial load, then the CDC stream while the demo changes rows, both landed in an embedded
ClickHouse) and tears everything down.

One more sample database is onboarded the ClickHouse Cloud way (README, ClickHouse Cloud): by service id
against the API stand-in (tests/harness/clickhouse_cloud_api.py, which validates every request against the
vendored OpenAPI document), ending with the ClickPipe created.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.dbs.servers import LocalDbsEnv, load_env
from tests.e2e.scenario import (
    DATABASE,
    ENGINES,
    PRINCIPAL,
    STATE_MACHINE,
    app_changes,
    clickpipes_settings,
    create_db,
    deploy,
    sample_table,
)
from tests.harness import cdc_reality, clickpipes_client
from tests.harness.clickhouse_cloud_api import ClickHouseCloudStandIn
from tests.harness.execution import ExecutionResult
from tests.harness.iam_authority import IamAuthority
from tests.harness.local_aws import LocalWorld, RunningExecution

LOCALDBS = Path(__file__).parent / "dbs" / "localdbs.sh"
SAMPLES = {engine: f"demo-{engine.replace('aurora-', 'au-')}" for engine in ENGINES}
REQUEST = {"clickhouse_role_arn": PRINCIPAL, "allow_reboot": True}
SAMPLE_ROWS = 1000
WAIT_SCALE = 0.1  # each Wait of the polling loop really waits a tenth of PollIntervalSeconds
CLOUD = "demo-cloud-pg"  # onboarded with clickhouse_service_id and clickpipe (the ClickHouse Cloud API stand-in)
CLOUD_ORG, CLOUD_SERVICE = "0b6c7e3a-4a59-4b3e-9a57-0a4f6a0c1d11", "5f1e2d3c-1b2a-4c3d-8e9f-001122334455"


def servers_up() -> bool:
    """Start the local servers unless they run; True when this process started them."""
    if subprocess.run(["bash", str(LOCALDBS), "status"], capture_output=True, check=False).returncode == 0:
        return False
    print("Starting local PostgreSQL 15 and MariaDB 10.11 (RDS-like IAM authentication)…", flush=True)
    subprocess.run(["bash", str(LOCALDBS), "up"], check=True, stdout=subprocess.DEVNULL)
    return True


def describe_steps(running: RunningExecution) -> tuple[str, str]:
    steps = running.steps()
    trail = " → ".join(
        f"{s.name}{f' {s.duration_ms:.0f}ms' if s.duration_ms is not None else ' …'}"
        for s in steps
        if s.type != "Choice"
    )
    current = steps[-1].name if steps else "starting"
    return current, trail


def follow(executions: dict[str, RunningExecution], started: float) -> None:
    """A live view: one line per execution, redrawn in place on a terminal, printed on change otherwise."""
    tty = sys.stdout.isatty()
    last: dict[str, str] = {}
    drawn = 0
    while True:
        lines = []
        for engine, running in executions.items():
            status = running.status
            current, trail = describe_steps(running)
            lines.append(f"{SAMPLES.get(engine, engine):<22} {status:<9} {current:<15} {trail}")
        elapsed = f"[{time.monotonic() - started:5.1f}s]"
        if tty:
            sys.stdout.write(f"\x1b[{drawn}F" if drawn else "")
            for line in lines:
                sys.stdout.write(f"\x1b[2K{elapsed} {line[:220]}\n")
            drawn = len(lines)
        else:
            for engine, line in zip(executions, lines, strict=True):
                if last.get(engine) != line:
                    print(f"{elapsed} {line}")
                    last[engine] = line
        sys.stdout.flush()
        if all(running.status != "RUNNING" for running in executions.values()):
            return
        time.sleep(0.2)


def main() -> int:
    # The functions' own logs and metrics (JSON on stdout) would drown the progress view: keep warnings only.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    demo_started = time.monotonic()
    started_servers = servers_up()
    try:
        env: LocalDbsEnv = load_env()
        authorities = Path(env.verifier_config).parent / "authorities"
        with (
            ClickHouseCloudStandIn(CLOUD_ORG) as api,
            LocalWorld(wait_scale=WAIT_SCALE, extra_env={"CLICKPIPE_POLL_SECONDS": "0.5"}) as world,
            IamAuthority(authorities),
        ):
            t0 = time.monotonic()
            api.add_service(CLOUD_SERVICE, PRINCIPAL)
            key = world.client("secretsmanager").create_secret(Name="clickhouse-api", SecretString=json.dumps(api.key))
            cloud = {
                "ClickHouseOrganizationId": CLOUD_ORG,
                "ClickHouseApiKeySecretArn": key["ARN"],
                "ClickHouseApiUrl": api.url,
            }
            deploy(world, env, LogLevel="WARNING", **cloud)
            print(
                f"Deployed template.yaml into the local world (moto) in {time.monotonic() - t0:.1f}s: "
                f"{len(world.deployments[0].function_arns)} functions, state machine {STATE_MACHINE}.\n"
            )
            tables: dict[str, str] = {}
            for engine, identifier in SAMPLES.items():
                create_db(world, env, engine, identifier)
                tables[engine] = sample_table(env, engine, identifier, rows=SAMPLE_ROWS)
                # RDS reports these while it applies the change; moto does not, so the demo feeds them
                world.feed_statuses(
                    identifier, ["available", "available", "modifying", "configuring-iam-database-auth"]
                )
            create_db(world, env, "postgres", CLOUD)
            cloud_table = sample_table(env, "postgres", CLOUD, rows=SAMPLE_ROWS)
            pipe = {"name": CLOUD, "destination_database": "demo", "tables": [cloud_table]}
            started = time.monotonic()
            # sample DBs: the full CDC setup, including the reboot its static parameters need
            executions = {
                engine: world.start(STATE_MACHINE, {**REQUEST, "db_identifier": identifier})
                for engine, identifier in SAMPLES.items()
            }
            cloud_request = {"db_identifier": CLOUD, "clickhouse_service_id": CLOUD_SERVICE, "clickpipe": pipe}
            executions[CLOUD] = world.start(STATE_MACHINE, cloud_request | {"allow_reboot": True})
            tables[CLOUD] = cloud_table
            follow(executions, started)
            results = {engine: running.wait() for engine, running in executions.items()}
            return report(env, results, tables)
    finally:
        if started_servers:
            subprocess.run(["bash", str(LOCALDBS), "down"], check=False, stdout=subprocess.DEVNULL)
        print(f"Demo took {time.monotonic() - demo_started:.1f}s.")


def clickpipes_view(env: LocalDbsEnv, engine: str, output: dict[str, Any], table: str) -> str:
    """What ClickPipes does with the output: the stand-in's pipe (initial load, then CDC while the application
    inserts 3 rows, updates 1 and deletes 1), landed in an embedded ClickHouse, in two lines."""
    binlog = cdc_reality.binlog_in_effect(output["db_identifier"]) if ENGINES[engine].server == "mariadb" else "ROW"
    pipe = clickpipes_client.run_pipe(
        env, output, PRINCIPAL, DATABASE, lambda: app_changes(env, engine, table, binlog=binlog), tables=[table]
    )
    return (
        f"ClickPipes stand-in (AssumeRole with a session tag, IAM token, verified TLS as {output['db_user']}):\n"
        f"   {pipe.rows_loaded} rows loaded into ClickHouse, {pipe.changes_streamed} changes streamed "
        f"({table}: {pipe.clickhouse_rows[table]} rows in ClickHouse now)"
    )


def report(env: LocalDbsEnv, results: dict[str, ExecutionResult], tables: dict[str, str]) -> int:
    failed = 0
    print()
    for engine, result in results.items():
        name, kind = (CLOUD, "postgres, ClickHouse Cloud API") if engine == CLOUD else (SAMPLES[engine], engine)
        print(f"── {name} ({kind}): {result.status} in {result.wall_time_s:.1f}s")
        if result.status != "SUCCEEDED":
            failed += 1
            print(f"   {result.error}: {result.cause}")
            continue
        output = result.output
        print("   Paste into ClickPipes (Authentication: IAM role):")
        for key, value in clickpipes_settings(output).items():
            print(f"     {key:<15} {value}")
        print(f"   rds-db:connect on {output['dbuser_arn']}")
        print(f"   {len(output['changes'])} changes made:")
        for change in output["changes"]:
            print(f"     - {change}")
        for warning in output["warnings"]:
            print(f"   warning: {warning}")
        print(f"   {clickpipes_view(env, 'postgres' if engine == CLOUD else engine, output, tables[engine])}")
        if "clickpipe_id" in output:
            print(
                f"   ClickPipe {output['clickpipe_name']!r} created over the ClickHouse Cloud API (stand-in): "
                f"id {output['clickpipe_id']}, state {output['clickpipe_state']}, IAM role {output['role_arn']}"
            )
    print(f"\n{len(results) - failed} of {len(results)} databases onboarded.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
