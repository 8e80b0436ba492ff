"""The API's router: a route table (method, path, summary, request model, responses) that both answers API
Gateway's proxy events and describes itself (``openapi.document``).

Why not Powertools' event handler: importing ``aws_lambda_powertools.event_handler`` costs about 0.2 to 0.35 of a
bare ``import boto3`` (its package loads every resolver, asyncio and the data classes), which left the API's cold
import at the 1.5x line with no margin once pydantic was gone; its validation needs pydantic models. What it did
for this API fits here: match a REST path, parse the JSON body into the route's model, map the errors to their
status with a Problem body, and answer in API Gateway's proxy shape. API Gateway only forwards the methods and
resources the template declares (AWS_IAM auth answers anything else), so an unknown route is 404, as before.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from clickpipes.errors import InvalidInputError
from clickpipes.models.base import Base, Model, parse

ID_MAX_LENGTH = 80  # a path id: the longest execution name Step Functions allows
JSON = "application/json"

# the characters a path parameter may hold (RFC 3986's unreserved and sub-delims, and those API Gateway decodes):
# Powertools' set, so a path it did not route ("../../etc") is still no route
_SEGMENT = r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+"


class Problem(Model, frozen=True, kw_only=True):
    """Every error's body: the error's name (its class, as the README's error table names it) and a message."""

    error: str
    message: str


@dataclass(frozen=True)
class Answer:
    """One documented response: its description and its body's model."""

    description: str
    model: type[Base]


@dataclass(frozen=True)
class Reply:
    """A response other than 200 (202 Accepted with a Location): status, body, extra headers."""

    status: int
    body: Base
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """What a route's function gets: the proxy event, its path parameters, the parsed body."""

    event: Mapping[str, Any]
    params: Mapping[str, str]
    body: Model | None = None

    def body_as[M: Model](self, model: type[M]) -> M:
        """The body, parsed into the route's model (``body=`` of its declaration)."""
        if not isinstance(self.body, model):
            raise TypeError(f"this route's body is not a {model.__name__}")
        return self.body

    @property
    def caller(self) -> str | None:
        """The SigV4-authenticated caller, as API Gateway's AWS_IAM authorizer saw it (never the body's word)."""
        identity = (self.event.get("requestContext") or {}).get("identity") or {}
        return identity.get("userArn") or None


Function = Callable[[Call], Reply | Base]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # OpenAPI's form: /onboardings/{onboarding_id}
    summary: str
    function: Function
    responses: Mapping[int, Answer]
    body: type[Model] | None = None

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        pattern = re.sub(r"{(\w+)}", lambda m: f"(?P<{m[1]}>{_SEGMENT})", self.path)
        found = re.fullmatch(pattern + "/*", path)  # a trailing slash is the same resource (REST API)
        return found.groupdict() if found else None


class Router:
    """Routes declared by decorators; ``Api`` includes each module's router."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def post(
        self, path: str, *, summary: str, body: type[Model], responses: Mapping[int, Answer]
    ) -> Callable[[Function], Function]:
        return self._add("post", path, summary, responses, body)

    def get(self, path: str, *, summary: str, responses: Mapping[int, Answer]) -> Callable[[Function], Function]:
        return self._add("get", path, summary, responses, None)

    def _add(
        self, method: str, path: str, summary: str, responses: Mapping[int, Answer], body: type[Model] | None
    ) -> Callable[[Function], Function]:
        def register(function: Function) -> Function:
            self.routes.append(Route(method, path, summary, function, responses, body))
            return function

        return register

    def include(self, other: Router) -> None:
        self.routes.extend(other.routes)


class Api(Router):
    """The routes, and how an error answers: its status (by class, the nearest in its MRO) and a Problem."""

    def __init__(self, *, errors: Mapping[type[Exception], int], no_route: str, **info: str) -> None:
        super().__init__()
        self.errors = errors
        self.no_route = no_route
        self.info = info  # OpenAPI's info: title, version, summary

    def resolve(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """API Gateway's proxy event → its proxy response; an error without a status is raised (500)."""
        try:
            return self._answer(event)
        except Exception as exc:
            status = next((self.errors[k] for k in type(exc).__mro__ if k in self.errors), None)
            if status is None:
                raise
            return response(status, Problem(error=type(exc).__name__, message=str(exc)))

    def _answer(self, event: Mapping[str, Any]) -> dict[str, Any]:
        method, path = str(event.get("httpMethod", "")).lower(), str(event.get("path", ""))
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return self._call(route, event, params)
        return response(404, Problem(error="NotFoundError", message=self.no_route))

    def _call(self, route: Route, event: Mapping[str, Any], params: dict[str, str]) -> dict[str, Any]:
        for name, value in params.items():
            if len(value) > ID_MAX_LENGTH:
                raise InvalidInputError(f"Invalid input: {name}: Expected `str` of length <= {ID_MAX_LENGTH}.")
        body = None
        if route.body is not None:
            data = json_body(event)
            if data is _NOT_JSON_TYPE:
                message = f"Send the body as JSON (Content-Type: {JSON})."
                return response(415, Problem(error=InvalidInputError.__name__, message=message))
            body = parse(route.body, data)
        answer = route.function(Call(event, params, body))
        if isinstance(answer, Reply):
            return response(answer.status, answer.body, answer.headers)
        return response(200, answer)


_NOT_JSON_TYPE = object()  # the body is sent as another content type: 415


def json_body(event: Mapping[str, Any]) -> object:
    """The body's JSON value (None without a body), ``_NOT_JSON_TYPE`` for another Content-Type; a body that
    says it is JSON and is not is an InvalidInputError. No Content-Type is JSON (as Powertools read it)."""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").strip()
    if content_type and not content_type.startswith(JSON):
        return _NOT_JSON_TYPE
    raw = event.get("body")
    if raw is None:
        return None
    try:
        text = base64.b64decode(raw, validate=True).decode() if event.get("isBase64Encoded") else raw
        return json.loads(text)
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"Invalid input: body: not base64-encoded UTF-8 ({exc}).") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"Invalid input: body: not JSON ({exc.msg} at {exc.pos}).") from None


def response(status: int, body: Base, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """API Gateway's proxy response, as Powertools' REST resolver shaped it (multi-value headers)."""
    multi = {"Content-Type": [JSON]} | {name: [value] for name, value in (headers or {}).items()}
    text = json.dumps(body.model_dump(mode="json"), separators=(",", ":"))
    return {"statusCode": status, "body": text, "isBase64Encoded": False, "multiValueHeaders": multi}
