"""STS patch: AssumeRole enforces the role's trust policy against the caller."""

from __future__ import annotations

import fnmatch
import json
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from unittest import mock

from tests.harness.patches.registry import _moto_patch

if TYPE_CHECKING:
    from tests.harness.local_aws import LocalWorld


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def caller_role_arn(caller_arn: str) -> str:
    """``arn:aws:sts::A:assumed-role/R/session`` -> ``arn:aws:iam::A:role/R`` (IAM matches trust by the role)."""
    parts = caller_arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
    return caller_arn


def _principal_matches(principal: Any, caller_arn: str) -> bool:
    if principal == "*":
        return True
    arn = caller_role_arn(caller_arn)
    account = arn.split(":")[4] if arn.count(":") >= 5 else ""
    for value in _as_list(principal.get("AWS", []) if isinstance(principal, dict) else []):
        if value in ("*", arn) or value in (account, f"arn:aws:iam::{account}:root"):
            return True
    return False


# the condition operators a trust here may use on aws:PrincipalArn (member/template.yaml: ArnEquals)
_PRINCIPAL_ARN_OPERATORS = {
    "arnequals": lambda value, pattern: value == pattern,
    "stringequals": lambda value, pattern: value == pattern,
    "arnlike": fnmatch.fnmatchcase,
    "stringlike": fnmatch.fnmatchcase,
}


def _condition_holds(condition: Any, caller_arn: str) -> bool:
    """An ``aws:PrincipalArn`` condition against the caller's role (or user) ARN; any other key or operator is
    unknown here and does not hold."""
    if not condition:
        return True
    principal_arn = caller_role_arn(caller_arn)
    for operator, keys in dict(condition).items():
        test = _PRINCIPAL_ARN_OPERATORS.get(operator.lower())
        if test is None or set(keys) != {"aws:PrincipalArn"}:
            return False
        if not any(test(principal_arn, pattern) for pattern in _as_list(keys["aws:PrincipalArn"])):
            return False
    return True


def trust_allows(document: str | dict[str, Any], caller_arn: str, actions: list[str]) -> str | None:
    """None if the trust policy lets ``caller_arn`` do every action, else the action refused.

    A statement's Condition holds only when it tests ``aws:PrincipalArn`` (``_condition_holds``); any other
    condition counts as not allowing (and as denying, for Deny).
    """
    policy = json.loads(document) if isinstance(document, str) else document
    for action in actions:
        allowed = False
        for statement in _as_list(policy.get("Statement", [])):
            patterns = [str(a).lower() for a in _as_list(statement.get("Action", []))]
            if not any(fnmatch.fnmatchcase(action.lower(), p) for p in patterns):
                continue
            if not _principal_matches(statement.get("Principal", {}), caller_arn):
                continue
            holds = _condition_holds(statement.get("Condition"), caller_arn)
            if statement.get("Effect") == "Deny" and (holds or statement.get("Condition")):
                return action
            allowed = allowed or (statement.get("Effect") == "Allow" and holds)
        if not allowed:
            return action
    return None


@_moto_patch(
    "sts_assume_role_trust",
    gap="AssumeRole returns credentials for any caller: the role's trust policy (principal, sts:AssumeRole, and "
    "sts:TagSession when session tags are passed) is not checked. Roles that do not exist in the world (another "
    "account's, e.g. the ClickHouse side) stay assumable as in moto",
    touches="moto.sts.responses.TokenResponse.assume_role (checks before moto's own)",
)
def _patch_sts_assume_role_trust(stack: ExitStack, world: LocalWorld | None) -> None:
    from moto.iam.models import iam_backends
    from moto.sts.exceptions import STSClientError
    from moto.sts.responses import TokenResponse

    original = TokenResponse.assume_role

    def assume_role(self: Any) -> Any:
        role_arn = self._get_param("RoleArn") or ""
        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
        role = None
        if account in iam_backends:
            role = next((r for r in iam_backends[account]["global"].roles.values() if r.arn == role_arn), None)
        if role is not None:
            _, caller_arn, _ = self.backend.get_caller_identity(self.get_access_key(), self.region)
            tagged = any(key.startswith("Tags.member") for key in self.querystring) or bool(self._get_param("Tags"))
            refused = trust_allows(
                role.assume_role_policy_document, caller_arn, ["sts:AssumeRole"] + ["sts:TagSession"] * tagged
            )
            if refused is not None:
                raise STSClientError(
                    "AccessDenied",
                    f"User: {caller_arn} is not authorized to perform: {refused} on resource: {role_arn}",
                )
        return original(self)

    stack.enter_context(mock.patch.object(TokenResponse, "assume_role", assume_role))


@_moto_patch(
    "lambda_caller_role",
    gap="In-process handlers call AWS with the world's default credentials, so STS sees every function as the "
    "default user (arn:aws:sts::<account>:user/moto), not as its execution role: a trust policy that names a "
    "function's role (a member account's role, MemberCallerRoleArns) cannot be checked. With the patch a handler "
    "calls as arn:aws:sts::<account>:assumed-role/<its role>/<function> (credentials it did not assume itself)",
    touches="moto.sts.models.STSBackend.get_caller_identity (default credentials, inside a local invocation)",
)
def _patch_lambda_caller_role(stack: ExitStack, world: LocalWorld | None) -> None:
    from moto.sts.models import STSBackend

    original = STSBackend.get_caller_identity

    def get_caller_identity(self: Any, access_key_id: str, region: str) -> tuple[str, str, str]:
        user_id, arn, account = original(self, access_key_id, region)
        role = world.calling_role() if world is not None else None
        if role is None or self.get_assumed_role_from_access_key(access_key_id) is not None:
            return user_id, arn, account
        parts = role.split(":", 5)
        name = parts[5].rsplit("/", 1)[-1]
        return "AROA" + name.upper()[:17], f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{name}/{name}", parts[4]

    stack.enter_context(mock.patch.object(STSBackend, "get_caller_identity", get_caller_identity))
