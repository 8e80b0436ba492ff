"""The local IAM behind the verifier (tests/harness/iam_authority.py) and the STS trust patch: a token is
accepted only when what signed it may ``rds-db:connect`` on exactly this DB user, as RDS asks IAM."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.dbs.servers import LocalDbsEnv, pg_login_with_token
from tests.harness import clickpipes_client
from tests.harness.iam_authority import IamAuthority, decide
from tests.harness.local_aws import LocalWorld
from tests.harness.patches.sts import caller_role_arn, trust_allows

REGION = "us-east-1"
CLICKHOUSE = "arn:aws:iam::111122223333:role/CH-S3-orange-ab-12-Role"  # another account: not in the world
TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": CLICKHOUSE}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
    ],
}


def _policy(resource: str, action: str = "rds-db:connect", effect: str = "Allow") -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action, "Resource": resource}]}
    )


@dataclass
class Db:
    world: LocalWorld
    address: str
    port: int
    resource_id: str
    account: str

    def dbuser(self, user: str, resource_id: str | None = None) -> str:
        return f"arn:aws:rds-db:{REGION}:{self.account}:dbuser:{resource_id or self.resource_id}/{user}"

    def role(self, name: str, *, policy: str | None, trust: dict[str, Any] = TRUST, boundary: str | None = None) -> str:
        iam = self.world.client("iam")
        extra = {"PermissionsBoundary": boundary} if boundary else {}
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), **extra)["Role"]["Arn"]
        if policy is not None:
            iam.put_role_policy(RoleName=name, PolicyName="connect", PolicyDocument=policy)
        return str(arn)

    def boundary(self, name: str, document: str) -> str:
        return str(self.world.client("iam").create_policy(PolicyName=name, PolicyDocument=document)["Policy"]["Arn"])


def token_as(role_arn: str, db: Db, user: str, *, tags: bool = True, address: str | None = None) -> str:
    """What ClickPipes does (the stand-in client): AssumeRole, with a session tag, then sign for the endpoint."""
    output = {"role_arn": role_arn, "endpoint": address or db.address, "port": db.port, "db_user": user}
    return clickpipes_client.auth_token(output, CLICKHOUSE, region=REGION, tag_session=tags)


@pytest.fixture
def db(world: LocalWorld) -> Db:
    instance = world.rds.create_db_instance(
        DBInstanceIdentifier="orders-pg",
        Engine="postgres",
        EngineVersion="16.4",
        DBInstanceClass="db.t3.micro",
        MasterUsername="m",
        MasterUserPassword="p" * 12,
        AllocatedStorage=20,
    )["DBInstance"]
    account = instance["DBInstanceArn"].split(":")[4]
    return Db(world, instance["Endpoint"]["Address"], instance["Endpoint"]["Port"], instance["DbiResourceId"], account)


def test_positive_the_role_with_the_policy_and_a_boundary_that_allows(db: Db) -> None:
    boundary = db.boundary("b", _policy("arn:aws:rds-db:*:*:dbuser:*/*"))
    role = db.role("ok", policy=_policy(db.dbuser("alice")), boundary=boundary)
    token = token_as(role, db, "alice")
    assert "X-Amz-Security-Token=" in token
    assert len(token) > 511
    decision = decide(token, "alice")
    assert decision.allowed, decision.reason


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("wrong resource id", "does not allow rds-db:connect"),
        ("wrong user", "does not allow rds-db:connect"),
        ("role without policy", "does not allow rds-db:connect"),
        ("policy denies", "denies rds-db:connect"),
        ("boundary denies", "permissions boundary"),
        ("expired", "token expired"),
        ("another endpoint", "no DB has the endpoint"),
    ],
)
def test_refusals(db: Db, case: str, reason: str) -> None:
    policy: str | None = _policy(db.dbuser("alice"))
    boundary = None
    if case == "wrong resource id":
        policy = _policy(db.dbuser("alice", "db-ANOTHERDBRESOURCEID0000000"))
    elif case == "role without policy":
        policy = None
    elif case == "policy denies":
        policy = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    json.loads(_policy(db.dbuser("alice")))["Statement"][0],
                    json.loads(_policy("*", effect="Deny"))["Statement"][0],
                ],
            }
        )
    elif case == "boundary denies":
        boundary = db.boundary("b", _policy("*", action="rds:Describe*"))
    role = db.role("r", policy=policy, boundary=boundary)
    user = "bob" if case == "wrong user" else "alice"
    token = token_as(
        role, db, user, address="other.aaaaaaaaaa.us-east-1.rds.amazonaws.com" if case == "another endpoint" else None
    )
    now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16) if case == "expired" else None
    decision = decide(token, user, now=now)
    assert decision.known
    assert not decision.allowed
    assert reason in decision.reason, decision.reason


def test_static_keys_and_strangers_are_not_this_worlds(db: Db) -> None:
    assert not decide(
        "h:5432/?Action=connect&X-Amz-Credential=AKIAUNKNOWN/20260101/us-east-1/rds-db/aws4_request", "a"
    ).known


def test_sts_trust_without_tag_session_refuses_a_tagged_assume_role(db: Db) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": CLICKHOUSE}, "Action": "sts:AssumeRole"}],
    }
    role = db.role("notag", policy=_policy(db.dbuser("alice")), trust=trust)
    with pytest.raises(ClientError, match="sts:TagSession") as caught:
        token_as(role, db, "alice")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert decide(token_as(role, db, "alice", tags=False), "alice").allowed  # untagged: the trust allows it


def test_sts_trust_refuses_another_principal(db: Db) -> None:
    trust = json.loads(json.dumps(TRUST))
    trust["Statement"][0]["Principal"]["AWS"] = "arn:aws:iam::444455556666:role/someone-else"
    role = db.role("other", policy=_policy(db.dbuser("alice")), trust=trust)
    with pytest.raises(ClientError, match="not authorized to perform: sts:AssumeRole"):
        token_as(role, db, "alice")


def test_trust_rules() -> None:
    caller = "arn:aws:sts::111122223333:assumed-role/CH-S3-orange-ab-12-Role/s"
    assert caller_role_arn(caller) == CLICKHOUSE
    assert trust_allows(TRUST, caller, ["sts:AssumeRole", "sts:TagSession"]) is None
    account_trust = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "sts:*"}]}
    assert trust_allows(account_trust, caller, ["sts:TagSession"]) is None
    conditioned = {"Statement": [{**TRUST["Statement"][0], "Condition": {"StringEquals": {"sts:ExternalId": "x"}}}]}
    assert trust_allows(conditioned, caller, ["sts:AssumeRole"]) == "sts:AssumeRole"
    # member/template.yaml's trust: the account's root, narrowed to exact role ARNs by aws:PrincipalArn
    root = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}
    for operator, pattern, allowed in [
        ("ArnEquals", CLICKHOUSE, True),
        ("ArnEquals", "arn:aws:iam::111122223333:role/other", False),
        ("ArnLike", "arn:aws:iam::111122223333:role/CH-S3-*", True),
        ("StringEquals", [CLICKHOUSE, "arn:aws:iam::111122223333:role/x"], True),
    ]:
        narrowed = {"Statement": [{**root, "Condition": {operator: {"aws:PrincipalArn": pattern}}}]}
        assert (trust_allows(narrowed, caller, ["sts:AssumeRole"]) is None) is allowed, (operator, pattern)


@pytest.fixture
def authority(local_dbs: LocalDbsEnv, world: LocalWorld) -> Iterator[IamAuthority]:
    with IamAuthority(Path(local_dbs.verifier_config).parent / "authorities") as running:
        yield running


@pytest.mark.usefixtures("authority")
def test_the_servers_verifier_asks_the_world_and_postgres_accepts_a_long_sts_token(
    db: Db, local_dbs: LocalDbsEnv, pg_iam_user: str
) -> None:
    """End to end through PAM (pam_rds_iam.so, no 511-byte limit) and the verifier run as the postgres user."""
    role = db.role("pg", policy=_policy(db.dbuser(pg_iam_user)))
    token = token_as(role, db, pg_iam_user)
    assert pg_login_with_token(pg_iam_user, token, env=local_dbs) == pg_iam_user
    other = db.role("pg-other", policy=_policy(db.dbuser(pg_iam_user, "db-ANOTHERDBRESOURCEID0000000")))
    refused = subprocess.run(
        ["runuser", "-u", "postgres", "--", local_dbs.verifier, "--config", local_dbs.verifier_config, pg_iam_user],
        input=token_as(other, db, pg_iam_user),
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 1, refused.stderr
    assert "IAM: the policies of" in refused.stderr


@pytest.mark.usefixtures("authority")
def test_a_replication_login_needs_the_dbs_replication_settings(
    db: Db, local_dbs: LocalDbsEnv, pg_iam_user: str
) -> None:
    """pam_rds_iam.so passes --replication for a logical replication login; the local IAM then refuses it while the
    DB has no rds.logical_replication / rds.iam_auth_for_replication in effect (here: the default group)."""
    role = db.role("pg-repl", policy=_policy(db.dbuser(pg_iam_user)))
    token = token_as(role, db, pg_iam_user)
    assert decide(token, pg_iam_user).allowed
    refused = decide(token, pg_iam_user, replication=True)
    assert (refused.known, refused.allowed) == (True, False)
    assert "rds.logical_replication is not in effect" in refused.reason
    verifier = ["runuser", "-u", "postgres", "--", local_dbs.verifier, "--config", local_dbs.verifier_config]
    run = subprocess.run(
        [*verifier, "--replication", pg_iam_user], input=token, capture_output=True, text=True, check=False
    )
    assert run.returncode == 1, run.stderr
    assert "replication login refused" in run.stderr
    assert (
        subprocess.run([*verifier, pg_iam_user], input=token, capture_output=True, text=True, check=False).returncode
        == 0
    )
