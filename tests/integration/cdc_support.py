"""What both engines' CDC integration tests share: hostile names, a CdcDbRequest with defaults, the gateway."""

from __future__ import annotations

from typing import Any

import pytest
from clickpipes.models import CdcDbRequest

pytestmark = pytest.mark.dbs

HOSTILE_SCHEMAS = [
    'x"; DROP ROLE rdsmaster; --',
    "x'; DROP USER admin; --",
    "back`tick",
    "back\\slash",
    "a" * 65,
    "",
    "x y",
    "semi;colon",
    "dot.ted",
    "1starts_with_digit_pg",
    "pg_catalog",
    "information_schema",
]


def request(**changes: Any) -> CdcDbRequest:
    fields: dict[str, Any] = {
        "tables": [],
        "publication": "clickpipes",
        "binlog_retention_hours": None,
        "plan_only": False,
    }
    return CdcDbRequest(**(fields | changes))
