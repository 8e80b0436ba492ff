"""RDS setup shortcuts for tests that use the local world."""

from __future__ import annotations

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


class InAccount:
    """The world seen from one account and region, for test setup and inspection: clients whose credentials moto
    maps to that account (an AssumeRole of a role that need not exist there: moto answers it). ``create_db``-style
    helpers that take a world and use ``.rds`` and ``.client`` work on it too."""

    def __init__(self, world: LocalWorld, account: str, region: str) -> None:
        self.account, self.region = account, region
        credentials = world.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/test-setup", RoleSessionName="test-setup"
        )["Credentials"]
        self._session = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service)  # type: ignore[call-overload]
        return self._clients[service]

    @property
    def rds(self) -> Any:
        return self.client("rds")
