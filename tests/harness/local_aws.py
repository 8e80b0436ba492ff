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
Every adaptation of moto internals is a ``MotoPatch`` in ``PATCHES``, one module per service under
``tests/harness/patches/`` (re-exported here), with the gap it closes
and the internal it touches. moto is pinned exactly (pyproject: ``moto==5.2.5``) because of them;
``tests/harness/test_moto_gaps.py`` proves each gap exists when its patch is off, so a moto upgrade
shows which patches became unnecessary (``LocalWorld(disable_patches={...})``).
``python -m tests.harness`` prints the catalogue.
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import string
import sys
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, cast

import boto3
import botocore.handlers
import botocore.session
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
    from botocore.model import OperationModel
    from moto.server import ThreadedMotoServer
    from mypy_boto3_rds import RDSClient
    from mypy_boto3_stepfunctions import SFNClient

from .errors import ExecutionTimeoutError, HarnessError
from .internal import is_internal, step_functions_internal
from .patches import PATCHES, MotoPatch
from .patches.rds import fake_dbi_resource_id
from .patches.rds_status import DbKind, _StatusFeeder
from .patches.sfn import WaitRecord
from .rate_limits import LIMITS, SETUP_HEADER, RateLimits
from .rate_limits import applied as rate_limits_applied

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


# ==================================================================================================
# The world
# ==================================================================================================


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
    if world is not None and not is_internal():  # not Step Functions' own .sync polls (tests.harness.internal)
        world._count_api_call(model)


# Installed once, like moto's own stubber: every botocore session created after this import gets it,
# including clients cached across worlds by the code under test (e.g. an @cache'd client factory).
botocore.handlers.BUILTIN_HANDLERS.append(("before-call", _count_api_call))


def _mark_setup(request: Any, **_: Any) -> None:
    request.headers[SETUP_HEADER] = "1"


def _placeholder_zip() -> bytes:
    """Code for moto's CreateFunction; never run (the handler is imported from the code dirs)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "local handler: see tests/harness/lambda_local.py\n")
    return buffer.getvalue()


def _forget_member_sessions() -> None:
    """A member account's credentials (``clickpipes.aws.clients``, cached per container) name a role of a world
    that is gone, and the state seal's key (``clickpipes.aws.seal_key``) is a secret of that world: a new world
    starts without them, as a new Lambda container would."""
    for module, names in (
        ("clickpipes.aws.clients", ("assumed_session", "member_client")),
        ("clickpipes.aws.seal_key", ("seal_key",)),
    ):
        for name in names:
            cached = getattr(sys.modules.get(module), name, None)
            if cached is not None:
                cached.cache_clear()


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
        rate_limits: bool | Mapping[str, tuple[float, float]] = False,
    ) -> None:
        """
        wait_scale / retry_scale: real seconds slept per requested Wait / Retry-interval second.
        server: also serve the same moto on http://<server_host>:<server_port or a free port>
            (e.g. server_host="172.17.0.1" to be reachable from containers on Docker's bridge).
        isolate_invocations: run one handler at a time (as if each had its own Lambda sandbox).
        quiet_interpreter_logs: silence the interpreter's ERROR logs for handled failures (Retry/Catch).
        extra_env: set on top of the functions' environment (wins over it), e.g. POWERTOOLS_* knobs.
        disable_patches: names from PATCHES to leave out (to observe a moto gap).
        rate_limits: AWS's API rate limits as token buckets (``tests.harness.rate_limits``): True for AWS's
            figures, or bucket name -> (size, refill per second) to replace some of them.
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
        self.rate_limits: RateLimits | None = None
        if rate_limits:
            overrides = rate_limits if isinstance(rate_limits, Mapping) else {}
            self.rate_limits = RateLimits({**LIMITS, **overrides}, DEFAULT_ACCOUNT_ID)

        self.endpoint_url: str | None = None
        self.deployments: list[Deployed] = []
        self.invocations: list[Invocation] = []
        self.waits: list[WaitRecord] = []
        self.retry_sleeps: list[float] = []

        self._stack: ExitStack | None = None
        self._functions: dict[str, LocalFunction] = {}
        self.function_roles: dict[str, str] = {}  # logical id -> its execution role's ARN (as the template names it)
        self._calling = threading.local()  # the role of the handler running in this thread (patch lambda_caller_role)
        self._invoke_lock = threading.RLock()
        self._queue_lock = threading.Lock()
        self._queue_since: dict[int, float] = {}  # thread -> when it began waiting for _invoke_lock
        self._queued_seconds: dict[int, float] = {}  # thread -> seconds it waited for _invoke_lock, in all
        self._records_lock = threading.Lock()
        self._status_feeder = _StatusFeeder()
        self._api_calls: Counter[str] = Counter()
        self._api_lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._env_before: dict[str, str | None] = {}
        self._sys_path_added: list[str] = []
        self._code_roots: set[Path] = set()
        self._modules_before: frozenset[str] = frozenset()

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
            _forget_member_sessions()
            stack.callback(self._unload_code)
            stack.enter_context(
                mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": True}})
            )
            for name in self.enabled_patches:
                PATCHES[name].apply(stack, self)
            if self.rate_limits is not None:
                stack.enter_context(rate_limits_applied(self.rate_limits))
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
        """A boto3 client for test setup/inspection. Its calls are NOT counted in ``api_calls``, nor throttled by
        the rate limits (the buckets are the workload's: ``rate_limits.SETUP_HEADER``)."""
        self._require_started()
        if service not in self._clients:
            client = boto3.session.Session().client(service, region_name=self.region)  # type: ignore[call-overload]
            client.meta.events.unregister("before-call", _count_api_call)
            client.meta.events.register("before-sign", _mark_setup)
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
        before = getattr(self._calling, "role", None)
        self._calling.role = self.function_roles.get(function_name)
        try:
            if self.isolate_invocations:
                with self._queued_for_handler():
                    self._invoke_lock.acquire()
                try:
                    payload, errored, record = function.invoke(event)
                finally:
                    self._invoke_lock.release()
            else:
                payload, errored, record = function.invoke(event)
        finally:
            self._calling.role = before
        with self._records_lock:
            self.invocations.append(record)
        return payload, errored

    @contextmanager
    def _queued_for_handler(self) -> Iterator[None]:
        """This thread waits its turn at the one-handler-at-a-time lock (``isolate_invocations``): time AWS, which
        runs every invocation in its own sandbox, never spends. Counted per thread (``handler_queue_seconds``)."""
        thread = threading.get_ident()
        with self._queue_lock:
            self._queue_since[thread] = time.monotonic()
        try:
            yield
        finally:
            with self._queue_lock:
                waited = time.monotonic() - self._queue_since.pop(thread)
                self._queued_seconds[thread] = self._queued_seconds.get(thread, 0.0) + waited

    def handler_queue_seconds(self, thread: int) -> float:
        """Seconds thread ``thread`` has waited (and is waiting) for its turn to run a handler (patch
        ``task_timeout_excludes_handler_queue``: a Task's TimeoutSeconds does not count them)."""
        with self._queue_lock:
            since = self._queue_since.get(thread)
            return self._queued_seconds.get(thread, 0.0) + (time.monotonic() - since if since is not None else 0.0)

    def calling_role(self) -> str | None:
        """The execution role of the handler running in this thread (None outside a handler)."""
        return getattr(self._calling, "role", None)

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
        self._create_tables(app)
        self._create_secrets(app)
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
            self.function_roles[logical_id] = app.resolve(
                spec.properties.get("Role") or {"Fn::GetAtt": [f"{logical_id}Role", "Arn"]}
            )

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
        for logical_id, resource in app.resources_of("AWS::IAM::ManagedPolicy").items():
            props = app.resolve(resource.get("Properties") or {})
            iam.create_policy(
                PolicyName=props.get("ManagedPolicyName", logical_id),
                Path=props.get("Path", "/"),
                PolicyDocument=json.dumps(props["PolicyDocument"]),
                Description=props.get("Description", ""),
            )

    def _create_tables(self, app: SamApp) -> None:
        """The template's AWS::DynamoDB::Table resources (keys and billing as given), named as ``Ref`` names them."""
        dynamodb = self.client("dynamodb")
        for logical_id, resource in app.resources_of("AWS::DynamoDB::Table").items():
            props = app.resolve(resource.get("Properties") or {})
            dynamodb.create_table(
                TableName=app.resolve({"Ref": logical_id}),
                KeySchema=props["KeySchema"],
                AttributeDefinitions=props["AttributeDefinitions"],
                BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            )

    def _create_secrets(self, app: SamApp) -> None:
        """The template's AWS::SecretsManager::Secret resources with a GenerateSecretString (letters and digits, its
        PasswordLength; in SecretStringTemplate's GenerateStringKey when given), named as ``Ref`` names them."""
        secretsmanager = self.client("secretsmanager")
        for logical_id, resource in app.resources_of("AWS::SecretsManager::Secret").items():
            props = app.resolve(resource.get("Properties") or {})
            generate = props.get("GenerateSecretString")
            if not isinstance(generate, dict):
                continue
            alphabet = string.ascii_letters + string.digits
            value = "".join(secrets.choice(alphabet) for _ in range(int(generate.get("PasswordLength", 32))))
            if "GenerateStringKey" in generate:
                template = json.loads(generate.get("SecretStringTemplate") or "{}")
                value = json.dumps({**template, generate["GenerateStringKey"]: value})
            name = str(app.resolve({"Ref": logical_id})).rsplit(":", 1)[-1]
            secretsmanager.create_secret(Name=name, SecretString=value)

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
        return RunningExecution(self, arn, api_before, t0)

    def run(
        self, state_machine: str, input: Any = None, name: str | None = None, timeout: float = 60
    ) -> ExecutionResult:
        """Start an execution and wait for it to finish (raises ExecutionTimeoutError after ``timeout``)."""
        return self.start(state_machine, input, name).wait(timeout)

    def _stop_running_executions(self, settle: float = 60.0) -> None:
        """Before the patches are undone: stop every execution still running in any account and region (not only
        those ``start`` began: a Distributed Map's children, their startExecution.sync:2 onboardings) and wait for
        their threads. An interpreter thread that outlived its world ran on unpatched moto: its next JSONata
        evaluation failed with TypeError('NoneType' object is not callable), moto's JVM-less engine."""
        from moto.stepfunctions.parser.api import ExecutionStatus
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends
        from moto.stepfunctions.parser.utils import TMP_THREADS

        def running() -> list[Any]:
            return [
                execution
                for regions in list(stepfunctions_parser_backends.values())
                for backend in list(regions.values())
                for execution in backend._get_executions()
                if getattr(execution, "exec_status", None) == ExecutionStatus.RUNNING
            ]

        deadline = time.monotonic() + settle
        while (left := running()) and time.monotonic() < deadline:
            for execution in left:
                with suppress(Exception):  # it may end between the listing and the stop
                    execution.stop(stop_date=datetime.now(tz=UTC), error="LocalWorld.Stopped", cause=None)
            time.sleep(0.02)
        for thread in list(TMP_THREADS):  # task threads (a running handler cannot be interrupted)
            thread.join(max(deadline - time.monotonic(), 0.0))
        stuck = [execution.exec_arn for execution in running()]
        if stuck:
            raise HarnessError(
                f"{len(stuck)} executions still RUNNING {settle:g} s after the world began closing: {stuck}"
            )

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
        # the harness watching (wait() polls every 5 ms) draws on no bucket of the account: the code under test does
        with step_functions_internal():
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
