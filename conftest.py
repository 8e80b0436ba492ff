"""Every Lambda's code directory on ``sys.path``, as the Lambda runtime puts it (layers under /opt/python).

Derived from template.yaml (each function's ``CodeUri``, each layer's ``ContentUri``): adding a function
or a layer needs no path list edited (pyproject's pytest ``pythonpath`` only holds the repo root)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _uris(key: str, text: str) -> list[Path]:
    pattern = re.compile(rf"^\s+{key}:\s*['\"]?([\w./-]+?)/?['\"]?\s*(?:#.*)?$", re.MULTILINE)
    return [ROOT / uri for uri in pattern.findall(text)]


def code_dirs(template: Path = ROOT / "template.yaml") -> list[Path]:
    """The template's local code directories: layers first (what every function imports), then functions."""
    text = template.read_text(encoding="utf-8")
    return list(dict.fromkeys(path for path in _uris("ContentUri", text) + _uris("CodeUri", text) if path.is_dir()))


for _directory in reversed(code_dirs()):
    if str(_directory) not in sys.path:
        sys.path.insert(0, str(_directory))
