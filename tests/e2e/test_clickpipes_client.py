"""ClickPipes' side of an onboarding, refused where AWS would refuse it: the stand-in client
(tests/harness/clickpipes_client.py) against the onboarded role after one thing was made wrong."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import psycopg
import pymysql
import pytest
from botocore.exceptions import ClientError

from tests.dbs.servers import LocalDbsEnv
from tests.e2e.scenario import DATABASE, PRINCIPAL, STATE_MACHINE, create_db, fresh, sample_table
from tests.harness import clickpipes_client
from tests.harness.local_aws import LocalWorld

pytestmark = pytest.mark.e2e
LOGIN_REFUSED = (psycopg.OperationalError, pymysql.err.OperationalError)


def onboarded(world: LocalWorld, env: LocalDbsEnv, engine: str) -> tuple[dict[str, Any], str]:
    identifier, user = fresh(f"cli-{engine[:5]}")
    create_db(world, env, engine, identifier)
    table = sample_table(env, engine, identifier, rows=2)
    request = {"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL, "db_user": user, "allow_reboot": True}
    result = world.run(STATE_MACHINE, request, timeout=120)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return dict(result.output), table


def role_name(output: dict[str, Any]) -> str:
    return str(output["role_arn"].rsplit("/", 1)[1])


@pytest.mark.parametrize("engine", ["postgres", "mariadb"])
def test_client_refusals(world: LocalWorld, local_dbs: LocalDbsEnv, engine: str) -> None:
    output, table = onboarded(world, local_dbs, engine)
    iam = world.client("iam")
    name = role_name(output)
    assert (
        clickpipes_client.initial_load(
            local_dbs, output, clickpipes_client.auth_token(output, PRINCIPAL), DATABASE
        ).rows[table]
        == 2
    )

    # a stale token (signed 16 minutes ago)
    stale = clickpipes_client.auth_token(
        output, PRINCIPAL, signed_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
    )
    with pytest.raises(LOGIN_REFUSED):
        clickpipes_client.initial_load(local_dbs, output, stale, DATABASE)

    # the policy names another DB's resource id
    policy = iam.get_role_policy(RoleName=name, PolicyName="clickpipes-rds-db-connect")["PolicyDocument"]
    other = json.loads(json.dumps(policy).replace(output["resource_id"], "db-ANOTHERDBRESOURCEID0000000"))
    iam.put_role_policy(RoleName=name, PolicyName="clickpipes-rds-db-connect", PolicyDocument=json.dumps(other))
    with pytest.raises(LOGIN_REFUSED):
        clickpipes_client.initial_load(local_dbs, output, clickpipes_client.auth_token(output, PRINCIPAL), DATABASE)
    iam.put_role_policy(RoleName=name, PolicyName="clickpipes-rds-db-connect", PolicyDocument=json.dumps(policy))

    # a boundary that denies rds-db:connect
    boundary = iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
    deny = iam.create_policy(
        PolicyName=f"deny-{name}",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "rds:Describe*", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=deny)
    with pytest.raises(LOGIN_REFUSED):
        clickpipes_client.initial_load(local_dbs, output, clickpipes_client.auth_token(output, PRINCIPAL), DATABASE)
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=boundary)

    # a trust without sts:TagSession: ClickPipes' tagged AssumeRole is refused
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": PRINCIPAL}, "Action": "sts:AssumeRole"}],
    }
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
    with pytest.raises(ClientError, match="sts:TagSession"):
        clickpipes_client.auth_token(output, PRINCIPAL)
