"""Every Lambda function of template.yaml, built by `sam build` and run by `sam local invoke` in the Lambda
Python 3.13 image, against moto (RDS, Secrets Manager, IAM) on the docker bridge address.

The events are events/<module>.json; their placeholder `target` is replaced by what ResolveTargetFunction
returns for the `orders-pg` instance seeded in moto, so each function sees the same data as in the
state machine. What this proves beyond the unit tests: the layers hold what the handlers import (pydantic,
Powertools, psycopg's bundled libpq, PyMySQL), the handler paths and environment in the template are right,
AWS_ENDPOINT_URL reaches boto3, and errors leave the runtime with the class name Step Functions matches on.
"""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import ACCOUNT, EVENTS, PROJECT_ROOT, REGION, SamLocal

pytestmark = pytest.mark.container

DB = "orders-pg"
WAITING_DB = "orders-pg-waiting"  # stays with IAM authentication off
PRINCIPAL = "arn:aws:iam::111122223333:role/CH-S3-orange-ab-12-Role"
DB_USER = "clickpipes_iam_user"
MISSING_BUNDLE = "/opt/python/rds-global-bundle.pem"  # DbCaBundle's default; `make ca-bundle` puts it there
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # exists in the image
BUNDLE_SOURCE = PROJECT_ROOT / "functions" / "db" / "rds-global-bundle.pem"


def event(name: str, **replace: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data | replace


def fields(actual: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """ACTUAL restricted to EXPECTED's keys (a missing one shows as "<missing>"): `fields(a, e) == e` checks
    every expected field exactly, while fields the models gain later do not break the suite."""
    return {key: actual.get(key, "<missing>") for key in expected}


def role_name(identifier: str) -> str:
    digest = hashlib.sha256(f"{REGION}:instance:{identifier}".encode()).hexdigest()[:8]
    return f"clickpipes-{identifier}-{digest}"


# ------------------------------------------------------------------------------------------------ world
@pytest.fixture(scope="session")
def world(samlocal: SamLocal) -> dict[str, dict[str, Any]]:
    """Seed moto: two PostgreSQL 16.4 instances with an RDS-managed master secret and IAM authentication off;
    the state machine events/resolve_target.json names, with one execution running for WAITING_DB."""
    rds = samlocal.aws("rds")
    made: dict[str, dict[str, Any]] = {}
    for identifier in (DB, WAITING_DB):
        made[identifier] = rds.create_db_instance(
            DBInstanceIdentifier=identifier,
            Engine="postgres",
            EngineVersion="16.4",
            DBInstanceClass="db.t3.micro",
            MasterUsername="master",
            ManageMasterUserPassword=True,
            AllocatedStorage=20,
        )["DBInstance"]
        assert made[identifier]["IAMDatabaseAuthenticationEnabled"] is False
    sfn = samlocal.aws("stepfunctions")
    machine = sfn.create_state_machine(
        name=event("resolve_target")["state_machine_arn"].split(":stateMachine:")[1],
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/onboarding-state-machine",
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}),
    )
    made["rival"] = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"],
        name=f"{WAITING_DB}--rival",
        input=json.dumps({"db_identifier": WAITING_DB}),
    )
    return made


@pytest.fixture(scope="session")
def resolved(samlocal: SamLocal, world: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """ResolveTargetFunction on events/resolve_target.json (an execution not in moto: no rival for orders-pg):
    the target every later event carries."""
    return samlocal.invoke("ResolveTargetFunction", event("resolve_target")).ok()


@pytest.fixture(scope="session")
def first_enable(samlocal: SamLocal, resolved: dict[str, Any]) -> dict[str, Any]:
    return samlocal.invoke("EnableIamAuthFunction", event("enable_iam_auth", target=resolved)).ok()


@pytest.fixture(scope="session")
def role(samlocal: SamLocal, resolved: dict[str, Any]) -> dict[str, Any]:
    return samlocal.invoke("CreateIamRoleFunction", event("create_iam_role", target=resolved)).ok()


@pytest.fixture
def closed_port(samlocal: SamLocal) -> Iterator[int]:
    """A port on the bridge address that refuses connections: bound (so nobody else takes it), not listening."""
    with socket.socket() as sock:
        sock.bind((samlocal.host_ip, 0))
        yield int(sock.getsockname()[1])


def tags(samlocal: SamLocal, arn: str) -> dict[str, str]:
    listed = samlocal.aws("rds").list_tags_for_resource(ResourceName=arn)["TagList"]
    return {t["Key"]: t["Value"] for t in listed}


# ------------------------------------------------------------------------------------------------ template
FUNCTIONS = {  # logical id -> handler module (template.yaml), the step functions of the state machine
    "ResolveTargetFunction": "resolve_target",
    "EnableIamAuthFunction": "enable_iam_auth",
    "CheckDbStatusFunction": "check_db_status",
    "CreateDbUserFunction": "create_db_user",
    "CreateIamRoleFunction": "create_iam_role",
    "RecordResultFunction": "record_result",
    "RecordFailureFunction": "record_failure",
}


def test_sam_build_lays_out_functions_and_layers(samlocal: SamLocal) -> None:
    """What the containers get: /var/task = the function dir, /opt = the layers' python/ dirs."""
    build = samlocal.template.parent
    for logical_id, module in FUNCTIONS.items():
        assert (build / logical_id / f"{module}.py").is_file(), logical_id
    common, db = build / "CommonLayer" / "python", build / "DbLayer" / "python"
    for package in ("clickpipes", "pydantic", "pydantic_core", "aws_lambda_powertools", "aws_xray_sdk"):
        assert (common / package / "__init__.py").is_file(), package
    for package in ("clickpipes_db", "psycopg", "psycopg_binary", "pymysql"):
        assert (db / package / "__init__.py").is_file(), package
    assert not (common / "boto3").exists()  # boto3 comes from the runtime, as in AWS
    # `make ca-bundle` writes functions/db/rds-global-bundle.pem; the layer carries it to DbCaBundle's default
    assert (db / "rds-global-bundle.pem").is_file() == BUNDLE_SOURCE.is_file()


# ------------------------------------------------------------------------------------------------ ResolveTarget
def test_resolve_target_returns_the_seeded_instance(resolved: dict[str, Any], world: dict[str, dict[str, Any]]) -> None:
    db = world[DB]
    assert db["DbiResourceId"].startswith("db-")
    assert db["DbiResourceId"] != "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # not the events' placeholder
    expected = {
        "db_identifier": DB,
        "kind": "instance",
        "arn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{DB}",
        "partition": "aws",
        "region": REGION,
        "account": ACCOUNT,
        "engine": "postgres",
        "engine_version": "16.4",
        "resource_id": db["DbiResourceId"],
        "endpoint": db["Endpoint"]["Address"],
        "port": 5432,
        "database": "postgres",
        "iam_auth_enabled": False,
        "admin_secret_arn": db["MasterUserSecret"]["SecretArn"],
        "db_user": DB_USER,
        "clickhouse_role_arn": PRINCIPAL,
        "warnings": [],
    }
    assert fields(resolved, expected) == expected
    assert resolved["admin_secret_arn"].startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-")


def test_resolve_target_rejects_an_empty_event(samlocal: SamLocal) -> None:
    result = samlocal.invoke("ResolveTargetFunction", {})
    assert result.error_type == "InvalidInputError"
    assert result.payload["errorMessage"].startswith("Invalid input: request: Field required; ")


def test_resolve_target_stops_a_second_onboarding_of_a_db(samlocal: SamLocal, world: dict[str, dict[str, Any]]) -> None:
    """An execution for WAITING_DB is running in moto: a later one (not listed yet) must stop, changing nothing."""
    base = event("resolve_target")
    later = base["execution_arn"].rsplit(":", 1)[0] + f":{WAITING_DB}--later"
    result = samlocal.invoke(
        "ResolveTargetFunction",
        base | {"request": base["request"] | {"db_identifier": WAITING_DB}, "execution_arn": later},
    )
    assert result.error_type == "OnboardingInProgressError", result.payload
    assert result.payload["errorMessage"] == (
        f"Onboarding {WAITING_DB}--rival of DB '{WAITING_DB}' is already running: "
        "this one stops here, changing nothing."
    )


# ------------------------------------------------------------------------------------------------ EnableIamAuth
def test_enable_iam_auth_turns_it_on_once(
    samlocal: SamLocal, resolved: dict[str, Any], first_enable: dict[str, Any]
) -> None:
    expected = {"modified": True, "warnings": []}
    assert fields(first_enable, expected) == expected
    rds = samlocal.aws("rds")
    assert rds.describe_db_instances(DBInstanceIdentifier=DB)["DBInstances"][0]["IAMDatabaseAuthenticationEnabled"]
    waiting = rds.describe_db_instances(DBInstanceIdentifier=WAITING_DB)["DBInstances"][0]
    assert waiting["IAMDatabaseAuthenticationEnabled"] is False  # only the target was modified

    again = samlocal.invoke("EnableIamAuthFunction", event("enable_iam_auth", target=resolved)).ok()
    expected = {"modified": False, "warnings": []}
    assert fields(again, expected) == expected


# ------------------------------------------------------------------------------------------------ CheckDbStatus
def test_check_db_status_is_ready_once_iam_auth_is_on(
    samlocal: SamLocal, resolved: dict[str, Any], first_enable: dict[str, Any]
) -> None:
    result = samlocal.invoke("CheckDbStatusFunction", event("check_db_status", target=resolved)).ok()
    expected = {"ready": True, "status": "available", "iam_auth_enabled": True, "waited_seconds": 0}
    assert fields(result, expected) == expected


def test_check_db_status_times_out_while_iam_auth_is_off(samlocal: SamLocal, resolved: dict[str, Any]) -> None:
    target = resolved | {"db_identifier": WAITING_DB, "arn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{WAITING_DB}"}
    result = samlocal.invoke(
        "CheckDbStatusFunction", event("check_db_status", target=target, waited_seconds=1800, max_wait_seconds=1800)
    )
    assert result.error_type == "ModificationTimeoutError"
    assert result.payload["errorMessage"].startswith(
        f"DB instance '{WAITING_DB}' is still 'available' (IAM authentication off) after 1800 s: "
    )


# ------------------------------------------------------------------------------------------------ CreateIamRole
def test_create_iam_role_creates_the_role_in_moto(
    samlocal: SamLocal, resolved: dict[str, Any], role: dict[str, Any]
) -> None:
    name = role_name(DB)
    dbuser = f"arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:{resolved['resource_id']}/{DB_USER}"
    expected = {
        "role_name": name,
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/clickpipes/{name}",
        "dbuser_arn": dbuser,
        "created": True,
        "updated": False,
        "warnings": [],
    }
    assert fields(role, expected) == expected
    iam = samlocal.aws("iam")
    created = iam.get_role(RoleName=name)["Role"]
    assert created["Path"] == "/clickpipes/"
    assert created["Arn"] == role["role_arn"]
    assert created["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"AWS": PRINCIPAL}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
    ]
    assert {t["Key"]: t["Value"] for t in created["Tags"]}["clickpipes:db-arn"] == resolved["arn"]
    policy = iam.get_role_policy(RoleName=name, PolicyName="clickpipes-rds-db-connect")["PolicyDocument"]
    assert policy["Statement"] == [{"Effect": "Allow", "Action": ["rds-db:connect"], "Resource": [dbuser]}]

    again = samlocal.invoke("CreateIamRoleFunction", event("create_iam_role", target=resolved)).ok()
    expected = expected | {"created": False, "updated": False}
    assert fields(again, expected) == expected


# ------------------------------------------------------------------------------------------------ RecordResult
def test_record_result_tags_ready_and_returns_the_output(
    samlocal: SamLocal, resolved: dict[str, Any], role: dict[str, Any]
) -> None:
    base = event("record_result")
    result = samlocal.invoke("RecordResultFunction", base | {"target": resolved, "role": role}).ok()
    expected = {
        "db_identifier": DB,
        "kind": "instance",
        "engine": "postgres",
        "engine_version": "16.4",
        "resource_id": resolved["resource_id"],
        "endpoint": resolved["endpoint"],
        "port": 5432,
        "db_user": DB_USER,
        "dbuser_arn": role["dbuser_arn"],
        "role_arn": role["role_arn"],
        "pipe_modes": ["initial_load"],  # iam_auth_for_replication is null in the event
    }
    assert fields(result, expected) == expected
    found = tags(samlocal, resolved["arn"])
    assert found["clickpipes:status"] == "ready"
    assert found["clickpipes:role-arn"] == role["role_arn"]


# ------------------------------------------------------------------------------------------------ RecordFailure
def test_record_failure_tags_failed_and_names_the_error(samlocal: SamLocal, resolved: dict[str, Any]) -> None:
    result = samlocal.invoke("RecordFailureFunction", event("record_failure", target=resolved)).ok()
    expected = {
        "error": "DbPrivilegeError",
        "cause": "The admin user may not create or grant roles (permission denied to create role).",
        "tagged": True,
    }
    assert fields(result, expected) == expected
    found = tags(samlocal, resolved["arn"])
    assert found["clickpipes:status"] == "failed"
    assert found["clickpipes:error"] == "DbPrivilegeError"


# ------------------------------------------------------------------------------------------------ CreateDbUser
def test_create_db_user_with_the_stack_defaults(samlocal: SamLocal, resolved: dict[str, Any]) -> None:
    """Stack defaults (verify-full, DbCaBundle = the bundle in the DbLayer) and the RDS-managed secret."""
    result = samlocal.invoke("CreateDbUserFunction", event("create_db_user", target=resolved))
    assert result.error_type == "DbConnectionError", result.payload
    if not BUNDLE_SOURCE.is_file():
        # no `make ca-bundle` before `sam build` (it needs internet): refused before any packet leaves
        assert result.payload["errorMessage"] == (
            f"CA bundle {MISSING_BUNDLE} not found, so the database's certificate cannot be verified: run "
            "`make ca-bundle` (downloads https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem into "
            "functions/db/) before `sam build`, or set the stack parameter DbCaBundle to a CA file the function has."
        )
    else:  # moto's endpoint name does not resolve
        assert result.payload["errorMessage"].startswith(
            f"Cannot connect to PostgreSQL at {resolved['endpoint']}:5432 over TLS ("
        )


@pytest.mark.parametrize(
    "tls",
    [
        pytest.param({"DB_TLS_MODE": "verify-full", "DB_CA_BUNDLE": SYSTEM_BUNDLE}, id="verify-full"),
        pytest.param({"DB_TLS_MODE": "require"}, id="require"),
    ],
)
def test_create_db_user_cannot_reach_the_server(
    samlocal: SamLocal, resolved: dict[str, Any], closed_port: int, tls: dict[str, str]
) -> None:
    """An admin secret whose host/port (they win over the endpoint) name a closed port: psycopg (its bundled
    libpq) really connects from the container and is refused."""
    secret = samlocal.aws("secretsmanager").create_secret(
        Name=f"clickpipes-test-admin-{tls['DB_TLS_MODE']}",
        SecretString=json.dumps(
            {"username": "master", "password": "not-used", "host": samlocal.host_ip, "port": closed_port}
        ),
    )
    target = resolved | {"admin_secret_arn": secret["ARN"]}
    result = samlocal.invoke(
        "CreateDbUserFunction", event("create_db_user", target=target), env={"CreateDbUserFunction": tls}
    )
    assert result.error_type == "DbConnectionError", result.payload
    message = result.payload["errorMessage"]
    where = f"{samlocal.host_ip}:{closed_port}"
    assert message.startswith(f"Cannot connect to PostgreSQL at {where} over TLS (")
    assert "Connection refused" in message
    assert message.endswith("): check the security group, the endpoint, and the CA bundle (DbCaBundle).")
    assert "not-used" not in message


def test_create_db_user_refuses_a_hostile_user_name(samlocal: SamLocal, resolved: dict[str, Any]) -> None:
    hostile = 'x"; DROP ROLE admin; --'
    result = samlocal.invoke("CreateDbUserFunction", event("create_db_user", target=resolved | {"db_user": hostile}))
    assert result.error_type == "InvalidInputError"
    assert result.payload["errorMessage"] == (
        f"db_user {hostile!r} is not allowed: use 1-63 characters from A-Z, a-z, 0-9 and _, not starting with a digit."
    )
