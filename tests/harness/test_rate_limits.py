"""The local world's AWS rate limits (tests.harness.rate_limits): token buckets that throttle as AWS does."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.harness.helpers import account_session
from tests.harness.local_aws import LocalWorld
from tests.harness.rate_limits import LIMITS, TokenBucket, bucket_of

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


def test_a_bucket_gives_its_burst_then_its_refill_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(300, 12, clock=lambda: now[0])
    assert sum(bucket.take() for _ in range(400)) == 300  # the burst, then refused
    now[0] += 1.0
    assert sum(bucket.take() for _ in range(100)) == 12  # one second refills 12
    now[0] += 3600
    assert sum(bucket.take() for _ in range(400)) == 300  # never above its size


@pytest.mark.parametrize(
    ("service", "operation", "bucket"),
    [
        ("rds", "DescribeDBInstances", "rds"),
        ("rds", "ModifyDBInstance", "rds"),
        ("states", "StartExecution", "states:StartExecution"),
        ("states", "DescribeExecution", "states:DescribeExecution"),
        ("states", "ListExecutions", "states:ListExecutions"),
        ("states", "GetExecutionHistory", None),
        ("secretsmanager", "GetSecretValue", "secretsmanager:read"),
        ("iam", "CreateRole", "iam:mutating"),
        ("iam", "PutRolePolicy", "iam:mutating"),
        ("iam", "GetRole", None),
    ],
)
def test_which_bucket_a_call_draws_from(service: str, operation: str, bucket: str | None) -> None:
    assert bucket_of(service, operation) == bucket
    assert bucket is None or bucket in LIMITS


def _throttle_code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert caught.value.response["Error"]["Message"] == "Rate exceeded"
    return str(caught.value.response["Error"]["Code"])


def test_the_buckets_throttle_with_aws_errors() -> None:
    """Small buckets (3 calls, no refill to speak of) for speed; AWS's figures are the default."""
    small = dict.fromkeys(LIMITS, (3.0, 0.001))
    with LocalWorld(rate_limits=small) as world:
        rds = boto3.client("rds", config=NO_RETRIES)
        iam = boto3.client("iam", config=NO_RETRIES)
        sfn = boto3.client("stepfunctions", config=NO_RETRIES)
        secrets = boto3.client("secretsmanager", config=NO_RETRIES)
        arn = secrets.create_secret(Name="s", SecretString="{}")["ARN"]
        machine = world.create_state_machine("x", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
        for _ in range(3):
            rds.describe_db_instances()
            secrets.get_secret_value(SecretId=arn)
            sfn.list_executions(stateMachineArn=machine)
        for i in range(3):
            iam.create_role(RoleName=f"r{i}", AssumeRolePolicyDocument="{}")
        iam.get_role(RoleName="r0")  # reads are not limited here
        assert _throttle_code(rds.describe_db_instances) == "ThrottlingException"
        assert _throttle_code(lambda: rds.modify_db_instance(DBInstanceIdentifier="x")) == "ThrottlingException"
        assert _throttle_code(lambda: iam.create_role(RoleName="r9", AssumeRolePolicyDocument="{}")) == "Throttling"
        assert _throttle_code(lambda: secrets.get_secret_value(SecretId=arn)) == "ThrottlingException"
        assert _throttle_code(lambda: sfn.list_executions(stateMachineArn=machine)) == "ThrottlingException"
        assert world.rate_limits is not None
        assert world.rate_limits.throttled == {
            "rds": 2,
            "iam:mutating": 1,
            "secretsmanager:read": 1,
            "states:ListExecutions": 1,
        }


def test_botocore_retries_a_throttled_call_until_the_bucket_refills() -> None:
    """With the client's standard retries (as the functions have), a burst past the bucket still succeeds."""
    with LocalWorld(rate_limits={"rds": (2.0, 20.0)}) as world:
        rds = boto3.client("rds", config=Config(retries={"mode": "standard", "max_attempts": 5}))
        for _ in range(6):
            rds.describe_db_instances()
        assert world.rate_limits is not None
        assert world.rate_limits.throttled["rds"] >= 1


def test_each_account_has_its_own_buckets() -> None:
    """A member account's calls (credentials assumed there) draw on that account's buckets, not the world's."""
    with LocalWorld(rate_limits={"rds": (2.0, 0.001)}) as world:
        home = boto3.client("rds", config=NO_RETRIES)
        member = account_session("210987654321").client("rds", config=NO_RETRIES)
        for _ in range(2):
            home.describe_db_instances()
        assert _throttle_code(home.describe_db_instances) == "ThrottlingException"
        for _ in range(2):
            member.describe_db_instances()  # a bucket of its own
        assert _throttle_code(member.describe_db_instances) == "ThrottlingException"
        assert world.rate_limits is not None
        assert world.rate_limits.throttled == {"rds": 2}


def test_the_worlds_own_setup_calls_take_no_tokens() -> None:
    """LocalWorld.client is the test's setup and inspection: it never drains the workload's buckets."""
    with LocalWorld(rate_limits={"rds": (2.0, 0.001)}) as world:
        for _ in range(5):
            world.rds.describe_db_instances()
        workload = boto3.client("rds", config=NO_RETRIES)
        for _ in range(2):
            workload.describe_db_instances()
        assert _throttle_code(workload.describe_db_instances) == "ThrottlingException"
        assert world.rate_limits is not None
        assert world.rate_limits.throttled == {"rds": 1}
