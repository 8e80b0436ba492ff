"""RDS patches: DbiResourceId, the cluster IAM flag, the MariaDB default version."""

from __future__ import annotations

import base64
import hashlib
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from unittest import mock

from tests.harness.patches.registry import _moto_patch

if TYPE_CHECKING:
    from tests.harness.local_aws import LocalWorld


# --- RDS --------------------------------------------------------------------------------------------


def fake_dbi_resource_id(db_instance_identifier: str) -> str:
    """Deterministic ``DbiResourceId`` for an instance: ``db-`` + 26 uppercase base32 chars, like AWS."""
    digest = hashlib.sha256(db_instance_identifier.encode()).digest()
    return "db-" + base64.b32encode(digest).decode()[:26]


@_moto_patch(
    "rds_dbi_resource_id",
    gap="every DB instance gets the same DbiResourceId (db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U), so IAM "
    "rds-db:connect resource ARNs (which use it) cannot tell databases apart",
    touches="moto.rds.models.DBInstance.__init__ (sets dbi_resource_id = fake_dbi_resource_id(identifier))",
)
def _patch_rds_dbi_resource_id(stack: ExitStack, world: LocalWorld) -> None:
    from moto.rds.models import DBInstance

    original = DBInstance.__init__

    def __init__(self: DBInstance, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.dbi_resource_id = fake_dbi_resource_id(self.db_instance_identifier)

    stack.enter_context(mock.patch.object(DBInstance, "__init__", __init__))


@_moto_patch(
    "rds_cluster_iam_flag",
    gap="ModifyDBCluster(EnableIAMDatabaseAuthentication=...) is accepted but DescribeDBClusters keeps "
    "IAMDatabaseAuthenticationEnabled unchanged (and so do the cluster's Aurora instances, which on "
    "AWS mirror the cluster's setting)",
    touches="moto.rds.models.RDSBackend.modify_db_cluster (also sets DBCluster.iam_auth); "
    "DBInstanceClustered.iam_database_authentication_enabled (reads the cluster's flag)",
)
def _patch_rds_cluster_iam_flag(stack: ExitStack, world: LocalWorld) -> None:
    from moto.rds.models import DBCluster, DBInstanceClustered, RDSBackend

    original = RDSBackend.modify_db_cluster

    def modify_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> DBCluster:
        flag = kwargs.get("enable_iam_database_authentication")
        if flag is not None:
            kwargs["iam_auth"] = bool(flag)  # moto copies every kwarg onto the cluster (and its copy)
        return original(self, kwargs)

    stack.enter_context(mock.patch.object(RDSBackend, "modify_db_cluster", modify_db_cluster))
    stack.enter_context(
        mock.patch.object(
            DBInstanceClustered,
            "iam_database_authentication_enabled",
            property(lambda self: bool(self.cluster.iam_auth)),
            create=True,
        )
    )


@_moto_patch(
    "rds_mariadb_default_version",
    gap="CreateDBInstance(Engine='mariadb') without EngineVersion fails with KeyError 'mariadb' (no default)",
    touches="moto.rds.models.DBInstance.default_engine_versions (adds mariadb: 10.11.9)",
)
def _patch_rds_mariadb_default_version(stack: ExitStack, world: LocalWorld) -> None:
    from moto.rds.models import DBInstance

    stack.enter_context(mock.patch.dict(DBInstance.default_engine_versions, {"mariadb": "10.11.9"}))
