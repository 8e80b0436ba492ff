"""Integration: the ClickHouse Cloud API client against a real HTTP server on localhost.

Auth, errors, retries, no key leaks.

The answers follow the vendored contract (tests/contracts/clickhouse-cloud-openapi.json); the test checks
the paths it serves exist there with the method used.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from clickpipes import clickhouse_api
from clickpipes.clickhouse_api import ClickHouseCloudGateway
from clickpipes.errors import ClickHouseApiError, ConfigurationError, InvalidInputError, TransientError
from clickpipes.settings import DEFAULT_CLICKHOUSE_API_URL, ClickHouseApiSettings

from tests.fakes import FakeSecrets

CONTRACT = Path(__file__).parents[1] / "contracts" / "clickhouse-cloud-openapi.json"
ORG = "0b6c7e3a-4a59-4b3e-9a57-0a4f6a0c1d11"
SERVICE = "5f1e2d3c-1b2a-4c3d-8e9f-001122334455"
ROLE = "arn:aws:iam::012345678901:role/CH-S3-steel-xx-18-ue1-29-Role"
KEY_ID, KEY_SECRET = "AKCHKEYID0000001", "4b1dSecretValueNeverLogged"


class Api:
    """Answers queued (status, body, headers) per request, records each request."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, Any, dict[str, str]]] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []


@pytest.fixture
def api() -> Iterator[tuple[Api, str]]:
    state = Api()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(("GET", self.path, dict(self.headers)))
            status, body, headers = state.answers.pop(0) if state.answers else (500, {"error": "none"}, {})
            raw = json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def client(url: str, **options: Any) -> ClickHouseCloudGateway:
    return ClickHouseCloudGateway(
        base_url=url, organization_id=ORG, key_id=KEY_ID, key_secret=KEY_SECRET, base_delay=0.01, **options
    )


def service(role: str | None = ROLE) -> dict[str, Any]:
    return {
        "status": 200,
        "requestId": "9e1c2b3a-0000-4000-8000-000000000001",
        "result": {"id": SERVICE, "iamRole": role},
    }


def no_key(text: str) -> None:
    token = base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
    assert KEY_SECRET not in text
    assert token not in text


def test_the_paths_used_are_in_the_vendored_contract() -> None:
    paths = json.loads(CONTRACT.read_text())["paths"]
    assert "get" in paths["/v1/organizations/{organizationId}/services/{serviceId}"]
    schema = json.loads(CONTRACT.read_text())["components"]["schemas"]["Service"]["properties"]
    assert schema["iamRole"]["type"] == "string"


def test_reads_the_service_role_with_basic_auth(api: tuple[Api, str]) -> None:
    state, url = api
    state.answers.append((200, service(), {}))
    assert client(url).service_iam_role(SERVICE) == ROLE
    method, path, headers = state.requests[0]
    assert (method, path) == ("GET", f"/v1/organizations/{ORG}/services/{SERVICE}")
    assert headers["Authorization"] == "Basic " + base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()


@pytest.mark.parametrize(
    ("status", "advice"), [(401, "wrong or revoked"), (403, "may not do this"), (404, "not found")]
)
def test_refusals_are_named_not_retried_and_keyless(api: tuple[Api, str], status: int, advice: str) -> None:
    state, url = api
    state.answers.append((status, {"status": status, "error": "nope"}, {}))
    with pytest.raises(ClickHouseApiError, match=advice) as caught:
        client(url).service_iam_role(SERVICE)
    assert len(state.requests) == 1
    no_key(str(caught.value) + repr(client(url)))


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_answers_are_retried_then_succeed(api: tuple[Api, str], status: int) -> None:
    state, url = api
    state.answers += [(status, {"error": "busy"}, {"Retry-After": "0"}), (200, service(), {})]
    assert client(url).service_iam_role(SERVICE) == ROLE
    assert len(state.requests) == 2


def test_persistent_5xx_becomes_transient_for_the_state_machine(api: tuple[Api, str]) -> None:
    state, url = api
    state.answers += [(502, {"error": "bad gateway"}, {})] * 3
    with pytest.raises(TransientError, match="answered 502 after 3 attempts") as caught:
        client(url).service_iam_role(SERVICE)
    assert len(state.requests) == 3
    no_key(str(caught.value))


def test_unreachable_is_transient() -> None:
    with pytest.raises(TransientError, match="unreachable"):
        client("http://127.0.0.1:9", attempts=2, timeout=1).service_iam_role(SERVICE)


def test_a_service_without_a_role_and_a_malformed_id_are_named(api: tuple[Api, str]) -> None:
    state, url = api
    state.answers.append((200, service(role=None), {}))
    with pytest.raises(ClickHouseApiError, match="no IAM role"):
        client(url).service_iam_role(SERVICE)
    with pytest.raises(InvalidInputError, match="not a ClickHouse Cloud service id"):
        client(url).service_iam_role("../../admin")
    assert len(state.requests) == 1


def test_settings_are_optional_https_by_default_and_validated() -> None:
    assert not ClickHouseApiSettings.from_env({}).configured
    assert ClickHouseApiSettings.from_env({}).api_url == DEFAULT_CLICKHOUSE_API_URL
    for bad in ({"CLICKHOUSE_API_URL": "http://api.example.com"}, {"CLICKHOUSE_ORGANIZATION_ID": "x"}):
        with pytest.raises(ConfigurationError):
            ClickHouseApiSettings.from_env(bad)
    assert ClickHouseApiSettings.from_env({"CLICKHOUSE_API_URL": "http://localhost:8080/"}).api_url == (
        "http://localhost:8080"
    )


def test_the_gateway_reads_the_key_secret_and_rejects_a_malformed_one() -> None:
    env = {
        "CLICKHOUSE_ORGANIZATION_ID": ORG,
        "CLICKHOUSE_API_KEY_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:012345678901:secret:ch-key",
    }
    settings = ClickHouseApiSettings.from_env(env)
    assert clickhouse_api.gateway(ClickHouseApiSettings.from_env({}), FakeSecrets({})) is None
    assert clickhouse_api.gateway(settings, FakeSecrets({"key_id": KEY_ID, "key_secret": KEY_SECRET})) is not None
    with pytest.raises(ConfigurationError, match="'key_id' and 'key_secret'") as caught:
        clickhouse_api.gateway(settings, FakeSecrets({"key_id": KEY_ID, "secret": KEY_SECRET}))
    no_key(str(caught.value))
