"""The audit's findings, as pure rules: what this tool set up on a DB, compared with what AWS says now.

No AWS, no database, no environment: the audit steps read the world through the ports and hand it here.
A finding is ``{check, expected, actual, repairable}``; repairable means the idempotent onboarding puts it
back (the DB still exists and the principal is still allowed)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Final, Literal

from clickpipes import rules
from clickpipes.models.base import Model

Check = Literal[
    "db-exists",
    "resource-id",
    "iam-auth",
    "role",
    "role-trust",
    "role-permissions",
    "role-managed-policies",
    "role-boundary",
    "principal",
    "db-user",
    "cdc-parameters",
    "cdc-reboot",
    "cdc-database",
    "binlog",
    "replication-slots",
    "db-checks",
]
CHECKS: Final[tuple[str, ...]] = Check.__args__  # type: ignore[attr-defined]
AuditStatus = Literal["ok", "drifted", "gone", "error"]
# what the onboarding cannot put back: the principal is the stack operator's call, a gone DB is gone, a reboot is
# the operator's maintenance window, a slot is ClickPipes' (never this tool's), a DB it could not log in to
NOT_REPAIRABLE: Final = frozenset({"db-exists", "principal", "cdc-reboot", "replication-slots", "db-checks"})
PRINCIPAL_TAG: Final = rules.PRINCIPAL_TAG
DRIFT_TAG: Final = rules.DRIFT_TAG


class Finding(Model, frozen=True, kw_only=True):
    check: str
    expected: str
    actual: str
    repairable: bool


def finding(check: Check, expected: object, actual: object) -> Finding:
    return Finding(check=check, expected=_text(expected), actual=_text(actual), repairable=check not in NOT_REPAIRABLE)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def gone(kind: str, identifier: str, role_arn: str | None) -> list[Finding]:
    actual = f"no DB {kind} '{identifier}'" + (f"; role {role_arn} is an orphan" if role_arn else "")
    return [finding("db-exists", f"DB {kind} '{identifier}' exists", actual)]


def iam_auth(enabled: bool) -> list[Finding]:
    return [] if enabled else [finding("iam-auth", "IAMDatabaseAuthenticationEnabled: true", "false")]


def principal_of(trust_policy: dict[str, Any]) -> str | None:
    """The one AWS principal of a trust policy the onboarding wrote, else None."""
    statements = trust_policy.get("Statement") or []
    if len(statements) != 1:
        return None
    aws = (statements[0].get("Principal") or {}).get("AWS")
    return aws if isinstance(aws, str) else None


def recorded_principal(role_tags: dict[str, str], trust_policy: dict[str, Any]) -> str | None:
    """The principal the onboarding trusted: the role's tag, else (roles made before the tag) its trust policy."""
    return role_tags.get(PRINCIPAL_TAG) or principal_of(trust_policy)


def principal(principal_arn: str | None, *, allowed: bool) -> list[Finding]:
    if principal_arn is None or allowed:
        return []
    return [finding("principal", f"{principal_arn} allowed by AllowedClickHousePrincipals", "not allowed")]


def _dbuser_of(policy: dict[str, Any] | None) -> str | None:
    statements = (policy or {}).get("Statement") or []
    resources = [r for s in statements for r in _as_list(s.get("Resource"))]
    return resources[0] if len(resources) == 1 else None


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def recorded_resource_id(policy: dict[str, Any] | None) -> str | None:
    """The resource ID the role's dbuser ARN names (the DB it was made for), else None."""
    dbuser = _dbuser_of(policy)
    if dbuser is None or ":dbuser:" not in dbuser:
        return None  # reported by the role-permissions check
    return dbuser.split(":dbuser:", 1)[1].split("/", 1)[0]


def recorded_user(policy: dict[str, Any] | None) -> str | None:
    """The DB user the role's dbuser ARN names (what a recreated DB, its tags gone, still tells)."""
    dbuser = _dbuser_of(policy)
    if dbuser is None or ":dbuser:" not in dbuser or "/" not in dbuser:
        return None
    return dbuser.rsplit("/", 1)[1] or None


def resource_id(policy: dict[str, Any] | None, current_resource_id: str) -> list[Finding]:
    """The role's dbuser ARN names the resource ID of the DB it was made for: a restored DB has another."""
    recorded = recorded_resource_id(policy)
    if recorded is None or recorded == current_resource_id:
        return []
    return [finding("resource-id", current_resource_id, recorded)]


def role(
    role_arn: str,
    *,
    trust_policy: dict[str, Any],
    inline: dict[str, dict[str, Any] | None],
    managed: Sequence[str],
    boundary: str | None,
    expected_principal: str | None,
    expected_dbuser: str,
    expected_boundary: str,
) -> list[Finding]:
    """The role: it exists, trusts exactly the recorded principal (AssumeRole+TagSession), may do nothing but
    rds-db:connect on the exact dbuser ARN, has no managed policy, carries the stack's boundary."""
    found: list[Finding] = []
    if expected_principal is None or trust_policy != rules.trust_policy(expected_principal):
        want = rules.trust_policy(expected_principal) if expected_principal else "one ClickHouse principal"
        found.append(finding("role-trust", want, trust_policy))
    want_inline = {rules.CONNECT_POLICY_NAME: rules.connect_policy(expected_dbuser)}
    if inline != want_inline:
        found.append(finding("role-permissions", want_inline, inline))
    if managed:
        found.append(finding("role-managed-policies", "none", sorted(managed)))
    if boundary != expected_boundary:
        found.append(finding("role-boundary", expected_boundary, boundary or "none"))
    return found


def role_missing(role_arn: str) -> list[Finding]:
    return [finding("role", f"role {role_arn} exists", "missing")]


def planned(check: Check, changes: Sequence[str]) -> list[Finding]:
    """What the onboarding, run again in plan mode, would change: each planned change is something that drifted."""
    return [finding(check, "; ".join(changes), "not in place")] if changes else []


def refused(check: Check, expected: str, reason: str) -> list[Finding]:
    """The onboarding would refuse (a user not this tool's any more, or one with admin rights): not repairable."""
    found = finding(check, expected, reason)
    return [found.model_copy(update={"repairable": False})]


def cdc_reboot(pending: Sequence[str]) -> list[Finding]:
    return (
        [finding("cdc-reboot", "CDC parameters in effect", f"pending reboot: {', '.join(pending)}")] if pending else []
    )


def binlog(ready: bool | None) -> list[Finding]:
    return [finding("binlog", "binlog_format ROW, binlog_row_image FULL (live)", "not so")] if ready is False else []


def slots(inactive: Sequence[tuple[str, int]], warn_bytes: int) -> list[Finding]:
    """Inactive replication slots holding more WAL than SlotWalWarnBytes: the disk fills, the DB stops."""
    held = sorted((name, size) for name, size in inactive if size > warn_bytes)
    if not held:
        return []
    actual = ", ".join(f"{name} holds {size} bytes" for name, size in held)
    return [finding("replication-slots", f"no inactive slot holding more than {warn_bytes} bytes of WAL", actual)]


def db_checks_skipped(reason: str) -> list[Finding]:
    return [finding("db-checks", "the DB's user and CDC objects checked", f"not checked: {reason}")]


def status(findings: Iterable[Finding]) -> AuditStatus:
    checks = {f.check for f in findings}
    return "gone" if "db-exists" in checks else "drifted" if checks else "ok"


def drift_tag(findings: Iterable[Finding]) -> str:
    """The value of clickpipes:drift: the drifted checks, sorted (an RDS tag value holds 256 characters)."""
    return " ".join(sorted({f.check for f in findings}))[:256]


def repairable(findings: Sequence[Finding]) -> bool:
    """The onboarding may run again: something it sets drifted, and nothing it may not fix did."""
    return bool(findings) and all(f.repairable for f in findings)
