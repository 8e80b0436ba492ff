"""The local AWS world: moto, in-process, adapted to run this project's SAM app. THE one place where
moto is adapted.

    with LocalWorld() as world:
        world.deploy("template.yaml", {"PollIntervalSeconds": 5})
        world.rds.create_db_instance(...)                    # set up moto like real AWS
        world.feed_statuses("orders-pg", ["modifying"])      # make the polling loop poll
        result = world.run("OnboardingStateMachine", {"db_identifier": "orders-pg"})
        assert result.succeeded, result.describe()          # step list with timings and errors
        result.api_calls                                    # Counter of service.Operation calls

Model
-----
* ``mock_aws`` with moto's Step Functions interpreter switched on (``execute_state_machine``): a
  vendored copy of LocalStack's ASL interpreter, executing each execution in a thread.
* Lambda functions are moto functions named by logical id; invoking one runs the template's Python
  handler in this process (``lambda_local``). All functions' environment variables are set in
  ``os.environ`` at once (their union; conflicting values are an error), because executions run
  concurrently in threads and per-call environment swapping would race.
* Handler calls are serialised by default (``isolate_invocations``): real Lambda never runs two
  invocations in one process, so module-level state (powertools Metrics, caches) is never shared
  concurrently there; here it would be. Executions still run concurrently between handler calls.
* Optional ``ThreadedMotoServer`` on 127.0.0.1 (``server=True``) sharing the same backends and
  patches, for code that needs an endpoint URL (containers, other processes).

Patches
-------
Every adaptation of moto internals is a ``MotoPatch`` in ``PATCHES`` below, with the gap it closes
and the internal it touches. moto is pinned exactly (pyproject: ``moto==5.2.5``) because of them;
``tests/harness/test_moto_gaps.py`` proves each gap exists when its patch is off, so a moto upgrade
shows which patches became unnecessary (``LocalWorld(disable_patches={...})``).
``python -m tests.harness`` prints the catalogue.
"""

from __future__ import annotations

import base64
import copy
import datetime
import functools
import hashlib
import io
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
import warnings
import zipfile
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self, cast
from unittest import mock

import boto3
import botocore.handlers
import botocore.session
import jsonata
import moto
from botocore.config import Config
from moto import mock_aws

from .execution import ExecutionResult, Step, steps_from_history
from .lambda_local import Invocation, LocalFunction
from .template import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    AwsContext,
    SamApp,
    SamFunction,
    TemplateError,
    environment_union,
    load_template,
)

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from botocore.model import OperationModel
    from moto.server import ThreadedMotoServer
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_stepfunctions import SFNClient

__all__ = [
    "PATCHES",
    "Deployed",
    "ExecutionTimeoutError",
    "HarnessError",
    "LambdaResponse",
    "LocalWorld",
    "MotoPatch",
    "Progress",
    "RunningExecution",
    "WaitRecord",
    "fake_dbi_resource_id",
]

MOTO_VERSION: Final = "5.2.5"
if moto.__version__ != MOTO_VERSION:  # pragma: no cover - guard for dependency bumps
    warnings.warn(
        f"tests/harness/local_aws.py patches moto {MOTO_VERSION} internals, found moto {moto.__version__}: "
        f"run tests/harness/test_moto_gaps.py and update the patches",
        RuntimeWarning,
        stacklevel=1,
    )


class HarnessError(Exception):
    """The local world was used wrongly (not a failure of the code under test)."""


class ExecutionTimeoutError(HarnessError):
    """An execution did not finish in time; the message shows how far it got."""


# ==================================================================================================
# Patch registry
# ==================================================================================================


@dataclass(frozen=True)
class MotoPatch:
    name: str
    gap: str  # what moto 5.2.5 lacks or gets wrong
    touches: str  # the moto internal that is replaced
    apply: Callable[[ExitStack, LocalWorld], None] = field(repr=False)


PATCHES: dict[str, MotoPatch] = {}


def _moto_patch(
    name: str, *, gap: str, touches: str
) -> Callable[[Callable[[ExitStack, LocalWorld], None]], Callable[[ExitStack, LocalWorld], None]]:
    def register(apply: Callable[[ExitStack, LocalWorld], None]) -> Callable[[ExitStack, LocalWorld], None]:
        PATCHES[name] = MotoPatch(name=name, gap=gap, touches=touches, apply=apply)
        return apply

    return register


# --- Step Functions interpreter: Lambda, JSONata, time ------------------------------------------


@_moto_patch(
    "lambda_invoke_local",
    gap="moto runs Lambda functions in Docker containers (images pulled from a registry): neither exists here",
    touches="moto.awslambda.models.LambdaFunction._invoke_lambda",
)
def _patch_lambda_invoke(stack: ExitStack, world: LocalWorld) -> None:
    from moto.awslambda.models import LambdaFunction

    def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        payload, errored = world._invoke_local(self.function_name, event)
        return payload, errored, ""  # (payload, errored, logs)

    stack.enter_context(mock.patch.object(LambdaFunction, "_invoke_lambda", _invoke_lambda))


def _evaluate_jsonata(expression: str) -> Any:
    """Evaluate the complete expression moto builds (``($states:=...;$var:=...;<expr>)``)."""
    compiled = jsonata.Jsonata(expression)
    # Step Functions' own JSONata functions that moto only stubs (see patch "jsonata_sfn_functions").
    compiled.register_lambda("uuid", lambda: str(uuid.uuid4()))
    compiled.register_lambda("hash", _sfn_hash)
    return compiled.evaluate(None)


_HASH_ALGORITHMS: Final = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _sfn_hash(value: Any, algorithm: Any) -> str:
    if algorithm not in _HASH_ALGORITHMS:
        raise jsonata.JException(f"$hash: unsupported algorithm {algorithm!r}", 0)
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return hashlib.new(_HASH_ALGORITHMS[algorithm], text.encode()).hexdigest()


@_moto_patch(
    "jsonata_engine",
    gap="moto vendors LocalStack's JSONata bridge without its JVM: every JSONata expression fails "
    "with TypeError('NoneType' object is not callable) -> States.Runtime",
    touches="moto.stepfunctions.parser.asl.jsonata.jsonata._eval_jsonata (-> jsonata-python, a port "
    "of the same jsonata-java LocalStack uses)",
)
def _patch_jsonata_engine(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.asl.jsonata import jsonata as sfn_jsonata

    stack.enter_context(mock.patch.object(sfn_jsonata, "_eval_jsonata", _evaluate_jsonata))


@_moto_patch(
    "jsonata_string_encoding",
    gap="moto inlines variables into the JSONata text as f'\"{value}\"' without escaping: an "
    "assigned string containing a quote, backslash or newline breaks every later expression "
    "(JException -> States.Runtime); history 'assignedVariables' is mis-encoded the same way",
    touches="encode_jsonata_variable_declarations as imported into asl.eval.states and "
    "asl.eval.variable_store; VariableStore.get_assigned_variables",
)
def _patch_jsonata_string_encoding(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.asl.eval import states, variable_store
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    def encode(bindings: dict[str, Any]) -> str:
        return "".join(f"{ref}:={to_json_str(value, separators=(',', ':'))};" for ref, value in bindings.items())

    def get_assigned_variables(self: variable_store.VariableStore) -> dict[str, str]:
        return {name: to_json_str(self.get(name), separators=(",", ":")) for name in self._declaration_tracing}

    for module in (states, variable_store):
        stack.enter_context(mock.patch.object(module, "encode_jsonata_variable_declarations", encode))
    stack.enter_context(
        mock.patch.object(variable_store.VariableStore, "get_assigned_variables", get_assigned_variables)
    )


@_moto_patch(
    "jsonata_sfn_functions",
    gap="moto declares Step Functions' $uuid() and $hash() as JSONata functions returning the text "
    "'Function $uuid is currently not supported'",
    touches="moto.stepfunctions.parser.asl.component.intrinsic.jsonata._DECLARATION_BY_VARIABLE_REFERENCE "
    "(entries removed; _evaluate_jsonata registers Python implementations)",
)
def _patch_jsonata_sfn_functions(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.asl.component.intrinsic import jsonata as intrinsic

    declarations = intrinsic._DECLARATION_BY_VARIABLE_REFERENCE
    stack.enter_context(mock.patch.dict(declarations))
    for name in ("$uuid", "$hash"):
        declarations.pop(name, None)


@_moto_patch(
    "jsonata_error_name",
    gap="a JSONata evaluation error (e.g. number + string) fails the execution as States.Runtime with a "
    "Python repr as cause; AWS reports States.QueryEvaluationError",
    touches="moto.stepfunctions.parser.asl.component.common.string.string_expression.StringJSONata._eval_body",
)
def _patch_jsonata_error_name(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringJSONata
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    original = StringJSONata._eval_body

    def _eval_body(self: StringJSONata, env: Environment) -> None:
        try:
            original(self, env)
        except jsonata.JException as exc:
            error_name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
            details = EvaluationFailedEventDetails(
                error=error_name.error_name,
                cause=f"An error occurred while evaluating the JSONata expression '{self.expression}': {exc}",
            )
            event_details = cast("EventDetails", {"evaluationFailedEventDetails": details})
            env.event_manager.add_event(
                context=env.event_history_context,
                event_type=HistoryEventType.EvaluationFailed,
                event_details=event_details,
            )
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=error_name,
                    event_type=HistoryEventType.EvaluationFailed,
                    event_details=event_details,
                )
            ) from exc

    stack.enter_context(mock.patch.object(StringJSONata, "_eval_body", _eval_body))


@_moto_patch(
    "wait_scaling",
    gap="Wait states really sleep (a 30 s poll interval takes 30 s)",
    touches="moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function."
    "WaitFunction._wait_interval (records the requested seconds, sleeps seconds * wait_scale)",
)
def _patch_wait_scaling(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
    from moto.stepfunctions.parser.asl.eval.environment import Environment

    def _wait_interval(self: WaitFunction, env: Environment, wait_seconds: float) -> None:
        context: Any = env.states.context_object.context_object_data
        seconds = max(float(wait_seconds), 0.0)
        world._record_wait(WaitRecord(context["Execution"]["Id"], context["State"]["Name"], seconds))
        # StopExecution pulses program_state_event (set, then clear at once): a thread not yet
        # waiting misses the pulse, so wait in slices and re-check the program state.
        deadline = time.monotonic() + seconds * world.wait_scale
        while env.is_running() and (remaining := deadline - time.monotonic()) > 0:
            env.program_state_event.wait(min(remaining, 0.05))

    stack.enter_context(mock.patch.object(WaitFunction, "_wait_interval", _wait_interval))


@_moto_patch(
    "retry_backoff",
    gap="Retry intervals really sleep (IntervalSeconds * BackoffRate^n, jittered)",
    touches="the `time` module reference in moto.stepfunctions.parser.asl.component.common.retry."
    "retrier_decl (records each interval, sleeps interval * retry_scale)",
)
def _patch_retry_backoff(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    def sleep(seconds: float) -> None:
        world._record_retry_sleep(seconds)
        if seconds * world.retry_scale > 0:
            time.sleep(seconds * world.retry_scale)

    stack.enter_context(mock.patch.object(retrier_decl, "time", SimpleNamespace(sleep=sleep)))


@_moto_patch(
    "execution_names",
    gap="StartExecution without a name uses the literal name 'None': the second unnamed start of a "
    "machine returns the first execution (or fails with ExecutionAlreadyExists); AWS generates a UUID",
    touches="moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution",
)
def _patch_execution_names(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: StepFunctionsParserBackend, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    stack.enter_context(mock.patch.object(StepFunctionsParserBackend, "start_execution", start_execution))


@_moto_patch(
    "execution_output",
    gap='DescribeExecution: a string output comes back unencoded (he said "hi" instead of the JSON text '
    '"he said \\"hi\\""), datetimes in the output crash it, and the worker sets status SUCCEEDED '
    "before the output, so a poller can see SUCCEEDED without output",
    touches="moto.stepfunctions.parser.backend.execution.BaseExecutionWorkerCommunication."
    "_reflect_execution_status (stores the output as JSON text, then the status)",
)
def _patch_execution_output(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.asl.eval.program_state import (
        ProgramEnded,
        ProgramError,
        ProgramStopped,
        ProgramTimedOut,
    )
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    def _reflect_execution_status(self: BaseExecutionWorkerCommunication) -> None:
        execution: Any = self.execution
        state: Any = execution.exec_worker.env.program_state()
        execution.stop_date = datetime.datetime.now(tz=datetime.UTC)
        if isinstance(state, ProgramEnded):
            # moto's responses pass a str output through as is: make it the JSON text AWS returns.
            execution.output = to_json_str(execution.exec_worker.env.states.get_input(), separators=(",", ":"))
            execution.exec_status = ExecutionStatus.SUCCEEDED
        elif isinstance(state, ProgramStopped):
            execution.exec_status = ExecutionStatus.ABORTED
        elif isinstance(state, ProgramError):
            details: Any = state.error or {}
            execution.error = details.get("error")
            execution.cause = details.get("cause")
            execution.exec_status = ExecutionStatus.FAILED
        elif isinstance(state, ProgramTimedOut):
            execution.exec_status = ExecutionStatus.TIMED_OUT
        else:
            raise RuntimeWarning(f"Execution ended with unsupported ProgramState type '{type(state)}'.")

    stack.enter_context(
        mock.patch.object(BaseExecutionWorkerCommunication, "_reflect_execution_status", _reflect_execution_status)
    )


@_moto_patch(
    "sfn_boto_clients",
    gap="the interpreter builds a new boto3 client from the shared default session for every task "
    "(~6 ms each, and botocore sessions are not thread-safe for client creation, which concurrent "
    "executions do)",
    touches="boto_client_for as imported into every moto.stepfunctions.parser module (-> one client per "
    "service/region from a session owned by the world, created under a lock)",
)
def _patch_sfn_boto_clients(stack: ExitStack, world: LocalWorld) -> None:
    import moto.stepfunctions.parser.models  # noqa: F401 - import every parser module before scanning
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.utils import boto_client

    session = boto3.session.Session()
    clients: dict[tuple[str, str, bool], BaseClient] = {}
    lock = threading.Lock()
    config = Config(
        parameter_validation=False,
        retries={"max_attempts": 0, "total_max_attempts": 1},
        connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
        read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
    )

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> BaseClient:
        in_process = bool(botocore_stubber.enabled)
        key = (region, service, in_process)
        with lock:
            if key not in clients:
                clients[key] = session.client(  # type: ignore[call-overload]
                    service,
                    region_name=region,
                    aws_access_key_id="ak",
                    aws_secret_access_key="sk",
                    endpoint_url=None if in_process else f"http://localhost:{moto_server_port()}",
                    config=config,
                )
            return clients[key]

    _replace_module_attribute(
        stack, "moto.stepfunctions.parser", "boto_client_for", boto_client.boto_client_for, boto_client_for
    )


@_moto_patch(
    "request_lock",
    gap="moto's backends are plain dicts without locks: a request that iterates one (DescribeDBInstances "
    "with Filters) while another thread's request inserts into it (CreateDBInstance) fails with "
    "RuntimeError('OrderedDict mutated during iteration'); AWS serves concurrent calls consistently",
    touches="moto.core.responses.BaseResponse.call_action (one re-entrant lock around every action but "
    "Lambda's: an Invoke runs a handler whose own calls take the lock)",
)
def _patch_request_lock(stack: ExitStack, world: LocalWorld) -> None:
    from moto.awslambda.responses import LambdaResponse
    from moto.core.responses import BaseResponse

    original = BaseResponse.call_action
    lock = threading.RLock()

    def call_action(self: BaseResponse) -> Any:
        if isinstance(self, LambdaResponse):
            return original(self)
        with lock:
            return original(self)

    stack.enter_context(mock.patch.object(BaseResponse, "call_action", call_action))


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
        shape = model(self, boto_service_name, service_action_name).input_shape
        if shape is not None:
            self._to_boto_request(parameters, shape)

    def normalise_response(
        self: StateTaskServiceAwsSdk,
        response: Any,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        shape = model(self, boto_service_name, service_action_name).output_shape
        if shape is not None:
            self._from_boto_response(response, shape)
        if isinstance(response, dict):
            safe = _json_safe(response)
            response.clear()
            response.update(safe)

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


def _replace_module_attribute(
    stack: ExitStack, package: str, attribute: str, original: object, replacement: object
) -> None:
    """Patch a function everywhere it was imported by name (``from x import f``) under ``package``."""
    for name, module in list(sys.modules.items()):
        if name.startswith(package) and getattr(module, attribute, None) is original:
            stack.enter_context(mock.patch.object(module, attribute, replacement))


# --- RDS --------------------------------------------------------------------------------------------


def fake_dbi_resource_id(db_instance_identifier: str) -> str:
    """Deterministic ``DbiResourceId`` for an instance: ``db-`` + 26 uppercase base32 chars, like AWS."""
    digest = hashlib.sha256(db_instance_identifier.encode()).digest()
    return "db-" + base64.b32encode(digest).decode()[:26]


@_moto_patch(
    "rds_dbi_resource_id",
    gap="every DB instance gets the same DbiResourceId (db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U), so IAM "
    "rds-db:connect resource ARNs (which use it) cannot tell databases apart",
    touches="moto.rds.models.DBInstance.__init__ (sets dbi_resource_id = fake_dbi_resource_id(identifier))",
)
def _patch_rds_dbi_resource_id(stack: ExitStack, world: LocalWorld) -> None:
    from moto.rds.models import DBInstance

    original = DBInstance.__init__

    def __init__(self: DBInstance, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.dbi_resource_id = fake_dbi_resource_id(self.db_instance_identifier)

    stack.enter_context(mock.patch.object(DBInstance, "__init__", __init__))


@_moto_patch(
    "rds_cluster_iam_flag",
    gap="ModifyDBCluster(EnableIAMDatabaseAuthentication=...) is accepted but DescribeDBClusters keeps "
    "IAMDatabaseAuthenticationEnabled unchanged (and so do the cluster's Aurora instances, which on "
    "AWS mirror the cluster's setting)",
    touches="moto.rds.models.RDSBackend.modify_db_cluster (also sets DBCluster.iam_auth); "
    "DBInstanceClustered.iam_database_authentication_enabled (reads the cluster's flag)",
)
def _patch_rds_cluster_iam_flag(stack: ExitStack, world: LocalWorld) -> None:
    from moto.rds.models import DBCluster, DBInstanceClustered, RDSBackend

    original = RDSBackend.modify_db_cluster

    def modify_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> DBCluster:
        flag = kwargs.get("enable_iam_database_authentication")
        if flag is not None:
            kwargs["iam_auth"] = bool(flag)  # moto copies every kwarg onto the cluster (and its copy)
        return original(self, kwargs)

    stack.enter_context(mock.patch.object(RDSBackend, "modify_db_cluster", modify_db_cluster))
    stack.enter_context(
        mock.patch.object(
            DBInstanceClustered,
            "iam_database_authentication_enabled",
            property(lambda self: bool(self.cluster.iam_auth)),
            create=True,
        )
    )


@_moto_patch(
    "rds_mariadb_default_version",
    gap="CreateDBInstance(Engine='mariadb') without EngineVersion fails with KeyError 'mariadb' (no default)",
    touches="moto.rds.models.DBInstance.default_engine_versions (adds mariadb: 10.11.9)",
)
def _patch_rds_mariadb_default_version(stack: ExitStack, world: LocalWorld) -> None:
    from moto.rds.models import DBInstance

    stack.enter_context(mock.patch.dict(DBInstance.default_engine_versions, {"mariadb": "10.11.9"}))


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


@_moto_patch(
    "rds_status_feeder",
    gap="moto reports every instance and cluster as 'available' at all times (no 'modifying', "
    "'configuring-iam-database-auth', ...), so a polling loop is never exercised",
    touches="moto.rds.responses.RDSResponse.describe_db_instances / describe_db_clusters (the response "
    "shows a copy of the model with the fed status; moto's own state is untouched)",
)
def _patch_rds_status_feeder(stack: ExitStack, world: LocalWorld) -> None:
    from moto.rds.responses import RDSResponse

    def wrap(operation: str, key: str, kind: DbKind, id_attribute: str) -> None:
        original = getattr(RDSResponse, operation)

        def describe(self: RDSResponse) -> Any:
            result = original(self)
            items = result.result[key]
            result.result[key] = [world._status_feeder.apply(kind, getattr(item, id_attribute), item) for item in items]
            return result

        stack.enter_context(mock.patch.object(RDSResponse, operation, describe))

    wrap("describe_db_instances", "DBInstances", "instance", "db_instance_identifier")
    wrap("describe_db_clusters", "DBClusters", "cluster", "db_cluster_identifier")


DbKind = Literal["instance", "cluster"]


class _StatusFeeder:
    """Queues of statuses to report on the next Describe calls, per instance/cluster."""

    def __init__(self) -> None:
        self._queues: dict[tuple[DbKind, str], deque[str]] = {}
        self._lock = threading.Lock()

    def feed(self, kind: DbKind, identifier: str, statuses: Iterable[str]) -> None:
        with self._lock:
            self._queues.setdefault((kind, identifier.lower()), deque()).extend(statuses)

    def pending(self, kind: DbKind, identifier: str) -> list[str]:
        with self._lock:
            return list(self._queues.get((kind, identifier.lower()), ()))

    def apply(self, kind: DbKind, identifier: str, model: Any) -> Any:
        with self._lock:
            queue = self._queues.get((kind, identifier.lower()))
            if not queue:
                return model
            status = queue.popleft()
        shown = copy.copy(model)
        shown.status = status
        return shown


# ==================================================================================================
# The world
# ==================================================================================================


@dataclass(frozen=True)
class WaitRecord:
    execution_arn: str
    state: str
    seconds: float  # what the definition asked for (the world waits seconds * wait_scale)


@dataclass(frozen=True)
class LambdaResponse:
    payload: Any
    function_error: str | None


@dataclass(frozen=True)
class Deployed:
    app: SamApp
    role_arn: str
    function_arns: Mapping[str, str]
    state_machine_arns: Mapping[str, str]
    definitions: Mapping[str, str]  # logical id -> definition as deployed (substitutions applied)


@dataclass(frozen=True)
class Progress:
    status: str
    steps: list[Step]
    events: list[dict[str, Any]]


_ACTIVE_LOCK: Final = threading.Lock()
_active_world: LocalWorld | None = None


def _count_api_call(model: OperationModel, **_: Any) -> None:
    """botocore ``before-call`` hook: count the call in the active world, if any."""
    world = _active_world
    if world is not None:
        world._count_api_call(model)


# Installed once, like moto's own stubber: every botocore session created after this import gets it,
# including clients cached across worlds by the code under test (e.g. an @cache'd client factory).
botocore.handlers.BUILTIN_HANDLERS.append(("before-call", _count_api_call))


def _placeholder_zip() -> bytes:
    """Code for moto's CreateFunction; never run (the handler is imported from the code dirs)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "local handler: see tests/harness/lambda_local.py\n")
    return buffer.getvalue()


class LocalWorld:
    """moto + patches + the app's handlers, as a context manager. One active world per process."""

    def __init__(
        self,
        *,
        region: str = DEFAULT_REGION,
        wait_scale: float = 0.0,
        retry_scale: float = 0.0,
        server: bool = False,
        server_host: str = "127.0.0.1",
        server_port: int = 0,
        isolate_invocations: bool = True,
        quiet_interpreter_logs: bool = True,
        extra_env: Mapping[str, str] | None = None,
        disable_patches: Iterable[str] = (),
    ) -> None:
        """
        wait_scale / retry_scale: real seconds slept per requested Wait / Retry-interval second.
        server: also serve the same moto on http://<server_host>:<server_port or a free port>
            (e.g. server_host="172.17.0.1" to be reachable from containers on Docker's bridge).
        isolate_invocations: run one handler at a time (as if each had its own Lambda sandbox).
        quiet_interpreter_logs: silence the interpreter's ERROR logs for handled failures (Retry/Catch).
        extra_env: set on top of the functions' environment (wins over it), e.g. POWERTOOLS_* knobs.
        disable_patches: names from PATCHES to leave out (to observe a moto gap).
        """
        unknown = set(disable_patches) - set(PATCHES)
        if unknown:
            raise HarnessError(f"unknown patches {sorted(unknown)}; known: {sorted(PATCHES)}")
        self.region = region
        self.account_id = DEFAULT_ACCOUNT_ID
        self.wait_scale = wait_scale
        self.retry_scale = retry_scale
        self.isolate_invocations = isolate_invocations
        self.enabled_patches = tuple(name for name in PATCHES if name not in set(disable_patches))
        self._server_wanted = server
        self._server_host = server_host
        self._server_port = server_port
        self._quiet = quiet_interpreter_logs
        self._extra_env = dict(extra_env or {})

        self.endpoint_url: str | None = None
        self.deployments: list[Deployed] = []
        self.invocations: list[Invocation] = []
        self.waits: list[WaitRecord] = []
        self.retry_sleeps: list[float] = []

        self._stack: ExitStack | None = None
        self._functions: dict[str, LocalFunction] = {}
        self._invoke_lock = threading.RLock()
        self._records_lock = threading.Lock()
        self._status_feeder = _StatusFeeder()
        self._api_calls: Counter[str] = Counter()
        self._api_lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._env_before: dict[str, str | None] = {}
        self._sys_path_added: list[str] = []
        self._code_roots: set[Path] = set()
        self._modules_before: frozenset[str] = frozenset()
        self._started: list[str] = []

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> None:
        """Start moto and apply the patches (``with LocalWorld() as world:`` does this)."""
        global _active_world
        with _ACTIVE_LOCK:
            if _active_world is not None:
                raise HarnessError("another LocalWorld is active (moto's mock is process-global)")
            _active_world = self
        stack = ExitStack()
        try:
            stack.callback(self._release)
            self._set_env(
                {
                    "AWS_DEFAULT_REGION": self.region,
                    "AWS_REGION": self.region,
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing",
                    # RDS touches EC2 (default VPC): skip loading ~2600 fake AMIs (0.35 s/world)
                    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
                    **self._extra_env,
                }
            )
            stack.callback(self._restore_env)
            self._modules_before = frozenset(sys.modules)
            stack.callback(self._unload_code)
            stack.enter_context(
                mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": True}})
            )
            for name in self.enabled_patches:
                PATCHES[name].apply(stack, self)
            if self._quiet:
                interpreter_log = logging.getLogger("moto.stepfunctions.parser")
                stack.callback(interpreter_log.setLevel, interpreter_log.level)
                interpreter_log.setLevel(logging.CRITICAL)
            if self._server_wanted:
                self._start_server(stack)
            stack.callback(self._stop_running_executions)
        except BaseException:
            stack.close()
            raise
        self._stack = stack

    def close(self) -> None:
        """Stop running executions, undo the patches, stop moto, restore env and sys.path."""
        if self._stack is not None:
            stack, self._stack = self._stack, None
            stack.close()

    def _release(self) -> None:
        global _active_world
        with _ACTIVE_LOCK:
            _active_world = None

    def _start_server(self, stack: ExitStack) -> None:
        from moto.server import ThreadedMotoServer

        server: ThreadedMotoServer = ThreadedMotoServer(
            ip_address=self._server_host, port=self._server_port, verbose=False
        )
        request_log = logging.getLogger("werkzeug")  # one INFO line per HTTP request otherwise
        stack.callback(request_log.setLevel, request_log.level)
        request_log.setLevel(logging.WARNING)
        server.start()
        stack.callback(server.stop)
        host, port = server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        stack.callback(setattr, self, "endpoint_url", None)

    def _require_started(self) -> None:
        if self._stack is None:
            raise HarnessError("LocalWorld is not started (use it as a context manager)")

    # -- environment and code ----------------------------------------------------------------------
    def _set_env(self, values: Mapping[str, str]) -> None:
        for key, value in values.items():
            self._env_before.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _restore_env(self) -> None:
        for key, value in self._env_before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._env_before.clear()

    def _add_code_dirs(self, functions: Iterable[SamFunction]) -> None:
        """Put each function's code dir, then its layers' dirs, in front of ``sys.path`` (like
        /var/task before /opt/python); dirs already on the path (e.g. by the root conftest.py) stay."""
        for function in functions:
            self._code_roots.update(function.code_dirs)
            missing = [str(d) for d in function.code_dirs if str(d) not in sys.path]
            sys.path[0:0] = missing
            self._sys_path_added.extend(missing)

    def _unload_code(self) -> None:
        """Forget handler/layer modules first imported in this world, so the next world imports them
        fresh (module-level state resets). Modules imported before the world (e.g. by unit tests at
        collection) are kept: replacing them would give a second copy of every exception class."""
        roots = tuple(os.path.join(str(root), "") for root in self._code_roots)
        for name, module in list(sys.modules.items()):
            origin = getattr(module, "__file__", None)
            if name not in self._modules_before and origin and os.path.abspath(origin).startswith(roots):
                del sys.modules[name]
        for entry in self._sys_path_added:
            while entry in sys.path:
                sys.path.remove(entry)
        self._sys_path_added.clear()
        self._code_roots.clear()
        self._functions.clear()

    # -- clients & API call counting ------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A boto3 client for test setup/inspection. Its calls are NOT counted in ``api_calls``."""
        self._require_started()
        if service not in self._clients:
            client = boto3.session.Session().client(service, region_name=self.region)  # type: ignore[call-overload]
            client.meta.events.unregister("before-call", _count_api_call)
            self._clients[service] = client
        return self._clients[service]

    @property
    def rds(self) -> RDSClient:
        return cast("RDSClient", self.client("rds"))

    @property
    def sfn(self) -> SFNClient:
        return cast("SFNClient", self.client("stepfunctions"))

    def _count_api_call(self, model: OperationModel) -> None:
        key = f"{model.service_model.service_name}.{model.name}"
        with self._api_lock:
            self._api_calls[key] += 1

    @property
    def api_calls(self) -> Counter[str]:
        """AWS API calls by ``service.Operation`` (e.g. ``rds.DescribeDBInstances``, ``lambda.Invoke``)
        made through botocore while this world is open: by handlers, by the Step Functions interpreter
        (its Lambda invokes and aws-sdk tasks) and by any other client, except ``world.client`` ones and
        clients created before this module was imported. Calls from other processes through the
        server are not seen."""
        with self._api_lock:
            return Counter(self._api_calls)

    def reset_api_calls(self) -> None:
        with self._api_lock:
            self._api_calls.clear()

    # -- records ------------------------------------------------------------------------------------
    def _record_wait(self, record: WaitRecord) -> None:
        with self._records_lock:
            self.waits.append(record)

    def _record_retry_sleep(self, seconds: float) -> None:
        with self._records_lock:
            self.retry_sleeps.append(seconds)

    def invocations_of(self, function: str) -> list[Invocation]:
        with self._records_lock:
            return [i for i in self.invocations if i.function == function]

    # -- Lambda -----------------------------------------------------------------------------------
    def _invoke_local(self, function_name: str, event: Any) -> tuple[str, bool]:
        """Called by moto's Lambda (patch ``lambda_invoke_local``) for every Invoke."""
        if isinstance(event, str):  # moto passes "{}" (a string) when there is no payload
            with suppress(json.JSONDecodeError):
                event = json.loads(event)
        function = self._functions.get(function_name)
        if function is None:
            message = f"LocalWorld has no handler for Lambda function {function_name!r} (deploy a template)"
            return json.dumps(
                {"errorMessage": message, "errorType": "LocalWorld.UnknownFunction", "stackTrace": []}
            ), True
        if self.isolate_invocations:
            with self._invoke_lock:
                payload, errored, record = function.invoke(event)
        else:
            payload, errored, record = function.invoke(event)
        with self._records_lock:
            self.invocations.append(record)
        return payload, errored

    def invoke(self, function: str, event: Any = None) -> LambdaResponse:
        """Invoke a deployed function through moto's Lambda API (runs the local handler)."""
        response = self.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event or {}).encode())
        body = response["Payload"].read().decode()
        try:
            payload = json.loads(body)
        except json.JSONDecodeError:
            payload = body
        return LambdaResponse(payload=payload, function_error=response.get("FunctionError"))

    # -- deploy -----------------------------------------------------------------------------------
    def deploy(
        self,
        template: str | Path | SamApp,
        parameter_overrides: Mapping[str, object] | None = None,
    ) -> Deployed:
        """Create the template's functions (named by logical id) and state machines (with resolved
        definitions) in moto, put the handlers' code on ``sys.path`` and their environment in
        ``os.environ``."""
        self._require_started()
        if isinstance(template, SamApp):
            if parameter_overrides:
                raise HarnessError("parameter_overrides only apply when deploying from a template path")
            app = template
        else:
            app = load_template(
                template, parameter_overrides, context=AwsContext(account_id=self.account_id, region=self.region)
            )
        clash = set(app.functions) & set(self._functions)
        if clash:
            raise HarnessError(f"functions already deployed in this world: {sorted(clash)}")
        all_functions = [f.spec for f in self._functions.values()] + list(app.functions.values())
        try:
            environment = environment_union(all_functions)
        except TemplateError as exc:
            raise HarnessError(str(exc)) from None
        self._set_env({k: v for k, v in environment.items() if k not in self._extra_env})
        self._add_code_dirs(app.functions.values())

        suffix = len(self.deployments)
        role_arn = self.client("iam").create_role(
            RoleName=f"local-world-role-{suffix}",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]

        self._create_managed_policies(app)
        function_arns: dict[str, str] = {}
        lambda_client = self.client("lambda")
        for logical_id, spec in app.functions.items():
            arn = lambda_client.create_function(
                FunctionName=logical_id,
                Runtime=spec.runtime,
                Role=role_arn,
                Handler=spec.handler,
                Code={"ZipFile": _placeholder_zip()},
                Timeout=spec.timeout,
                MemorySize=spec.memory_size,
                Environment={"Variables": dict(spec.environment)},
            )["FunctionArn"]
            function_arns[logical_id] = arn
            self._functions[logical_id] = LocalFunction(spec, arn)

        state_machine_arns: dict[str, str] = {}
        definitions: dict[str, str] = {}
        for logical_id in app.state_machines:
            definition = app.definition(logical_id, function_arns)
            state_machine_arns[logical_id] = self.sfn.create_state_machine(
                name=logical_id,
                definition=definition,
                roleArn=role_arn,
            )["stateMachineArn"]
            definitions[logical_id] = definition

        deployed = Deployed(
            app=app,
            role_arn=role_arn,
            function_arns=function_arns,
            state_machine_arns=state_machine_arns,
            definitions=definitions,
        )
        self.deployments.append(deployed)
        return deployed

    def _create_managed_policies(self, app: SamApp) -> None:
        """The template's AWS::IAM::ManagedPolicy resources, as CloudFormation would create them (the stack's
        permissions boundary must exist: a role is created with it)."""
        iam = self.client("iam")
        for logical_id, resource in app.resources.items():
            if resource.get("Type") != "AWS::IAM::ManagedPolicy":
                continue
            props = app.resolve(resource.get("Properties") or {})
            iam.create_policy(
                PolicyName=props.get("ManagedPolicyName", logical_id),
                Path=props.get("Path", "/"),
                PolicyDocument=json.dumps(props["PolicyDocument"]),
                Description=props.get("Description", ""),
            )

    def create_state_machine(self, name: str, definition: Mapping[str, Any] | str) -> str:
        """Create an ad-hoc state machine (no template) and return its ARN, for ASL experiments."""
        self._require_started()
        text = definition if isinstance(definition, str) else json.dumps(definition)
        role_arn = f"arn:aws:iam::{self.account_id}:role/local-world-adhoc"
        return str(self.sfn.create_state_machine(name=name, definition=text, roleArn=role_arn)["stateMachineArn"])

    # -- executions -------------------------------------------------------------------------------
    def state_machine_arn(self, state_machine: str) -> str:
        if state_machine.startswith("arn:"):
            return state_machine
        for deployed in reversed(self.deployments):
            if state_machine in deployed.state_machine_arns:
                return deployed.state_machine_arns[state_machine]
        known = sorted({name for d in self.deployments for name in d.state_machine_arns})
        raise HarnessError(f"no deployed state machine {state_machine!r}; deployed: {known}")

    def start(
        self,
        state_machine: str,
        input: Any = None,
        name: str | None = None,
    ) -> RunningExecution:
        """Start an execution (state machine by logical id or ARN) without waiting for it."""
        self._require_started()
        kwargs: dict[str, Any] = {
            "stateMachineArn": self.state_machine_arn(state_machine),
            "input": json.dumps({} if input is None else input),
        }
        if name is not None:
            kwargs["name"] = name
        api_before = self.api_calls
        t0 = time.perf_counter()
        arn = self.sfn.start_execution(**kwargs)["executionArn"]
        with self._records_lock:
            self._started.append(arn)
        return RunningExecution(self, arn, api_before, t0)

    def run(
        self, state_machine: str, input: Any = None, name: str | None = None, timeout: float = 60
    ) -> ExecutionResult:
        """Start an execution and wait for it to finish (raises ExecutionTimeoutError after ``timeout``)."""
        return self.start(state_machine, input, name).wait(timeout)

    def _stop_running_executions(self) -> None:
        for arn in self._started:
            try:
                if self.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
                    self.sfn.stop_execution(executionArn=arn, error="LocalWorld.Stopped")
            except Exception:  # noqa: S112 - best effort on the way down
                continue

    # -- RDS status feeder --------------------------------------------------------------------------
    def feed_statuses(self, db_identifier: str, statuses: Sequence[str], kind: DbKind | None = None) -> None:
        """The next ``len(statuses)`` Describe calls that include this DB instance (DescribeDBInstances)
        or cluster (DescribeDBClusters) report these statuses, one per call, then moto's own again.

        ``kind`` is detected from what exists in moto; pass it to feed a DB created later.
        """
        self._require_started()
        if "rds_status_feeder" not in self.enabled_patches:
            raise HarnessError("patch 'rds_status_feeder' is disabled in this world")
        if isinstance(statuses, str):
            raise HarnessError("statuses must be a list of strings, not one string")
        if kind is None:
            is_instance = self._rds_exists("instance", db_identifier)
            if is_instance == self._rds_exists("cluster", db_identifier):
                found = "both an instance and a cluster" if is_instance else "no instance or cluster"
                raise HarnessError(f"{db_identifier!r} matches {found} in moto: pass kind='instance'|'cluster'")
            kind = "instance" if is_instance else "cluster"
        self._status_feeder.feed(kind, db_identifier, statuses)

    def pending_statuses(self, db_identifier: str, kind: DbKind = "instance") -> list[str]:
        return self._status_feeder.pending(kind, db_identifier)

    def _rds_exists(self, kind: DbKind, identifier: str) -> bool:
        from moto.rds.models import rds_backends

        backend = rds_backends[self.account_id][self.region]
        pool = backend.databases if kind == "instance" else backend.clusters
        return identifier.lower() in {key.lower() for key in pool}


class RunningExecution:
    """An execution started by ``LocalWorld.start``; poll it while it runs, or ``wait()`` for it."""

    def __init__(self, world: LocalWorld, arn: str, api_before: Counter[str], t0: float) -> None:
        self.world = world
        self.arn = arn
        self._api_before = api_before
        self._t0 = t0

    def describe(self) -> dict[str, Any]:
        return dict(self.world.sfn.describe_execution(executionArn=self.arn))

    @property
    def status(self) -> str:
        return str(self.describe()["status"])

    def history(self) -> list[dict[str, Any]]:
        paginator = self.world.sfn.get_paginator("get_execution_history")
        return [dict(e) for page in paginator.paginate(executionArn=self.arn) for e in page["events"]]

    def steps(self, status: str | None = None) -> list[Step]:
        return steps_from_history(self.history(), status or self.status, self._wait_seconds())

    def _wait_seconds(self) -> dict[str, list[float]]:
        waits: dict[str, list[float]] = {}
        for record in list(self.world.waits):
            if record.execution_arn == self.arn:
                waits.setdefault(record.state, []).append(record.seconds)
        return waits

    def follow(self, poll_interval: float = 0.02, timeout: float = 60) -> Iterator[Progress]:
        """Yield a ``Progress`` each time the history grows or the status changes, until the execution
        stops running (the last one has the final status and the complete history)."""
        deadline = time.monotonic() + timeout
        seen: tuple[int, str] | None = None
        while True:
            status = self.status  # read before the history so the final snapshot is complete
            events = self.history()
            if (len(events), status) != seen:
                seen = (len(events), status)
                yield Progress(status, steps_from_history(events, status, self._wait_seconds()), events)
            if status != "RUNNING":
                return
            if time.monotonic() > deadline:
                raise ExecutionTimeoutError(self._timeout_message(timeout))
            time.sleep(poll_interval)

    def wait(self, timeout: float = 60, poll_interval: float = 0.005) -> ExecutionResult:
        deadline = time.monotonic() + timeout
        while (description := self.describe())["status"] == "RUNNING":
            if time.monotonic() > deadline:
                message = self._timeout_message(timeout)
                self.stop()
                raise ExecutionTimeoutError(message)
            time.sleep(poll_interval)
        wall_time = time.perf_counter() - self._t0
        events = self.history()
        status = str(description["status"])
        output = description.get("output")
        return ExecutionResult(
            arn=self.arn,
            name=str(description["name"]),
            status=status,
            input=json.loads(description.get("input") or "null"),
            output=json.loads(output) if output is not None else None,
            error=description.get("error"),
            cause=description.get("cause"),
            started_at=description["startDate"],
            stopped_at=description.get("stopDate"),
            events=events,
            steps=steps_from_history(events, status, self._wait_seconds()),
            api_calls=self.world.api_calls - self._api_before,
            wall_time_s=wall_time,
        )

    def stop(self, error: str = "LocalWorld.Timeout", settle: float = 5.0) -> None:
        """StopExecution, then wait (up to ``settle`` s) until it no longer reports RUNNING.

        A Lambda handler that is running cannot be interrupted: the execution stops after it returns.
        """
        self.world.sfn.stop_execution(executionArn=self.arn, error=error)
        deadline = time.monotonic() + settle
        while self.status == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.01)

    def _timeout_message(self, timeout: float) -> str:
        steps = self.steps("RUNNING")
        trail = " -> ".join(step.name for step in steps[-12:])
        return f"execution {self.arn} still RUNNING after {timeout}s; last states: {trail}"


# RDS as documented (parameter catalogue, engine versions, statuses, reboots, pending modifications): registered
# into PATCHES from their own module, after every patch above.
from . import rds_rules as _rds_rules  # noqa: E402, F401
