"""The API's OpenAPI 3.1 document, from its route table (``routing``): paths and operations from the routes,
the schemas from the models by msgspec (JSON Schema 2020-12, which OpenAPI 3.1 uses).

Kept from the document Powertools generated before (so a client generated from it keeps its names): the
operation ids (``<function><path>_<method>``, non-word characters as ``_``), each path parameter's schema (a
string of at most ``ID_MAX_LENGTH``, titled from its name) and ``additionalProperties: false`` on the models
that refuse unknown fields (msgspec's schema leaves it out). Imported by ``api.openapi_document`` only: never in
a cold start."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from routing import ID_MAX_LENGTH, JSON, Api, Route

REF = "#/components/schemas/{name}"


def document(api: Api) -> dict[str, Any]:
    models = sorted({model for route in api.routes for model in _models(route)}, key=lambda model: model.__qualname__)
    _, schemas = msgspec.json.schema_components(models, ref_template=REF)
    for name in _closed(models):
        schemas[name]["additionalProperties"] = False
    paths: dict[str, dict[str, Any]] = {}
    for route in api.routes:
        paths.setdefault(route.path, {})[route.method] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": dict(api.info),
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def _models(route: Route) -> list[type]:
    return [*(answer.model for answer in route.responses.values()), *([route.body] if route.body else [])]


def _ref(model: type) -> dict[str, Any]:
    return {"content": {JSON: {"schema": {"$ref": REF.format(name=model.__name__)}}}}


def _operation(route: Route) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": route.summary,
        "operationId": re.sub(r"\W", "_", f"{route.function.__name__}{route.path}") + f"_{route.method}",
    }
    if route.params:
        operation["parameters"] = [
            {
                "required": True,
                "schema": {"type": "string", "maxLength": ID_MAX_LENGTH, "title": name.replace("_", " ").title()},
                "name": name,
                "in": "path",
            }
            for name in route.params
        ]
    if route.body is not None:
        operation["requestBody"] = _ref(route.body) | {"required": True}
    operation["responses"] = {
        str(status): {"description": answer.description} | _ref(answer.model)
        for status, answer in sorted(route.responses.items())
    }
    return operation


def _closed(models: list[type]) -> set[str]:
    """The names of the Structs, these models and those they hold, that forbid unknown fields."""
    closed: set[str] = set()
    seen: set[int] = set()

    def walk(info: msgspec.inspect.Type) -> None:
        if id(info) in seen:
            return
        seen.add(id(info))
        if isinstance(info, msgspec.inspect.StructType):
            if info.forbid_unknown_fields:
                closed.add(info.cls.__name__)
            for field in info.fields:
                walk(field.type)
        for name in ("type", "item_type", "key_type", "value_type"):
            inner = getattr(info, name, None)
            if isinstance(inner, msgspec.inspect.Type):
                walk(inner)
        for inner in getattr(info, "types", None) or getattr(info, "item_types", None) or ():
            walk(inner)

    for info in msgspec.inspect.multi_type_info(models):
        walk(info)
    return closed
