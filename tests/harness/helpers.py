"""RDS setup shortcuts for tests that use the local world."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
