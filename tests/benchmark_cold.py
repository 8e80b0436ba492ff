"""Cold imports (`BENCH_ONLY=cold python -m tests.benchmark`): each handler imported by a fresh Python 3.13 from its
code and its layers as `functions/layer.mk` builds them (pinned wheels, compiled bytecode), in Lambda's
environment (``LAMBDA_TASK_ROOT`` set, no trace id yet: Lambda sets ``_X_AMZN_TRACE_ID`` per invocation), against
a bare ``import boto3`` from the same layers; then what the parts cost on top of boto3. Figures, never asserted
(tests/unit/test_cold_imports.py holds the line without timing: which modules a handler import loads)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.harness.template import load_template

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))
DB_LAYER = ROOT / "functions" / "db"
PYTHON = getattr(sys, "_base_executable", sys.executable)  # the venv's python3.13 itself: it has pip

# (what, untimed setup, timed statement): each on top of a bare `import boto3`
MODEL = "import msgspec"  # what any model or settings class needs (clickpipes.models.base)
RECORD = str(ROOT / "events" / "record_result.json")
PARTS = (
    ("Powertools Logger", "", "from aws_lambda_powertools import Logger; Logger(service='s')"),
    ("Powertools Metrics", "", "from aws_lambda_powertools import Metrics; Metrics(namespace='n')"),
    ("Powertools Tracer (aws_xray_sdk)", "", "from aws_lambda_powertools import Tracer; Tracer()"),
    ("msgspec (the models' base)", "", MODEL),
    (
        "a step's floor: msgspec, Logger, Metrics",
        "",
        f"{MODEL}; from aws_lambda_powertools import Logger, Metrics; Logger(service='s'); Metrics(namespace='n')",
    ),
    ("clickpipes.models.base", MODEL, "import clickpipes.models.base"),
    ("clickpipes.models (names only: lazy)", MODEL, "import clickpipes.models"),
    (
        "clickpipes.models input+steps+records",
        MODEL,
        "import clickpipes.models.input, clickpipes.models.steps, clickpipes.models.records",
    ),
    ("clickpipes.settings", MODEL, "import clickpipes.settings"),
    (
        "first invocation: parse RecordResult's event",  # the largest step input, in a first invocation
        f"import json; from clickpipes.models import RecordResultRequest, parse; event = json.load(open({RECORD!r}))",
        "parse(RecordResultRequest, event)",
    ),
    ("clickpipes.observability", "", "import clickpipes.observability"),
    ("clickpipes.clickhouse_api", f"{MODEL}; import clickpipes.settings", "import clickpipes.clickhouse_api"),
    ("clickpipes_db gateways (no driver)", MODEL, "import clickpipes_db.gateway, clickpipes_db.offboard_gateway"),
    ("psycopg (PostgreSQL driver)", "", "import psycopg"),
    ("pymysql (MySQL/MariaDB driver)", "", "import pymysql"),
)


def build_layers(into: Path) -> dict[Path, Path]:
    """Each layer built by its own Makefile (the recipe `sam build` runs): layer source dir → its python dir."""
    app = load_template(ROOT / "template.yaml")
    built: dict[Path, Path] = {}
    for layer_id, source in app.layers.items():
        out = into / layer_id
        make = ["make", "-s", "-C", str(source), f"build-{layer_id}", f"ARTIFACTS_DIR={out}", f"PYTHON={PYTHON}"]
        subprocess.run(make, check=True, capture_output=True)
        built[source] = out / "python"
    return built


def _env(path: list[Path]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POWERTOOLS_", "_X_AMZN", "AWS_LAMBDA", "LAMBDA_"))
    }
    env |= {"PYTHONPATH": os.pathsep.join(map(str, path)), "PYTHONDONTWRITEBYTECODE": "1", "AWS_REGION": "us-east-1"}
    env |= {"LAMBDA_TASK_ROOT": str(path[0]), "AWS_LAMBDA_FUNCTION_NAME": "bench"}
    return env | {"POWERTOOLS_SERVICE_NAME": "clickpipes-onboarding"}


def _once(statement: str, path: list[Path], setup: str = "") -> float:
    """One fresh interpreter (``-S``: only ``path``, as on Lambda) timing ``statement`` after an untimed ``setup``;
    no bytecode written (Lambda's /var/task and /opt are read-only). CPU time of the process (an import is
    CPU-bound once the files are cached): wall time swings with the load of a shared machine."""
    code = (
        "; ".join(part for part in ("import time", setup, "t = time.process_time()", statement) if part)
        + "; print((time.process_time() - t) * 1000)"
    )
    cmd = [PYTHON, "-S", "-c", code]
    return float(subprocess.run(cmd, check=True, capture_output=True, text=True, env=_env(path)).stdout)


def import_ms(statement: str, path: list[Path], setup: str = "") -> float:
    """Median of RUNS fresh interpreters."""
    return statistics.median(_once(statement, path, setup) for _ in range(RUNS))


def paired(statement: str, path: list[Path], baseline: list[Path]) -> tuple[float, float, float]:
    """``statement`` and a bare ``import boto3`` in turns, RUNS times each: the medians of both and of the
    ratio of each pair (a load that drifts during the run moves both of a pair alike)."""
    pairs = [(_once(statement, path), _once("import boto3", baseline)) for _ in range(RUNS)]
    return (
        statistics.median(ms for ms, _ in pairs),
        statistics.median(boto for _, boto in pairs),
        statistics.median(ms / boto for ms, boto in pairs),
    )


def cold_imports() -> None:
    app = load_template(ROOT / "template.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        layers = build_layers(Path(tmp))
        common = [layers[d] for d in layers if d != DB_LAYER]
        baseline = import_ms("import boto3", common)
        print(f"\n## Cold imports (as built, compiled layers; median of {RUNS} fresh python3.13, CPU ms)")
        print(f"bare `import boto3` from the layer: {baseline:.0f} ms; target 1.5x (control plane), 2x (DB steps)")
        print("each handler and a bare `import boto3` in turns; x boto3: the median of the pairs' ratios")
        print(f"{'function':<34}{'ms':>7}{'boto3 ms':>10}{'x boto3':>9}{'target':>8}")
        worst: dict[float, float] = {1.5: 0.0, 2.0: 0.0}
        for name, fn in app.functions.items():
            target = 2.0 if DB_LAYER in fn.layer_dirs else 1.5
            path = [fn.code_uri, *(layers[d] for d in fn.layer_dirs)]
            ms, beside, ratio = paired(f"import {fn.module}", path, common)
            worst[target] = max(worst[target], ratio)
            mark = "" if ratio <= target else "  over"
            print(f"{name:<34}{ms:>7.0f}{beside:>10.0f}{ratio:>9.2f}{target:>8.1f}{mark}")
        print(f"highest: control plane {worst[1.5]:.2f}x (target 1.5x), DB steps {worst[2.0]:.2f}x (target 2x)")
        print(
            "DB steps import no driver: an invocation loads its engine's (psycopg or pymysql, below) when it connects"
        )
        print("\nthe parts, each on top of `import boto3` (ms; x boto3):")
        everything = [*common, layers[DB_LAYER]]
        for what, setup, statement in PARTS:
            ms = import_ms(statement, everything, setup="; ".join(filter(None, ("import boto3", setup))))
            print(f"{what:<40}{ms:>7.0f}{ms / baseline:>7.2f}")
