"""Cold starts, held without timing (the times are in the benchmark, `BENCH_ONLY=cold`): a fresh interpreter per
handler, in Lambda's environment before the first invocation, loads none of the heavy parts it does not use yet.

- ``aws_xray_sdk``: only a traced invocation loads it (``observability.LazyTracer``);
- the DB drivers: none at import; an invocation loads only its engine's (``clickpipes_db.drivers``);
- pydantic: none (the models are msgspec Structs: ``clickpipes.models.base``);
- Powertools' event handler: no function's (the API routes with its own ``routing``, which costs nothing beside
  the event handler's 0.2-0.35 of a bare boto3).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.harness.template import load_template

ROOT = Path(__file__).resolve().parents[2]
APP = load_template(ROOT / "template.yaml")
APP_DB_LAYER = ROOT / "functions" / "db"
HEAVY = ("aws_xray_sdk", "psycopg", "pymysql", "pydantic", "pydantic_core", "aws_lambda_powertools.event_handler")
# the other workflows' models: the onboarding's steps write their tags from clickpipes.record_tags, and the ports
# import models for annotations only
OTHER_WORKFLOWS = ("clickpipes.offboarding_models", "clickpipes.audit_models", "clickpipes.fleet_models")
ONBOARDING = sorted(
    name for name in APP.functions if name in json.dumps(APP.state_machines["OnboardingStateMachine"].substitutions)
)

REPORT = """
import json, sys
print(json.dumps({"modules": sorted(sys.modules)}))
"""


def lambda_env(path: list[Path], **extra: str) -> dict[str, str]:
    """Lambda's environment at init: a task root, no trace id yet (Lambda sets it per invocation), tracing not
    disabled (the template says ``Tracing: Active``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "_X_AMZN", "LAMBDA_", "AWS_SAM"))}
    env |= {"PYTHONPATH": os.pathsep.join(map(str, path)), "AWS_REGION": "us-east-1", "LAMBDA_TASK_ROOT": str(path[0])}
    return env | {"AWS_LAMBDA_FUNCTION_NAME": "test", "POWERTOOLS_SERVICE_NAME": "clickpipes-onboarding"} | extra


def run(code: str, path: list[Path], **extra: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", code], env=lambda_env(path, **extra), capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("function", sorted(APP.functions))
def test_importing_a_handler_loads_only_what_it_uses(function: str) -> None:
    fn = APP.functions[function]
    loaded = run(f"import {fn.module}\n{REPORT}", list(fn.code_dirs))
    heavy = [name for name in loaded["modules"] if name.split(".")[0] in HEAVY or name.startswith(HEAVY)]
    assert heavy == []
    if function in ONBOARDING:
        assert [name for name in loaded["modules"] if name in OTHER_WORKFLOWS] == []


def test_the_onboarding_functions_are_found() -> None:
    assert {"ResolveTargetFunction", "EnableIamAuthFunction", "RecordResultFunction"} <= set(ONBOARDING)
    assert "DropDbUserFunction" not in ONBOARDING


CONNECT = """
import json, socket, sys
from clickpipes.errors import DbConnectionError
from clickpipes.models import AdminCredentials
from clickpipes_db import {engine}
from clickpipes_db.tls import Tls

held = socket.socket()
held.bind(("127.0.0.1", 0))  # bound, not listening: the connection is refused at once
port = held.getsockname()[1]
credentials = AdminCredentials(username="admin", password="x", host="127.0.0.1", port=port, database=None)
error = None
try:
    with {engine}.connect(credentials, Tls(mode="require", ca_bundle=""), timeout=2):
        pass
except DbConnectionError as exc:
    error = type(exc).__name__
drivers = sorted(m for m in sys.modules if m.split(".")[0] in ("psycopg", "pymysql"))
print(json.dumps({{"modules": drivers, "error": error}}))
"""


@pytest.mark.parametrize(
    ("engine", "driver", "other"), [("postgres", "psycopg", "pymysql"), ("mysql", "pymysql", "psycopg")]
)
def test_a_db_step_loads_only_the_driver_of_the_engine_it_talks_to(engine: str, driver: str, other: str) -> None:
    """A DB step's import loads no driver (above); connecting (to a port that refuses) loads its engine's only."""
    out = run(CONNECT.format(engine=engine), list(APP.functions["CreateDbUserFunction"].code_dirs))
    assert out["error"] == "DbConnectionError"
    assert out["modules"] != []
    assert {name.split(".")[0] for name in out["modules"]} == {driver}
    assert not [name for name in out["modules"] if name.startswith(other)]


TRACED = """
import json, sys
from clickpipes.observability import tracer

@tracer.capture_lambda_handler(capture_response=False)
def handler(event, context):
    return {"seen": event["n"]}

class Context:
    function_name, memory_limit_in_mb, aws_request_id = "test", 128, "req-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"

result = [handler({"n": n}, Context()) for n in (1, 2)]
print(json.dumps({"modules": ["aws_xray_sdk"] if "aws_xray_sdk" in sys.modules else [],
                  "result": result, "traced": tracer.enabled()}))
"""
TRACE_ID = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def test_an_invocation_without_a_trace_loads_no_xray() -> None:
    out = run(TRACED, [ROOT / "functions" / "common"])
    assert out == {"modules": [], "result": [{"seen": 1}, {"seen": 2}], "traced": False}


@pytest.mark.parametrize("disabled", [False, True])
def test_a_traced_invocation_is_traced_by_powertools(disabled: bool) -> None:
    """With a trace id (Tracing: Active), the handler runs under Powertools' Tracer, unless
    POWERTOOLS_TRACE_DISABLED; the X-Ray daemon address is a local port nobody listens on (UDP)."""
    env = {"_X_AMZN_TRACE_ID": TRACE_ID, "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2999"}
    env |= {"AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR"}
    if disabled:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    out = run(TRACED, [ROOT / "functions" / "common"], **env)
    assert out["result"] == [{"seen": 1}, {"seen": 2}]
    assert out["traced"] is not disabled
    assert out["modules"] == ([] if disabled else ["aws_xray_sdk"])


def test_the_lazy_names_of_the_models_are_all_there() -> None:
    from clickpipes import models

    for name in models.__all__:
        assert getattr(models, name) is not None
    with pytest.raises(AttributeError):
        _ = models.NoSuchModel
