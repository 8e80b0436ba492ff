"""The database drivers, each imported when first used: the engine modules take the driver names from here, so
importing a DB step loads no driver, and an invocation loads only the driver of the engine it talks to (psycopg
costs about 0.4x a bare ``import boto3``; ``BENCH_ONLY=cold python -m tests.benchmark``).

Each name stands for the driver's module and resolves every attribute through ``sys.modules`` (importing the
module the first time): what the code reaches is always the real module's current attribute, so a patch of the
driver (X-Ray's, a test's) is seen. mypy sees the real modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["conninfo", "errors", "psycopg", "pymysql", "sql"]


class LazyModule:
    """A module imported on the first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


if TYPE_CHECKING:
    import psycopg
    import pymysql
    from psycopg import conninfo, errors, sql
else:
    psycopg = LazyModule("psycopg")
    conninfo = LazyModule("psycopg.conninfo")
    errors = LazyModule("psycopg.errors")  # PostgreSQL's errors (PyMySQL's are pymysql.err)
    sql = LazyModule("psycopg.sql")
    pymysql = LazyModule("pymysql")
