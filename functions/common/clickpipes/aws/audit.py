"""RDS and IAM for the audit: list the DBs this tool onboarded and the roles it made, read a role whole."""

from __future__ import annotations

from typing import Any

from clickpipes.aws.clients import transient_faults
from clickpipes.aws.iam_offboard import IamOffboardGateway
from clickpipes.aws.rds_offboard import RdsOffboardGateway
from clickpipes.rules import DbKind


class AuditRdsGateway(RdsOffboardGateway):
    def list_dbs(self) -> list[tuple[DbKind, str, dict[str, str]]]:
        """Every DB instance that is no cluster member, and every cluster, with its tags (DescribeDB* carry them)."""
        found: list[tuple[DbKind, str, dict[str, str]]] = []
        with transient_faults("list DB instances"):
            for page in self._rds.get_paginator("describe_db_instances").paginate():
                found += [
                    ("instance", d["DBInstanceIdentifier"], _tags(d))
                    for d in page["DBInstances"]
                    if not d.get("DBClusterIdentifier")
                ]
        with transient_faults("list DB clusters"):
            for page in self._rds.get_paginator("describe_db_clusters").paginate():
                found += [("cluster", d["DBClusterIdentifier"], _tags(d)) for d in page["DBClusters"]]
        return found


def _tags(d: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in d.get("TagList") or []}


class AuditIamGateway(IamOffboardGateway):
    def list_role_names(self, path: str) -> list[str]:
        names: list[str] = []
        with transient_faults(f"list roles under {path}"):
            for page in self._iam.get_paginator("list_roles").paginate(PathPrefix=path):
                names += [r["RoleName"] for r in page["Roles"]]
        return names

    def attached_policies(self, role: str) -> list[str]:
        arns: list[str] = []
        with transient_faults(f"list attached policies of role {role}"):
            for page in self._iam.get_paginator("list_attached_role_policies").paginate(RoleName=role):
                arns += [p["PolicyArn"] for p in page["AttachedPolicies"]]
        return arns

    def detach_policy(self, role: str, policy_arn: str) -> None:
        with transient_faults(f"detach policy {policy_arn} from role {role}"):
            self._iam.detach_role_policy(RoleName=role, PolicyArn=policy_arn)
