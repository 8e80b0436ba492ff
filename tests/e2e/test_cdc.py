"""CDC readiness end to end: per engine with CDC on and off, with and without allow_reboot; plan_only
proven to change nothing (moto's state and the database catalogs compared before and after)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dbs.servers import LocalDbsEnv, mariadb_root_connect, pg_superuser_connect
from tests.e2e.scenario import (
    DATABASE,
    ENGINES,
    PRINCIPAL,
    STATE_MACHINE,
    app_changes,
    create_db,
    fresh,
    sample_table,
)
from tests.harness import clickpipes_client
from tests.harness.execution import ExecutionResult
from tests.harness.local_aws import LocalWorld

pytestmark = pytest.mark.e2e

CDC_STEPS = ["ConfigureCdcParameters", "ConfigureCdcDatabase"]


def onboard(world: LocalWorld, identifier: str, user: str, **request: Any) -> ExecutionResult:
    body = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, **request}
    result = world.run(STATE_MACHINE, body, timeout=120)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


def step_names(result: ExecutionResult) -> list[str]:
    return [s.name for s in result.steps]


def parameter_group(
    world: LocalWorld, engine: str, identifier: str, *, effective: bool = False
) -> tuple[str, dict[str, str]]:
    """The DB's group and the parameters set in it (``effective``: with the family's defaults as well)."""
    rds = world.rds
    if ENGINES[engine].kind == "cluster":
        name = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]["DBClusterParameterGroup"]
        found = rds.describe_db_cluster_parameters(DBClusterParameterGroupName=name)["Parameters"]
    else:
        name = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["DBParameterGroups"][0][
            "DBParameterGroupName"
        ]
        found = rds.describe_db_parameters(DBParameterGroupName=name)["Parameters"]
    return name, {
        p["ParameterName"]: p["ParameterValue"]
        for p in found
        if "ParameterValue" in p and (effective or p.get("Source") == "user")
    }


def mysql_grants(env: LocalDbsEnv, user: str) -> str:
    with mariadb_root_connect(env) as conn, conn.cursor() as cur:
        cur.execute("SHOW GRANTS FOR %s@'%%'", (user,))
        return " ".join(row[0] for row in cur.fetchall())


@pytest.mark.parametrize("engine", list(ENGINES))
def test_cdc_with_allow_reboot(world: LocalWorld, local_dbs: LocalDbsEnv, engine: str) -> None:
    identifier, user = fresh(engine.replace("aurora-", "au-"))
    create_db(world, local_dbs, engine, identifier)
    table = sample_table(local_dbs, engine, identifier, rows=3)
    result = onboard(world, identifier, user, allow_reboot=True)

    # ClickPipes' side, from the output only: AssumeRole with a session tag, token, verified TLS, initial load,
    # the CDC stream while the application writes, both landed in ClickHouse
    pipe = clickpipes_client.run_pipe(
        local_dbs, result.output, PRINCIPAL, DATABASE, lambda: app_changes(local_dbs, engine, table), tables=[table]
    )
    assert (pipe.rows_loaded >= 3, pipe.changes_streamed, pipe.clickhouse_rows[table]) == (True, 5, 3 + 3 - 1)
    assert [c.kind for c in pipe.changes] == ["insert"] * 3 + ["update", "delete"]
    if ENGINES[engine].server == "postgres":  # the stand-in dropped its slot
        with pg_superuser_connect(local_dbs) as conn:
            slots = "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'clickpipes_standin_%'"
            assert conn.execute(slots).fetchone() == (0,)

    names = step_names(result)
    assert [n for n in names if n in {*CDC_STEPS, "RebootDb"}] == [
        "ConfigureCdcParameters",
        "RebootDb",
        "ConfigureCdcDatabase",
    ]
    assert result.output["pipe_modes"] == ["initial_load", "cdc"]
    kind = ENGINES[engine].kind
    group, values = parameter_group(world, engine, identifier)
    assert group == f"clickpipes-{kind}-{identifier}"
    if ENGINES[engine].server == "postgres":
        assert values == {"rds.logical_replication": "1", "rds.iam_auth_for_replication": "1"}
        with pg_superuser_connect(local_dbs, dbname=DATABASE) as conn:  # the DB's initial database
            assert conn.execute("SELECT pg_has_role(%s, 'rds_replication', 'MEMBER')", (user,)).fetchone() == (True,)
            assert conn.execute("SELECT has_schema_privilege(%s, 'public', 'USAGE')", (user,)).fetchone() == (True,)
            default_select = conn.execute(
                "SELECT count(*) FROM pg_default_acl d, aclexplode(d.defaclacl) a"
                " WHERE d.defaclnamespace = 'public'::regnamespace AND d.defaclobjtype = 'r'"
                " AND a.grantee = %s::regrole AND a.privilege_type = 'SELECT'",
                (user,),
            ).fetchone()
            assert default_select == (1,), "future tables of public are readable by the new user"
            assert conn.execute("SELECT count(*) FROM pg_publication WHERE pubname = 'clickpipes'").fetchone() == (1,)
    else:
        values = parameter_group(world, engine, identifier, effective=True)[1]
        assert values["binlog_format"] == "ROW"
        if engine == "mariadb":  # RDS for MariaDB groups have no binlog_row_image (the server's default FULL applies)
            assert "binlog_row_image" not in values
        else:
            assert values["binlog_row_image"] == "FULL"
        assert not {"gtid-mode", "enforce_gtid_consistency"} & set(parameter_group(world, engine, identifier)[1])
        grants = mysql_grants(local_dbs, user)
        assert "REPLICATION SLAVE" in grants
        assert "REPLICATION CLIENT" in grants or "BINLOG MONITOR" in grants  # MariaDB 10.5+ renamed it
        with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
            cur.execute("CALL mysql.rds_show_configuration()")
            config = {row[0]: row[1] for row in cur.fetchall()}
        assert str(config["binlog retention hours"]) == "72"


@pytest.mark.parametrize("engine", ["postgres", "mysql", "aurora-postgresql"])
def test_cdc_without_allow_reboot_leaves_the_reboot_to_the_user(
    world: LocalWorld, local_dbs: LocalDbsEnv, engine: str
) -> None:
    identifier, user = fresh("noreboot")
    create_db(world, local_dbs, engine, identifier)
    result = onboard(world, identifier, user)
    assert "RebootDb" not in step_names(result)
    assert all(step in step_names(result) for step in CDC_STEPS)
    assert result.output["pipe_modes"] == ["initial_load"]
    assert any("CDC needs a reboot" in w and "allow_reboot: true" in w for w in result.output["warnings"])


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_cdc_off(world: LocalWorld, local_dbs: LocalDbsEnv, engine: str) -> None:
    """cdc: false: no CDC parameters, no reboot, no ConfigureCdcDatabase; CreateDbUser grants what an initial load
    reads with (nothing for replication); a re-run changes nothing; the offboarding takes the grants away."""
    identifier, user = fresh("nocdc")
    create_db(world, local_dbs, engine, identifier)
    table = sample_table(local_dbs, engine, identifier, rows=3)
    plan = onboard(world, identifier, user, cdc=False, plan_only=True)
    result = onboard(world, identifier, user, cdc=False)
    assert [s for s in dict.fromkeys(step_names(result)) if s not in ("Start", "WaitForDb")] == [
        "ResolveTarget",
        "EnableIamAuth",
        "CheckDbStatus",
        "IsDbReady",
        "CreateDbUser",  # and the read grants
        "CreateIamRole",
        "CdcRequested",
        "RecordResult",
        "ClickPipeRequested",
        "Succeeded",
    ]
    assert result.output["pipe_modes"] == ["initial_load"]
    assert parameter_group(world, engine, identifier)[0].startswith("default.")
    reads = [c for c in result.output["changes"] if "SELECT" in c or "USAGE ON SCHEMA" in c]
    if ENGINES[engine].server == "postgres":
        assert [c.split(" TO ")[0] for c in reads] == [  # USAGE on public: PUBLIC has it already
            'GRANT SELECT ON ALL TABLES IN SCHEMA "public"',
            'ALTER DEFAULT PRIVILEGES IN SCHEMA "public" GRANT SELECT ON TABLES',
        ]
    else:
        assert reads == [f"GRANT SELECT ON `{DATABASE}`.* TO '{user}'@'%'"]
    assert not any("replication" in c.lower() or "PUBLICATION" in c or "binlog" in c for c in result.output["changes"])
    assert all(c in plan.output["changes"] for c in reads)  # plan_only listed them
    token = clickpipes_client.auth_token(dict(result.output), PRINCIPAL)
    assert clickpipes_client.initial_load(local_dbs, dict(result.output), token, DATABASE).rows[table] == 3
    again = onboard(world, identifier, user, cdc=False)
    assert not [c for c in again.output["changes"] if "SELECT" in c or "USAGE ON SCHEMA" in c]  # idempotent

    off = world.run("OffboardingStateMachine", {"db_identifier": identifier}, timeout=120)
    assert off.status == "SUCCEEDED", (off.error, off.cause)
    if ENGINES[engine].server == "postgres":  # DROP ROLE fails while a grant or default privilege names the user
        with pg_superuser_connect(local_dbs) as conn:
            assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone() is None
    else:
        with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM mysql.db WHERE User = %s", (user,))
            assert cur.fetchone() == (0,)


def aws_state(world: LocalWorld) -> Any:
    rds, iam = world.rds, world.client("iam")
    instances = [
        (
            d["DBInstanceIdentifier"],
            d["IAMDatabaseAuthenticationEnabled"],
            d["DBParameterGroups"],
            d["BackupRetentionPeriod"],
        )
        for d in rds.describe_db_instances()["DBInstances"]
    ]
    clusters = [
        (d["DBClusterIdentifier"], d["IAMDatabaseAuthenticationEnabled"], d["DBClusterParameterGroup"])
        for d in rds.describe_db_clusters()["DBClusters"]
    ]
    tags = [
        rds.list_tags_for_resource(ResourceName=d["DBInstanceArn"])["TagList"]
        for d in rds.describe_db_instances()["DBInstances"]
    ]
    groups = (
        rds.describe_db_parameter_groups()["DBParameterGroups"]
        + rds.describe_db_cluster_parameter_groups()["DBClusterParameterGroups"]
    )
    return instances, clusters, tags, groups, iam.list_roles()["Roles"]


def catalogs(env: LocalDbsEnv) -> Any:
    with pg_superuser_connect(env, dbname=DATABASE) as conn:  # roles are global; the rest is per database
        pg = [
            conn.execute("SELECT rolname, rolcanlogin FROM pg_roles ORDER BY 1").fetchall(),
            conn.execute(
                "SELECT roleid::regrole::text, member::regrole::text FROM pg_auth_members ORDER BY 1, 2"
            ).fetchall(),
            conn.execute("SELECT pubname, puballtables FROM pg_publication ORDER BY 1").fetchall(),
            conn.execute(
                "SELECT pubname, schemaname, tablename FROM pg_publication_tables ORDER BY 1, 2, 3"
            ).fetchall(),
            conn.execute("SELECT nspname, nspacl::text FROM pg_namespace ORDER BY 1").fetchall(),
            conn.execute(
                "SELECT defaclnamespace::regnamespace::text, defaclacl::text FROM pg_default_acl ORDER BY 1, 2"
            ).fetchall(),
        ]
    with mariadb_root_connect(env) as conn, conn.cursor() as cur:
        cur.execute("SELECT User, Host, plugin FROM mysql.user ORDER BY 1, 2")
        users = cur.fetchall()
        cur.execute("SELECT * FROM mysql.db ORDER BY 1, 2, 3")
        db_grants = cur.fetchall()
        cur.execute("CALL mysql.rds_show_configuration()")
        config = cur.fetchall()
    return pg, users, db_grants, config


@pytest.mark.parametrize("engine", list(ENGINES))
def test_plan_only_changes_nothing(world: LocalWorld, local_dbs: LocalDbsEnv, engine: str) -> None:
    identifier, user = fresh("plan")
    create_db(world, local_dbs, engine, identifier)
    aws_before, db_before = aws_state(world), catalogs(local_dbs)

    result = onboard(world, identifier, user, plan_only=True, allow_reboot=True)

    assert (aws_state(world), catalogs(local_dbs)) == (aws_before, db_before)
    output = result.output
    assert output["plan_only"] is True
    changes = "\n".join(output["changes"])
    assert "EnableIAMDatabaseAuthentication=true" in changes
    assert user in changes  # CREATE USER …
    assert "CreateRole /clickpipes/" in changes
    assert "clickpipes-" in changes  # the parameter group
    assert "RebootDb" not in step_names(result)
    assert "WaitForDb" not in step_names(result)
