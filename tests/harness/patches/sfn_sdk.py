"""Step Functions aws-sdk integration patches: casing, error names, definite JSONPath."""

from __future__ import annotations

import functools
import json
import re
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, Final
from unittest import mock

import botocore.handlers
import botocore.session

from tests.harness.errors import HarnessError
from tests.harness.patches.registry import _moto_patch, _replace_module_attribute

if TYPE_CHECKING:
    from botocore.model import OperationModel

    from tests.harness.local_aws import LocalWorld


# --- Step Functions aws-sdk integrations ----------------------------------------------------------

_BOTOCORE: Final = botocore.session.get_session()


@functools.cache
def _operation_model(service: str, snake_action: str) -> OperationModel:
    from moto.stepfunctions.parser.utils import camel_to_snake_case

    service_model = _BOTOCORE.get_service_model(service)
    for operation in service_model.operation_names:
        if camel_to_snake_case(operation) == snake_action:
            return service_model.operation_model(operation)
    raise HarnessError(f"aws-sdk:{service}: no operation {snake_action!r}")


def _json_safe(value: Any) -> Any:
    """Datetimes (and other non-JSON values) in an SDK response -> strings, as Step Functions does."""
    return json.loads(json.dumps(value, default=lambda o: o.isoformat() if hasattr(o, "isoformat") else str(o)))


def _to_boto(task: Any, parameters: dict[str, Any], operation: OperationModel) -> None:
    """Step Functions' casing of a request (``DbInstanceIdentifier``) -> boto3's, by the operation's input shape."""
    if operation.input_shape is not None:
        task._to_boto_request(parameters, operation.input_shape)


def _from_boto(task: Any, response: Any, operation: OperationModel) -> None:
    """boto3's casing of a result -> Step Functions' (``DbInstances``), datetimes as strings."""
    if operation.output_shape is not None:
        task._from_boto_response(response, operation.output_shape)
    if isinstance(response, dict):
        safe = _json_safe(response)
        response.clear()
        response.update(safe)


@_moto_patch(
    "aws_sdk_casing",
    gap="aws-sdk tasks: moto stubs out LocalStack's request/response re-casing, so Step Functions' "
    "Java-SDK casing (Arguments 'DbInstanceIdentifier', result 'DbInstances[0].DbiResourceId') "
    "fails (KeyError -> States.Runtime); datetimes in a result crash DescribeExecution",
    touches="StateTaskServiceAwsSdk._normalise_parameters / _normalise_response (no-ops in moto)",
)
def _patch_aws_sdk_casing(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    def model(task: StateTaskServiceAwsSdk, service: str | None, action: str | None) -> OperationModel:
        return _operation_model(task._get_boto_service_name(service), task._get_boto_service_action(action))

    def normalise_parameters(
        self: StateTaskServiceAwsSdk,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        _to_boto(self, parameters, model(self, boto_service_name, service_action_name))

    def normalise_response(
        self: StateTaskServiceAwsSdk,
        response: Any,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        _from_boto(self, response, model(self, boto_service_name, service_action_name))

    stack.enter_context(mock.patch.object(StateTaskServiceAwsSdk, "_normalise_parameters", normalise_parameters))
    stack.enter_context(mock.patch.object(StateTaskServiceAwsSdk, "_normalise_response", normalise_response))


_SFN_SERVICE_ERROR_NAMES: Final = {"dynamodb": "DynamoDb", "sfn": "Sfn", "stepfunctions": "Sfn"}


@_moto_patch(
    "aws_sdk_error_names",
    gap="aws-sdk task errors are named '<service>.<botocore exception class>Exception' "
    "(rds.DBInstanceNotFoundFaultException); AWS names them '<Service>.<Java SDK exception>' "
    "(Rds.DbInstanceNotFoundException), which is what Catch/Retry ErrorEquals must match",
    touches="StateTaskServiceAwsSdk._normalise_service_error_name / _normalise_exception_name",
)
def _patch_aws_sdk_error_names(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    def service_error_name(service_name: str) -> str:
        if service_name.lower() in _SFN_SERVICE_ERROR_NAMES:
            return _SFN_SERVICE_ERROR_NAMES[service_name.lower()]
        service_id = str(_BOTOCORE.get_service_model(service_name).service_id)
        return "".join(word[:1].upper() + word[1:].lower() for word in service_id.replace("-", " ").split())

    def exception_name(norm_service_name: str, ex: Exception) -> str:
        code = getattr(ex, "response", {}).get("Error", {}).get("Code") or type(ex).__name__
        name = StateTaskService._to_sfn_cased(code).removesuffix("Fault")
        return f"{norm_service_name}.{name if name.endswith('Exception') else name + 'Exception'}"

    stack.enter_context(
        mock.patch.object(StateTaskServiceAwsSdk, "_normalise_service_error_name", staticmethod(service_error_name))
    )
    stack.enter_context(
        mock.patch.object(StateTaskServiceAwsSdk, "_normalise_exception_name", staticmethod(exception_name))
    )


_INDEFINITE_JSONPATH: Final = re.compile(r"\*|\.\.|\[\?|\[[^\]]*[:,][^\]]*\]")


@_moto_patch(
    "jsonpath_definite",
    gap="JSONPath (QueryLanguage JSONPath states only): a definite path through an array index, "
    "e.g. $.a[0].b, returns ['x'] instead of 'x'",
    touches="extract_json as imported into every moto.stepfunctions.parser module",
)
def _patch_jsonpath_definite(stack: ExitStack, world: LocalWorld) -> None:
    import moto.stepfunctions.parser.models  # noqa: F401 - import every parser module before scanning
    from jsonpath_ng.ext import parse as jsonpath_parse  # type: ignore[attr-defined]  # as moto does
    from moto.stepfunctions.parser.asl.utils import json_path

    original = json_path.extract_json

    def extract_json(path: str, data: Any) -> Any:
        if not _INDEFINITE_JSONPATH.search(path):
            matches = jsonpath_parse(path).find(data)
            if len(matches) == 1:
                return matches[0].value
        return original(path, data)

    _replace_module_attribute(stack, "moto.stepfunctions.parser", "extract_json", original, extract_json)


@_moto_patch(
    "sfn_integration_casing",
    gap="states:startExecution(.sync/.sync:2) tasks: moto passes the ASL's Arguments ('StateMachineArn', 'Name', "
    "'Input') to boto3 as they are (KeyError 'StateMachineArn' -> States.Runtime) and returns boto3's casing "
    "('executionArn'), so the .sync resolvers' ExecutionArn and the result's Output are never found",
    touches="StateTaskServiceSfn._normalise_parameters / _normalise_response (Step Functions' PascalCase both ways)",
)
def _patch_sfn_integration_casing(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    original = StateTaskServiceSfn._normalise_parameters

    def normalise_parameters(
        self: StateTaskServiceSfn,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original(self, parameters, boto_service_name, service_action_name)  # Input -> JSON text
        _to_boto(
            self, parameters, _operation_model("stepfunctions", self._get_boto_service_action(service_action_name))
        )

    def normalise_response(
        self: StateTaskServiceSfn,
        response: Any,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        if isinstance(response, dict):
            _from_boto(
                self, response, _operation_model("stepfunctions", self._get_boto_service_action(service_action_name))
            )

    stack.enter_context(mock.patch.object(StateTaskServiceSfn, "_normalise_parameters", normalise_parameters))
    stack.enter_context(mock.patch.object(StateTaskServiceSfn, "_normalise_response", normalise_response))


@_moto_patch(
    "sfn_sync_polls_internal",
    gap="a states:startExecution.sync(:2) task polls DescribeExecution every 0.5 s through the API: on the "
    "account's DescribeExecution bucket (25 per second) 13 running children throttle each other and the "
    "task fails; AWS learns that a child finished from an EventBridge event, on no API quota of the account",
    touches="StateTaskServiceSfn._build_sync_resolver / _build_sync2_resolver (their polls run inside "
    "tests.harness.internal.step_functions_internal: no rate limit, not in api_calls)",
)
def _patch_sfn_sync_polls_internal(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    from tests.harness.internal import step_functions_internal

    def internal(build: Any) -> Any:
        def build_resolver(self: StateTaskServiceSfn, *args: Any, **kwargs: Any) -> Any:
            resolver = build(self, *args, **kwargs)

            def resolve() -> Any:
                with step_functions_internal():
                    return resolver()

            return resolve

        return build_resolver

    for name in ("_build_sync_resolver", "_build_sync2_resolver"):
        stack.enter_context(mock.patch.object(StateTaskServiceSfn, name, internal(getattr(StateTaskServiceSfn, name))))
