"""IAM: the ClickPipes role. Reads and writes only roles under the /clickpipes/ path."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from clickpipes.aws.clients import client, error_code, transient_faults
from clickpipes.errors import TransientError
from clickpipes.models import RoleInfo


class IamGateway:
    def __init__(self, iam: Any | None = None, *, consistency_delay_seconds: float = 1.0) -> None:
        self._iam = iam or client("iam")
        self._delay = consistency_delay_seconds

    def get_role(self, name: str) -> RoleInfo | None:
        with transient_faults(f"get role {name}"):
            try:
                role = self._iam.get_role(RoleName=name)["Role"]
            except ClientError as exc:
                if error_code(exc) == "NoSuchEntity":
                    return None
                raise
        trust = role.get("AssumeRolePolicyDocument") or {}
        if isinstance(trust, str):
            trust = json.loads(unquote(trust))
        return RoleInfo(
            arn=role["Arn"],
            path=role.get("Path", "/"),
            tags={t["Key"]: t["Value"] for t in role.get("Tags", [])},
            trust_policy=trust,
            permissions_boundary=(role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        )

    def get_inline_policy(self, role: str, policy_name: str) -> dict[str, Any] | None:
        with transient_faults(f"get policy {policy_name} of role {role}"):
            try:
                doc = self._iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
            except ClientError as exc:
                if error_code(exc) == "NoSuchEntity":
                    return None
                raise
        return json.loads(unquote(doc)) if isinstance(doc, str) else dict(doc)

    def create_role(
        self,
        name: str,
        *,
        path: str,
        trust_policy: dict[str, Any],
        tags: dict[str, str],
        description: str,
        permissions_boundary: str | None,
    ) -> str | None:
        """The new role's ARN, with its tags and boundary in the one call; None when a role of that name exists
        (unchanged: the caller reads it with ``get_role`` and checks it is ours)."""
        kwargs: dict[str, Any] = {
            "RoleName": name,
            "Path": path,
            "AssumeRolePolicyDocument": json.dumps(trust_policy),
            "Description": description,
            "MaxSessionDuration": 3600,
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        if permissions_boundary:
            kwargs["PermissionsBoundary"] = permissions_boundary
        with transient_faults(f"create role {name}"):
            try:
                return str(self._iam.create_role(**kwargs)["Role"]["Arn"])
            except ClientError as exc:
                if error_code(exc) == "EntityAlreadyExists":
                    return None
                raise

    def update_trust_policy(self, name: str, trust_policy: dict[str, Any]) -> None:
        self._consistently(
            f"update trust policy of {name}",
            lambda: self._iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust_policy)),
        )

    def put_inline_policy(self, role: str, policy_name: str, policy: dict[str, Any]) -> None:
        self._consistently(
            f"put policy {policy_name} on role {role}",
            lambda: self._iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(policy)),
        )

    def put_permissions_boundary(self, role: str, policy_arn: str) -> None:
        self._consistently(
            f"put permissions boundary on role {role}",
            lambda: self._iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=policy_arn),
        )

    def tag_role(self, name: str, tags: dict[str, str]) -> None:
        self._consistently(
            f"tag role {name}",
            lambda: self._iam.tag_role(RoleName=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()]),
        )

    def _consistently(self, action: str, call: Any, attempts: int = 5) -> None:
        """IAM is eventually consistent: a role just created may answer NoSuchEntity for a few seconds."""
        for attempt in range(1, attempts + 1):
            with transient_faults(action):
                try:
                    call()
                except ClientError as exc:
                    if error_code(exc) != "NoSuchEntity":
                        raise
                else:
                    return
            if attempt < attempts:
                time.sleep(self._delay * attempt)
        raise TransientError(f"{action}: IAM has not propagated the role yet; will retry.")
