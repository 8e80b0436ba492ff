"""RDS control plane: describe, modify, tag. Returns plain models, never boto3 shapes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from clickpipes.aws.clients import client, error_code, transient_faults
from clickpipes.errors import DbNotFoundError, TransientError
from clickpipes.models import DbDescription
from clickpipes.rules import DbKind, ParameterInfo

NOT_FOUND = {"DBInstanceNotFound", "DBInstanceNotFoundFault", "DBClusterNotFoundFault", "DBClusterNotFound"}
BUSY = {"InvalidDBInstanceState", "InvalidDBInstanceStateFault", "InvalidDBClusterStateFault"}
GROUP_NOT_FOUND = {"DBParameterGroupNotFound", "DBParameterGroupNotFoundFault", "DBClusterParameterGroupNotFound"}


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
        self.set_iam_auth(kind, identifier, enabled=True)

    def set_iam_auth(self, kind: DbKind, identifier: str, *, enabled: bool) -> None:
        """IAM DB authentication on or off, applied immediately (which also applies pending modifications: the
        callers check there are none of someone else's). A busy DB is a TransientError."""
        with transient_faults(f"modify DB {kind} {identifier}"):
            try:
                if kind == "instance":
                    self._rds.modify_db_instance(
                        DBInstanceIdentifier=identifier, EnableIAMDatabaseAuthentication=enabled, ApplyImmediately=True
                    )
                else:
                    self._rds.modify_db_cluster(
                        DBClusterIdentifier=identifier, EnableIAMDatabaseAuthentication=enabled, ApplyImmediately=True
                    )
            except ClientError as exc:
                if error_code(exc) in BUSY:
                    raise TransientError(f"DB {kind} {identifier} is busy ({error_code(exc)}); will retry.") from exc
                raise

    def parameter_group_family(self, engine: str, version: str) -> str | None:
        """RDS's own answer: DescribeDBEngineVersions(Engine, EngineVersion) -> DBParameterGroupFamily
        (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBEngineVersions.html)."""
        with transient_faults(f"describe engine version {engine} {version}"):
            found = self._rds.describe_db_engine_versions(Engine=engine, EngineVersion=version, IncludeAll=True)
        families = [v.get("DBParameterGroupFamily") for v in found.get("DBEngineVersions", [])]
        return next((f for f in families if f), None)

    # parameter groups: DB parameter groups for instances, DB cluster parameter groups for clusters ----------
    def parameter_info(self, kind: DbKind, group: str, names: list[str]) -> dict[str, ParameterInfo] | None:
        """The named parameters the group has (absent: the group's family has no such parameter), or None when
        the group does not exist."""
        operation = "describe_db_parameters" if kind == "instance" else "describe_db_cluster_parameters"
        key = "DBParameterGroupName" if kind == "instance" else "DBClusterParameterGroupName"
        with transient_faults(f"read parameter group {group}"):
            try:
                pages = self._rds.get_paginator(operation).paginate(
                    **{key: group}, Filters=[{"Name": "parameter-name", "Values": names}]
                )
                return _parameters((p for page in pages for p in page["Parameters"]), names)
            except ClientError as exc:
                if error_code(exc) in GROUP_NOT_FOUND:
                    return None
                raise

    def default_parameter_info(self, kind: DbKind, family: str, names: list[str]) -> dict[str, ParameterInfo]:
        """The named parameters as a new group of ``family`` has them (DescribeEngineDefault(Cluster)Parameters)."""
        found: list[dict[str, Any]] = []
        with transient_faults(f"read the default parameters of {family}"):
            marker: str | None = None
            while True:
                kwargs: dict[str, Any] = {"DBParameterGroupFamily": family, **({"Marker": marker} if marker else {})}
                if kind == "instance":
                    defaults = self._rds.describe_engine_default_parameters(**kwargs)["EngineDefaults"]
                else:
                    defaults = self._rds.describe_engine_default_cluster_parameters(**kwargs)["EngineDefaults"]
                found += defaults.get("Parameters", [])
                marker = defaults.get("Marker")
                if not marker:
                    break
        return _parameters(found, names)

    def create_parameter_group(self, kind: DbKind, name: str, *, family: str, source: str | None) -> None:
        """Our own group: a copy of ``source`` (a custom group), or a new one of ``family`` (like a default)."""
        description = "ClickPipes CDC settings (created by clickpipes-onboarding)"
        with transient_faults(f"create parameter group {name}"):
            try:
                if kind == "instance" and source:
                    self._rds.copy_db_parameter_group(
                        SourceDBParameterGroupIdentifier=source,
                        TargetDBParameterGroupIdentifier=name,
                        TargetDBParameterGroupDescription=description,
                    )
                elif kind == "instance":
                    self._rds.create_db_parameter_group(
                        DBParameterGroupName=name, DBParameterGroupFamily=family, Description=description
                    )
                elif source:
                    self._rds.copy_db_cluster_parameter_group(
                        SourceDBClusterParameterGroupIdentifier=source,
                        TargetDBClusterParameterGroupIdentifier=name,
                        TargetDBClusterParameterGroupDescription=description,
                    )
                else:
                    self._rds.create_db_cluster_parameter_group(
                        DBClusterParameterGroupName=name, DBParameterGroupFamily=family, Description=description
                    )
            except ClientError as exc:
                if error_code(exc) != "DBParameterGroupAlreadyExists":
                    raise

    def set_parameters(self, kind: DbKind, group: str, parameters: dict[str, tuple[str, str]]) -> None:
        """Set name -> (value, ApplyMethod): "immediate" (dynamic parameters only) or "pending-reboot"."""
        items = [
            {"ParameterName": n, "ParameterValue": v, "ApplyMethod": method} for n, (v, method) in parameters.items()
        ]
        with transient_faults(f"modify parameter group {group}"):
            if kind == "instance":
                self._rds.modify_db_parameter_group(DBParameterGroupName=group, Parameters=items)
            else:
                self._rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=group, Parameters=items)

    def attach_parameter_group(self, kind: DbKind, identifier: str, group: str) -> None:
        """Without ApplyImmediately: "The parameter group name itself is changed immediately" (the group's
        static values wait for a reboot either way), and ApplyImmediately would also apply every pending
        modification of the DB now (ModifyDBInstance / ModifyDBCluster, DBParameterGroupName)."""
        with transient_faults(f"attach parameter group {group} to {identifier}"):
            if kind == "instance":
                self._rds.modify_db_instance(DBInstanceIdentifier=identifier, DBParameterGroupName=group)
            else:
                self._rds.modify_db_cluster(DBClusterIdentifier=identifier, DBClusterParameterGroupName=group)

    def enable_backups(self, identifier: str, days: int) -> None:
        """BackupRetentionPeriod 0 -> n waits for the maintenance window unless ApplyImmediately (which applies the
        other pending modifications too: the step calls this only when there are none), and causes an outage."""
        with transient_faults(f"enable automated backups of {identifier}"):
            self._rds.modify_db_instance(
                DBInstanceIdentifier=identifier, BackupRetentionPeriod=days, ApplyImmediately=True
            )

    def reboot_instance(self, identifier: str) -> None:
        """RebootDBInstance; an instance that is not available (e.g. already rebooting) refuses: TransientError."""
        with transient_faults(f"reboot {identifier}"):
            try:
                self._rds.reboot_db_instance(DBInstanceIdentifier=identifier)
            except ClientError as exc:
                if error_code(exc) in BUSY:
                    raise TransientError(f"DB instance {identifier} is busy ({error_code(exc)}); will retry.") from exc
                if error_code(exc) in NOT_FOUND:
                    raise DbNotFoundError(
                        f"DB instance '{identifier}' no longer exists (deleted before its reboot)."
                    ) from None
                raise

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        with transient_faults(f"tag {arn}"):
            self._rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    def tags(self, arn: str) -> dict[str, str]:
        with transient_faults(f"list tags of {arn}"):
            listed = self._rds.list_tags_for_resource(ResourceName=arn)["TagList"]
        return {t["Key"]: t["Value"] for t in listed}


def _parameters(found: Iterable[dict[str, Any]], names: list[str]) -> dict[str, ParameterInfo]:
    return {
        p["ParameterName"]: ParameterInfo(
            value=p.get("ParameterValue"),
            modifiable=bool(p.get("IsModifiable", True)),
            apply_type=str(p.get("ApplyType") or "static"),
            allowed_values=p.get("AllowedValues"),
        )
        for p in found
        if p["ParameterName"] in names
    }


def _tags(d: dict[str, Any]) -> dict[str, str] | None:
    """DBInstance/DBCluster.TagList, which the describes return: no ListTagsForResource needed."""
    listed = d.get("TagList")
    return None if listed is None else {t["Key"]: t["Value"] for t in listed}


def _pending(values: dict[str, Any] | None) -> list[str]:
    return sorted(k for k, v in (values or {}).items() if v not in (None, [], {}, ""))


def _instance(d: dict[str, Any]) -> DbDescription:
    endpoint = d.get("Endpoint") or {}
    groups = d.get("DBParameterGroups") or [{}]
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
        master_username=d.get("MasterUsername"),
        cluster_identifier=d.get("DBClusterIdentifier"),
        engine_mode=None,
        database=d.get("DBName"),
        pending_modifications=_pending(d.get("PendingModifiedValues")),
        parameter_group=groups[0].get("DBParameterGroupName"),
        parameter_apply_status=groups[0].get("ParameterApplyStatus"),
        backup_retention_days=int(d.get("BackupRetentionPeriod") or 0),
        tags=_tags(d),
    )


def _cluster(d: dict[str, Any]) -> DbDescription:
    members = d.get("DBClusterMembers", [])
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
        master_username=d.get("MasterUsername"),
        cluster_identifier=None,
        engine_mode=d.get("EngineMode"),
        database=d.get("DatabaseName"),
        pending_modifications=_pending(d.get("PendingModifiedValues")),
        parameter_group=d.get("DBClusterParameterGroup"),
        parameter_apply_status=next(
            (m.get("DBClusterParameterGroupStatus") for m in d.get("DBClusterMembers", []) if m.get("IsClusterWriter")),
            None,
        ),
        backup_retention_days=int(d.get("BackupRetentionPeriod") or 0),
        members=[m["DBInstanceIdentifier"] for m in members],
        writer=next((m["DBInstanceIdentifier"] for m in members if m.get("IsClusterWriter")), None),
        member_parameter_status={
            m["DBInstanceIdentifier"]: m["DBClusterParameterGroupStatus"]
            for m in members
            if m.get("DBClusterParameterGroupStatus")
        },
        tags=_tags(d),
    )
