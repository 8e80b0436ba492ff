"""Every Lambda function of template.yaml, built by `sam build` and run by `sam local invoke` in the Lambda
Python 3.13 image, against moto (RDS, Secrets Manager, IAM) on the docker bridge address.

The events are events/<module>.json; their placeholder `target` is replaced by what ResolveTargetFunction
returns for the `orders-pg` instance seeded in moto, so each function sees the same data as in the
state machine. What this proves beyond the unit tests: the layers hold what the handlers import (msgspec,
Powertools, psycopg's bundled libpq, PyMySQL), the handler paths and environment in the template are right,
AWS_ENDPOINT_URL reaches boto3, and errors leave the runtime with the class name Step Functions matches on.

ApiFunction runs both through `sam local invoke` (API Gateway proxy events) and behind `sam local start-api`
(OnboardingApi, served without its stage and without AWS_IAM auth); it and TagTriggerFunction start executions of
their own state machine in moto (STATE_MACHINE_ARN through --env-vars), which moto never runs: they stay RUNNING.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from packaging.utils import canonicalize_name

from tests.layer_pins import LAYERS, pins

from .samlocal import (
    ACCOUNT,
    BOUNDARY_ARN,
    GUARD_TABLE,
    PROJECT_ROOT,
    REGION,
    HttpResponse,
    SamLocal,
    role_name,
    sample_event,
)

pytestmark = pytest.mark.container

DB = "orders-pg"
WAITING_DB = "orders-pg-waiting"  # stays with IAM authentication off
PRINCIPAL = "arn:aws:iam::111122223333:role/CH-S3-orange-ab-12-Role"
DB_USER = "clickpipes_iam_user"
MISSING_BUNDLE = "/opt/python/rds-global-bundle.pem"  # DbCaBundle's default; `make ca-bundle` puts it there
SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # exists in the image
BUNDLE_SOURCE = PROJECT_ROOT / "functions" / "db" / "rds-global-bundle.pem"
MISSING_BUNDLE_MESSAGE = (  # a DB step with the stack defaults, without `make ca-bundle` before `sam build`
    f"CA bundle {MISSING_BUNDLE} not found, so the database's certificate cannot be verified: run "
    "`make ca-bundle` (downloads https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem into "
    "functions/db/) before `sam build`, or set the stack parameter DbCaBundle to a CA file the function has."
)
DB_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{DB}"
ONBOARDING_ID = re.compile(rf"{DB}--[0-9a-f]{{12}}")
UNKNOWN_ID = "orders-pg--0123456789ab"  # events/api_get_onboarding.json
WILDCARD_MESSAGE = (  # events/api_post_onboarding_invalid.json
    "clickhouse_role_arn '*' is not one IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>): "
    "wildcards, account roots, users, services and whitespace are refused."
)
# Each starter gets its own state machine: their executions of DB stay RUNNING (moto runs nothing), and
# would otherwise answer 409 to each other, or stop ResolveTarget's guard on the world's state machine (each
# has its own guard table too).
API_MACHINE = "clickpipes-api-onboarding"
START_API_MACHINE = "clickpipes-start-api-onboarding"
TAG_MACHINE = "clickpipes-tags-onboarding"
CDC_GROUP = f"clickpipes-instance-{DB}"


event = sample_event


def fields(actual: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """ACTUAL restricted to EXPECTED's keys (a missing one shows as "<missing>"): `fields(a, e) == e` checks
    every expected field exactly, while fields the models gain later do not break the suite."""
    return {key: actual.get(key, "<missing>") for key in expected}


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
    # the template's GuardTable (env.json names it), holding WAITING_DB (its item <account>/<region>/<identifier>)
    # for the rival as its ResolveTarget would
    samlocal.aws("dynamodb").put_item(
        TableName=samlocal.guard_table(GUARD_TABLE),
        Item={"db": {"S": f"{ACCOUNT}/{REGION}/{WAITING_DB}"}, "holder": {"S": made["rival"]["executionArn"]}},
    )
    return made


@pytest.fixture(scope="session")
def resolution(samlocal: SamLocal, world: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """ResolveTargetFunction on events/resolve_target.json (an execution not in moto: no rival for orders-pg): the
    target every later event carries, and its seal (made with the key of the stack's StateSealSecret, in moto)."""
    return samlocal.invoke("ResolveTargetFunction", event("resolve_target")).ok()


@pytest.fixture(scope="session")
def resolved(resolution: dict[str, Any]) -> dict[str, Any]:
    return dict(resolution["target"])


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


def state_machine(samlocal: SamLocal, name: str) -> str:
    """A state machine in moto, as the template's OnboardingStateMachine would be, with its own guard table
    (``machine_env`` names it): the starters' executions of DB never meet. Returns its ARN."""
    arn: str = samlocal.aws("stepfunctions").create_state_machine(
        name=name,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/onboarding-state-machine",
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}),
    )["stateMachineArn"]
    samlocal.guard_table(f"{name}-guard")
    return arn


def executions(samlocal: SamLocal, machine_arn: str) -> list[dict[str, Any]]:
    """Every execution of the state machine, with its input, oldest first."""
    sfn = samlocal.aws("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=machine_arn)["executions"]
    described = [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]
    for execution in described:
        del execution["ResponseMetadata"]  # a new request id on every call
    return sorted(described, key=lambda e: e["startDate"])


def machine_env(function: str, machine_arn: str) -> dict[str, dict[str, str]]:
    """--env-vars for a starter: the template's STATE_MACHINE_ARN (!Ref OnboardingStateMachine) points at moto."""
    return {function: {"STATE_MACHINE_ARN": machine_arn, "GUARD_TABLE_NAME": f"{machine_arn.rsplit(':', 1)[1]}-guard"}}


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
    "ConfigureCdcParametersFunction": "configure_cdc_parameters",
    "RebootDbFunction": "reboot_db",
    "ConfigureCdcDatabaseFunction": "configure_cdc_database",
    "ApiFunction": "api",  # the REST API and the tag trigger: they start the state machine
    "TagTriggerFunction": "tag_trigger",
}


def test_sam_build_lays_out_functions_and_layers(samlocal: SamLocal) -> None:
    """What the containers get: /var/task = the function dir, /opt = the layers' python/ dirs."""
    build = samlocal.template.parent
    for logical_id, module in FUNCTIONS.items():
        assert (build / logical_id / f"{module}.py").is_file(), logical_id
    common, db = build / "CommonLayer" / "python", build / "DbLayer" / "python"
    for package in ("clickpipes", "msgspec", "aws_lambda_powertools", "aws_xray_sdk"):
        assert (common / package / "__init__.py").is_file(), package
    for package in ("clickpipes_db", "psycopg", "psycopg_binary", "pymysql"):
        assert (db / package / "__init__.py").is_file(), package
    # each layer ships exactly its pinned distributions (boto3 + botocore too: one consistent, tested pair)
    for layer, site in (("CommonLayer", common), ("DbLayer", db)):
        shipped = {}
        for dist in site.glob("*.dist-info"):
            name, version = dist.name.removesuffix(".dist-info").split("-", 1)
            shipped[canonicalize_name(name)] = version
        assert shipped == {name: str(next(iter(r.specifier)).version) for name, r in pins(LAYERS[layer]).items()}
        # compiled for Lambda's read-only /opt: every module has its .pyc, hash-based and unchecked (PEP 552
        # flags = 1), so neither a zip's coarse mtimes nor a missing write permission recompiles it
        sources = [p for p in site.rglob("*.py") if "bin" not in p.relative_to(site).parts]
        compiled = [p.parent / "__pycache__" / f"{p.stem}.cpython-313.pyc" for p in sources]
        assert [p for p in compiled if not p.is_file()] == [], layer
        assert {int.from_bytes(p.read_bytes()[4:8], "little") for p in compiled} == {1}, layer
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
    assert result.payload["errorMessage"] == "Invalid input: request: Field required."


def test_resolve_target_stops_a_second_onboarding_of_a_db(samlocal: SamLocal, world: dict[str, dict[str, Any]]) -> None:
    """An execution for WAITING_DB is running in moto and holds the DB's guard item: a later one must stop,
    changing nothing."""
    base = event("resolve_target")
    later = base["execution_arn"].rsplit(":", 1)[0] + f":{WAITING_DB}--later"
    result = samlocal.invoke(
        "ResolveTargetFunction",
        base | {"request": base["request"] | {"db_identifier": WAITING_DB}, "execution_arn": later},
    )
    assert result.error_type == "OnboardingInProgressError", result.payload
    assert result.payload["errorMessage"] == (
        f"An onboarding or offboarding ({WAITING_DB}--rival) of DB '{WAITING_DB}' is already running: "
        "this one stops here, changing nothing."
    )


# ------------------------------------------------------------------------------------------------ EnableIamAuth
def test_resolve_target_seals_what_it_described_and_a_forged_seal_changes_nothing(
    samlocal: SamLocal, resolution: dict[str, Any]
) -> None:
    """The seal key read from Secrets Manager in the image, the seal's MAC over RDS's answer; an edited endpoint
    (where CreateDbUser would send the admin password) fails as SealError before any change."""
    seal = resolution["seal"]
    assert set(seal) == {"v", "description", "issued_at", "mac"}, seal
    assert len(seal["mac"]) == 64  # HMAC-SHA256, hex
    assert seal["description"]["identifier"] == DB
    forged = seal | {"description": seal["description"] | {"endpoint": "attacker.example.com"}}
    request = event("enable_iam_auth", target=resolution["target"]) | {"seal": forged}
    refused = samlocal.invoke("EnableIamAuthFunction", request)
    assert refused.error_type == "SealError", refused.payload
    assert "Nothing was changed" in refused.payload["errorMessage"]
    db = samlocal.aws("rds").describe_db_instances(DBInstanceIdentifier=DB)["DBInstances"][0]
    assert db["Endpoint"]["Address"] != "attacker.example.com"


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
    assert created["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY_ARN  # the stack's boundary
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


def test_record_failure_after_the_record_tags_only_the_pipe(samlocal: SamLocal, resolved: dict[str, Any]) -> None:
    """CreateClickPipe's failure (RecordResult's output in the event): the access stays recorded, only the pipe's
    status tag says failed."""
    before = tags(samlocal, resolved["arn"]).get("clickpipes:status")
    output = event("create_clickpipe")["output"]
    failure = {"Error": "ClickPipeFailedError", "Cause": "ClickPipe 'orders-pg' is Failed."}
    base = event("record_failure", target=resolved, result=output, error=failure)
    result = samlocal.invoke("RecordFailureFunction", base).ok()
    assert (result["error"], result["tagged"]) == ("ClickPipeFailedError", True)
    assert result["cause"].startswith("The IAM access is in place and recorded")
    found = tags(samlocal, resolved["arn"])
    assert found["clickpipes:clickpipe-status"] == "failed ClickPipeFailedError"
    assert found.get("clickpipes:status") == before


def assert_stopped_at_tls(result: Any, resolved: dict[str, Any]) -> None:
    """The stack defaults' verify-full TLS stops a DB step before any SQL: with no CA bundle in the layer (no
    `make ca-bundle` before `sam build`: it needs internet) before any packet leaves; with one, at the connect
    (moto's endpoint name does not resolve)."""
    assert result.error_type == "DbConnectionError", result.payload
    if not BUNDLE_SOURCE.is_file():
        assert result.payload["errorMessage"] == MISSING_BUNDLE_MESSAGE
    else:
        assert result.payload["errorMessage"].startswith(
            f"Cannot connect to PostgreSQL at {resolved['endpoint']}:5432 over TLS ("
        )


# ------------------------------------------------------------------------------------------------ CreateDbUser
def test_create_db_user_with_the_stack_defaults(samlocal: SamLocal, resolved: dict[str, Any]) -> None:
    """Stack defaults (verify-full, DbCaBundle = the bundle in the DbLayer) and the RDS-managed secret."""
    result = samlocal.invoke("CreateDbUserFunction", event("create_db_user", target=resolved))
    assert_stopped_at_tls(result, resolved)


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
    assert result.error_type == "InvalidInputError"  # the step's own model refuses it, before any secret is read
    assert result.payload["errorMessage"] == (
        "Invalid input: target.db_user: Expected `str` matching regex '^[A-Za-z_][A-Za-z0-9_]{0,62}$'."
    )


# ------------------------------------------------------------------------------------------------ ApiFunction (invoke)
def get_event(onboarding_id: str) -> dict[str, Any]:
    """events/api_get_onboarding.json for another id (path, path parameter, the stage's path)."""
    base = event("api_get_onboarding")
    return base | {
        "path": f"/onboardings/{onboarding_id}",
        "pathParameters": {"onboarding_id": onboarding_id},
        "requestContext": base["requestContext"] | {"path": f"/v1/onboardings/{onboarding_id}"},
    }


@pytest.fixture(scope="session")
def api_machine(samlocal: SamLocal) -> str:
    return state_machine(samlocal, API_MACHINE)


@pytest.fixture(scope="session")
def api_post(samlocal: SamLocal, api_machine: str) -> HttpResponse:
    """POST /onboardings (events/api_post_onboarding.json) through `sam local invoke ApiFunction`."""
    result = samlocal.invoke("ApiFunction", event("api_post_onboarding"), env=machine_env("ApiFunction", api_machine))
    return HttpResponse.from_proxy(result)


def test_api_post_starts_an_onboarding(samlocal: SamLocal, api_machine: str, api_post: HttpResponse) -> None:
    assert api_post.status == 202, api_post
    onboarding_id = api_post.body["id"]
    assert ONBOARDING_ID.fullmatch(onboarding_id), onboarding_id
    assert api_post.body == {"id": onboarding_id, "status": "RUNNING", "location": f"onboardings/{onboarding_id}"}
    assert api_post.headers["Location"] == f"onboardings/{onboarding_id}"  # relative: keeps the stage
    assert api_post.headers["Content-Type"] == "application/json"
    [started] = executions(samlocal, api_machine)  # exactly one, named after the DB, with the request as input
    assert started["name"] == onboarding_id
    assert started["status"] == "RUNNING"
    caller = event("api_post_onboarding")["requestContext"]["identity"]["userArn"]  # who asked: the signed caller
    assert json.loads(started["input"]) == {
        "db_identifier": DB,
        "clickhouse_role_arn": PRINCIPAL,
        "requested_by": caller,
    }


def test_api_location_resolves_under_the_stage(api_post: HttpResponse) -> None:
    """RFC 9110: Location resolves against the request URI, here https://<Host>/v1/onboardings."""
    request = event("api_post_onboarding")
    base = f"https://{request['headers']['Host']}{request['requestContext']['path']}"
    onboarding_id = api_post.body["id"]
    expected = f"https://{request['headers']['Host']}/v1/onboardings/{onboarding_id}"
    assert urljoin(base, api_post.headers["Location"]) == expected


def test_api_post_rejects_a_wildcard_principal(samlocal: SamLocal, api_machine: str) -> None:
    before = executions(samlocal, api_machine)
    result = samlocal.invoke(
        "ApiFunction", event("api_post_onboarding_invalid"), env=machine_env("ApiFunction", api_machine)
    )
    response = HttpResponse.from_proxy(result)
    assert response.status == 400
    assert response.body == {"error": "InvalidInputError", "message": WILDCARD_MESSAGE}
    assert executions(samlocal, api_machine) == before  # refused before anything starts


def test_api_get_an_unknown_onboarding(samlocal: SamLocal, api_machine: str) -> None:
    result = samlocal.invoke("ApiFunction", event("api_get_onboarding"), env=machine_env("ApiFunction", api_machine))
    response = HttpResponse.from_proxy(result)
    assert response.status == 404
    assert response.body == {"error": "OnboardingNotFoundError", "message": f"No onboarding with id {UNKNOWN_ID!r}."}


def test_api_get_the_started_onboarding(samlocal: SamLocal, api_machine: str, api_post: HttpResponse) -> None:
    onboarding_id = api_post.body["id"]
    result = samlocal.invoke("ApiFunction", get_event(onboarding_id), env=machine_env("ApiFunction", api_machine))
    response = HttpResponse.from_proxy(result)
    assert response.status == 200, response
    [started] = executions(samlocal, api_machine)
    assert response.body == {
        "id": onboarding_id,
        "status": "RUNNING",
        "db_identifier": DB,
        "current_step": "A State",  # moto's canned execution history (it runs nothing)
        "output": None,
        "error": None,
        "cause": None,
        "started_at": response.body["started_at"],  # below: the same instant as moto's (time zones may differ)
        "stopped_at": None,
    }
    assert datetime.fromisoformat(response.body["started_at"]) == started["startDate"]


# ------------------------------------------------------------------------------------------------ start-api
def test_start_api_serves_the_onboarding_api(samlocal: SamLocal) -> None:
    """OnboardingApi behind `sam local start-api`: the paths without the stage (/v1), AWS_IAM not enforced.
    One warm ApiFunction container answers every request; SIGTERM to sam's PID removes it."""
    machine = state_machine(samlocal, START_API_MACHINE)
    api = samlocal.start_api(env=machine_env("ApiFunction", machine))
    try:
        request = json.loads(event("api_post_onboarding")["body"])
        posted = api.request("POST", "/onboardings", request)
        assert posted.status == 202, posted
        onboarding_id = posted.body["id"]
        assert ONBOARDING_ID.fullmatch(onboarding_id), onboarding_id
        assert posted.body == {"id": onboarding_id, "status": "RUNNING", "location": f"onboardings/{onboarding_id}"}
        assert posted.headers["Location"] == f"onboardings/{onboarding_id}"

        again = api.request("POST", "/onboardings", request)
        assert again.status == 409, again
        assert again.body == {
            "error": "OnboardingInProgressError",
            "message": f"Onboarding {onboarding_id} of DB '{DB}' is still running: wait for it to finish "
            f"(GET /onboardings/{onboarding_id}).",
        }

        followed = urlsplit(urljoin(f"http://127.0.0.1:{api.port}/onboardings", posted.headers["Location"])).path
        assert followed == f"/onboardings/{onboarding_id}"  # locally the stage is not in the path
        got = api.request("GET", followed)
        assert got.status == 200, got
        expected = {"id": onboarding_id, "status": "RUNNING", "db_identifier": DB, "output": None, "error": None}
        assert fields(got.body, expected) == expected

        unknown = api.request("GET", f"/onboardings/{UNKNOWN_ID}")
        assert unknown.status == 404, unknown
        assert unknown.body == {"error": "OnboardingNotFoundError", "message": f"No onboarding with id {UNKNOWN_ID!r}."}

        invalid = api.request("POST", "/onboardings", json.loads(event("api_post_onboarding_invalid")["body"]))
        assert invalid.status == 400, invalid
        assert invalid.body == {"error": "InvalidInputError", "message": WILDCARD_MESSAGE}

        staged = api.request("GET", f"/v1/onboardings/{onboarding_id}")  # the stage is not part of local paths
        assert staged.status == 403, staged
        assert staged.body == {"message": "Missing Authentication Token"}  # sam's answer to an unknown route
    finally:
        returncode, left = api.stop()
    assert returncode == 0, f"sam local start-api exited {returncode} after {api.sigterms} SIGTERM(s)"
    assert left == []  # the warm container went with sam
    assert [e["name"] for e in executions(samlocal, machine)] == [onboarding_id]  # the 409 started nothing


# ------------------------------------------------------------------------------------------------ TagTrigger
def tag_key(time: str) -> str:
    """The execution name the tag trigger gives one tagging: the DB ARN and the minute of the event."""
    return f"{DB}--" + hashlib.sha256(f"{DB_ARN}@{time[:16]}".encode()).hexdigest()[:12]


@pytest.fixture(scope="session")
def tag_machine(samlocal: SamLocal, world: dict[str, dict[str, Any]]) -> str:
    """The tags the user puts on DB (the trigger reads them from RDS, not from the event), and a state machine."""
    samlocal.aws("rds").add_tags_to_resource(
        ResourceName=DB_ARN,
        Tags=[
            {"Key": "clickpipes:onboard", "Value": "true"},
            {"Key": "clickpipes:clickhouse-role-arn", "Value": PRINCIPAL},
        ],
    )
    return state_machine(samlocal, TAG_MACHINE)


@pytest.fixture(scope="session")
def tag_started(samlocal: SamLocal, tag_machine: str) -> dict[str, Any]:
    """events/tag_cloudtrail.json (CloudTrail AddTagsToResource)."""
    env = machine_env("TagTriggerFunction", tag_machine)
    return samlocal.invoke("TagTriggerFunction", event("tag_cloudtrail"), env=env).ok()


def test_tag_trigger_starts_an_onboarding(samlocal: SamLocal, tag_machine: str, tag_started: dict[str, Any]) -> None:
    name = tag_key(event("tag_cloudtrail")["time"])
    assert ONBOARDING_ID.fullmatch(name)
    assert tag_started == {"db_arn": DB_ARN, "started": name, "reason": "started"}
    [started] = executions(samlocal, tag_machine)
    assert started["name"] == name
    tagger = event("tag_cloudtrail")["detail"]["userIdentity"]["arn"]  # who asked: CloudTrail's userIdentity.arn
    assert json.loads(started["input"]) == {
        "db_identifier": DB_ARN,
        "clickhouse_role_arn": PRINCIPAL,
        "requested_by": tagger,
    }


def test_tag_trigger_starts_one_tagging_once(samlocal: SamLocal, tag_machine: str, tag_started: dict[str, Any]) -> None:
    """The same tagging as an aws.tag "Tag Change on Resource" event, a second after the CloudTrail one."""
    first = tag_started["started"]
    env = machine_env("TagTriggerFunction", tag_machine)
    result = samlocal.invoke("TagTriggerFunction", event("tag_change"), env=env).ok()
    assert result == {
        "db_arn": DB_ARN,
        "started": None,
        "reason": f"Onboarding {first} of DB '{DB}' is still running: wait for it to finish "
        f"(GET /onboardings/{first}).",
    }
    assert [e["name"] for e in executions(samlocal, tag_machine)] == [first]
    assert tags(samlocal, DB_ARN).get("clickpipes:error") != "InvalidInputError"  # a duplicate is no failure


# ------------------------------------------------------------------------------------------------ CDC steps
@pytest.fixture(scope="session")
def cdc_parameters(samlocal: SamLocal, resolved: dict[str, Any]) -> dict[str, Any]:
    return samlocal.invoke("ConfigureCdcParametersFunction", event("configure_cdc_parameters", target=resolved)).ok()


def test_configure_cdc_parameters_creates_and_attaches_our_group(
    samlocal: SamLocal, resolved: dict[str, Any], cdc_parameters: dict[str, Any]
) -> None:
    assert resolved["cdc"]["enabled"] is True  # the default of the request in events/resolve_target.json
    expected = {
        "skipped": False,
        "changes": [
            f"Create parameter group {CDC_GROUP} (family postgres16)",
            f"Attach {CDC_GROUP} to instance {DB}",
            f"Set rds.logical_replication=1 in {CDC_GROUP} (static: applies at the next reboot)",
            f"Set rds.iam_auth_for_replication=1 in {CDC_GROUP}",
        ],
        "warnings": [],
        "reboot_required": True,
        "pending_reboot": [f"parameter group {CDC_GROUP}", "rds.logical_replication"],
    }
    assert fields(cdc_parameters, expected) == expected
    rds = samlocal.aws("rds")
    [group] = rds.describe_db_parameter_groups(DBParameterGroupName=CDC_GROUP)["DBParameterGroups"]
    assert group["DBParameterGroupFamily"] == "postgres16"
    assert group["Description"] == "ClickPipes CDC settings (created by clickpipes-onboarding)"
    parameters = rds.describe_db_parameters(DBParameterGroupName=CDC_GROUP)["Parameters"]
    assert {p["ParameterName"]: (p["ParameterValue"], p["ApplyMethod"]) for p in parameters} == {
        "rds.logical_replication": ("1", "pending-reboot"),
        "rds.iam_auth_for_replication": ("1", "immediate"),
    }
    instance = rds.describe_db_instances(DBInstanceIdentifier=DB)["DBInstances"][0]
    assert [g["DBParameterGroupName"] for g in instance["DBParameterGroups"]] == [CDC_GROUP]
    waiting = rds.describe_db_instances(DBInstanceIdentifier=WAITING_DB)["DBInstances"][0]
    assert [g["DBParameterGroupName"] for g in waiting["DBParameterGroups"]] == ["default.postgres16"]

    # again: our group is attached and holds the values (moto keeps it "in-sync": no reboot pending)
    again = samlocal.invoke("ConfigureCdcParametersFunction", event("configure_cdc_parameters", target=resolved)).ok()
    expected = {"skipped": False, "changes": [], "warnings": [], "reboot_required": False, "pending_reboot": []}
    assert fields(again, expected) == expected


def test_reboot_db_reboots_the_instance(
    samlocal: SamLocal, resolved: dict[str, Any], cdc_parameters: dict[str, Any]
) -> None:
    """After ConfigureCdcParameters, as in the state machine (its Choice checks allow_reboot, not the step)."""
    result = samlocal.invoke("RebootDbFunction", event("reboot_db", target=resolved)).ok()
    expected = {"rebooted": [DB], "changes": [f"RebootDBInstance {DB}"], "warnings": []}
    assert fields(result, expected) == expected


def test_configure_cdc_database_with_the_stack_defaults(samlocal: SamLocal, resolved: dict[str, Any]) -> None:
    """Like CreateDbUser: the RDS-managed secret is read, then the CA bundle stops it before any packet."""
    result = samlocal.invoke("ConfigureCdcDatabaseFunction", event("configure_cdc_database", target=resolved))
    assert_stopped_at_tls(result, resolved)


def test_configure_cdc_database_with_cdc_off_logs_in_too(samlocal: SamLocal, resolved: dict[str, Any]) -> None:
    """Invoked with cdc: false (the onboarding has CreateDbUser make the read grants then), the step still makes
    them: it logs in like CDC does."""
    target = {**resolved, "cdc": {**resolved["cdc"], "enabled": False}}
    result = samlocal.invoke("ConfigureCdcDatabaseFunction", event("configure_cdc_database", target=target))
    assert_stopped_at_tls(result, target)
