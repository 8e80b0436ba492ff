"""ClickHouse Cloud: the real template and state machine against the API stand-in (tests/harness/
clickhouse_cloud_api.py), which validates every request and answer against the vendored OpenAPI document.

clickhouse_service_id resolves the role; clickpipe creates the pipe per engine with a request the document
accepts; its table mappings are the published tables; a re-run reuses it; every fault (401, 404, 424, 429/5xx,
Failed) has its outcome; a failure after the access is recorded leaves it recorded. That the key never appears in
the execution history or the logs: tests/e2e/test_secrets.py."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql

from tests.dbs.servers import LocalDbsEnv, mariadb_root_connect, pg_superuser_connect
from tests.e2e.scenario import DATABASE, ENGINES, STATE_MACHINE, create_db, deploy, fresh
from tests.harness.clickhouse_cloud_api import ClickHouseCloudStandIn
from tests.harness.execution import ExecutionResult
from tests.harness.iam_authority import IamAuthority
from tests.harness.local_aws import LocalWorld

pytestmark = pytest.mark.e2e
ORG = "0b6c7e3a-4a59-4b3e-9a57-0a4f6a0c1d11"
# the service's role lies outside AllowedClickHousePrincipals (111122223333): read from the org, it is trusted
SERVICE_ROLE = "arn:aws:iam::444455556666:role/CH-S3-steel-xx-18-ue1-29-Role"
SOURCE_TYPES = {
    "postgres": ("postgres", "rdspostgres"),
    "aurora-postgresql": ("postgres", "aurorapostgres"),
    "mysql": ("mysql", "rdsmysql"),
    "aurora-mysql": ("mysql", "auroramysql"),
    "mariadb": ("mysql", "rdsmariadb"),
}


@contextmanager
def cloud_world(local_dbs: LocalDbsEnv) -> Iterator[tuple[LocalWorld, ClickHouseCloudStandIn]]:
    """The template deployed with the ClickHouse Cloud API settings pointing at a fresh stand-in (DEBUG logs)."""
    authorities = Path(local_dbs.verifier_config).parent / "authorities"
    with (
        ExitStack() as stack,
        ClickHouseCloudStandIn(ORG) as api,
        LocalWorld(extra_env={"CLICKPIPE_POLL_SECONDS": "0"}) as world,
        IamAuthority(authorities),
    ):
        stack.callback(drop_seeded, local_dbs)
        key = world.client("secretsmanager").create_secret(Name="clickhouse-api-key", SecretString=json.dumps(api.key))
        deploy(
            world,
            local_dbs,
            ClickHouseOrganizationId=ORG,
            ClickHouseApiKeySecretArn=key["ARN"],
            ClickHouseApiUrl=api.url,
            LogLevel="DEBUG",
        )
        yield world, api


@pytest.fixture(scope="module")
def cloud(local_dbs: LocalDbsEnv) -> Iterator[tuple[LocalWorld, ClickHouseCloudStandIn]]:
    with cloud_world(local_dbs) as (world, api):
        yield world, api
        assert api.state.violations == [], "a request or an answer outside the ClickHouse Cloud contract"


@pytest.fixture
def service(cloud: tuple[LocalWorld, ClickHouseCloudStandIn]) -> str:
    service_id = str(uuid.uuid4())
    cloud[1].add_service(service_id, SERVICE_ROLE)
    return service_id


SEEDED: list[tuple[str, str]] = []  # (server family, schema or publication name) to drop when the world closes


def seed(local_dbs: LocalDbsEnv, engine: str) -> str:
    """A fresh schema in the DBs' database, owned by the admin: orders and items with a primary key, nokey without."""
    schema = "chs_" + uuid.uuid4().hex[:8]
    SEEDED.append((SOURCE_TYPES[engine][0], schema))
    if SOURCE_TYPES[engine][0] == "postgres":
        with pg_superuser_connect(local_dbs, DATABASE) as conn:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(local_dbs.postgres.admin_user)))
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            for table, key in (("orders", " PRIMARY KEY"), ("items", " PRIMARY KEY"), ("nokey", "")):
                conn.execute(sql.SQL("CREATE TABLE {} (id int" + key + ")").format(sql.Identifier(schema, table)))
    else:
        with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{schema}`")
            for table in ("orders", "items", "nokey"):
                cur.execute(f"CREATE TABLE `{schema}`.`{table}` (id int)")
    return schema


def publication() -> str:
    name = "pub_" + uuid.uuid4().hex[:8]
    SEEDED.append(("publication", name))
    return name


def drop_seeded(local_dbs: LocalDbsEnv) -> None:
    """The schemas and publications this suite made (other suites read every schema of the database)."""
    with pg_superuser_connect(local_dbs, DATABASE) as conn, mariadb_root_connect(local_dbs) as my, my.cursor() as cur:
        while SEEDED:
            family, name = SEEDED.pop()
            if family == "publication":
                conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(sql.Identifier(name)))
            elif family == "postgres":
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
            else:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


def onboard(
    world: LocalWorld,
    local_dbs: LocalDbsEnv,
    engine: str,
    service_id: str,
    *,
    tables: list[str] | None = None,
    **extra: Any,
) -> ExecutionResult:
    """A snapshot pipe of a fresh schema (cdc: false): without ``tables``, of every table the onboarding reports."""
    identifier, user = fresh("ch" + engine.replace("aurora-", "au")[:6])
    create_db(world, local_dbs, engine, identifier)
    schema = seed(local_dbs, engine)
    pipe = {"name": f"pipe-{identifier}", "replication_mode": "snapshot", "destination_database": "analytics"}
    request = {
        "db_identifier": identifier,
        "clickhouse_service_id": service_id,
        "db_user": user,
        "cdc": False,
        "schemas": [schema],
        "clickpipe": pipe | ({"tables": [f"{schema}.{t}" for t in tables]} if tables else {}),
    } | extra
    return world.run(STATE_MACHINE, request, timeout=180)


def mapped(api: ClickHouseCloudStandIn, result: ExecutionResult) -> list[tuple[str, str, str]]:
    """The table mappings of the pipe this onboarding created, as the stand-in received them."""
    [body] = [b for b in api.created_bodies() if b["name"] == result.input["clickpipe"]["name"]]
    ((_, source),) = body["source"].items()
    return [(m["sourceSchemaName"], m["sourceTable"], m["targetTable"]) for m in source["tableMappings"]]


def db_tags(world: LocalWorld, result: ExecutionResult) -> dict[str, str]:
    identifier = result.input["db_identifier"]
    rds = world.client("rds")
    found = rds.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [identifier]}])["DBInstances"]
    arn = (
        found[0]["DBInstanceArn"]
        if found
        else rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]["DBClusterArn"]
    )
    return {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"]}


def succeeded(world: LocalWorld, local_dbs: LocalDbsEnv, engine: str, service_id: str) -> ExecutionResult:
    result = onboard(world, local_dbs, engine, service_id)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


def role_of(world: LocalWorld, result: ExecutionResult) -> dict[str, Any]:
    name = result.output["role_arn"].rsplit("/", 1)[1]
    return dict(world.client("iam").get_role(RoleName=name)["Role"])


@pytest.mark.parametrize("engine", list(ENGINES))
def test_service_id_resolves_the_role_and_the_pipe_is_created(
    cloud: tuple[LocalWorld, ClickHouseCloudStandIn], local_dbs: LocalDbsEnv, service: str, engine: str
) -> None:
    world, api = cloud
    result = succeeded(world, local_dbs, engine, service)
    assert SERVICE_ROLE in json.dumps(role_of(world, result)["AssumeRolePolicyDocument"], default=str)
    [body] = [b for b in api.created_bodies() if b["name"] == f"pipe-{result.output['db_identifier']}"]
    kind, source_type = SOURCE_TYPES[engine]
    source = body["source"][kind]
    assert (source["type"], source["authentication"], source["iamRole"]) == (
        source_type,
        "IAM_ROLE",
        result.output["role_arn"],
    )
    assert (source["host"], source["port"]) == (result.output["endpoint"], result.output["port"])
    assert source["credentials"] == {"username": result.output["db_user"]}
    assert "publicationName" not in source["settings"]  # cdc: false: no publication
    schema = result.input["schemas"][0]
    assert mapped(api, result) == [(schema, t, f"{schema}_{t}") for t in ("items", "nokey", "orders")]
    assert result.output["clickpipe_state"] == "Running"
    assert db_tags(world, result)["clickpipes:clickpipe-status"] == "Running"
    assert result.output["clickpipe_id"] in {p["id"] for p in api.pipes(service)}
    assert api.state.violations == []


def test_rerun_reuses_the_pipe_and_reports_a_different_configuration(
    cloud: tuple[LocalWorld, ClickHouseCloudStandIn], local_dbs: LocalDbsEnv, service: str
) -> None:
    world, api = cloud
    first = succeeded(world, local_dbs, "postgres", service)
    request = json.loads(json.dumps(first.input))
    again = world.run(STATE_MACHINE, request, timeout=120)
    assert again.status == "SUCCEEDED", (again.error, again.cause)
    assert again.output["clickpipe_id"] == first.output["clickpipe_id"]
    assert len(api.pipes(service)) == 1
    request["clickpipe"]["destination_database"] = "elsewhere"
    changed = world.run(STATE_MACHINE, request, timeout=120)
    assert changed.output["clickpipe_id"] == first.output["clickpipe_id"]
    assert any("left as it is" in w and "elsewhere" in w for w in changed.output["warnings"])
    assert len(api.pipes(service)) == 1


@pytest.mark.parametrize(("status", "fragment"), [(401, "key is wrong"), (404, "not found in organization")])
def test_refusals_are_named_and_create_nothing(
    cloud: tuple[LocalWorld, ClickHouseCloudStandIn], local_dbs: LocalDbsEnv, service: str, status: int, fragment: str
) -> None:
    world, api = cloud
    target = str(uuid.uuid4()) if status == 404 else service  # 404: a service that does not exist
    if status == 401:
        api.fail_next(401, path_contains=service)
    result = onboard(world, local_dbs, "postgres", target)
    assert (result.status, result.error) == ("FAILED", "ClickHouseApiError")
    assert fragment in (result.cause or "")
    assert "CreateDbUser" not in result.entered
    assert api.pipes(service) == []


@pytest.mark.parametrize("status", [429, 503])
def test_transient_answers_are_retried(
    cloud: tuple[LocalWorld, ClickHouseCloudStandIn], local_dbs: LocalDbsEnv, service: str, status: int
) -> None:
    world, api = cloud
    api.fail_next(status, times=2, path_contains=f"{service}/clickpipes")
    succeeded(world, local_dbs, "mariadb", service)
    assert len(api.pipes(service)) == 1


def test_an_idle_service_is_woken_then_the_pipe_is_created(
    cloud: tuple[LocalWorld, ClickHouseCloudStandIn], local_dbs: LocalDbsEnv, service: str
) -> None:
    world, api = cloud
    api.idle(service)
    succeeded(world, local_dbs, "mysql", service)
    woken = [r for r in api.state.requests if r[0] == "PATCH" and r[1].endswith(f"{service}/state")]
    assert [body for _, _, body in woken] == [{"command": "awake"}]
    assert len(api.pipes(service)) == 1


def test_a_pipe_that_fails_fails_the_execution_but_the_access_stays_recorded(
    cloud: tuple[LocalWorld, ClickHouseCloudStandIn], local_dbs: LocalDbsEnv, service: str
) -> None:
    world, api = cloud
    api.state.pipe_states = ["Provisioning", "Failed"]
    try:
        result = onboard(world, local_dbs, "postgres", service)
    finally:
        api.state.pipe_states = ["Provisioning", "Setup", "Running"]
    assert (result.status, result.error) == ("FAILED", "ClickPipeFailedError")
    assert "is Failed" in (result.cause or "")
    assert "IAM access is in place" in (result.cause or "")
    tags = db_tags(world, result)
    assert (tags["clickpipes:status"], tags["clickpipes:clickpipe-status"]) == ("ready", "failed ClickPipeFailedError")
    assert "clickpipes:error" not in tags


CDC = {"cdc": True, "allow_reboot": True}


def test_cdc_maps_the_publications_tables(
    cloud: tuple[LocalWorld, ClickHouseCloudStandIn], local_dbs: LocalDbsEnv, service: str
) -> None:
    """PostgreSQL CDC: the publication leaves out the table without a replica identity; the pipe maps what it
    holds (pg_publication_tables), in cdc mode, with the publication's name."""
    world, api = cloud
    name = publication()
    result = onboard(world, local_dbs, "postgres", service, publication=name, **CDC)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    schema = result.input["schemas"][0]
    assert mapped(api, result) == [(schema, t, f"{schema}_{t}") for t in ("items", "orders")]
    [body] = [b for b in api.created_bodies() if b["name"] == result.input["clickpipe"]["name"]]
    assert body["source"]["postgres"]["settings"]["publicationName"] == name
    assert any("nokey" in w for w in result.output["warnings"])


def test_tables_not_published_are_refused_after_the_access_and_a_rerun_retries_only_the_pipe(
    cloud: tuple[LocalWorld, ClickHouseCloudStandIn], local_dbs: LocalDbsEnv, service: str
) -> None:
    world, api = cloud
    refused = onboard(
        world, local_dbs, "postgres", service, tables=["orders", "nokey"], publication=publication(), **CDC
    )
    assert (refused.status, refused.error) == ("FAILED", "ClickPipeRefusedError"), refused.cause
    assert "nokey are not published" in (refused.cause or "")
    assert "IAM access is in place" in (refused.cause or "")
    assert api.pipes(service) == []
    tags = db_tags(world, refused)
    assert (tags["clickpipes:status"], tags["clickpipes:clickpipe-status"]) == ("ready", "failed ClickPipeRefusedError")
    request = json.loads(json.dumps(refused.input))
    request["clickpipe"]["tables"] = [t for t in request["clickpipe"]["tables"] if not t.endswith(".nokey")]
    again = world.run(STATE_MACHINE, request, timeout=180)
    assert again.status == "SUCCEEDED", (again.error, again.cause)
    assert [c for c in again.output["changes"] if not c.startswith("ClickHouse Cloud: created ClickPipe")] == []
    assert db_tags(world, again)["clickpipes:clickpipe-status"] == "Running"
    assert len(api.pipes(service)) == 1


def test_clickpipe_tables_outside_the_schemas_are_refused_before_any_change(
    cloud: tuple[LocalWorld, ClickHouseCloudStandIn], local_dbs: LocalDbsEnv, service: str
) -> None:
    world, api = cloud
    result = onboard(world, local_dbs, "mariadb", service, tables=["orders"], schemas=["elsewhere"])
    assert (result.status, result.error) == ("FAILED", "InvalidInputError")
    assert "are not in the onboarding's schemas" in (result.cause or "")
    assert "CreateDbUser" not in result.entered
    assert api.pipes(service) == []


def test_offboarding_deletes_the_pipe_first(
    cloud: tuple[LocalWorld, ClickHouseCloudStandIn], local_dbs: LocalDbsEnv, service: str
) -> None:
    world, api = cloud
    onboarded = succeeded(world, local_dbs, "mariadb", service)
    tags = {t["Key"]: t["Value"] for t in role_of(world, onboarded)["Tags"]}
    assert tags["clickpipes:clickpipe"] == f"{service}/{onboarded.output['clickpipe_id']}"
    offboarded = world.run(
        "OffboardingStateMachine",
        {"db_identifier": onboarded.output["db_identifier"], "db_user": onboarded.output["db_user"]},
        timeout=120,
    )
    assert offboarded.status == "SUCCEEDED", (offboarded.error, offboarded.cause)
    assert api.pipes(service) == []
    deleted = [r for r in api.state.requests if r[0] == "DELETE"]
    assert deleted[-1][1].endswith(f"{service}/clickpipes/{onboarded.output['clickpipe_id']}")
    assert any("delete ClickPipe" in c for c in json.dumps(offboarded.output).split('"'))
    assert "clickpipes:clickpipe-status" not in db_tags(world, onboarded)
