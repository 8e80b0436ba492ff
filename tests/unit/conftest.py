"""Unit tests: no network (pytest-socket), AWS served in-process by moto."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pytest_socket import disable_socket, enable_socket

from tests.harness import rds_rules

EVENTS = Path(__file__).resolve().parents[2] / "events"
PRINCIPAL = "arn:aws:iam::111122223333:role/CH-S3-orange-ab-12-Role"
BOUNDARY = "arn:aws:iam::123456789012:policy/clickpipes/clickpipes-role-boundary"
GUARD_TABLE = "clickpipes-guard"  # the template's GuardTable, created in moto by the ``aws`` fixture


@pytest.fixture(autouse=True)
def _no_network() -> Iterator[None]:
    """A unit test that opens a network socket fails (pytest-socket)."""
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


@dataclass
class FakeContext:
    """What Powertools reads from a Lambda context."""

    function_name: str = "test-function"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_SERVICE_NAME": "clickpipes-onboarding",
        "POWERTOOLS_METRICS_NAMESPACE": "ClickPipesOnboarding",
        "POWERTOOLS_TRACE_DISABLED": "true",
        # the stack's trust boundary: PRINCIPAL's account is allowed; roles carry the stack's boundary policy
        "ALLOWED_CLICKHOUSE_PRINCIPALS": PRINCIPAL.split(":")[4],
        "PERMISSIONS_BOUNDARY_ARN": BOUNDARY,
        "GUARD_TABLE_NAME": GUARD_TABLE,
        "HOME_ACCOUNT": "123456789012",  # the stack's own account (template: AWS::AccountId)
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("CLICKHOUSE_ROLE_ARN", raising=False)


@pytest.fixture
def aws() -> Iterator[None]:
    from clickpipes.aws.clients import assumed_session, client, member_client

    for cached in (client, assumed_session, member_client):
        cached.cache_clear()
    with mock_aws(), rds_rules.applied():  # RDS as documented (tests/harness/rds_rules.py), as in the local world
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName=GUARD_TABLE,
            KeySchema=[{"AttributeName": "db", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "db", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield
    for cached in (client, assumed_session, member_client):
        cached.cache_clear()


@pytest.fixture
def rds(aws: None) -> Any:
    return boto3.client("rds", region_name="us-east-1")


@pytest.fixture
def iam(aws: None) -> Any:
    return boto3.client("iam", region_name="us-east-1")


@pytest.fixture
def secrets(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name="us-east-1")


ENGINE_VERSIONS = {
    "postgres": "16.4",
    "mysql": "8.0.39",
    "mariadb": "10.11.9",
    "aurora-postgresql": "16.4",
    "aurora-mysql": "8.0.mysql_aurora.3.07.1",
}


@pytest.fixture
def make_db(rds: Any) -> Callable[..., dict[str, Any]]:
    """Create an RDS instance (or an Aurora cluster with one writer) in moto; IAM auth off, RDS-managed secret."""

    def make(identifier: str, engine: str = "postgres", version: str | None = None, **extra: Any) -> dict[str, Any]:
        version = version or ENGINE_VERSIONS.get(engine, "1.0")
        if engine.startswith("aurora"):
            cluster = rds.create_db_cluster(
                DBClusterIdentifier=identifier,
                Engine=engine,
                EngineVersion=version,
                MasterUsername="master",
                ManageMasterUserPassword=True,
                **extra,
            )["DBCluster"]
            rds.create_db_instance(
                DBInstanceIdentifier=f"{identifier}-writer",
                DBClusterIdentifier=identifier,
                Engine=engine,
                DBInstanceClass="db.r6g.large",
            )
            return dict(cluster)
        return dict(
            rds.create_db_instance(
                DBInstanceIdentifier=identifier,
                Engine=engine,
                EngineVersion=version,
                DBInstanceClass="db.t3.micro",
                MasterUsername="master",
                ManageMasterUserPassword=True,
                AllocatedStorage=20,
                **extra,
            )["DBInstance"]
        )

    return make


def waiting_machine(name: str, variable: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A state machine in moto whose executions stay RUNNING (moto executes nothing here), named by ``variable``
    in the environment as the template names it for the functions; its ARN."""
    arn = boto3.client("stepfunctions").create_state_machine(
        name=name,
        definition=json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    monkeypatch.setenv(variable, arn)
    return str(arn)


def execution_inputs(arn: str) -> list[dict[str, Any]]:
    """The input of each execution of the state machine."""
    sfn = boto3.client("stepfunctions")
    found = sfn.list_executions(stateMachineArn=arn)["executions"]
    return [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in found]


def call_api(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """ApiFunction's answer to an API Gateway proxy event: its status and JSON body."""
    import api

    response = api.handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def post_api(event_file: str, body: Any) -> tuple[int, dict[str, Any]]:
    """The sample POST event with another body (a str as it is, else as JSON)."""
    event = load_event(event_file)
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    return call_api(event)


def get_api(event_file: str, parameter: str, value: str) -> tuple[int, dict[str, Any]]:
    """The sample GET /<collection>/{parameter} event for another id."""
    event = load_event(event_file)
    event["path"] = f"{event['path'].rsplit('/', 1)[0]}/{value}"
    event["pathParameters"] = {parameter: value}
    return call_api(event)


@pytest.fixture
def state_machine(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The triggers' state machine (STATE_MACHINE_ARN)."""
    return waiting_machine("onboarding", "STATE_MACHINE_ARN", monkeypatch)


def resolve(request: Any, context: FakeContext | None = None) -> dict[str, Any]:
    """Run the ResolveTarget handler as the state machine calls it (the request plus which execution this is): its
    target."""
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    existing = [m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"] == "unit"]
    arn = (
        existing[0]
        if existing
        else sfn.create_state_machine(
            name="unit",
            definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
    )
    event = {
        "request": request,
        "execution_arn": arn.replace(":stateMachine:", ":execution:") + ":unit",
        "state_machine_arn": arn,
    }
    target: dict[str, Any] = resolved(event, context)["target"]
    return target


def resolved(event: dict[str, Any], context: FakeContext | None = None) -> dict[str, Any]:
    """The ResolveTarget handler's whole result: ``{"target", "seal"}``."""
    import resolve_target

    return resolve_target.handler(event, context or FakeContext())


@pytest.fixture
def moto_target(make_db: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """A step's ``target`` for a DB created in moto: the sample event's, with what RDS says about that DB."""

    def make(event: str = "create_iam_role.json", engine: str = "postgres", **changes: Any) -> dict[str, Any]:
        target: dict[str, Any] = load_event(event)["target"]
        db = make_db(target["db_identifier"], engine)
        cluster = "DBClusterArn" in db
        return target | {
            "kind": "cluster" if cluster else "instance",
            "engine": engine,
            "arn": db["DBClusterArn"] if cluster else db["DBInstanceArn"],
            "resource_id": db["DbClusterResourceId"] if cluster else db["DbiResourceId"],
            "admin_secret_arn": db["MasterUserSecret"]["SecretArn"],
            **changes,
        }

    return make
