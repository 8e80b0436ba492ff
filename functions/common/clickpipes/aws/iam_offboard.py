"""IAM for the offboarding: take a ClickPipes role apart. Only roles under the /clickpipes/ path (the policy)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from clickpipes.aws.clients import error_code, transient_faults
from clickpipes.aws.iam import IamGateway


class IamOffboardGateway(IamGateway):
    def list_inline_policies(self, role: str) -> list[str]:
        names: list[str] = []
        with transient_faults(f"list policies of role {role}"):
            for page in self._iam.get_paginator("list_role_policies").paginate(RoleName=role):
                names += page["PolicyNames"]
        return names

    def delete_inline_policy(self, role: str, policy_name: str) -> None:
        with transient_faults(f"delete policy {policy_name} of role {role}"):
            try:
                self._iam.delete_role_policy(RoleName=role, PolicyName=policy_name)
            except ClientError as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise

    def delete_permissions_boundary(self, role: str) -> None:
        with transient_faults(f"delete permissions boundary of role {role}"):
            try:
                self._iam.delete_role_permissions_boundary(RoleName=role)
            except ClientError as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise

    def delete_role(self, role: str) -> bool:
        """DeleteRole; False when IAM refuses because something else is attached (DeleteConflict)."""
        with transient_faults(f"delete role {role}"):
            try:
                self._iam.delete_role(RoleName=role)
            except ClientError as exc:
                if error_code(exc) == "NoSuchEntity":
                    return True
                if error_code(exc) == "DeleteConflict":
                    return False
                raise
        return True
