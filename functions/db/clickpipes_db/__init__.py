"""Database access (psycopg, PyMySQL): the only code that talks SQL. Ships in the DbLayer.

Identifiers always go through the driver's quoting (``psycopg.sql.Identifier``, PyMySQL parameters);
TLS is verified against a CA bundle unless the stack says ``require``.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

# The modules that import a driver, loaded when first used (PEP 562 + importlib's LazyLoader): ``from clickpipes_db
# import postgres, mysql`` costs nothing at import, and a step loads only the driver of the engine it talks to.
_DRIVER_MODULES = frozenset(
    {"postgres", "cdc_postgres", "offboard_postgres", "pg_catalog", "pg_publication"}
    | {"mysql", "cdc_mysql", "offboard_mysql", "mysql_grants"}
)


def __getattr__(name: str) -> ModuleType:
    if name not in _DRIVER_MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    fullname = f"{__name__}.{name}"
    module = sys.modules.get(fullname)
    if module is None:
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        spec.loader = importlib.util.LazyLoader(spec.loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules[fullname] = module
        spec.loader.exec_module(module)
    globals()[name] = module
    return module
