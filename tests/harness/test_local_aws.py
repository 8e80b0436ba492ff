"""Tests of the local world itself, on the self-contained sample app (tests/harness/sample_app)."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from .execution import ExecutionResult
from .helpers import SAMPLE_TEMPLATE, create_cluster, create_instance
from .local_aws import (
    PATCHES,
    Deployed,
    ExecutionTimeoutError,
    HarnessError,
    LocalWorld,
    fake_dbi_resource_id,
)

SM = "SampleStateMachine"


def ok(result: ExecutionResult) -> ExecutionResult:
    assert result.succeeded, result.describe()
    return result


# --- the sample workflow -------------------------------------------------------------------------


def test_success_path_output(world: LocalWorld, sample: Deployed) -> None:
    create_instance(world, "db1")

    result = ok(world.run(SM, {"dbIdentifier": "db1"}))

    assert result.entered == ["Prepare", "Describe", "IsAvailable", "Done"]
    out = result.output
    assert out["dbIdentifier"] == "db1"
    assert out["status"] == "available"
    assert out["resourceId"] == fake_dbi_resource_id("db1")
    assert out["polls"] == 1
    prepared = out["prepared"]
    assert prepared["functionName"] == "PrepareFunction"
    assert 0 < prepared["remainingMs"] <= 10_000  # Timeout: 10 on the function beats Globals' 30
    # Environment: Globals + function variables, intrinsics resolved, read at invocation time.
    assert prepared["env"] == {
        "STAGE": "test",
        "LOG_LEVEL": "DEBUG",
        "TLS_MODE": "verify-full",
        "REGION_LABEL": "us-east-1-test",
        "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:local-NotificationTopic-BFVYX2AFJQVE",
        "DESCRIBE_FUNCTION_ARN": sample.function_arns["DescribeFunction"],
        "FIRST_ZONE": "a",
        "ZONES": "a|b|c",
        "CLICKHOUSE_ROLE_ARN": None,  # !If [..., !Ref AWS::NoValue] removes the variable
        "ESCAPED": "${NotAVariable}",
        "DB_KIND_DEFAULT": "instance",  # DescribeFunction's variable: the world sets the union
    }


def test_deployed_definition_has_substitutions(world: LocalWorld, sample: Deployed) -> None:
    definition = json.loads(sample.definitions[SM])
    states = definition["States"]
    assert states["Prepare"]["Arguments"]["FunctionName"] == sample.function_arns["PrepareFunction"]
    assert states["Describe"]["Arguments"]["FunctionName"] == sample.function_arns["DescribeFunction"]
    assert states["WaitForDb"]["Seconds"] == 30
    assert sample.function_arns["PrepareFunction"] == "arn:aws:lambda:us-east-1:123456789012:function:PrepareFunction"
    assert sample.state_machine_arns[SM] == f"arn:aws:states:us-east-1:123456789012:stateMachine:{SM}"


def test_retry_happened(world: LocalWorld, sample: Deployed) -> None:
    create_instance(world, "db1")

    result = ok(world.run(SM, {"dbIdentifier": "db1"}))

    prepare = result.steps_named("Prepare")[0]
    assert prepare.attempts == 2
    assert prepare.retries == 1
    assert [e.error for e in prepare.errors] == ["TransientError"]
    # The error payload is the Python runtime's: errorType = class name, message, stack trace.
    payload = prepare.errors[0].cause_json()
    assert payload["errorType"] == "TransientError"
    assert payload["errorMessage"] == f"warming up for {result.name}"
    assert any("sample_prepare.py" in frame for frame in payload["stackTrace"])
    assert set(payload) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    # $states.context.State.RetryCount on the second attempt
    assert result.output["prepared"]["attempt"] == 1
    calls = world.invocations_of("PrepareFunction")
    assert [c.error_type for c in calls] == ["TransientError", None]
    # Backoff: JitterStrategy FULL picks in [0, IntervalSeconds=2]; the world records, does not sleep.
    assert len(world.retry_sleeps) == 1
    assert 0 <= world.retry_sleeps[0] <= 2


def test_catch_to_fail_state_with_jsonata_error_and_cause(world: LocalWorld, sample: Deployed) -> None:
    result = world.run(SM, {"dbIdentifier": "nope"})

    assert result.status == "FAILED"
    assert result.error == "Sample.DbNotFoundError"  # Fail.Error: JSONata over the Catch Output
    assert result.cause == "database nope: DB instance nope not found"  # uses the Catch's Assign
    assert result.entered == ["Prepare", "Describe", "DbMissing"]
    describe, fail = result.steps[1], result.steps[2]
    assert describe.outcome == "caught"
    assert describe.errors[0].error == "DbNotFoundError"
    assert fail.type == "Fail"
    assert fail.outcome == "failed"
    assert fail.input["Error"] == "DbNotFoundError"  # Catch Output = $states.errorOutput


def test_status_feeder_makes_the_loop_poll_n_plus_1_times(world: LocalWorld, sample: Deployed) -> None:
    create_instance(world, "db1")
    world.feed_statuses("db1", ["modifying", "configuring-iam-database-auth"])

    result = ok(world.run(SM, {"dbIdentifier": "db1"}))

    assert result.count("Describe") == 3
    assert result.count("WaitForDb") == 2
    assert result.output["polls"] == 3
    describes = [i.result["status"] for i in world.invocations_of("DescribeFunction")]
    assert describes == ["modifying", "configuring-iam-database-auth", "available"]
    assert [s.wait_seconds for s in result.steps_named("WaitForDb")] == [30, 30]  # PollIntervalSeconds
    assert world.pending_statuses("db1") == []
    assert (
        world.rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]["DBInstanceStatus"] == "available"
    )


def test_parameter_overrides_reach_the_definition(world: LocalWorld) -> None:
    world.deploy(SAMPLE_TEMPLATE, {"PollIntervalSeconds": 5, "MaxPolls": 2})
    create_instance(world, "db1")
    world.feed_statuses("db1", ["modifying"] * 5)

    result = world.run(SM, {"dbIdentifier": "db1"})

    assert result.status == "FAILED"
    assert result.error == "Sample.PollTimeout"
    assert result.cause == "db1 still modifying after 2 polls"
    assert [s.wait_seconds for s in result.steps_named("WaitForDb")] == [5]
    assert world.pending_statuses("db1") == ["modifying"] * 3


def test_status_feeder_on_a_cluster(world: LocalWorld, sample: Deployed) -> None:
    create_cluster(world, "aurora1")
    world.feed_statuses("aurora1", ["modifying"])

    result = ok(world.run(SM, {"dbIdentifier": "aurora1", "kind": "cluster"}))

    assert result.output["polls"] == 2
    assert result.output["resourceId"].startswith("cluster-")


def test_feed_statuses_needs_an_unambiguous_target(world: LocalWorld) -> None:
    with pytest.raises(HarnessError, match="no instance or cluster"):
        world.feed_statuses("ghost", ["modifying"])
    world.feed_statuses("ghost", ["modifying"], kind="instance")  # created later: explicit kind
    create_instance(world, "ghost")
    statuses = [
        world.rds.describe_db_instances(DBInstanceIdentifier="ghost")["DBInstances"][0]["DBInstanceStatus"]
        for _ in range(2)
    ]
    assert statuses == ["modifying", "available"]


def test_concurrent_executions(world: LocalWorld, sample: Deployed) -> None:
    for i in range(10):
        create_instance(world, f"db{i}")
        world.feed_statuses(f"db{i}", ["modifying"] * (i % 3))

    with ThreadPoolExecutor(max_workers=10) as pool:
        # each waiter polls every 0.1 s: ten threads polling every 5 ms would keep moto's one request lock busy
        results = list(
            pool.map(lambda i: world.start(SM, {"dbIdentifier": f"db{i}"}).wait(60, poll_interval=0.1), range(10))
        )

    assert [r.status for r in results] == ["SUCCEEDED"] * 10, "\n".join(r.describe() for r in results)
    assert [r.output["polls"] for r in results] == [1 + i % 3 for i in range(10)]
    assert [r.output["resourceId"] for r in results] == [fake_dbi_resource_id(f"db{i}") for i in range(10)]
    assert len({r.name for r in results}) == 10
    assert len(world.invocations_of("PrepareFunction")) == 20  # each execution: fail once, then succeed


def test_api_calls_are_counted(world: LocalWorld, sample: Deployed) -> None:
    create_instance(world, "db1")  # through world.client: not counted
    world.feed_statuses("db1", ["modifying", "modifying"])
    assert world.api_calls == Counter()

    result = ok(world.run(SM, {"dbIdentifier": "db1"}))

    # 2 Prepare attempts + 3 Describe polls = 5 Lambda invokes (by the interpreter); 3 RDS describes
    # (by the handler). The harness's own polling of the execution is not counted.
    assert result.api_calls == Counter({"lambda.Invoke": 5, "rds.DescribeDBInstances": 3})
    assert world.api_calls == result.api_calls
    boto3.client("rds").describe_db_instances()  # any other botocore client is counted
    assert world.api_calls["rds.DescribeDBInstances"] == 4
    world.reset_api_calls()
    assert world.api_calls == Counter()


def test_progress_can_be_followed_while_running() -> None:
    with LocalWorld(wait_scale=0.02) as world:  # 30 s polls take 0.6 s
        world.deploy(SAMPLE_TEMPLATE)
        create_instance(world, "db1")
        world.feed_statuses("db1", ["modifying"])

        execution = world.start(SM, {"dbIdentifier": "db1"})
        snapshots = list(execution.follow(poll_interval=0.02, timeout=30))
        result = execution.wait()

    assert snapshots[-1].status == "SUCCEEDED"
    running = [s for s in snapshots if s.status == "RUNNING"]
    assert running
    assert any(s.steps and s.steps[-1].name == "WaitForDb" for s in running)
    assert [len(s.events) for s in snapshots] == sorted(len(s.events) for s in snapshots)
    assert [step.name for step in snapshots[-1].steps] == result.entered
    wait = result.steps_named("WaitForDb")[0]
    assert wait.duration_ms is not None
    assert wait.duration_ms >= 500


def test_steps_have_timestamps_and_durations(world: LocalWorld, sample: Deployed) -> None:
    create_instance(world, "db1")
    result = ok(world.run(SM, {"dbIdentifier": "db1"}))
    for earlier, later in zip(result.steps, result.steps[1:], strict=False):
        assert earlier.exited_at is not None
        assert earlier.exited_at <= later.entered_at
        assert earlier.duration_ms is not None
        assert earlier.duration_ms >= 0
    assert result.started_at <= result.steps[0].entered_at
    assert "Prepare" in result.describe()
    assert "1 retry" in result.describe()


def test_execution_names(world: LocalWorld, sample: Deployed) -> None:
    create_instance(world, "db1")
    first, second = world.run(SM, {"dbIdentifier": "db1"}), world.run(SM, {"dbIdentifier": "db1"})
    assert first.arn != second.arn
    assert re.fullmatch(r"[0-9a-f-]{36}", first.name)
    named = world.run(SM, {"dbIdentifier": "db1"}, name="onboard-db1")
    assert named.name == "onboard-db1"
    assert named.arn.endswith(":onboard-db1")


def test_timeout_stops_the_execution() -> None:
    with LocalWorld(wait_scale=1.0) as world:  # really wait: 30 s
        world.deploy(SAMPLE_TEMPLATE)
        create_instance(world, "db1")
        world.feed_statuses("db1", ["modifying"])
        execution = world.start(SM, {"dbIdentifier": "db1"})
        for progress in execution.follow(timeout=20):  # until it sits in the 30 s Wait
            if progress.steps and progress.steps[-1].name == "WaitForDb":
                break
        with pytest.raises(ExecutionTimeoutError, match="last states: .*IsAvailable -> WaitForDb"):
            execution.wait(timeout=0.2)
        assert execution.status == "ABORTED"


# --- Lambda emulation ------------------------------------------------------------------------------


def test_direct_invoke_and_error_payload(world: LocalWorld, sample: Deployed) -> None:
    first = world.invoke("PrepareFunction", {"dbIdentifier": "x", "kind": "instance", "token": "t", "attempt": 0})
    second = world.invoke("PrepareFunction", {"dbIdentifier": "x", "kind": "instance", "token": "t", "attempt": 0})

    assert first.function_error is not None
    assert first.payload["errorType"] == "TransientError"
    assert second.function_error is None
    assert second.payload["dbIdentifier"] == "x"


def test_describe_function_reports_missing_db_as_its_own_error(world: LocalWorld, sample: Deployed) -> None:
    response = world.invoke("DescribeFunction", {"dbIdentifier": "nope"})
    assert response.payload["errorType"] == "DbNotFoundError"
    assert response.payload["errorMessage"] == "DB instance nope not found"


def test_world_restores_environment_and_modules() -> None:
    assert "STAGE" not in os.environ
    with LocalWorld() as world:
        world.deploy(SAMPLE_TEMPLATE)
        world.invoke("DescribeFunction", {"dbIdentifier": "nope"})
        assert os.environ["STAGE"] == "test"
        assert "sample_describe" in sys.modules
        assert "sample_common.errors" in sys.modules
    assert "STAGE" not in os.environ
    assert "sample_describe" not in sys.modules
    assert "sample_common" not in sys.modules
    assert not any("sample_app" in entry for entry in sys.path)


def test_extra_env_wins_over_the_template(tmp_path: Path) -> None:
    with LocalWorld(extra_env={"STAGE": "override"}) as world:
        world.deploy(SAMPLE_TEMPLATE)
        create_instance(world, "db1")
        result = ok(world.run(SM, {"dbIdentifier": "db1"}))
    assert result.output["prepared"]["env"]["STAGE"] == "override"


def _write_app(root: Path, env_a: dict[str, str], env_b: dict[str, str]) -> Path:
    for name in ("a", "b"):
        (root / name).mkdir()
        (root / name / f"conflict_{name}.py").write_text("def handler(event, context):\n    return event\n")
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "AFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "a/", "Handler": "conflict_a.handler", "Environment": {"Variables": env_a}},
            },
            "BFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "b/", "Handler": "conflict_b.handler", "Environment": {"Variables": env_b}},
            },
        },
    }
    path = root / "template.yaml"
    path.write_text(json.dumps(template))  # JSON is YAML
    return path


def test_conflicting_environment_fails_loudly(world: LocalWorld, tmp_path: Path) -> None:
    template = _write_app(tmp_path, {"MODE": "a"}, {"MODE": "b"})
    with pytest.raises(HarnessError, match="MODE differs between functions: AFunction='a', BFunction='b'"):
        world.deploy(template)


def test_same_value_in_two_functions_is_fine(world: LocalWorld, tmp_path: Path) -> None:
    template = _write_app(tmp_path, {"MODE": "x"}, {"MODE": "x"})
    world.deploy(template)
    assert world.invoke("BFunction", {"echo": 1}).payload == {"echo": 1}


def test_unknown_function_is_reported(world: LocalWorld) -> None:
    world.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    world.client("lambda").create_function(
        FunctionName="stranger",
        Runtime="python3.13",
        Role="arn:aws:iam::123456789012:role/r",
        Handler="x.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
    )
    assert world.invoke("stranger").payload["errorType"] == "LocalWorld.UnknownFunction"


# --- RDS gaps --------------------------------------------------------------------------------------


def test_distinct_dbi_resource_ids(world: LocalWorld) -> None:
    ids = [create_instance(world, name)["DbiResourceId"] for name in ("alpha", "beta")]
    assert ids[0] != ids[1]
    assert all(re.fullmatch(r"db-[A-Z0-9]{26}", dbi) for dbi in ids)
    assert ids == [fake_dbi_resource_id("alpha"), fake_dbi_resource_id("beta")]
    described = world.rds.describe_db_instances(Filters=[{"Name": "dbi-resource-id", "Values": [ids[1]]}])
    assert [d["DBInstanceIdentifier"] for d in described["DBInstances"]] == ["beta"]


def test_cluster_iam_flag_reflected(world: LocalWorld) -> None:
    create_cluster(world, "aurora1")

    def flags() -> tuple[bool, bool]:
        cluster = world.rds.describe_db_clusters(DBClusterIdentifier="aurora1")["DBClusters"][0]
        member = world.rds.describe_db_instances(DBInstanceIdentifier="aurora1-1")["DBInstances"][0]
        return cluster["IAMDatabaseAuthenticationEnabled"], member["IAMDatabaseAuthenticationEnabled"]

    assert flags() == (False, False)
    modified = world.rds.modify_db_cluster(
        DBClusterIdentifier="aurora1", EnableIAMDatabaseAuthentication=True, ApplyImmediately=True
    )["DBCluster"]
    assert modified["IAMDatabaseAuthenticationEnabled"] is True
    assert flags() == (True, True)
    world.rds.modify_db_cluster(
        DBClusterIdentifier="aurora1", EnableIAMDatabaseAuthentication=False, ApplyImmediately=True
    )
    assert flags() == (False, False)


def test_mariadb_without_engine_version(world: LocalWorld) -> None:
    created = create_instance(world, "maria1", engine="mariadb")
    assert created["EngineVersion"] == "10.11.9"
    described = world.rds.describe_db_instances(DBInstanceIdentifier="maria1")["DBInstances"][0]
    assert described["Engine"] == "mariadb"
    assert described["DBInstanceStatus"] == "available"


# --- JSONata features through moto's interpreter ---------------------------------------------------


def run_definition(world: LocalWorld, definition: dict[str, Any], input_: Any = None) -> ExecutionResult:
    arn = world.create_state_machine(f"adhoc-{len(world.waits)}-{time.monotonic_ns()}", definition)
    return world.run(arn, input_ or {})


def jsonata(states: dict[str, Any], start: str) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", "StartAt": start, "States": states}


def test_jsonata_wait_seconds_from_an_expression(world: LocalWorld) -> None:
    result = ok(
        run_definition(
            world,
            jsonata({"W": {"Type": "Wait", "Seconds": "{% $states.input.base * 2 %}", "End": True}}, "W"),
            {"base": 7},
        )
    )
    assert result.steps[0].wait_seconds == 14


def test_jsonata_wait_assign_and_null_variables(world: LocalWorld) -> None:
    result = ok(
        run_definition(
            world,
            jsonata(
                {
                    "S": {"Type": "Pass", "Assign": {"waited": 0, "poll": "{% 5 %}", "t": None}, "Next": "W"},
                    "W": {
                        "Type": "Wait",
                        "Seconds": "{% $poll %}",
                        "Assign": {"waited": "{% $waited + $poll %}"},
                        "Next": "C",
                    },
                    "C": {
                        "Type": "Choice",
                        "Choices": [{"Condition": "{% $waited >= 15 %}", "Next": "E"}],
                        "Default": "W",
                    },
                    "E": {"Type": "Pass", "Output": {"waited": "{% $waited %}", "t": "{% $t %}"}, "End": True},
                },
                "S",
            ),
        )
    )
    assert result.output == {"waited": 15, "t": None}
    assert [s.wait_seconds for s in result.steps_named("W")] == [5, 5, 5]


def test_jsonata_strings_with_quotes_and_newlines(world: LocalWorld) -> None:
    result = ok(
        run_definition(
            world,
            jsonata(
                {
                    "A": {"Type": "Pass", "Assign": {"s": "{% $states.input.s & '\\\\ done' %}"}, "Next": "B"},
                    "B": {"Type": "Pass", "Output": "{% $s %}", "End": True},
                },
                "A",
            ),
            {"s": 'he said "hi"\n'},
        )
    )
    assert result.output == 'he said "hi"\n\\ done'


def test_jsonata_step_functions_functions(world: LocalWorld) -> None:
    result = ok(
        run_definition(
            world,
            jsonata(
                {
                    "P": {
                        "Type": "Pass",
                        "End": True,
                        "Output": {
                            "uuid": "{% $uuid() %}",
                            "hash": "{% $hash('abc', 'SHA-256') %}",
                            "partition": "{% $partition([1, 2, 3], 2) %}",
                            "range": "{% $range(0, 6, 2) %}",
                            "parse": "{% $parse('{\"a\": [1]}') %}",
                        },
                    }
                },
                "P",
            ),
        )
    )
    out = result.output
    assert re.fullmatch(r"[0-9a-f-]{36}", out["uuid"])
    assert out["hash"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert out["partition"] == [[1, 2], [3]]
    assert out["range"] == [0, 2, 4, 6]
    assert out["parse"] == {"a": [1]}


def test_jsonata_evaluation_error_name(world: LocalWorld) -> None:
    result = run_definition(
        world, jsonata({"P": {"Type": "Pass", "Output": "{% $states.input.n + 'x' %}", "End": True}}, "P"), {"n": 1}
    )
    assert result.status == "FAILED"
    assert result.error == "States.QueryEvaluationError"
    assert "right side of the + operator" in (result.cause or "")


def test_jsonata_context_object(world: LocalWorld) -> None:
    result = ok(
        run_definition(
            world,
            jsonata(
                {
                    "P": {
                        "Type": "Pass",
                        "End": True,
                        "Output": {
                            "name": "{% $states.context.Execution.Name %}",
                            "input": "{% $states.context.Execution.Input %}",
                            "state": "{% $states.context.State.Name %}",
                            "machine": "{% $states.context.StateMachine.Id %}",
                        },
                    }
                },
                "P",
            ),
            {"k": 1},
        )
    )
    assert result.output["name"] == result.name
    assert result.output["input"] == {"k": 1}
    assert result.output["state"] == "P"
    assert ":stateMachine:adhoc-" in result.output["machine"]


# --- server mode & misc ----------------------------------------------------------------------------


def test_threaded_server_shares_the_world() -> None:
    with LocalWorld(server=True) as world:
        world.deploy(SAMPLE_TEMPLATE)
        assert world.endpoint_url is not None
        assert world.endpoint_url.startswith("http://127.0.0.1:")
        rds = boto3.client("rds", endpoint_url=world.endpoint_url, region_name=world.region)
        sfn = boto3.client("stepfunctions", endpoint_url=world.endpoint_url, region_name=world.region)
        rds.create_db_instance(
            DBInstanceIdentifier="db1",
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            MasterUsername="admin_user",
            MasterUserPassword="password123",
            AllocatedStorage=20,
        )
        world.feed_statuses("db1", ["modifying"])

        arn = sfn.start_execution(
            stateMachineArn=world.state_machine_arn(SM), input=json.dumps({"dbIdentifier": "db1"})
        )["executionArn"]
        deadline = time.monotonic() + 30
        while (description := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.01)

    assert description["status"] == "SUCCEEDED"
    assert json.loads(description["output"])["polls"] == 2


def test_one_world_at_a_time(world: LocalWorld) -> None:
    with pytest.raises(HarnessError, match="another LocalWorld is active"), LocalWorld():
        pass


def test_every_patch_is_documented() -> None:
    for patch in PATCHES.values():
        assert patch.gap, patch.name
        assert patch.touches, patch.name
    with pytest.raises(HarnessError, match="unknown patches"):
        LocalWorld(disable_patches={"no_such_patch"})


def test_closing_the_world_stops_executions_it_did_not_start() -> None:
    """A child started by an execution (as a Distributed Map starts its onboardings) still waiting when the world
    closes is stopped before the patches are undone: left running, its next JSONata evaluation ran on unpatched
    moto (TypeError: 'NoneType' object is not callable)."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    child_definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "P"},
            "P": {"Type": "Pass", "Output": "{% 1 + 1 %}", "End": True},
        },
    }
    with LocalWorld(wait_scale=1.0) as world:
        child = world.create_state_machine("child", child_definition)
        start = {
            "Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution",
            "Arguments": {"StateMachineArn": child, "Input": "{}"},
            "End": True,
        }
        parent = world.create_state_machine(
            "parent", {"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": start}}
        )
        assert ok(world.run(parent)).status == "SUCCEEDED"
        backend = stepfunctions_parser_backends[world.account_id][world.region]
        (execution,) = [e for e in backend._get_executions() if e.state_machine_arn == child]
        assert execution.exec_status == "RUNNING"  # in its Wait
    assert execution.exec_status == "ABORTED"
    time.sleep(1.5)  # past its Wait: had it run on, it would have ended (FAILED, on unpatched moto)
    assert execution.exec_status == "ABORTED"
