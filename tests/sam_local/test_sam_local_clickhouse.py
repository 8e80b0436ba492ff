"""CreateClickPipeFunction, built by `sam build` and run by `sam local invoke` in the Lambda image (the same session
as test_sam_local.py). With the stack defaults (no ClickHouseOrganizationId / ClickHouseApiKeySecretArn) it must
load (handler path, layers, environment) and refuse with the contract's name, calling nothing; a malformed event
is InvalidInputError. The calls to the API itself are proven by tests/e2e/test_clickhouse_cloud.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .samlocal import EVENTS, SamLocal

pytestmark = pytest.mark.container


def event(name: str, **replace: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data | replace


def test_create_clickpipe_without_the_api_settings_is_a_configuration_error(samlocal: SamLocal) -> None:
    result = samlocal.invoke("CreateClickPipeFunction", event("create_clickpipe"))
    assert result.error_type == "ConfigurationError", result.payload
    assert "ClickHouseApiKeySecretArn" in json.dumps(result.payload)


def test_create_clickpipe_rejects_an_event_without_output(samlocal: SamLocal) -> None:
    result = samlocal.invoke("CreateClickPipeFunction", {"target": event("create_clickpipe")["target"]})
    assert result.error_type == "InvalidInputError", result.payload
