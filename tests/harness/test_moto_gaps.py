"""Each moto patch in local_aws.PATCHES closes a real gap of moto 5.2.5: proven here by observing the
gap with that one patch disabled, and the AWS behaviour with it enabled.

When moto is upgraded, a test failing in its "gap" half means moto fixed it: delete the patch.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from .execution import ExecutionResult
from .helpers import SAMPLE_TEMPLATE, create_cluster, create_instance
from .local_aws import PATCHES, HarnessError, LocalWorld

JSONATA = "JSONata"


def with_and_without(patch: str, check: Callable[[LocalWorld], Any], **world_kwargs: Any) -> tuple[Any, Any]:
    """(result without the patch, result with all patches)."""
    outcomes = []
    for disabled in ({patch}, set()):
        with LocalWorld(disable_patches=disabled, **world_kwargs) as world:
            outcomes.append(check(world))
    return outcomes[0], outcomes[1]


def run(world: LocalWorld, definition: dict[str, Any], input_: Any = None, name: str = "gap") -> ExecutionResult:
    return world.run(world.create_state_machine(name, definition), input_ or {}, timeout=30)


def pass_state(output: Any) -> dict[str, Any]:
    return {"QueryLanguage": JSONATA, "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": output, "End": True}}}


def test_every_patch_has_a_gap_test() -> None:
    from . import test_rds_gaps  # the RDS rules' gap tests (tests/harness/rds_rules.py)

    names = [*globals(), *vars(test_rds_gaps)]
    tests = {name.removeprefix("test_gap_") for name in names if name.startswith("test_gap_")}
    assert tests == set(PATCHES)


# --- Step Functions interpreter ---------------------------------------------------------------


def test_gap_lambda_invoke_local() -> None:
    def check(world: LocalWorld) -> Any:
        world.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
        world.client("lambda").create_function(
            FunctionName="f",
            Runtime="python3.13",
            Role="arn:aws:iam::123456789012:role/r",
            Handler="x.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )
        return world.invoke("f").payload

    without, with_ = with_and_without("lambda_invoke_local", check)
    assert "docker" in str(without).lower()
    assert with_["errorType"] == "LocalWorld.UnknownFunction"  # routed to the local runtime


def test_gap_jsonata_engine() -> None:
    """moto evaluates a JSONPath state's variable read (``"v.$": "$x"``) as JSONata text; JSONata states' expressions
    too, where patch jsonata_bindings does not evaluate them."""
    variable_read = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"v.$": "$x"}, "End": True},
        },
    }
    without, with_ = with_and_without("jsonata_engine", lambda w: run(w, variable_read))
    assert (without.status, without.error) == ("FAILED", "States.Runtime")
    assert "NoneType" in (without.cause or "")
    assert with_.output == {"v": 1}
    with LocalWorld(disable_patches={"jsonata_engine", "jsonata_bindings"}) as world:
        assert "NoneType" in (run(world, pass_state("{% 1 + 1 %}")).cause or "")


def test_gap_jsonata_string_encoding() -> None:
    definition = {
        "QueryLanguage": JSONATA,
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"s": "{% $states.input.s %}"}, "Next": "B"},
            "B": {"Type": "Pass", "Output": "{% $s %}", "End": True},
        },
    }
    variable_read = {  # a JSONPath state reading the variable: moto writes it into JSONata text
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"s.$": "$.s"}, "Next": "B"},
            "B": {"Type": "Pass", "Parameters": {"v.$": "$s"}, "End": True},
        },
    }

    def check(world: LocalWorld) -> tuple[ExecutionResult, ExecutionResult]:
        return run(world, definition, {"s": 'say "hi"'}), run(world, variable_read, {"s": 'say "hi"'}, name="read")

    (without, read_without), (with_, read_with) = with_and_without("jsonata_string_encoding", check)
    assigned_without = without.events_of_type("PassStateExited")[0]["stateExitedEventDetails"]["assignedVariables"]
    assert assigned_without["s"] == '"say "hi""'  # not JSON
    assert read_without.status == "FAILED"
    assert "Expected ), got hi" in (read_without.cause or "")
    with LocalWorld(disable_patches={"jsonata_string_encoding", "jsonata_bindings"}) as world:
        assert "Expected ), got hi" in (run(world, definition, {"s": 'say "hi"'}).cause or "")
    assert with_.output == 'say "hi"'
    assert read_with.output == {"v": 'say "hi"'}
    assigned = with_.events_of_type("PassStateExited")[0]["stateExitedEventDetails"]["assignedVariables"]
    assert json.loads(assigned["s"]) == 'say "hi"'


def test_gap_jsonata_sfn_functions() -> None:
    without, with_ = with_and_without("jsonata_sfn_functions", lambda w: run(w, pass_state("{% $uuid() %}")))
    assert without.output == "Function $uuid is currently not supported"
    assert len(with_.output) == 36


def test_gap_jsonata_bindings() -> None:
    """One field read beside a large variable (a 200-DB fleet's plan): without the patch the JSONata parser is handed
    the variable's whole data (in every expression of the execution), with it only the expressions; same results,
    null and undefined included."""
    import jsonata

    items = [{"arn": f"arn:aws:rds:us-east-1:123456789012:db:db{i}", "name": f"onboard-db{i}"} for i in range(200)]
    definition = {
        "QueryLanguage": JSONATA,
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"plan": "{% $states.input %}", "none": None}, "Next": "B"},
            "B": {
                "Type": "Pass",
                "Output": "{% {'name': $plan.items[5].name, 'none': $none, 'tag': $states.input.tag} %}",
                "Next": "C",
            },
            "C": {"Type": "Pass", "Output": "{% $states.input.missing %}", "End": True},
        },
    }
    size = len(json.dumps(items))

    def check(world: LocalWorld) -> tuple[ExecutionResult, int]:
        parsed: list[int] = []
        original = jsonata.parser.Parser.parse

        def parse(self: Any, expression: str, *args: Any) -> Any:
            parsed.append(len(expression))
            return original(self, expression, *args)

        with mock.patch.object(jsonata.parser.Parser, "parse", parse):
            result = run(world, definition, {"items": items, "tag": "t"})
        return result, max(parsed)

    (without, parsed_without), (with_, parsed_with) = with_and_without("jsonata_bindings", check)
    assert parsed_without > size
    assert parsed_with < 1000
    for result in (without, with_):
        outputs = [json.loads(e["stateExitedEventDetails"]["output"]) for e in result.events_of_type("PassStateExited")]
        assert outputs[-1] == {"name": "onboard-db5", "none": None, "tag": "t"}
        assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")
        assert "returned nothing (undefined)" in (result.cause or "")


def test_gap_jsonata_error_name() -> None:
    check = lambda w: run(w, pass_state("{% $states.input.n + 'x' %}"), {"n": 1})  # noqa: E731
    without, with_ = with_and_without("jsonata_error_name", check)
    assert without.error == "States.Runtime"
    assert "JException" in (without.cause or "")
    assert with_.error == "States.QueryEvaluationError"


def test_gap_fail_state_states_error() -> None:
    definition = {
        "QueryLanguage": JSONATA,
        "StartAt": "F",
        "States": {"F": {"Type": "Fail", "Error": "{% $states.input.error %}", "Cause": "re-raised"}},
    }
    without, with_ = with_and_without(
        "fail_state_states_error", lambda w: run(w, definition, {"error": "States.Timeout"})
    )
    assert (without.status, without.error) == ("FAILED", "States.Runtime")
    assert "MUST NOT begin with the prefix" in (without.cause or "")
    assert (with_.status, with_.error, with_.cause) == ("FAILED", "States.Timeout", "re-raised")


def test_gap_wait_scaling() -> None:
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "End": True}}}

    def check(world: LocalWorld) -> float:
        t0 = time.monotonic()
        assert run(world, definition).succeeded
        return time.monotonic() - t0

    without, with_ = with_and_without("wait_scaling", check)
    assert without >= 2.0
    assert with_ < 2.0


def test_gap_retry_backoff() -> None:
    definition = {
        "QueryLanguage": JSONATA,
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:rds:describeDBInstances",
                "Arguments": {"DbInstanceIdentifier": "missing"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 1}],
                "End": True,
            }
        },
    }

    def check(world: LocalWorld) -> tuple[float, list[float]]:
        t0 = time.monotonic()
        assert run(world, definition).status == "FAILED"
        return time.monotonic() - t0, world.retry_sleeps

    (slow, _), (fast, sleeps) = with_and_without("retry_backoff", check)
    assert slow >= 2.0
    assert fast < 2.0
    assert sleeps == [2.0]


def test_gap_execution_names() -> None:
    def check(world: LocalWorld) -> tuple[str, str]:
        arn = world.create_state_machine("twice", pass_state("{% 1 %}"))
        first = world.sfn.start_execution(stateMachineArn=arn)["executionArn"]
        try:
            second = world.sfn.start_execution(stateMachineArn=arn)["executionArn"]
        except world.sfn.exceptions.ExecutionAlreadyExists:  # if the first one already finished
            second = first
        return first, second

    (a, b), (c, d) = with_and_without("execution_names", check)
    assert a == b
    assert a.endswith(":None")
    assert c != d


def test_gap_execution_output() -> None:
    def check(world: LocalWorld) -> str:
        execution = world.start(world.create_state_machine("s", pass_state("{% 'done' %}")))
        while (description := execution.describe())["status"] == "RUNNING":  # wait() would parse output
            time.sleep(0.01)
        return str(description["output"])

    without, with_ = with_and_without("execution_output", check)
    assert without == "done"  # not JSON
    assert with_ == '"done"'


def test_gap_sfn_boto_clients() -> None:
    def check(world: LocalWorld) -> bool:
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

        boto_client_for = vars(lambda_eval_utils)["boto_client_for"]  # as the module imported it
        return boto_client_for(region="us-east-1", service="lambda") is boto_client_for(
            region="us-east-1", service="lambda"
        )

    without, with_ = with_and_without("sfn_boto_clients", check)
    assert without is False  # a new client (~6 ms) per task
    assert with_ is True


# --- aws-sdk integrations --------------------------------------------------------------------------


def describe_task(identifier: str, output: str) -> dict[str, Any]:
    return {
        "QueryLanguage": JSONATA,
        "StartAt": "D",
        "States": {
            "D": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:rds:describeDBInstances",
                "Arguments": {"DbInstanceIdentifier": identifier},
                "Output": output,
                "End": True,
            }
        },
    }


def test_gap_aws_sdk_casing() -> None:
    def check(world: LocalWorld) -> ExecutionResult:
        create_instance(world, "db1")
        create_instance(world, "db2")
        return run(world, describe_task("db2", "{% $states.result.DbInstances[0] %}"))

    without, with_ = with_and_without("aws_sdk_casing", check)
    assert (without.status, without.error) == ("FAILED", "States.Runtime")
    assert with_.output["DbInstanceIdentifier"] == "db2"
    assert with_.output["DbiResourceId"].startswith("db-")
    assert isinstance(with_.output["InstanceCreateTime"], str)


def test_gap_aws_sdk_error_names() -> None:
    check = lambda w: run(w, describe_task("missing", "{% $states.result %}"))  # noqa: E731
    without, with_ = with_and_without("aws_sdk_error_names", check)
    assert without.error == "rds.DBInstanceNotFoundFaultException"
    assert with_.error == "Rds.DbInstanceNotFoundException"


def test_gap_jsonpath_definite() -> None:
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": "$.a[0].b"}, "End": True}}}
    without, with_ = with_and_without("jsonpath_definite", lambda w: run(w, definition, {"a": [{"b": "x"}]}))
    assert without.output == {"v": ["x"]}
    assert with_.output == {"v": "x"}


# --- RDS ---------------------------------------------------------------------------------------------


def test_gap_rds_dbi_resource_id() -> None:
    check = lambda w: {create_instance(w, "a")["DbiResourceId"], create_instance(w, "b")["DbiResourceId"]}  # noqa: E731
    without, with_ = with_and_without("rds_dbi_resource_id", check)
    assert without == {"db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U"}
    assert len(with_) == 2


def test_gap_rds_cluster_iam_flag() -> None:
    def check(world: LocalWorld) -> tuple[bool, bool]:
        create_cluster(world, "c")
        world.rds.modify_db_cluster(
            DBClusterIdentifier="c", EnableIAMDatabaseAuthentication=True, ApplyImmediately=True
        )
        cluster = world.rds.describe_db_clusters(DBClusterIdentifier="c")["DBClusters"][0]
        member = world.rds.describe_db_instances(DBInstanceIdentifier="c-1")["DBInstances"][0]
        return cluster["IAMDatabaseAuthenticationEnabled"], member["IAMDatabaseAuthenticationEnabled"]

    without, with_ = with_and_without("rds_cluster_iam_flag", check)
    assert without == (False, False)
    assert with_ == (True, True)


def test_gap_rds_mariadb_default_version() -> None:
    def check(world: LocalWorld) -> str:
        try:
            return str(create_instance(world, "m", engine="mariadb")["EngineVersion"])
        except Exception as exc:  # moto's KeyError surfaces through the in-process stub
            return repr(exc)

    without, with_ = with_and_without("rds_mariadb_default_version", check)
    assert "KeyError" in without
    assert "mariadb" in without
    assert with_ == "10.11.9"


def test_gap_request_lock() -> None:
    """A Describe is held inside moto's backend; does a concurrent Create run meanwhile?"""
    from moto.rds.models import RDSBackend

    inside, release = threading.Event(), threading.Event()
    original = RDSBackend._filter_resources  # a staticmethod
    described: list[int] = []

    def held(*args: Any, **kwargs: Any) -> Any:
        inside.set()
        release.wait(10)
        return original(*args, **kwargs)

    def describe_all(world: LocalWorld) -> None:
        filters = [{"Name": "engine", "Values": ["postgres"]}]
        described.append(len(world.rds.describe_db_instances(Filters=filters)["DBInstances"]))

    def check(world: LocalWorld) -> bool:
        inside.clear()
        release.clear()
        create_instance(world, "db1")
        describe = threading.Thread(target=describe_all, args=(world,))
        create = threading.Thread(target=create_instance, args=(world, "db2"))
        with mock.patch.object(RDSBackend, "_filter_resources", staticmethod(held)):
            describe.start()
            assert inside.wait(10)
            create.start()
            create.join(1)
            ran_meanwhile = not create.is_alive()
            release.set()
            describe.join(10)
            create.join(10)
        assert described.pop() in (1, 2), "the held Describe completed"
        assert len(world.rds.describe_db_instances()["DBInstances"]) == 2, "and so did the Create"
        return ran_meanwhile

    without, with_ = with_and_without("request_lock", check)
    assert (without, with_) == (True, False)  # moto mutates the backend under a running Describe; locked, it waits


def test_gap_rds_status_feeder() -> None:
    def check(world: LocalWorld) -> str:
        create_instance(world, "db1")
        modified = world.rds.modify_db_instance(
            DBInstanceIdentifier="db1", EnableIAMDatabaseAuthentication=True, ApplyImmediately=True
        )["DBInstance"]
        return str(modified["DBInstanceStatus"])

    without, _ = with_and_without("rds_status_feeder", check)
    assert without == "available"  # AWS: "modifying" (then "configuring-iam-database-auth"), never fed
    with LocalWorld(disable_patches={"rds_status_feeder"}) as world, pytest.raises(HarnessError):
        world.feed_statuses("db1", ["modifying"], kind="instance")


def test_gap_eventbridge_array_matching() -> None:
    pattern = {"source": ["aws.rds"], "detail": {"requestParameters": {"tags": {"key": ["clickpipes:onboard"]}}}}
    detail = {
        "requestParameters": {"tags": [{"key": "team", "value": "a"}, {"key": "clickpipes:onboard", "value": "true"}]}
    }

    def check(world: LocalWorld) -> bool:
        events, sqs = world.client("events"), world.client("sqs")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="r", EventPattern=json.dumps(pattern))
        events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
        events.put_events(Entries=[{"Source": "aws.rds", "DetailType": "x", "Detail": json.dumps(detail)}])
        return bool(sqs.receive_message(QueueUrl=url).get("Messages"))

    without, with_ = with_and_without("eventbridge_array_matching", check)
    assert (without, with_) == (False, True)


# --- STS ----------------------------------------------------------------------------------------


def test_gap_sts_assume_role_trust() -> None:
    """A role that trusts another account: with the patch, a caller outside it cannot assume the role."""

    def assume(world: LocalWorld) -> bool:
        trust = {
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}
            ]
        }
        arn = world.client("iam").create_role(RoleName="x", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        try:
            world.client("sts").assume_role(RoleArn=arn, RoleSessionName="ss")
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "AccessDenied"
            return False
        return True

    with LocalWorld(disable_patches={"sts_assume_role_trust"}) as world:
        assert assume(world)
    with LocalWorld() as world:
        assert not assume(world)


def test_gap_lambda_caller_role() -> None:
    """A handler calls as its execution role (what a member role's trust names), not as the default user."""

    def caller(world: LocalWorld) -> str:
        world._calling.role = "arn:aws:iam::123456789012:role/stack-ResolveTargetFunctionRole-ABC"
        try:
            return str(world.client("sts").get_caller_identity()["Arn"])
        finally:
            world._calling.role = None

    without, with_ = with_and_without("lambda_caller_role", caller)
    assert without == "arn:aws:sts::123456789012:user/moto"
    role = "stack-ResolveTargetFunctionRole-ABC"
    assert with_ == f"arn:aws:sts::123456789012:assumed-role/{role}/{role}"


def test_gap_execution_history_order() -> None:
    definition = {
        "QueryLanguage": JSONATA,
        "StartAt": "First",
        "States": {"First": {"Type": "Pass", "Next": "Last"}, "Last": {"Type": "Pass", "End": True}},
    }

    def check(world: LocalWorld) -> Any:
        arn = run(world, definition).arn
        newest = world.sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=2)
        pages = world.sfn.get_paginator("get_execution_history")
        every = pages.paginate(executionArn=arn, PaginationConfig={"PageSize": 2})
        return [e["type"] for e in newest["events"]], sum(len(p["events"]) for p in every)

    (gap, _), (fixed, total) = with_and_without("execution_history_order", check)
    assert gap[0] == "ExecutionStarted"  # the oldest first, whatever was asked
    assert fixed == ["ExecutionSucceeded", "PassStateExited"]  # the newest first, two of them
    assert total == 6  # started, First entered/exited, Last entered/exited, succeeded


# --- Step Functions: child executions and the Distributed Map (the fleet) -------------------------

CHILD: dict[str, Any] = {
    "QueryLanguage": JSONATA,
    "StartAt": "C",
    "States": {
        "C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.ok %}", "Next": "Ok"}], "Default": "Bad"},
        "Ok": {"Type": "Pass", "Output": {"db": "{% $states.input.db %}"}, "End": True},
        "Bad": {"Type": "Fail", "Error": "DbNotFoundError", "Cause": "no such DB"},
    },
}


def start_child(child_arn: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Arguments": {"StateMachineArn": child_arn, "Name": "{% $states.input.db %}", "Input": "{% $states.input %}"},
        "Output": "{% $states.result.Output %}",
        "End": True,
    }


def test_gap_sfn_integration_casing() -> None:
    def check(world: LocalWorld) -> ExecutionResult:
        child = world.create_state_machine("child", CHILD)
        parent = {"QueryLanguage": JSONATA, "StartAt": "T", "States": {"T": start_child(child)}}
        return run(world, parent, {"db": "orders", "ok": True})

    without, with_ = with_and_without("sfn_integration_casing", check)
    assert (without.status, without.error) == ("FAILED", "States.Runtime")
    assert "StateMachineArn" in (without.cause or "")
    assert with_.output == {"db": "orders"}  # .sync:2: the child's output as JSON


def test_gap_distributed_map_tolerated_failures() -> None:
    def check(world: LocalWorld) -> tuple[ExecutionResult, list[str]]:
        child = world.create_state_machine("child", CHILD)
        task = start_child(child) | {
            "Output": "{% $states.result.Output %}",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput %}", "Next": "F"}],
        }
        parent = {
            "QueryLanguage": JSONATA,
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "Items": "{% $states.input %}",
                    "MaxConcurrency": 1,
                    "ToleratedFailurePercentage": "{% 20 %}",  # moto parses no literal here
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": "T",
                        "States": {"T": task, "F": {"Type": "Fail", "Error": "ChildFailed", "Cause": "x"}},
                    },
                    "End": True,
                }
            },
        }
        items = [{"db": f"db{i}", "ok": i not in (1, 2)} for i in range(10)]  # 2 of 10 fail: 20 % is tolerated
        tolerated = run(world, parent, items, name="tolerated")
        items = [{"db": f"x{i}", "ok": i not in (1, 2, 3)} for i in range(10)]  # the 3rd failure is one too many
        result = run(world, parent, items, name="exceeded")
        started = sorted(e["name"] for e in world.sfn.list_executions(stateMachineArn=child)["executions"])
        assert tolerated.succeeded
        assert tolerated.output[1] is None
        assert tolerated.output[0] == {"db": "db0"}
        return result, [name for name in started if name.startswith("x")]

    (without, started_without), (with_, started_with) = with_and_without("distributed_map_tolerated_failures", check)
    assert without.succeeded  # moto: whatever fails
    assert len(started_without) == 10
    assert (with_.status, with_.error) == ("FAILED", "States.ExceedToleratedFailureThreshold")
    assert started_with == ["x0", "x1", "x2", "x3"]  # no item started after the threshold was passed


def test_gap_sfn_sync_polls_internal() -> None:
    slow_child = {
        "QueryLanguage": JSONATA,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 2, "Next": "Ok"}, **{"Ok": CHILD["States"]["Ok"]}},
    }

    def check(world: LocalWorld) -> tuple[dict[str, Any], int]:
        child = world.create_state_machine("slow", slow_child)
        parent = {"QueryLanguage": JSONATA, "StartAt": "T", "States": {"T": start_child(child)}}
        world.reset_api_calls()
        arn = world.sfn.start_execution(
            stateMachineArn=world.create_state_machine("p", parent), input='{"db": "orders"}'
        )
        for _ in range(400):  # GetExecutionHistory has no bucket here: DescribeExecution's is what is tested
            events = world.sfn.get_execution_history(executionArn=arn["executionArn"])["events"]
            last: dict[str, Any] = dict(events[-1]) if events else {"type": "none"}
            if last["type"] in {"ExecutionSucceeded", "ExecutionFailed"}:
                break
            time.sleep(0.02)
        return last, world.api_calls["stepfunctions.DescribeExecution"]

    # the account's DescribeExecution bucket: 2 calls, then one every ~17 minutes; the child runs 2 s
    kwargs: dict[str, Any] = {"rate_limits": {"states:DescribeExecution": (2.0, 0.001)}, "wait_scale": 1.0}
    (without, polls_without), (with_, polls_with) = with_and_without("sfn_sync_polls_internal", check, **kwargs)
    assert without["type"] == "ExecutionFailed"
    # throttled (the resolver's error handling then trips on the throttling reply: States.Runtime)
    assert polls_without >= 3
    assert with_["type"] == "ExecutionSucceeded"
    assert polls_with == 0


def test_gap_map_runs_beside_other_executions() -> None:
    def check(world: LocalWorld) -> Any:
        parent = {
            "QueryLanguage": JSONATA,
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "Items": "{% $states.input %}",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": "P",
                        "States": {"P": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                }
            },
        }
        machine = world.create_state_machine("mapped", parent)
        arn = run(world, parent, [1, 2, 3], name="mapped-done").arn
        runs = world.sfn.list_map_runs(executionArn=arn)["mapRuns"]
        succeeded = world.sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"])["itemCounts"]["succeeded"]
        # an execution whose worker has not begun yet (right after StartExecution): moto's env is still None
        started = world.start(machine, [1])
        started.wait(30)
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        backend = stepfunctions_parser_backends[world.account_id][world.region]
        [execution] = [e for e in backend._get_executions() if e.execution_arn == started.arn]
        worker = execution.exec_worker
        env, worker.env = worker.env, None
        try:
            early: Any = world.sfn.list_map_runs(executionArn=started.arn)["mapRuns"]
            world.sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"])
        except Exception as exc:
            early = type(exc).__name__
        finally:
            worker.env = env
        return early, succeeded

    (early_without, _), (early_with, succeeded) = with_and_without("map_runs_beside_other_executions", check)
    assert early_without == "AttributeError"
    assert (early_with, succeeded) == ([], 3)


def test_gap_task_timeout_excludes_handler_queue() -> None:
    """A Lambda Task with TimeoutSeconds 3 whose handler must first wait 5 s for the world's one-handler-at-a-time
    lock (another execution's handler holding it): a timeout without the patch, the handler's own answer with it
    (its own run, a cold import on a loaded machine included, has the 3 s)."""

    def check(world: LocalWorld) -> ExecutionResult:
        deployed = world.deploy(SAMPLE_TEMPLATE)
        task = {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": deployed.function_arns["DescribeFunction"], "Payload": {"dbIdentifier": "x"}},
            "TimeoutSeconds": 3,
            "End": True,
        }
        machine = world.create_state_machine(
            "queued", {"QueryLanguage": JSONATA, "StartAt": "T", "States": {"T": task}}
        )
        with world._invoke_lock:  # another handler runs for 5 s
            execution = world.start(machine)
            time.sleep(5)
        return execution.wait(30)

    without, with_ = with_and_without("task_timeout_excludes_handler_queue", check)
    assert (without.status, without.error) == ("FAILED", "States.Timeout")
    assert (with_.status, with_.error) == ("FAILED", "DbNotFoundError")  # the handler ran: no DB "x"
