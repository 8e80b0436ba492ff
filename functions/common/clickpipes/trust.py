"""The trust boundary, as pure rules: who may be let in, as whom, with which secret, on which DB state.

Every onboarding, whatever started it (API, tag, direct StartExecution), passes these checks in ResolveTarget
before anything changes; the steps that act (CreateIamRole, CreateDbUser, ConfigureCdcDatabase) check again
on what RDS says in that step. Nothing here is overridable by the execution input except where named
(``adopt_existing_user``, ``apply_pending_modifications``). A principal is allowed when it is the stack's
ClickHouseRoleArn, in AllowedClickHousePrincipals, or the ``iamRole`` of ``clickhouse_service_id`` read with the
stack's own ClickHouse Cloud API key (its own organization: ``check_service_principal``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

from clickpipes import rules
from clickpipes.errors import (
    InvalidInputError,
    PendingModificationsError,
    PrincipalNotAllowedError,
    ProtectedUserError,
)

# Allowed principals --------------------------------------------------------------------------------
ACCOUNT_PATTERN: Final = re.compile(r"[0-9]{12}")


def check_allowlist_entry(entry: str) -> str:
    """An AllowedClickHousePrincipals entry: a 12-digit account ID, or one exact IAM role ARN."""
    if ACCOUNT_PATTERN.fullmatch(entry) or (rules.ROLE_ARN_PATTERN.fullmatch(entry) and "*" not in entry):
        return entry
    raise ValueError(
        f"AllowedClickHousePrincipals entry {entry!r} is neither a 12-digit AWS account ID nor an IAM role ARN"
    )


def principal_allowed(principal: str, *, default_principal: str, allowed: Sequence[str]) -> bool:
    """Allowed: the stack's ClickHouseRoleArn, a listed role ARN, or any role of a listed account."""
    match = rules.ROLE_ARN_PATTERN.fullmatch(principal)
    if match is None:
        return False
    if default_principal and principal == default_principal:
        return True
    return principal in allowed or match["account"] in allowed


def check_principal_allowed(principal: str, *, default_principal: str, allowed: Sequence[str]) -> str:
    if principal_allowed(principal, default_principal=default_principal, allowed=allowed):
        return principal
    listed = ", ".join(allowed) if allowed else "nothing"
    raise PrincipalNotAllowedError(
        f"ClickHouse principal {principal} is not allowed by this stack (ClickHouseRoleArn "
        f"{default_principal or 'unset'}; AllowedClickHousePrincipals lists {listed}): nothing was changed. Ask the "
        "stack's operator to add the role ARN or its account to AllowedClickHousePrincipals, or use an allowed role."
    )


def check_service_principal(principal: str, *, service_id: str, service_role: str) -> str:
    """A principal read from the operator's own ClickHouse Cloud organization (``clickhouse_service_id``).

    The stack's API key (ClickHouseOrganizationId, ClickHouseApiKeySecretArn) can only read services of the
    operator's organization, so the ``iamRole`` it reads is as trusted as ClickHouseRoleArn: it is allowed without
    being listed in AllowedClickHousePrincipals. The step that trusts it (CreateIamRole) reads it again itself:
    the event's role must be the one the service has now, never a role the event merely claims."""
    if principal != service_role:
        raise PrincipalNotAllowedError(
            f"ClickHouse principal {principal} is not the IAM role of ClickHouse Cloud service {service_id} "
            f"({service_role}): run the onboarding again from the start. Nothing was changed."
        )
    return principal


# Protected users -----------------------------------------------------------------------------------
RESERVED_USERS: Final = frozenset(
    {
        "rdsadmin",
        "rdsrepladmin",
        "rdstopmgr",
        "rdsproxyadmin",
        "root",
        "postgres",
        "admin",
        "mysql.sys",
        "mysql.session",
        "mysql.infoschema",
        "mariadb.sys",
    }
)
RESERVED_PREFIXES: Final = ("rds_", "pg_", "aws_")
# The tool's own marker role (clickpipes_db): a NOLOGIN role granted to the users it creates.
MARKER_ROLE: Final = "clickpipes_managed"


def is_reserved(user: str) -> bool:
    """A name RDS, the engines or this tool reserve: never a ClickPipes user (both engines ask this too)."""
    lowered = user.lower()
    return lowered in RESERVED_USERS or lowered == MARKER_ROLE or lowered.startswith(RESERVED_PREFIXES)


def check_not_protected(user: str, *, master_username: str | None = None, admin_username: str | None = None) -> str:
    """ProtectedUserError for the master user, the admin secret's user, a reserved name. Never overridable."""
    lowered = user.lower()
    why = None
    if master_username and lowered == master_username.lower():
        why = "is the DB's master user"
    elif admin_username and lowered == admin_username.lower():
        why = "is the admin user of the admin secret"
    elif lowered in RESERVED_USERS or lowered == MARKER_ROLE:
        why = "is a reserved user name"
    elif lowered.startswith(RESERVED_PREFIXES):
        why = f"starts with a reserved prefix ({', '.join(RESERVED_PREFIXES)})"
    if why:
        raise ProtectedUserError(
            f"db_user {user!r} {why}: onboarding would hand it to ClickPipes and take its password login away. "
            "Choose a dedicated user name (default clickpipes_iam_user); nothing was changed."
        )
    return user


# Secrets -------------------------------------------------------------------------------------------
def is_rds_managed_secret(secret_arn: str) -> bool:
    """RDS-managed master user secrets are named rds!db-<uuid> / rds!cluster-<uuid>."""
    name = secret_arn.split(":secret:", 1)[-1]
    return name.startswith("rds!")


def check_secret_bound(secret_arn: str, *, db_kind: str, db_identifier: str, master_secret_arn: str | None) -> str:
    """An RDS-managed secret must be this DB's own MasterUserSecret (the function may read every rds!… secret)."""
    if is_rds_managed_secret(secret_arn) and secret_arn != master_secret_arn:
        raise InvalidInputError(
            f"admin_secret_arn {secret_arn} is an RDS-managed secret of another database, not the master user secret "
            f"of DB {db_kind} '{db_identifier}' ({master_secret_arn or 'it has none'}): leave admin_secret_arn out to "
            "use the DB's own, or pass a custom secret listed in AdminSecretArns. Nothing was changed."
        )
    return secret_arn


# Pending modifications -----------------------------------------------------------------------------
OURS: Final = frozenset({"IAMDatabaseAuthenticationEnabled"})


def foreign_pending(pending: Iterable[str]) -> list[str]:
    return sorted(set(pending) - OURS)


def check_pending_modifications(
    pending: Iterable[str], *, db_kind: str, db_identifier: str, apply_pending: bool
) -> list[str]:
    """PendingModificationsError when ApplyImmediately would also apply someone else's pending changes; with
    ``apply_pending`` the warnings that say it will."""
    others = foreign_pending(pending)
    if not others:
        return []
    if not apply_pending:
        raise PendingModificationsError(
            f"DB {db_kind} '{db_identifier}' has pending modifications ({', '.join(others)}): enabling IAM "
            "authentication with ApplyImmediately would apply them now (an instance class change or an engine "
            "upgrade means downtime). Wait for the maintenance window, apply them yourself, or run again with "
            "apply_pending_modifications: true. Nothing was changed."
        )
    return [
        f"ApplyImmediately also applies the pending modifications of DB {db_kind} '{db_identifier}' "
        f"(apply_pending_modifications: true): {', '.join(others)}."
    ]


# Who asked -----------------------------------------------------------------------------------------
UNKNOWN_TAG_REQUESTER: Final = "unknown (tag change event)"
REQUESTED_BY_TAG: Final = "clickpipes:requested-by"
_IAM_TAG_UNSAFE: Final = re.compile(r"[^\w\s.:/=+\-@]")


def iam_tag_value(value: str) -> str:
    """IAM tag values allow letters, digits, spaces and _.:/=+-@ (256 characters at most)."""
    return _IAM_TAG_UNSAFE.sub("_", value)[:256]
