"""`make sam-local`, as the README's `sam local invoke` section tells a new user to run it: end to end, offline.

It runs the README's commands (tests/unit/test_docs.py checks that they are that script's) and must print what
ResolveTargetFunction and ApiFunction returned, exit 0, and leave nothing running that it started: its moto server
is gone, no container is left, and dockerd is as it was (stopped again if the script started it).
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.container

ROOT = Path(__file__).resolve().parents[2]
ENV_JSON = ROOT / "env.json"
DOCKER = "/usr/bin/docker"
DOCKER_HOST = "unix:///run/clickpipes-docker/docker.sock"  # samtools.sh env
PRINCIPAL = "arn:aws:iam::111122223333:role/CH-S3-orange-ab-12-Role"  # events/resolve_target.json


def payloads(stdout: str) -> list[dict[str, Any]]:
    """Every JSON object in sam's output (it prints each payload without a newline, among other output)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := stdout.find("{", at)) >= 0:
        try:
            payload, at = decoder.raw_decode(stdout, at)
        except ValueError:
            at += 1
            continue
        if isinstance(payload, dict):
            found.append(payload)
    return found


def engine() -> tuple[bool, set[str]]:
    """(dockerd answers, its containers)."""
    env = dict(os.environ, DOCKER_HOST=DOCKER_HOST)
    listed = subprocess.run([DOCKER, "ps", "-aq", "--no-trunc"], env=env, capture_output=True, text=True, check=False)
    return listed.returncode == 0, set(listed.stdout.split())


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own http URL
            return True
    except OSError:
        return False


def test_make_sam_local_runs_the_readme_commands() -> None:
    if os.geteuid() != 0:
        pytest.skip("make sam-local runs a private dockerd: run it as root")
    endpoint = json.loads(ENV_JSON.read_text())["Parameters"]["AWS_ENDPOINT_URL"]
    was_up, containers = engine()
    result = subprocess.run(
        ["make", "--no-print-directory", "sam-local"],
        cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    (ROOT / ".aws-sam" / "sam-local").mkdir(parents=True, exist_ok=True)
    (ROOT / ".aws-sam" / "sam-local" / "make.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, f"make sam-local failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"

    # what the README's two invokes returned (each printed raw by sam, then again pretty by the script)
    resolution, api = payloads(result.stdout)[:2]
    assert resolution["seal"] is None  # env.json's STATE_SEAL_SECRET_ARN is empty: the stack seals nothing
    resolved = resolution["target"]
    assert {k: resolved[k] for k in ("db_identifier", "kind", "engine", "engine_version", "port", "database")} == {
        "db_identifier": "orders-pg", "kind": "instance", "engine": "postgres", "engine_version": "16.4",
        "port": 5432, "database": "postgres",
    }  # fmt: skip
    assert resolved["arn"] == "arn:aws:rds:us-east-1:123456789012:db:orders-pg"
    assert resolved["clickhouse_role_arn"] == PRINCIPAL
    assert resolved["admin_secret_arn"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-")
    assert api["statusCode"] == 202, api
    body = json.loads(api["body"])
    assert body["status"] == "RUNNING"
    assert body["id"].startswith("orders-pg--")
    assert "what the functions returned" in result.stderr

    # nothing left that it started
    assert not answers(f"{endpoint}/moto-api/"), f"moto still answers at {endpoint}"
    is_up, left = engine()
    assert is_up == was_up, f"dockerd was {'up' if was_up else 'down'} before make sam-local, is not after"
    assert left <= containers, f"containers left: {sorted(left - containers)}"
