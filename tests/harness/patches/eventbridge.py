"""EventBridge patch: array matching in event patterns."""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from unittest import mock

from tests.harness.patches.registry import _moto_patch

if TYPE_CHECKING:
    from tests.harness.local_aws import LocalWorld


@_moto_patch(
    "eventbridge_array_matching",
    gap="EventBridge patterns do not match fields inside arrays of objects (AWS flattens arrays: "
    "'tags': {'key': ['x']} matches a CloudTrail requestParameters.tags list holding {'key': 'x', ...})",
    touches="moto.events.models.EventPattern._flatten_dict (descends into lists of objects)",
)
def _patch_eventbridge_array_matching(stack: ExitStack, world: LocalWorld | None) -> None:
    from moto.events.models import EventPattern

    def flatten(node: Any, prefix: str = "", result: dict[str, Any] | None = None) -> dict[str, Any]:
        result = {} if result is None else result
        for key, value in node.items() if isinstance(node, dict) else ():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict) and value:
                flatten(value, path, result)
            elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
                for element in value:  # every leaf under the array collects its values in one list
                    for leaf, leaf_value in flatten(element if isinstance(element, dict) else {}, path).items():
                        result.setdefault(leaf, []).extend(leaf_value if isinstance(leaf_value, list) else [leaf_value])
            else:
                result[path] = value
        return result

    stack.enter_context(mock.patch.object(EventPattern, "_flatten_dict", staticmethod(flatten)))
