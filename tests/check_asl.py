"""Validate every state machine of template.yaml as it would be deployed (DefinitionSubstitutions
resolved) with the npm asl-validator: the raw file holds `${…}` placeholders the validator rejects."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from tests.harness.template import load_template

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = "asl-validator@4.0.0"


def main() -> int:
    app = load_template(ROOT / "template.yaml")
    arns = {name: f"arn:aws:lambda:us-east-1:123456789012:function:{name}" for name in app.functions}
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in app.state_machines:
            path = Path(tmp) / f"{name}.asl.json"
            path.write_text(app.definition(name, arns))
            result = subprocess.run(["npx", "--yes", VALIDATOR, "--json-path", str(path)], check=False, cwd=tmp)
            print(f"{name}: {'valid' if result.returncode == 0 else 'INVALID'}")
            failed += result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
