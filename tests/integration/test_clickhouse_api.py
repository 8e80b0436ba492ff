"""Integration: the ClickHouse Cloud API client against a real HTTP server on localhost.

Auth, errors, retries, no key leaks.

Every answer the server sends is validated against the vendored contract
(tests/contracts/clickhouse-cloud-openapi.json): the 200 body against the operation's response schema, every
error body against its documented error shape (the 400 schema: ``status``, ``error``, ``requestId``).
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
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.fakes import FakeSecrets

CONTRACT = Path(__file__).parents[1] / "contracts" / "clickhouse-cloud-openapi.json"
ORG = "0b6c7e3a-4a59-4b3e-9a57-0a4f6a0c1d11"
SERVICE = "5f1e2d3c-1b2a-4c3d-8e9f-001122334455"
ROLE = "arn:aws:iam::012345678901:role/CH-S3-steel-xx-18-ue1-29-Role"
REQUEST_ID = "9e1c2b3a-0000-4000-8000-000000000001"
KEY_ID, KEY_SECRET = "AKCHKEYID0000001", "4b1dSecretValueNeverLogged"


OPERATION = "/v1/organizations/{organizationId}/services/{serviceId}"


def contract_validator(status: int) -> Draft202012Validator:
    """The GET service operation's response schema for ``status`` (errors: the 400 schema), from the contract."""
    document = json.loads(CONTRACT.read_text())
    registry = Registry().with_resource(
        "urn:clickhouse-cloud", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    documented = "200" if status == 200 else "400"
    pointer = "/paths/" + OPERATION.replace("~", "~0").replace("/", "~1")
    pointer += f"/get/responses/{documented}/content/application~1json/schema"
    return Draft202012Validator({"$ref": "urn:clickhouse-cloud#" + pointer}, registry=registry)


class Api:
    """Answers queued (status, body, headers) per request, records each request."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, Any, dict[str, str]]] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.contract_errors: list[str] = []


@pytest.fixture
def api() -> Iterator[tuple[Api, str]]:
    state = Api()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(("GET", self.path, dict(self.headers)))
            status, body, headers = (
                state.answers.pop(0) if state.answers else (500, refusal(500, "no answer queued"), {})
            )
            errors = [e.message for e in contract_validator(status).iter_errors(body)]
            state.contract_errors += errors
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
        assert state.contract_errors == [], "the stand-in answered outside the ClickHouse Cloud contract"
    finally:
        server.shutdown()
        server.server_close()


def client(url: str, **options: Any) -> ClickHouseCloudGateway:
    return ClickHouseCloudGateway(
        base_url=url, organization_id=ORG, key_id=KEY_ID, key_secret=KEY_SECRET, base_delay=0.01, **options
    )


def service(role: str | None = ROLE) -> dict[str, Any]:
    result = {
        "id": SERVICE,
        "name": "orders-analytics",
        "provider": "aws",
        "region": "us-east-1",
        "autoscalingMode": "vertical",
        "currentScaling": {"effectiveAutoscalingMode": "vertical"},
    } | ({"iamRole": role} if role else {})
    return {"status": 200, "requestId": REQUEST_ID, "result": result}


def refusal(status: int, error: str) -> dict[str, Any]:
    return {"status": status, "error": error, "requestId": REQUEST_ID}


def no_key(text: str) -> None:
    token = base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
    assert KEY_SECRET not in text
    assert token not in text


def test_the_paths_used_are_in_the_vendored_contract() -> None:
    paths = json.loads(CONTRACT.read_text())["paths"]
    assert "get" in paths[OPERATION]
    assert contract_validator(200).is_valid(service())
    assert not contract_validator(200).is_valid({"result": {"id": SERVICE, "iamRole": 7}})  # drift is caught
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
    state.answers.append((status, refusal(status, "nope"), {}))
    with pytest.raises(ClickHouseApiError, match=advice) as caught:
        client(url).service_iam_role(SERVICE)
    assert len(state.requests) == 1
    no_key(str(caught.value) + repr(client(url)))


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_answers_are_retried_then_succeed(api: tuple[Api, str], status: int) -> None:
    state, url = api
    state.answers += [(status, refusal(status, "busy"), {"Retry-After": "0"}), (200, service(), {})]
    assert client(url).service_iam_role(SERVICE) == ROLE
    assert len(state.requests) == 2


def test_persistent_5xx_becomes_transient_for_the_state_machine(api: tuple[Api, str]) -> None:
    state, url = api
    state.answers += [(502, refusal(502, "bad gateway"), {})] * 3
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


def test_tls_is_verified_a_self_signed_api_is_refused(tmp_path: Path) -> None:
    """An https endpoint whose certificate the default trust store does not know: ConfigurationError, no retry."""
    import ssl
    import subprocess

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(ConfigurationError, match="TLS verification failed"):
            client(f"https://localhost:{server.server_address[1]}").service_iam_role(SERVICE)
    finally:
        server.shutdown()
        server.server_close()
