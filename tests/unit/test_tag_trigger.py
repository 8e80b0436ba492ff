"""Tag trigger: starts one onboarding per tagging, from either event source; drops what is not for it."""

import json
from typing import Any

import boto3
import pytest
import tag_trigger

from tests.unit.conftest import PRINCIPAL, FakeContext, load_event


def executions(arn: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions")
    found = sfn.list_executions(stateMachineArn=arn)["executions"]
    return [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in found]


def tag(rds: Any, arn: str, tags: dict[str, str]) -> None:
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def db_tags(rds: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"]}


@pytest.mark.parametrize("event_file", ["tag_cloudtrail.json", "tag_change.json"])
def test_tagging_starts_one_onboarding(make_db: Any, rds: Any, state_machine: str, event_file: str) -> None:
    db = make_db("orders-pg")
    tag(rds, db["DBInstanceArn"], {"clickpipes:onboard": "true", "clickpipes:clickhouse-role-arn": PRINCIPAL})
    event = load_event(event_file)
    result = tag_trigger.handler(event, FakeContext())
    assert result["started"].startswith("orders-pg--")
    # who asked: CloudTrail names the tagger; the aws.tag event does not
    who = event["detail"]["userIdentity"]["arn"] if event["source"] == "aws.rds" else "unknown (tag change event)"
    assert executions(state_machine) == [
        {"db_identifier": db["DBInstanceArn"], "clickhouse_role_arn": PRINCIPAL, "requested_by": who}
    ]


def test_duplicate_events_of_one_tagging_start_it_once(make_db: Any, rds: Any, state_machine: str) -> None:
    db = make_db("orders-pg")
    tag(rds, db["DBInstanceArn"], {"clickpipes:onboard": "true", "clickpipes:clickhouse-role-arn": PRINCIPAL})
    results = [
        tag_trigger.handler(load_event(name), FakeContext())
        for name in ["tag_cloudtrail.json", "tag_change.json", "tag_cloudtrail.json"]
    ]
    assert [bool(r["started"]) for r in results] == [True, False, False]
    assert len(executions(state_machine)) == 1


def test_tag_already_removed_starts_nothing(make_db: Any, rds: Any, state_machine: str) -> None:
    make_db("orders-pg")
    result = tag_trigger.handler(load_event("tag_change.json"), FakeContext())
    assert (result["started"], result["reason"]) == (None, "clickpipes:onboard was removed: nothing to do")
    assert executions(state_machine) == []


def test_stack_default_principal_is_used(
    make_db: Any, rds: Any, state_machine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = make_db("orders-pg")
    tag(rds, db["DBInstanceArn"], {"clickpipes:onboard": "true", "clickpipes:db-user": "cp_reader"})
    monkeypatch.setenv("CLICKHOUSE_ROLE_ARN", PRINCIPAL)
    assert tag_trigger.handler(load_event("tag_change.json"), FakeContext())["started"]
    assert executions(state_machine) == [
        {"db_identifier": db["DBInstanceArn"], "db_user": "cp_reader", "requested_by": "unknown (tag change event)"}
    ]


def test_bad_principal_tag_is_reported_on_the_db(make_db: Any, rds: Any, state_machine: str) -> None:
    db = make_db("orders-pg")
    tag(rds, db["DBInstanceArn"], {"clickpipes:onboard": "true", "clickpipes:clickhouse-role-arn": "*"})
    result = tag_trigger.handler(load_event("tag_cloudtrail.json"), FakeContext())
    assert result["started"] is None
    assert "clickhouse_role_arn" in result["reason"]
    assert db_tags(rds, db["DBInstanceArn"])["clickpipes:error"] == "InvalidInputError"
    assert executions(state_machine) == []


@pytest.mark.parametrize(
    ("tags", "error"),
    [
        ({"clickpipes:clickhouse-role-arn": "arn:aws:iam::999988887777:role/attacker"}, "PrincipalNotAllowedError"),
        ({"clickpipes:clickhouse-role-arn": PRINCIPAL, "clickpipes:db-user": "rdsadmin"}, "ProtectedUserError"),
        ({"clickpipes:clickhouse-role-arn": PRINCIPAL, "clickpipes:db-user": "rds_superuser"}, "ProtectedUserError"),
    ],
)
def test_a_tag_outside_the_trust_boundary_starts_nothing(
    make_db: Any, rds: Any, state_machine: str, tags: dict[str, str], error: str
) -> None:
    """Whoever may tag a DB does not pick the outside party (or the user): the allowlist decides."""
    db = make_db("orders-pg")
    tag(rds, db["DBInstanceArn"], {"clickpipes:onboard": "true", **tags})
    result = tag_trigger.handler(load_event("tag_cloudtrail.json"), FakeContext())
    assert result["started"] is None
    assert db_tags(rds, db["DBInstanceArn"])["clickpipes:status"] == "failed"
    assert db_tags(rds, db["DBInstanceArn"])["clickpipes:error"] == error
    assert executions(state_machine) == []


def test_event_for_something_else_is_dropped(aws: None, state_machine: str) -> None:
    event = load_event("tag_change.json") | {"resources": ["arn:aws:rds:us-east-1:123456789012:snapshot:s1"]}
    assert tag_trigger.handler(event, FakeContext())["reason"] == "not an RDS DB instance or cluster"


@pytest.mark.parametrize(
    "change",
    [
        {"account": "999999999999", "resources": ["arn:aws:rds:us-east-1:999999999999:db:orders-pg"]},
        {"account": "999999999999"},  # an event of another account naming one of ours: refused too
    ],
)
def test_a_tag_event_of_an_account_outside_member_accounts_is_refused(
    aws: None, state_machine: str, change: dict[str, Any]
) -> None:
    """A member account forwards its DBs' tag events to the central bus: any other account's are refused, named,
    before any call (no member role to assume, no tag written)."""
    result = tag_trigger.handler(load_event("tag_change.json") | change, FakeContext())
    assert result["started"] is None
    assert "account 999999999999 is not in MemberAccounts" in result["reason"]
    assert executions(state_machine) == []
