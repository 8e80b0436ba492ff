"""RDS control plane: describe, modify, tag. Returns plain models, never boto3 shapes."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from clickpipes.aws.clients import client, error_code, transient_faults
from clickpipes.errors import TransientError
from clickpipes.models import DbDescription
from clickpipes.rules import DbKind

NOT_FOUND = {"DBInstanceNotFound", "DBInstanceNotFoundFault", "DBClusterNotFoundFault", "DBClusterNotFound"}
BUSY = {"InvalidDBInstanceState", "InvalidDBInstanceStateFault", "InvalidDBClusterStateFault"}


class RdsGateway:
    def __init__(self, rds: Any | None = None) -> None:
        self._rds = rds or client("rds")

    def describe(self, kind: DbKind, identifier: str) -> DbDescription | None:
        """The DB of that kind and identifier, or None when there is none."""
        with transient_faults(f"describe DB {kind} {identifier}"):
            try:
                if kind == "instance":
                    found = self._rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
                    return _instance(found[0]) if found else None
                found = self._rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
                return _cluster(found[0]) if found else None
            except ClientError as exc:
                if error_code(exc) in NOT_FOUND:
                    return None
                raise

    def enable_iam_auth(self, kind: DbKind, identifier: str) -> None:
        """Turn on IAM DB authentication now; touches no other setting. A busy DB is a TransientError."""
        with transient_faults(f"modify DB {kind} {identifier}"):
            try:
                if kind == "instance":
                    self._rds.modify_db_instance(
                        DBInstanceIdentifier=identifier, EnableIAMDatabaseAuthentication=True, ApplyImmediately=True
                    )
                else:
                    self._rds.modify_db_cluster(
                        DBClusterIdentifier=identifier, EnableIAMDatabaseAuthentication=True, ApplyImmediately=True
                    )
            except ClientError as exc:
                if error_code(exc) in BUSY:
                    raise TransientError(f"DB {kind} {identifier} is busy ({error_code(exc)}); will retry.") from exc
                raise

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        with transient_faults(f"tag {arn}"):
            self._rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    def tags(self, arn: str) -> dict[str, str]:
        with transient_faults(f"list tags of {arn}"):
            listed = self._rds.list_tags_for_resource(ResourceName=arn)["TagList"]
        return {t["Key"]: t["Value"] for t in listed}


def _pending(values: dict[str, Any] | None) -> list[str]:
    return sorted(k for k, v in (values or {}).items() if v not in (None, [], {}, ""))


def _instance(d: dict[str, Any]) -> DbDescription:
    endpoint = d.get("Endpoint") or {}
    return DbDescription(
        kind="instance",
        identifier=d["DBInstanceIdentifier"],
        arn=d["DBInstanceArn"],
        engine=d["Engine"],
        engine_version=d.get("EngineVersion", ""),
        status=d.get("DBInstanceStatus", ""),
        resource_id=d["DbiResourceId"],
        endpoint=endpoint.get("Address", ""),
        port=int(endpoint.get("Port") or d.get("DbInstancePort") or 0),
        iam_auth_enabled=bool(d.get("IAMDatabaseAuthenticationEnabled")),
        master_secret_arn=(d.get("MasterUserSecret") or {}).get("SecretArn"),
        cluster_identifier=d.get("DBClusterIdentifier"),
        engine_mode=None,
        database=d.get("DBName"),
        pending_modifications=_pending(d.get("PendingModifiedValues")),
    )


def _cluster(d: dict[str, Any]) -> DbDescription:
    return DbDescription(
        kind="cluster",
        identifier=d["DBClusterIdentifier"],
        arn=d["DBClusterArn"],
        engine=d["Engine"],
        engine_version=d.get("EngineVersion", ""),
        status=d.get("Status", ""),
        resource_id=d["DbClusterResourceId"],
        endpoint=d.get("Endpoint", ""),
        port=int(d.get("Port") or 0),
        iam_auth_enabled=bool(d.get("IAMDatabaseAuthenticationEnabled")),
        master_secret_arn=(d.get("MasterUserSecret") or {}).get("SecretArn"),
        cluster_identifier=None,
        engine_mode=d.get("EngineMode"),
        database=d.get("DatabaseName"),
        pending_modifications=_pending(d.get("PendingModifiedValues")),
    )
