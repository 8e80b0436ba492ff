"""RDS for the offboarding: turn IAM database authentication off, remove tags."""

from __future__ import annotations

from clickpipes.aws.clients import transient_faults
from clickpipes.aws.rds import RdsGateway
from clickpipes.rules import DbKind


class RdsOffboardGateway(RdsGateway):
    def disable_iam_auth(self, kind: DbKind, identifier: str) -> None:
        """IAM DB authentication off, applied immediately (the step calls it only when no other modification is
        pending)."""
        self.set_iam_auth(kind, identifier, enabled=False)

    def untag(self, arn: str, keys: list[str]) -> None:
        if not keys:
            return
        with transient_faults(f"untag {arn}"):
            self._rds.remove_tags_from_resource(ResourceName=arn, TagKeys=keys)
