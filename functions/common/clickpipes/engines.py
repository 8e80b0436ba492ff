"""The engines and DB kinds this tool knows, and their families: what both ``rules`` and ``cdc_rules`` build on."""

from __future__ import annotations

import re
from typing import Final, Literal

Engine = Literal["postgres", "mysql", "mariadb", "aurora-postgresql", "aurora-mysql"]
EngineFamily = Literal["postgres", "mysql"]
DbKind = Literal["instance", "cluster"]

SUPPORTED_ENGINES: Final[tuple[Engine, ...]] = (
    "postgres",
    "mysql",
    "mariadb",
    "aurora-postgresql",
    "aurora-mysql",
)
FAMILY: Final[dict[Engine, EngineFamily]] = {
    "postgres": "postgres",
    "aurora-postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "aurora-mysql": "mysql",
}


def family(engine: Engine) -> EngineFamily:
    return FAMILY[engine]


def version_tuple(version: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", version)
    return tuple(int(p) for p in parts[:3])
