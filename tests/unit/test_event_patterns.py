"""The tag rules' event patterns, straight from template.yaml, in moto's EventBridge: an SQS target proves
which events match. Irrelevant events are dropped by the pattern, before any code runs."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.harness.local_aws import PATCHES
from tests.harness.template import load_template
from tests.unit.conftest import load_event

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def patterns() -> dict[str, dict[str, Any]]:
    app = load_template(TEMPLATE)
    events = app.functions["TagTriggerFunction"].properties["Events"]
    return {name: app.resolve(event["Properties"]["Pattern"]) for name, event in events.items()}


@pytest.fixture
def array_matching() -> Iterator[None]:
    """moto gap: fields inside arrays of objects (CloudTrail's tag list) never match; the harness adapts it."""
    with ExitStack() as stack:
        PATCHES["eventbridge_array_matching"].apply(stack, None)
        yield


@pytest.fixture
def matched(aws: None, array_matching: None) -> Any:
    """put_events(event) -> the names of the rules whose SQS target received it."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    queues = {}
    for name, pattern in patterns().items():
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=name, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
        queues[name] = url

    def send(event: dict[str, Any]) -> list[str]:
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": event.get("resources", []),
        }
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0
        hits = []
        for name, url in queues.items():
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            if messages:
                hits.append(name)
        return hits

    return send


def variant(name: str, change: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event(name))
    change(event)
    return event


def test_patterns_are_the_templates() -> None:
    assert set(patterns()) == {"CloudTrailAddTags", "TagChange"}


def test_sample_events_match_their_rule_only(matched: Any) -> None:
    assert matched(load_event("tag_cloudtrail.json")) == ["CloudTrailAddTags"]
    # a member account's DB, forwarded from its region (member/template.yaml); the trigger checks MemberAccounts
    member_db = "arn:aws:rds:eu-west-1:210987654321:cluster:orders"
    member = variant("tag_cloudtrail.json", _set(["detail", "requestParameters", "resourceName"], member_db))
    assert matched(member) == ["CloudTrailAddTags"]
    assert matched(load_event("tag_change.json")) == ["TagChange"]


def test_the_tag_set_to_false_reaches_the_trigger(matched: Any) -> None:
    """false on an onboarded DB starts its offboarding (the trigger decides, tests/unit/test_offboarding_api.py)."""
    assert matched(variant("tag_change.json", _set(["detail", "tags", "clickpipes:onboard"], "false"))) == ["TagChange"]
    cloudtrail = _set(["detail", "requestParameters", "tags"], [{"key": "clickpipes:onboard", "value": "false"}])
    assert matched(variant("tag_cloudtrail.json", cloudtrail)) == ["CloudTrailAddTags"]


def _set(path: list[str], value: Any) -> Any:
    def change(event: dict[str, Any]) -> None:
        node = event
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("name", "change", "why"),
    [
        ("tag_cloudtrail.json", _set(["detail", "eventName"], "RemoveTagsFromResource"), "another API call"),
        ("tag_cloudtrail.json", _set(["detail", "errorCode"], "AccessDenied"), "a failed call"),
        (
            "tag_cloudtrail.json",
            _set(["detail", "requestParameters", "tags"], [{"key": "team", "value": "orders"}]),
            "other tags",
        ),
        (
            "tag_cloudtrail.json",
            _set(["detail", "requestParameters", "resourceName"], "arn:aws:rds:us-east-1:123456789012:snapshot:s1"),
            "not a DB instance or cluster",
        ),
        (
            "tag_cloudtrail.json",
            _set(["detail", "requestParameters", "resourceName"], "arn:aws:rds:eu-west-1:210987654321:snapshot:s1"),
            "a member account's snapshot",
        ),
        ("tag_cloudtrail.json", _set(["detail", "eventSource"], "ec2.amazonaws.com"), "another service"),
        ("tag_change.json", _set(["detail", "changed-tag-keys"], ["team"]), "the onboard tag did not change"),
        ("tag_change.json", _set(["detail", "tags", "clickpipes:onboard"], "maybe"), "the tag says neither"),
        ("tag_change.json", _set(["detail", "tags"], {}), "the tag was removed"),
        ("tag_change.json", _set(["detail", "service"], "ec2"), "another service"),
        ("tag_change.json", _set(["detail", "resource-type"], "snapshot"), "not a DB instance or cluster"),
        (
            "tag_change.json",
            _set(["detail", "changed-tag-keys"], ["clickpipes:status", "clickpipes:role-arn"]),
            "our own result tags",
        ),
    ],
)
def test_irrelevant_events_match_no_rule(matched: Any, name: str, change: Any, why: str) -> None:
    assert matched(variant(name, change)) == [], why
