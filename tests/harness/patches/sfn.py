"""Step Functions interpreter patches: Lambda invoke, JSONata (engine, encodings, functions, error names),
Wait scaling, retry backoff, execution names and output, the interpreter's boto clients, request lock."""

from __future__ import annotations

import datetime
import hashlib
import json
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final, cast
from unittest import mock

import boto3
import jsonata
from botocore.config import Config

from tests.harness.patches.registry import _moto_patch, _replace_module_attribute

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from tests.harness.local_aws import LocalWorld


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


def _compile_jsonata(expression: str) -> jsonata.Jsonata:
    compiled = jsonata.Jsonata(expression)
    # Step Functions' own JSONata functions that moto only stubs (see patch "jsonata_sfn_functions").
    compiled.register_lambda("uuid", lambda: str(uuid.uuid4()))
    compiled.register_lambda("hash", _sfn_hash)
    return compiled


def _evaluate_jsonata(expression: str) -> Any:
    """Evaluate the complete expression moto builds (``($states:=...;$var:=...;<expr>)``)."""
    return _compile_jsonata(expression).evaluate(None)


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


def _query_evaluation_failed(env: Any, cause: str) -> Exception:
    """What Step Functions records and raises for a JSONata expression that fails: an EvaluationFailed event and
    States.QueryEvaluationError with ``cause`` (to raise)."""
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    error_name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    details = EvaluationFailedEventDetails(error=error_name.error_name, cause=cause)
    event_details = cast("EventDetails", {"evaluationFailedEventDetails": details})
    env.event_manager.add_event(
        context=env.event_history_context, event_type=HistoryEventType.EvaluationFailed, event_details=event_details
    )
    failure = FailureEvent(
        env=env, error_name=error_name, event_type=HistoryEventType.EvaluationFailed, event_details=event_details
    )
    return FailureEventException(failure)


def _jsonata_binding(value: Any) -> Any:
    """A variable's or $states' value as the JSONata text moto writes would have given it: its JSON (moto's encoder:
    dates as ISO strings), in fresh objects; null stays null (jsonata-python reads a bound None as undefined)."""
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    decoded = json.loads(to_json_str(value))
    return jsonata.utils.Utils.NULL_VALUE if decoded is None else decoded


def _plain_jsonata_result(value: Any) -> Any:
    """A JSONata result as moto's engine returned it: plain lists and dicts (no JSONata sequences), null as None,
    sharing nothing with the bindings."""
    if value is jsonata.utils.Utils.NULL_VALUE:
        return None
    if isinstance(value, dict):
        return {key: _plain_jsonata_result(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_jsonata_result(item) for item in value]
    return value


@_moto_patch(
    "jsonata_bindings",
    gap="moto evaluates a JSONata expression by writing every variable and $states (input, context, result) into "
    "it as JSONata text and parsing the whole text, and again inside $exists()/$type() to check a null or string "
    "result: an expression costs time in proportion to the data in scope, not to itself (jsonata-python: ~0.1 s of "
    "CPU for 70 KB). A 200-DB fleet's Distributed Map parses its whole plan ($states.input and $plan) for each item's "
    "ItemSelector, twice per expression: minutes of CPU under the GIL, while the children's Lambda Tasks wait for it "
    "and time out (States.Timeout, ~35 s on average from a Task's start to its Invoke) though their handlers need "
    "milliseconds; in AWS an expression's cost does not grow with the data beside it",
    touches="moto.stepfunctions.parser.asl.component.common.string.string_expression.StringJSONata._eval_body (only "
    "the expression and moto's intrinsic-function declarations are parsed; $states and the variables are passed as "
    "jsonata-python bindings, their values as moto's encoder writes them; an undefined result fails with the same "
    "States.QueryEvaluationError moto's validation raises)",
)
def _patch_jsonata_bindings(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringJSONata
    from moto.stepfunctions.parser.asl.component.intrinsic.jsonata import get_intrinsic_functions_declarations
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.jsonata.jsonata import (
        compose_jsonata_expression,
        extract_jsonata_variable_references,
    )

    def states_binding(env: Environment, references: set[str]) -> dict[str, Any]:
        data = env.states._states_data
        if "$states" in references:  # the whole of $states, as moto does
            return {key: data.get(key) for key in data}
        return {
            key: data.get(key)
            for key in ("input", "context", "result", "errorOutput")
            if any(ref.startswith(f"$states.{key}") for ref in references)
        }

    def _eval_body(self: StringJSONata, env: Environment) -> None:
        references = extract_jsonata_variable_references(self.expression)
        functions = get_intrinsic_functions_declarations(variable_references=references)
        compiled = _compile_jsonata(compose_jsonata_expression(self.expression, [functions]))
        compiled.set_output_convert_nulls(False)  # None: undefined; Utils.NULL_VALUE: null
        store = env.variable_store
        variables = {**store._outer_scope, **store._inner_scope}  # moto declares the inner scope last: it wins
        bindings = {name: _jsonata_binding(value) for name, value in variables.items()}
        bindings["states"] = _jsonata_binding(states_binding(env, references))
        result = compiled.evaluate(None, bindings)
        if result is None:  # moto's validate_jsonata_expression_output for an undefined result
            raise _query_evaluation_failed(
                env, f"The JSONata expression '{self.expression}' returned nothing (undefined)."
            )
        env.stack.append(_plain_jsonata_result(result))

    stack.enter_context(mock.patch.object(StringJSONata, "_eval_body", _eval_body))


@_moto_patch(
    "jsonata_error_name",
    gap="a JSONata evaluation error (e.g. number + string) fails the execution as States.Runtime with a "
    "Python repr as cause; AWS reports States.QueryEvaluationError",
    touches="moto.stepfunctions.parser.asl.component.common.string.string_expression.StringJSONata._eval_body",
)
def _patch_jsonata_error_name(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringJSONata
    from moto.stepfunctions.parser.asl.eval.environment import Environment

    original = StringJSONata._eval_body

    def _eval_body(self: StringJSONata, env: Environment) -> None:
        try:
            original(self, env)
        except jsonata.JException as exc:
            cause = f"An error occurred while evaluating the JSONata expression '{self.expression}': {exc}"
            raise _query_evaluation_failed(env, cause) from exc

    stack.enter_context(mock.patch.object(StringJSONata, "_eval_body", _eval_body))


@_moto_patch(
    "fail_state_states_error",
    gap="a Fail state whose Error evaluates to a States.* name (re-raising a caught States.Timeout, as a Catch -> "
    "record -> Fail path does) fails the execution as States.Runtime with a ValueError cause ('Custom Error Names "
    "MUST NOT begin with the prefix States.'); AWS fails it with that error name",
    touches="CustomErrorName as imported into moto.stepfunctions.parser.asl.component.state.fail.state_fail "
    "(a States.* name -> StatesErrorName)",
)
def _patch_fail_state_states_error(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        ILLEGAL_CUSTOM_ERROR_PREFIX,
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.state.fail import state_fail

    def error_name(name: str) -> ErrorName:
        if not name.startswith(ILLEGAL_CUSTOM_ERROR_PREFIX):
            return CustomErrorName(name)
        try:
            return StatesErrorName.from_name(name)
        except ValueError:  # a States.* name the interpreter does not know: AWS reports it as it is
            return ErrorName(error_name=name)

    stack.enter_context(mock.patch.object(state_fail, "CustomErrorName", error_name))


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


@dataclass(frozen=True)
class WaitRecord:
    execution_arn: str
    state: str
    seconds: float  # what the definition asked for (the world waits seconds * wait_scale)


@_moto_patch(
    "execution_history_order",
    gap="GetExecutionHistory ignores reverseOrder and maxResults: the oldest event always comes first, so a "
    "caller reading the newest events (the current step: reverseOrder, maxResults) sees the first state forever",
    touches="moto.stepfunctions.responses.StepFunctionResponse.get_execution_history",
)
def _patch_execution_history_order(stack: ExitStack, world: LocalWorld) -> None:
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def get_execution_history(self: StepFunctionResponse) -> ActionResult:
        history = self.stepfunction_backend.get_execution_history(self._get_param("executionArn"))
        events = list(history["events"])
        if self._get_param("reverseOrder"):
            events.reverse()
        start = int(self._get_param("nextToken") or 0)
        size = int(self._get_param("maxResults") or 100) or 100  # AWS: 0 means the default, 100
        page: dict[str, Any] = {"events": events[start : start + size]}
        if start + size < len(events):
            page["nextToken"] = str(start + size)
        return ActionResult(page)

    stack.enter_context(mock.patch.object(StepFunctionResponse, "get_execution_history", get_execution_history))


@_moto_patch(
    "distributed_map_tolerated_failures",
    gap="a Distributed Map ignores ToleratedFailurePercentage/ToleratedFailureCount: failed iterations become null "
    "outputs and the Map run succeeds whatever fails; AWS fails the Map (States.ExceedToleratedFailureThreshold) "
    "once more iterations failed than tolerated, and starts no further ones",
    touches="DistributedIterationComponent._map_run and the JobPool it builds (the pool's next_job stops, and the run "
    "fails, past the threshold: max(ToleratedFailureCount, floor(items * ToleratedFailurePercentage / 100)))",
)
def _patch_distributed_map_tolerated_failures(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import distributed_iteration_component
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job import JobPool

    component = distributed_iteration_component.DistributedIterationComponent
    # The Map run whose pool the current thread builds (_map_run builds it in its own thread). Not a per-call
    # mock.patch of JobPool: two Map runs at once (two fleets) would swap each other's pools and leave one patched.
    building = threading.local()

    class ThresholdPool(JobPool):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._exceeded: Any = getattr(building, "exceeded", None)
            super().__init__(*args, **kwargs)

        def next_job(self) -> Any:
            failure = self._exceeded() if self._exceeded is not None else None
            if failure is not None:  # stop starting items, and end the run with the failure
                with self._mutex:
                    current: Exception | None = getattr(self, "_worker_exception", None)
                    self._worker_exception = current or failure
                self._termination_event.set()
                return None
            return super().next_job()

    def _map_run(self: Any, env: Any, eval_input: Any) -> None:
        record = eval_input.map_run_record
        described = record.describe()
        total = len(env.stack[-1]) if env.stack and isinstance(env.stack[-1], list) else 0
        limit = max(
            int(described.get("toleratedFailureCount") or 0),
            int(total * float(described.get("toleratedFailurePercentage") or 0) / 100),
        )

        def exceeded() -> FailureEventException | None:
            failed = record.item_counter.failed.get() + record.item_counter.timed_out.get()
            if failed <= limit:
                return None
            error = StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold)
            cause = f"The number of failed items ({failed} of {total}) exceeds the tolerated {limit}."
            details: Any = {"mapRunFailedEventDetails": MapRunFailedEventDetails(error=error.error_name, cause=cause)}
            return FailureEventException(
                FailureEvent(env=env, error_name=error, event_type=HistoryEventType.MapRunFailed, event_details=details)
            )

        building.exceeded = exceeded
        try:
            original(self, env, eval_input)
        finally:
            building.exceeded = None
        failure = exceeded()
        if failure is not None:
            raise failure

    original = component._map_run
    stack.enter_context(mock.patch.object(distributed_iteration_component, "JobPool", ThresholdPool))
    stack.enter_context(mock.patch.object(component, "_map_run", _map_run))


@_moto_patch(
    "map_runs_beside_other_executions",
    gap="DescribeMapRun and ListMapRuns read each execution's evaluation environment, which moto sets only once the "
    "execution's worker began: right after StartExecution (a caller polling a fleet's progress at once) they raise "
    "AttributeError (HTTP 500) instead of answering (no map run yet)",
    touches="moto.stepfunctions.parser.models.StepFunctionsParserBackend.describe_map_run / list_map_runs",
)
def _patch_map_runs_beside_other_executions(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.api import ResourceNotFound
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    def pool(execution: Any) -> Any:
        env = getattr(getattr(execution, "exec_worker", None), "env", None)
        return getattr(env, "map_run_record_pool_manager", None)

    def describe_map_run(self: StepFunctionsParserBackend, map_run_arn: str) -> dict[str, Any]:
        for execution in self._get_executions():
            record = pool(execution).get(map_run_arn) if pool(execution) else None
            if record is not None:
                return cast(dict[str, Any], record.describe())
        raise ResourceNotFound(f"Map run {map_run_arn} not found")

    def list_map_runs(self: StepFunctionsParserBackend, execution_arn: str) -> dict[str, Any]:
        records = pool(self.describe_execution(execution_arn=execution_arn))
        return {"mapRuns": [record.list_item() for record in (records.get_all() if records else [])]}

    stack.enter_context(mock.patch.object(StepFunctionsParserBackend, "describe_map_run", describe_map_run))
    stack.enter_context(mock.patch.object(StepFunctionsParserBackend, "list_map_runs", list_map_runs))


@_moto_patch(
    "task_timeout_excludes_handler_queue",
    gap="a Task's TimeoutSeconds runs on the wall clock from when the state starts its task thread, and the world "
    "runs one handler at a time (isolate_invocations): with ~200 executions at once a Lambda Task can wait over "
    "60 s for its turn and fails with States.Timeout though its handler ran for well under a second; in AWS every "
    "invocation has its own sandbox, so no Task ever waits for another's",
    touches="threading.Event and Thread as used by moto.stepfunctions.parser.asl.component.state.exec.execute_state."
    "ExecuteState._evaluate_with_timeout (the wait for the task thread is extended by the time that thread queued "
    "for LocalWorld's handler lock)",
)
def _patch_task_timeout_excludes_handler_queue(stack: ExitStack, world: LocalWorld) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state

    started = threading.local()  # the task thread the current (state's) thread started last

    class TaskThread(threading.Thread):
        queued_before: float | None = None

        def start(self) -> None:
            started.thread = self
            super().start()

        def run(self) -> None:
            self.queued_before = world.handler_queue_seconds(threading.get_ident())
            super().run()

    class TaskEnded(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            thread: TaskThread | None = getattr(started, "thread", None)
            if timeout is None or thread is None:
                return super().wait(timeout)
            deadline = time.monotonic() + timeout
            while True:
                base = thread.queued_before
                queued = (
                    0.0 if base is None or thread.ident is None else world.handler_queue_seconds(thread.ident) - base
                )
                remaining = deadline + queued - time.monotonic()
                if remaining <= 0:
                    return self.is_set()
                if super().wait(min(remaining, 1.0)):
                    return True

    stack.enter_context(mock.patch.object(execute_state, "Thread", TaskThread))
    stack.enter_context(mock.patch.object(execute_state, "threading", SimpleNamespace(Event=TaskEnded)))
