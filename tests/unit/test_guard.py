"""The one-at-a-time guard (clickpipes.aws.guard) on moto: race-free under concurrency, O(1) calls per DB."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from tests.unit.conftest import GUARD_TABLE

WAIT = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}})


def counted(service: str, calls: Counter[str]) -> Any:
    """A client that counts its API calls by operation name."""
    client = boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]  # a plain str
    client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    return client


@pytest.fixture
def machine(aws: None) -> str:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn: str = sfn.create_state_machine(name="on", definition=WAIT, roleArn="arn:aws:iam::123456789012:role/sfn")[
        "stateMachineArn"
    ]
    return arn


def start(machine: str, name: str) -> str:
    arn: str = boto3.client("stepfunctions", region_name="us-east-1").start_execution(
        stateMachineArn=machine, name=name, input="{}"
    )["executionArn"]
    return arn


def guard(calls: Counter[str] | None = None) -> Any:
    from clickpipes.aws.guard import DbGuard

    calls = Counter() if calls is None else calls
    return DbGuard(GUARD_TABLE, counted("dynamodb", calls), counted("stepfunctions", calls))


def test_of_many_at_once_exactly_one_holds_the_db(machine: str) -> None:
    """20 running executions of one DB ask at the same instant: one wins, the 19 others name the winner."""
    rivals = [start(machine, f"orders-pg--{i:012x}") for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda arn: guard().acquire("us-east-1/orders-pg", arn), rivals))
    winners = [arn for arn, answer in zip(rivals, answers, strict=True) if answer is None]
    assert len(winners) == 1
    assert set(answers) == {None, winners[0]}


def test_calls_per_db_stay_flat_whatever_else_runs(machine: str) -> None:
    """200 other DBs held by running executions: holding one more DB is one PutItem, as with none."""
    for i in range(200):
        assert guard().acquire(f"us-east-1/db-{i}", start(machine, f"db-{i}--{i:012x}")) is None
    calls: Counter[str] = Counter()
    assert guard(calls).acquire("us-east-1/orders-pg", start(machine, "orders-pg--aaaaaaaaaaaa")) is None
    assert calls == Counter({"PutItem": 1})


def test_a_holder_that_stopped_or_never_started_is_taken_over_in_three_calls(machine: str) -> None:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    first = start(machine, "orders-pg--aaaaaaaaaaaa")
    assert guard().acquire("us-east-1/orders-pg", first) is None
    second = start(machine, "orders-pg--bbbbbbbbbbbb")
    calls: Counter[str] = Counter()
    assert guard(calls).acquire("us-east-1/orders-pg", second) == first  # first runs: busy, 2 calls
    assert calls == Counter({"PutItem": 1, "DescribeExecution": 1})
    sfn.stop_execution(executionArn=first)
    calls.clear()
    assert guard(calls).acquire("us-east-1/orders-pg", second) is None
    assert calls == Counter({"PutItem": 2, "DescribeExecution": 1})
    never = machine.replace(":stateMachine:", ":execution:") + ":orders-pg--cccccccccccc"  # the API held it, then
    item = {"db": {"S": "us-east-1/other-pg"}, "holder": {"S": never}}  # StartExecution failed
    boto3.client("dynamodb", region_name="us-east-1").put_item(TableName=GUARD_TABLE, Item=item)
    assert guard().acquire("us-east-1/other-pg", second) is None


def test_again_false_counts_the_holder_itself_as_busy(machine: str) -> None:
    """A start (API, tag trigger) names the execution before it exists; a repeated start of that name while it
    runs is refused (Step Functions would answer it with the running one instead of an error)."""
    me = start(machine, "orders-pg--aaaaaaaaaaaa")
    assert guard().acquire("us-east-1/orders-pg", me, again=False) is None
    assert guard().acquire("us-east-1/orders-pg", me) is None  # its ResolveTarget: already ours
    assert guard().acquire("us-east-1/orders-pg", me, again=False) == me
