"""Every adaptation of moto internals, by service. Importing this package registers them all in
``PATCHES`` (import order = the order a ``LocalWorld`` applies them); ``tests.harness.local_aws`` re-exports
the registry. The RDS rules (``tests.harness.rds_rules``) register after these."""

from __future__ import annotations

import importlib

from tests.harness.patches.registry import MOTO_VERSION, PATCHES, MotoPatch

# In this order (the order the world applies them): the interpreter, its aws-sdk tasks, RDS, EventBridge, STS.
for _module in ("sfn", "sfn_sdk", "rds", "eventbridge", "rds_status", "sts"):
    importlib.import_module(f"tests.harness.patches.{_module}")

__all__ = ["MOTO_VERSION", "PATCHES", "MotoPatch"]
