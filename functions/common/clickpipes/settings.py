"""Each function's environment, as a model: read once per invocation, never at import time.

A field names the environment variable it is read from (``field(name=...)``); a comma-separated list (the stack's
CommaDelimitedList parameters) is split by ``from_env`` and each entry checked by the class's ``check``."""

from __future__ import annotations

import os
import re
from typing import Annotated, ClassVar, Literal, Self

from clickpipes import trust
from clickpipes.errors import AccountNotAllowedError, ConfigurationError
from clickpipes.models.base import Base, Meta, ValidationError, convert, field, problems

DEFAULT_CLICKHOUSE_API_URL = "https://api.clickhouse.cloud"


class Settings(Base, frozen=True, kw_only=True):
    """Unknown variables are ignored (Lambda sets many); a value is converted from its text (``"10"``: 10)."""

    LISTS: ClassVar[frozenset[str]] = frozenset()  # the variables that are comma-separated lists

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Self:
        env: dict[str, object] = dict(os.environ if environ is None else environ)
        for name in cls.LISTS & env.keys():
            text = env[name]
            if isinstance(text, str):
                env[name] = [entry.strip() for entry in text.split(",") if entry.strip()]
        try:
            return convert(env, cls, strict=False)
        except ValidationError as exc:
            problem = problems(exc).removeprefix("input: ")  # a class's check names its variable itself
            raise ConfigurationError(
                f"The function's configuration is invalid ({problem}): check the stack parameters."
            ) from None


class AccountSettings(Settings, frozen=True, kw_only=True):
    """Where the stack may act: its own account (HOME_ACCOUNT) and region, and the member accounts
    (MemberAccounts) whose role MemberRoleName the functions assume. MemberRoleName empty: one account."""

    LISTS = frozenset({"MEMBER_ACCOUNTS"})

    region: str = field(name="AWS_REGION", default="")
    home_account: Annotated[str, Meta(pattern=r"^([0-9]{12})?$")] = field(name="HOME_ACCOUNT", default="")
    member_role_name: Annotated[str, Meta(pattern=r"^([\w+=,.@-]{1,64})?$")] = field(
        name="MEMBER_ROLE_NAME", default=""
    )
    member_accounts: tuple[str, ...] = field(name="MEMBER_ACCOUNTS", default=())

    def model_check(self) -> None:
        bad = [a for a in self.member_accounts if not trust.ACCOUNT_PATTERN.fullmatch(a)]
        if bad:
            raise ValueError(
                f"MEMBER_ACCOUNTS: MemberAccounts entries {', '.join(bad)} are not 12-digit AWS account IDs"
            )

    def is_home(self, account: str) -> bool:
        """The stack's own account (without HOME_ACCOUNT: any account that is not a member)."""
        return account == self.home_account if self.home_account else account not in self.member_accounts

    def check_account(self, account: str) -> str:
        """The account, when the stack may act in it; else AccountNotAllowedError (nothing was changed)."""
        if self.is_home(account) or (self.member_role_name and account in self.member_accounts):
            return account
        members = ", ".join(self.member_accounts) if self.member_role_name and self.member_accounts else "none"
        raise AccountNotAllowedError(
            f"account {account} is not in MemberAccounts (this stack acts in its own account "
            f"{self.home_account or '(HOME_ACCOUNT unset)'} and in the member accounts {members}): deploy the "
            "member template there and add the account to the stack parameter MemberAccounts. Nothing was changed."
        )

    def member_role_arn(self, account: str, partition: str) -> str:
        return f"arn:{partition}:iam::{account}:role/{self.member_role_name}"

    def boundary_arn(self, account: str, partition: str, home_boundary: str) -> str:
        """The permissions boundary a role created in ``account`` carries: the stack's in its own account, the
        member template's ``<MemberRoleName>-boundary`` in a member account."""
        if self.is_home(account):
            return home_boundary
        return f"arn:{partition}:iam::{account}:policy/{self.member_role_name}-boundary"


class PrincipalSettings(AccountSettings, frozen=True, kw_only=True):
    """Who may be trusted (the stack's ClickHouseRoleArn and AllowedClickHousePrincipals), and where."""

    LISTS = AccountSettings.LISTS | {"ALLOWED_CLICKHOUSE_PRINCIPALS"}

    default_clickhouse_role_arn: str = field(name="CLICKHOUSE_ROLE_ARN", default="")
    allowed_principals: tuple[str, ...] = field(name="ALLOWED_CLICKHOUSE_PRINCIPALS", default=())

    def model_check(self) -> None:
        super().model_check()
        try:
            for entry in self.allowed_principals:
                trust.check_allowlist_entry(entry)
        except ValueError as exc:
            raise ValueError(f"ALLOWED_CLICKHOUSE_PRINCIPALS: {exc}") from None


class ResolveSettings(PrincipalSettings, frozen=True, kw_only=True):
    region: Annotated[str, Meta(min_length=1)] = field(name="AWS_REGION")


class GuardSettings(Settings, frozen=True, kw_only=True):
    """The one-at-a-time guard's table (``clickpipes.aws.guard``): one item per DB, shared by both workflows."""

    guard_table: Annotated[str, Meta(min_length=1)] = field(name="GUARD_TABLE_NAME")


class SealSettings(Settings, frozen=True, kw_only=True):
    """The state seal (``clickpipes.seal``): the stack's key secret (StateSealSecret; empty: nothing is sealed, every
    step describes) and how old a seal may be to stand in for a describe."""

    secret_arn: Annotated[str, Meta(pattern=r"^(arn:(aws|aws-cn|aws-us-gov):secretsmanager:.+)?$")] = field(
        name="STATE_SEAL_SECRET_ARN", default=""
    )
    max_age_seconds: Annotated[int, Meta(ge=0, le=900)] = field(name="STATE_SEAL_MAX_AGE_SECONDS", default=120)


class DbSettings(Settings, frozen=True, kw_only=True):
    tls_mode: Literal["verify-full", "require"] = field(name="DB_TLS_MODE", default="verify-full")
    ca_bundle: Annotated[str, Meta(min_length=1)] = field(
        name="DB_CA_BUNDLE", default="/opt/python/rds-global-bundle.pem"
    )
    connect_timeout_seconds: Annotated[int, Meta(ge=1, le=60)] = field(name="DB_CONNECT_TIMEOUT_SECONDS", default=10)


class AuditResolveSettings(ResolveSettings, frozen=True, kw_only=True):
    """Where the audit lists DBs by default: this account and MemberAccounts, in AuditRegions (empty: the stack's
    own region)."""

    LISTS = ResolveSettings.LISTS | {"AUDIT_REGIONS"}

    audit_regions: tuple[str, ...] = field(name="AUDIT_REGIONS", default=())

    def model_check(self) -> None:
        super().model_check()
        bad = [r for r in self.audit_regions if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]", r)]
        if bad:
            raise ValueError(f"AUDIT_REGIONS: AuditRegions entries {', '.join(bad)} are not AWS regions")

    def served_accounts(self) -> list[str]:
        """This account, then every member account (with MemberRoleName set)."""
        members = list(self.member_accounts) if self.member_role_name else []
        return list(dict.fromkeys([self.home_account or "", *members]))

    def served_regions(self) -> list[str]:
        return list(self.audit_regions or (self.region,))


class AuditSettings(Settings, frozen=True, kw_only=True):
    """The audit's thresholds (stack parameters)."""

    slot_wal_warn_bytes: Annotated[int, Meta(ge=0)] = field(name="SLOT_WAL_WARN_BYTES", default=1024**3)


class RoleSettings(PrincipalSettings, frozen=True, kw_only=True):
    # the stack's boundary policy (or PermissionsBoundaryArn): every role created or updated carries it
    permissions_boundary_arn: Annotated[str, Meta(pattern=r"^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:policy/")] = (
        field(name="PERMISSIONS_BOUNDARY_ARN")
    )

    def boundary_for(self, account: str, partition: str) -> str:
        return self.boundary_arn(account, partition, self.permissions_boundary_arn)


class TriggerSettings(ResolveSettings, frozen=True, kw_only=True):
    """The API's and the tag trigger's: what ResolveTarget checks, and the state machine they start."""

    state_machine_arn: Annotated[str, Meta(pattern=r"^arn:[a-z-]+:states:")] = field(name="STATE_MACHINE_ARN")


# CLICKHOUSE_API_URL: https, or http to this machine only (a local proxy); no trailing slash
_API_URL = r"^(https://[^/?#\s]+(/[^?#\s]*)?|http://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?)$"


class ClickHouseApiSettings(Settings, frozen=True, kw_only=True):
    """The stack's ClickHouseOrganizationId, ClickHouseApiKeySecretArn and ClickHouseApiUrl (all optional)."""

    organization_id: Annotated[str, Meta(pattern=r"^([0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})?$")] = field(
        name="CLICKHOUSE_ORGANIZATION_ID", default=""
    )
    api_key_secret_arn: Annotated[str, Meta(pattern=r"^(arn:(aws|aws-cn|aws-us-gov):secretsmanager:.+)?$")] = field(
        name="CLICKHOUSE_API_KEY_SECRET_ARN", default=""
    )
    api_url: Annotated[str, Meta(pattern=_API_URL)] = field(
        name="CLICKHOUSE_API_URL", default=DEFAULT_CLICKHOUSE_API_URL
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Self:
        env = dict(os.environ if environ is None else environ)
        if "CLICKHOUSE_API_URL" in env:  # as the stack passes it: surrounding spaces and a trailing slash dropped
            env["CLICKHOUSE_API_URL"] = env["CLICKHOUSE_API_URL"].strip().rstrip("/")
        return super().from_env(env)

    @property
    def configured(self) -> bool:
        return bool(self.organization_id and self.api_key_secret_arn)


class ClickPipeSettings(ClickHouseApiSettings, frozen=True, kw_only=True):
    """CreateClickPipe: how often and how long it waits for the new pipe to leave Provisioning/Setup."""

    poll_seconds: Annotated[float, Meta(ge=0, le=60)] = field(name="CLICKPIPE_POLL_SECONDS", default=10)
    max_wait_seconds: Annotated[float, Meta(ge=0, le=600)] = field(name="CLICKPIPE_MAX_WAIT_SECONDS", default=120)
