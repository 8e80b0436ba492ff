"""RDS setup shortcuts for tests that use the local world, and sessions acting in another of its accounts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3

from .local_aws import LocalWorld

SAMPLE_TEMPLATE = Path(__file__).parent / "sample_app" / "template.yaml"


def create_instance(world: LocalWorld, identifier: str, engine: str = "postgres", **kwargs: Any) -> dict[str, Any]:
    """A DB instance created the way a test would in AWS (moto fills in the rest)."""
    return world.client("rds").create_db_instance(  # type: ignore[no-any-return]
        DBInstanceIdentifier=identifier,
        Engine=engine,
        DBInstanceClass="db.t3.micro",
        MasterUsername="admin_user",
        MasterUserPassword="password123",
        AllocatedStorage=20,
        **kwargs,
    )["DBInstance"]


def create_cluster(
    world: LocalWorld, identifier: str, engine: str = "aurora-postgresql", **kwargs: Any
) -> dict[str, Any]:
    """A cluster plus one member instance ``<identifier>-1``."""
    cluster: dict[str, Any] = world.client("rds").create_db_cluster(
        DBClusterIdentifier=identifier,
        Engine=engine,
        MasterUsername="admin_user",
        MasterUserPassword="password123",
        **kwargs,
    )["DBCluster"]
    world.rds.create_db_instance(
        DBInstanceIdentifier=f"{identifier}-1",
        DBClusterIdentifier=identifier,
        Engine=engine,
        DBInstanceClass="db.r6g.large",
    )
    return cluster


def session_with(credentials: Mapping[str, Any], region: str) -> boto3.session.Session:
    """A session with STS credentials (AssumeRole's ``Credentials``)."""
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def account_session(
    account: str, region: str = "us-east-1", *, role: str = "test-setup", sts: Any | None = None
) -> boto3.session.Session:
    """A session acting in ``account`` of the running moto: an AssumeRole of ``role`` there, which need not exist
    (moto answers it, and maps the credentials to the role's account). ``sts``: the client to ask (default: one
    with the process's credentials)."""
    sts = sts or boto3.session.Session().client("sts", region_name=region)
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName=role)["Credentials"]
    return session_with(credentials, region)


class InAccount:
    """The world seen from one account and region, for test setup and inspection: clients whose credentials moto
    maps to that account (an AssumeRole of a role that need not exist there: moto answers it). ``create_db``-style
    helpers that take a world and use ``.rds`` and ``.client`` work on it too."""

    def __init__(self, world: LocalWorld, account: str, region: str) -> None:
        self.account, self.region = account, region
        self._session = account_session(account, region, sts=world.client("sts"))
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service)  # type: ignore[call-overload]
        return self._clients[service]

    @property
    def rds(self) -> Any:
        return self.client("rds")
