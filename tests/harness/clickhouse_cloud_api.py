"""A stand-in of the ClickHouse Cloud API on 127.0.0.1 that holds itself to the published contract.

Every request (path parameters, body) and every answer is validated against the vendored OpenAPI document
(tests/contracts/clickhouse-cloud-openapi.json) with jsonschema over the document's own schemas (formats checked):
a field name, a case or an enum value that drifts from ClickHouse's contract is recorded in ``violations``, and
the request is answered 400 as the API would. Error bodies follow the documented error shape (``status``,
``error``, ``requestId``). Stateful: services (id → iamRole, idle or awake) and their ClickPipes.

Faults: ``fail_next(status, times, path_contains)`` answers ``status`` (401, 404, 429, 5xx, …) to the next matching
requests; ``idle(service)``: ClickPipes calls answer 424 until PATCH …/state ``awake``; ``pipe_states``: the states a
new pipe goes through, one per GET (e.g. ``["Provisioning", "Failed"]``).

    with ClickHouseCloudStandIn(ORG) as api:
        api.add_service(SERVICE, ROLE)
        world.deploy(..., {"ClickHouseApiUrl": api.url, ...})
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CONTRACT = Path(__file__).parents[1] / "contracts" / "clickhouse-cloud-openapi.json"
DOCUMENT = json.loads(CONTRACT.read_text())
_REGISTRY = Registry().with_resource("urn:ch", Resource.from_contents(DOCUMENT, default_specification=DRAFT202012))
_UUID = "[0-9a-fA-F-]{36}"


def _pointer(*parts: str) -> str:
    return "urn:ch#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _validator(*parts: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": _pointer(*parts)}, registry=_REGISTRY, format_checker=FormatChecker())


def _operation(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """The document's path template for a concrete path, and its path parameters."""
    for template, operations in DOCUMENT["paths"].items():
        if method.lower() not in operations:
            continue
        names = re.findall(r"{(\w+)}", template)
        pattern = "^" + re.sub(r"{\w+}", "([^/]+)", template) + "$"
        match = re.match(pattern, path)
        if match:
            return template, dict(zip(names, match.groups(), strict=True))
    return None


@dataclass
class Fault:
    status: int
    times: int
    path_contains: str = ""


@dataclass
class StandInState:
    organization_id: str
    key_id: str
    key_secret: str
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    pipes: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    progress: dict[str, list[str]] = field(default_factory=dict)
    pipe_states: list[str] = field(default_factory=lambda: ["Provisioning", "Setup", "Running"])
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)  # (method, path, body) validated
    violations: list[str] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class ClickHouseCloudStandIn:
    def __init__(self, organization_id: str, *, key_id: str = "AKSTANDINKEY0001", key_secret: str = "") -> None:
        self.state = StandInState(organization_id, key_id, key_secret or "standin-" + uuid.uuid4().hex)
        self._server: ThreadingHTTPServer | None = None

    # --- setup and faults ---------------------------------------------------------------------------------------
    @property
    def key(self) -> dict[str, str]:
        return {"key_id": self.state.key_id, "key_secret": self.state.key_secret}

    def add_service(self, service_id: str, iam_role: str, *, idle: bool = False) -> None:
        self.state.services[service_id] = {"iamRole": iam_role, "idle": idle}
        self.state.pipes.setdefault(service_id, {})

    def idle(self, service_id: str) -> None:
        self.state.services[service_id]["idle"] = True

    def fail_next(self, status: int, times: int = 1, path_contains: str = "") -> None:
        self.state.faults.append(Fault(status, times, path_contains))

    def pipes(self, service_id: str) -> list[dict[str, Any]]:
        return list(self.state.pipes.get(service_id, {}).values())

    def created_bodies(self) -> list[Any]:
        return [body for method, path, body in self.state.requests if method == "POST" and path.endswith("/clickpipes")]

    @property
    def url(self) -> str:
        assert self._server is not None, "start the stand-in first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- lifecycle ----------------------------------------------------------------------------------------------
    def __enter__(self) -> ClickHouseCloudStandIn:
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = _answer(state, method, self.path, raw, self.headers.get("Authorization") or "")
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# --- the API ------------------------------------------------------------------------------------------------------
def _error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"status": status, "error": message, "requestId": str(uuid.uuid4())}


def _ok(result: Any = None) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"status": 200, "requestId": str(uuid.uuid4())}
    return 200, body | ({"result": result} if result is not None else {})


def _answer(state: StandInState, method: str, path: str, raw: bytes, authorization: str) -> tuple[int, Any]:
    with state.lock:
        status, body = _route(state, method, path, raw, authorization)
        found = _operation(method, path)
        if found is not None:
            template = found[0]
            responses = DOCUMENT["paths"][template][method.lower()]["responses"]
            documented = str(status) if str(status) in responses else "400"  # the documented error shape
            errors = _validator(
                "paths", template, method.lower(), "responses", documented, "content", "application/json", "schema"
            )
            state.violations += [f"answer {status} to {method} {path}: {e.message}" for e in errors.iter_errors(body)]
        return status, body


def _route(state: StandInState, method: str, path: str, raw: bytes, authorization: str) -> tuple[int, Any]:
    state.authorizations.append(authorization)
    expected = "Basic " + base64.b64encode(f"{state.key_id}:{state.key_secret}".encode()).decode()
    for fault in state.faults:
        if fault.times > 0 and fault.path_contains in path:
            fault.times -= 1
            return _error(fault.status, f"injected {fault.status}")
    if authorization != expected:
        return _error(401, "Unauthorized")
    found = _operation(method, path)
    if found is None:
        return _error(404, f"No such operation {method} {path}")
    template, params = found
    operation = DOCUMENT["paths"][template][method.lower()]
    problems = _check_request(operation, params, raw)
    body = json.loads(raw) if raw else None
    state.requests.append((method, path, body))
    if problems:
        state.violations += [f"request {method} {path}: {p}" for p in problems]
        return _error(400, "; ".join(problems)[:500])
    if params.get("organizationId") != state.organization_id:
        return _error(403, "The API key is not allowed to access this organization")
    service = state.services.get(params.get("serviceId", ""))
    if service is None:
        return _error(404, "Service not found")
    return _service_call(state, method, template, params, body, service)


def _check_request(operation: dict[str, Any], params: dict[str, str], raw: bytes) -> list[str]:
    problems = []
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            validator = Draft202012Validator(parameter["schema"], format_checker=FormatChecker())
            problems += [f"{parameter['name']}: {e.message}" for e in validator.iter_errors(params[parameter["name"]])]
    content = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
    if content is not None:
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return [*problems, "the body is not JSON"]
        schema = content["schema"]
        validator = Draft202012Validator(schema, registry=_REGISTRY, format_checker=FormatChecker())
        if "$ref" in schema:
            validator = Draft202012Validator(
                {"$ref": "urn:ch" + schema["$ref"]}, registry=_REGISTRY, format_checker=FormatChecker()
            )
        problems += [f"body {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
    return problems


def _service_call(
    state: StandInState, method: str, template: str, params: dict[str, str], body: Any, service: dict[str, Any]
) -> tuple[int, Any]:
    service_id = params["serviceId"]
    pipes = state.pipes.setdefault(service_id, {})
    described = {
        "id": service_id,
        "name": "stand-in",
        "provider": "aws",
        "region": "us-east-1",
        "state": "idle" if service["idle"] else "running",
        "iamRole": service["iamRole"],
        "autoscalingMode": "vertical",
        "currentScaling": {"effectiveAutoscalingMode": "vertical"},
    }
    if template.endswith("/services/{serviceId}") and method == "GET":
        return _ok(described)
    if template.endswith("/services/{serviceId}/state") and method == "PATCH":
        if body.get("command") == "awake":
            service["idle"] = False
        return _ok(described | {"state": "awaking"})
    if "/clickpipes" not in template:
        return _error(404, "not in the stand-in")
    if service["idle"]:
        return _error(424, "Service is idle: wake it up first")
    if template.endswith("/clickpipes") and method == "GET":
        return _ok(list(pipes.values()))
    if template.endswith("/clickpipes") and method == "POST":
        pipe_id = str(uuid.uuid4())
        new = {"id": pipe_id, "serviceId": service_id, "name": body["name"], "state": state.pipe_states[0]}
        new |= {"source": body.get("source"), "destination": body.get("destination")}
        pipes[pipe_id] = new
        state.progress[pipe_id] = list(state.pipe_states[1:])
        return _ok(new)
    pipe = pipes.get(params.get("clickPipeId", ""))
    if pipe is None:
        return _error(404, "ClickPipe not found")
    if method == "GET":
        if state.progress.get(pipe["id"]):
            pipe["state"] = state.progress[pipe["id"]].pop(0)
        return _ok(pipe)
    if method == "DELETE":
        del pipes[pipe["id"]]
        return _ok()
    return _error(404, "not in the stand-in")
