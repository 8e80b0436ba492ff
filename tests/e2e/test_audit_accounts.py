"""e2e: the audit across accounts and regions on the local world (moto's multi-account through the member role, the
real audit and onboarding state machines, the real DB servers). DBs onboarded in a member account and in another
region of the stack's own account drift there (a managed policy attached to the role in the member account, the
user's password back on the server, IAM auth turned off in the other region, a member DB deleted); the scheduled
audit's input (``{}``) finds each in its own account and region, tags it there, and its repair puts it back there
(the role's extra policy detached and the orphan role deleted in the member account). An account outside
MemberAccounts is never listed nor touched, and naming it is AccountNotAllowedError."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError

from tests.dbs.servers import LocalDbsEnv, mariadb_root_connect
from tests.e2e.scenario import AUDIT, PRINCIPAL, STATE_MACHINE, audit, by_db, create_db, deploy, fresh
from tests.harness.execution import ExecutionResult
from tests.harness.helpers import InAccount
from tests.harness.local_aws import LocalWorld, RunningExecution
from tests.harness.member import DEFAULT_MEMBER_ROLE, deploy_member

pytestmark = pytest.mark.e2e
HOME = "123456789012"  # the world's account: the central stack's
MEMBER = "210987654321"
OUTSIDER = "999999999999"  # not in MemberAccounts
REGIONS = ("us-east-1", "us-west-2")


@pytest.fixture(scope="module")
def world(local_dbs: LocalDbsEnv) -> Iterator[LocalWorld]:
    with LocalWorld() as local_world:
        deploy(
            local_world,
            local_dbs,
            MemberRoleName=DEFAULT_MEMBER_ROLE,
            MemberAccounts=[MEMBER],
            AuditRegions=list(REGIONS),
        )
        callers = local_world.deployments[-1].app.output("MemberCallerRoleArns").split(",")
        deploy_member(local_world, MEMBER, central_role_arns=callers, regions=REGIONS)
        yield local_world


def db_arn(db: dict[str, Any]) -> str:
    return str(db.get("DBClusterArn") or db["DBInstanceArn"])


def onboard(world: LocalWorld, local_dbs: LocalDbsEnv, place: InAccount, engine: str, prefix: str) -> dict[str, Any]:
    identifier, user = fresh(prefix)
    arn = db_arn(create_db(cast("LocalWorld", place), local_dbs, engine, identifier))
    result = world.run(
        STATE_MACHINE,
        {"db_identifier": arn, "clickhouse_role_arn": PRINCIPAL, "db_user": user, "cdc": False},
        timeout=120,
    )
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    role = str(result.output["role_arn"])
    assert role.split(":")[4] == place.account
    return {"place": place, "identifier": identifier, "arn": arn, "user": user, "role": role.rsplit("/", 1)[1]}


def tags_of(case: dict[str, Any]) -> dict[str, str]:
    rds = case["place"].rds
    return {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=case["arn"])["TagList"]}


def finished(world: LocalWorld, name: str) -> ExecutionResult:
    arn = world.state_machine_arn(STATE_MACHINE).replace(":stateMachine:", ":execution:") + f":{name}"
    return RunningExecution(world, arn, world.api_calls, 0.0).wait(timeout=180)


def outsider_world(world: LocalWorld, local_dbs: LocalDbsEnv) -> dict[str, Any]:
    """In an account outside MemberAccounts: a DB tagged as onboarded (IAM auth off: drift, were it audited) and a
    role under /clickpipes/ naming a DB that does not exist there (an orphan, were it audited)."""
    place = InAccount(world, OUTSIDER, "us-east-1")
    identifier, _ = fresh("au-out")
    arn = db_arn(create_db(cast("LocalWorld", place), local_dbs, "postgres", identifier))
    place.rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "clickpipes:status", "Value": "ready"}])
    gone = f"arn:aws:rds:us-east-1:{OUTSIDER}:db:{identifier}-gone"
    role = f"clickpipes-{identifier}-gone"
    place.client("iam").create_role(
        RoleName=role,
        Path="/clickpipes/",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        Tags=[{"Key": "clickpipes:db-arn", "Value": gone}],
    )
    return {"place": place, "identifier": identifier, "arn": arn, "role": role}


def test_the_audit_finds_and_repairs_drift_in_each_dbs_own_account_and_region(
    world: LocalWorld, local_dbs: LocalDbsEnv
) -> None:
    member_west, member_east = InAccount(world, MEMBER, "us-west-2"), InAccount(world, MEMBER, "us-east-1")
    home_west = InAccount(world, HOME, "us-west-2")
    cases = {
        "policy": onboard(world, local_dbs, member_west, "postgres", "au-mpol"),
        "password": onboard(world, local_dbs, member_east, "mariadb", "au-mpw"),
        "iam-auth": onboard(world, local_dbs, home_west, "postgres", "au-hiam"),
        "deleted": onboard(world, local_dbs, member_west, "postgres", "au-mdel"),
    }
    outsider = outsider_world(world, local_dbs)
    clean = audit(world)  # the scheduled audit's input: every account and region the stack serves
    assert {db["db_identifier"]: (db["account"], db["region"], db["status"]) for db in clean.output["databases"]} == {
        case["identifier"]: (case["place"].account, case["place"].region, "ok") for case in cases.values()
    }

    # drift, each in its DB's own account and region
    member_iam = member_west.client("iam")
    extra = member_iam.create_policy(
        PolicyName="SomeonesAdministratorAccess",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    member_iam.attach_role_policy(RoleName=cases["policy"]["role"], PolicyArn=extra)
    with mariadb_root_connect(local_dbs) as conn, conn.cursor() as cur:
        cur.execute("ALTER USER %s@'%%' IDENTIFIED BY 'a-password-again-1'", (cases["password"]["user"],))
    home_west.rds.modify_db_instance(
        DBInstanceIdentifier=cases["iam-auth"]["identifier"],
        EnableIAMDatabaseAuthentication=False,
        ApplyImmediately=True,
    )
    member_west.rds.delete_db_instance(DBInstanceIdentifier=cases["deleted"]["identifier"], SkipFinalSnapshot=True)

    result = audit(world)
    dbs = by_db(result)
    assert outsider["identifier"] not in dbs
    found = {
        name: (
            dbs[case["identifier"]]["account"],
            dbs[case["identifier"]]["region"],
            dbs[case["identifier"]]["status"],
            {f["check"] for f in dbs[case["identifier"]]["findings"]},
        )
        for name, case in cases.items()
    }
    assert found == {
        "policy": (MEMBER, "us-west-2", "drifted", {"role-managed-policies"}),
        "password": (MEMBER, "us-east-1", "drifted", {"db-user"}),
        "iam-auth": (HOME, "us-west-2", "drifted", {"iam-auth"}),
        "deleted": (MEMBER, "us-west-2", "gone", {"db-exists"}),
    }, result.output["databases"]
    assert set(dbs) == {case["identifier"] for case in cases.values()}  # nothing of the outsider, listed or orphaned
    assert dbs[cases["policy"]["identifier"]]["role_arn"].split(":")[4] == MEMBER
    assert tags_of(cases["policy"])["clickpipes:drift"] == "role-managed-policies"  # tagged in the member account
    assert tags_of(cases["iam-auth"])["clickpipes:drift"] == "iam-auth"  # and in the other region

    repaired = audit(world, repair=True, delete_orphans=True)
    started = {db["db_identifier"]: db.get("repair") or "" for db in repaired.output["databases"]}
    assert f"detached {extra}" in started[cases["policy"]["identifier"]]
    assert started[cases["deleted"]["identifier"]].endswith("deleted"), started
    for name in ("policy", "password", "iam-auth"):
        execution = re.search(r"onboarding (\S+) started", started[cases[name]["identifier"]])
        assert execution, (name, started)
        assert finished(world, execution[1]).status == "SUCCEEDED", name
    assert member_iam.list_attached_role_policies(RoleName=cases["policy"]["role"])["AttachedPolicies"] == []
    with pytest.raises(ClientError):
        member_iam.get_role(RoleName=cases["deleted"]["role"])
    db = home_west.rds.describe_db_instances(DBInstanceIdentifier=cases["iam-auth"]["identifier"])["DBInstances"][0]
    assert db["IAMDatabaseAuthenticationEnabled"] is True

    again = by_db(audit(world))
    assert {name: (db["status"], db["findings"]) for name, db in again.items()} == {
        cases[name]["identifier"]: ("ok", []) for name in ("policy", "password", "iam-auth")
    }
    assert "clickpipes:drift" not in tags_of(cases["policy"])
    # the outsider's DB and role, as they were: never tagged, never deleted
    assert "clickpipes:drift" not in tags_of(outsider)
    assert outsider["place"].client("iam").get_role(RoleName=outsider["role"])["Role"]["Path"] == "/clickpipes/"


def test_naming_an_account_outside_member_accounts_is_refused_before_any_call_there(
    world: LocalWorld, local_dbs: LocalDbsEnv
) -> None:
    outsider = outsider_world(world, local_dbs)
    assumed = world.api_calls["sts.AssumeRole"]
    for request in ({"accounts": [OUTSIDER]}, {"db_identifiers": [outsider["arn"]]}):
        result = world.run(AUDIT, request, timeout=60)
        assert (result.status, result.error) == ("FAILED", "AccountNotAllowedError"), request
        assert f"account {OUTSIDER} is not in MemberAccounts" in (result.cause or "")
    assert world.api_calls["sts.AssumeRole"] == assumed  # no call into that account was even tried
    assert "clickpipes:drift" not in tags_of(outsider)
