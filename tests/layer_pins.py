"""The layers' pinned requirements (functions/<layer>/requirements.txt), read the way pip reads them."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

FUNCTIONS = Path(__file__).resolve().parents[1] / "functions"
LAYERS = {"CommonLayer": FUNCTIONS / "common" / "requirements.txt", "DbLayer": FUNCTIONS / "db" / "requirements.txt"}


def pins(path: Path) -> dict[str, Requirement]:
    """Canonical name -> requirement, for every requirement line of the file."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    requirements = [Requirement(line) for line in lines if line]
    return {canonicalize_name(r.name): r for r in requirements}
