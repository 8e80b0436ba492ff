"""RDS for the offboarding: turn IAM database authentication off, remove tags."""

from __future__ import annotations

from botocore.exceptions import ClientError

from clickpipes.aws.clients import error_code, transient_faults
from clickpipes.aws.rds import BUSY, RdsGateway
from clickpipes.errors import TransientError
from clickpipes.rules import DbKind


class RdsOffboardGateway(RdsGateway):
    def disable_iam_auth(self, kind: DbKind, identifier: str) -> None:
        """ModifyDBInstance/ModifyDBCluster EnableIAMDatabaseAuthentication=false, applied immediately (the step
        calls it only when no other modification is pending)."""
        with transient_faults(f"disable IAM authentication of {identifier}"):
            try:
                if kind == "instance":
                    self._rds.modify_db_instance(
                        DBInstanceIdentifier=identifier, EnableIAMDatabaseAuthentication=False, ApplyImmediately=True
                    )
                else:
                    self._rds.modify_db_cluster(
                        DBClusterIdentifier=identifier, EnableIAMDatabaseAuthentication=False, ApplyImmediately=True
                    )
            except ClientError as exc:
                if error_code(exc) in BUSY:
                    raise TransientError(f"DB {kind} {identifier} is busy ({error_code(exc)}); will retry.") from exc
                raise

    def untag(self, arn: str, keys: list[str]) -> None:
        if not keys:
            return
        with transient_faults(f"untag {arn}"):
            self._rds.remove_tags_from_resource(ResourceName=arn, TagKeys=keys)
