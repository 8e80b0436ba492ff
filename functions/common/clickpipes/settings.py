"""Each function's environment, as a model: read once per invocation, never at import time."""

from __future__ import annotations

import os
import re
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from clickpipes import trust
from clickpipes.errors import AccountNotAllowedError, ConfigurationError

DEFAULT_CLICKHOUSE_API_URL = "https://api.clickhouse.cloud"


class Settings(BaseModel):
    # defer_build: only the settings a handler reads are built, when it reads them
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, defer_build=True)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Self:
        env = dict(os.environ if environ is None else environ)
        try:
            return cls.model_validate(env)
        except ValidationError as exc:
            names = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
            raise ConfigurationError(
                f"The function's configuration is invalid ({names}): check the stack parameters."
            ) from None


def _allowlist(value: object) -> object:
    """ALLOWED_CLICKHOUSE_PRINCIPALS: the stack's CommaDelimitedList, joined with commas."""
    if isinstance(value, str):
        return [trust.check_allowlist_entry(entry.strip()) for entry in value.split(",") if entry.strip()]
    return value


class PrincipalSettings(Settings):
    """Who may be trusted: the stack's ClickHouseRoleArn and AllowedClickHousePrincipals."""

    default_clickhouse_role_arn: Annotated[str, Field(alias="CLICKHOUSE_ROLE_ARN")] = ""
    allowed_principals: Annotated[
        tuple[str, ...], Field(alias="ALLOWED_CLICKHOUSE_PRINCIPALS"), BeforeValidator(_allowlist)
    ] = ()


def _accounts(value: object) -> object:
    """MEMBER_ACCOUNTS: the stack's CommaDelimitedList of 12-digit account IDs, joined with commas."""
    if isinstance(value, str):
        accounts = tuple(entry.strip() for entry in value.split(",") if entry.strip())
        bad = [a for a in accounts if not trust.ACCOUNT_PATTERN.fullmatch(a)]
        if bad:
            raise ValueError(f"MemberAccounts entries {', '.join(bad)} are not 12-digit AWS account IDs")
        return accounts
    return value


class AccountSettings(Settings):
    """Where the stack may act: its own account (HOME_ACCOUNT) and region, and the member accounts
    (MemberAccounts) whose role MemberRoleName the functions assume. MemberRoleName empty: one account."""

    region: Annotated[str, Field(alias="AWS_REGION")] = ""
    home_account: Annotated[str, Field(alias="HOME_ACCOUNT", pattern=r"^([0-9]{12})?$")] = ""
    member_role_name: Annotated[str, Field(alias="MEMBER_ROLE_NAME", pattern=r"^([\w+=,.@-]{1,64})?$")] = ""
    member_accounts: Annotated[tuple[str, ...], Field(alias="MEMBER_ACCOUNTS"), BeforeValidator(_accounts)] = ()

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


class ResolveSettings(PrincipalSettings, AccountSettings):
    region: Annotated[str, Field(alias="AWS_REGION", min_length=1)]


class GuardSettings(Settings):
    """The one-at-a-time guard's table (``clickpipes.aws.guard``): one item per DB, shared by both workflows."""

    guard_table: Annotated[str, Field(alias="GUARD_TABLE_NAME", min_length=1)]


class SealSettings(Settings):
    """The state seal (``clickpipes.seal``): the stack's key secret (StateSealSecret; empty: nothing is sealed, every
    step describes) and how old a seal may be to stand in for a describe."""

    secret_arn: Annotated[
        str, Field(alias="STATE_SEAL_SECRET_ARN", pattern=r"^(arn:(aws|aws-cn|aws-us-gov):secretsmanager:.+)?$")
    ] = ""
    max_age_seconds: Annotated[int, Field(alias="STATE_SEAL_MAX_AGE_SECONDS", ge=0, le=900)] = 120


class DbSettings(Settings):
    tls_mode: Annotated[Literal["verify-full", "require"], Field(alias="DB_TLS_MODE")] = "verify-full"
    ca_bundle: Annotated[str, Field(alias="DB_CA_BUNDLE", min_length=1)] = "/opt/python/rds-global-bundle.pem"
    connect_timeout_seconds: Annotated[int, Field(alias="DB_CONNECT_TIMEOUT_SECONDS", ge=1, le=60)] = 10


def _regions(value: object) -> object:
    """AUDIT_REGIONS: the stack's CommaDelimitedList of regions, joined with commas."""
    if isinstance(value, str):
        regions = tuple(entry.strip() for entry in value.split(",") if entry.strip())
        bad = [r for r in regions if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]", r)]
        if bad:
            raise ValueError(f"AuditRegions entries {', '.join(bad)} are not AWS regions")
        return regions
    return value


class AuditResolveSettings(ResolveSettings):
    """Where the audit lists DBs by default: this account and MemberAccounts, in AuditRegions (empty: the stack's
    own region)."""

    audit_regions: Annotated[tuple[str, ...], Field(alias="AUDIT_REGIONS"), BeforeValidator(_regions)] = ()

    def served_accounts(self) -> list[str]:
        """This account, then every member account (with MemberRoleName set)."""
        members = list(self.member_accounts) if self.member_role_name else []
        return list(dict.fromkeys([self.home_account or "", *members]))

    def served_regions(self) -> list[str]:
        return list(self.audit_regions or (self.region,))


class AuditSettings(Settings):
    """The audit's thresholds (stack parameters)."""

    slot_wal_warn_bytes: Annotated[int, Field(alias="SLOT_WAL_WARN_BYTES", ge=0)] = 1024**3


class RoleSettings(PrincipalSettings, AccountSettings):
    # the stack's boundary policy (or PermissionsBoundaryArn): every role created or updated carries it
    permissions_boundary_arn: Annotated[
        str, Field(alias="PERMISSIONS_BOUNDARY_ARN", pattern=r"^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:policy/")
    ]

    def boundary_for(self, account: str, partition: str) -> str:
        return self.boundary_arn(account, partition, self.permissions_boundary_arn)


class TriggerSettings(ResolveSettings):
    """The API's and the tag trigger's: what ResolveTarget checks, and the state machine they start."""

    state_machine_arn: Annotated[str, Field(alias="STATE_MACHINE_ARN", pattern=r"^arn:[a-z-]+:states:")]


def _api_url(value: object) -> object:
    """CLICKHOUSE_API_URL: https, or http to this machine only (a local proxy); no trailing slash."""
    if isinstance(value, str):
        url = value.strip().rstrip("/")
        if not re.fullmatch(r"https://[^/?#\s]+(/[^?#\s]*)?|http://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?", url):
            raise ValueError("must be an https:// URL (http:// only to localhost)")
        return url
    return value


class ClickHouseApiSettings(Settings):
    """The stack's ClickHouseOrganizationId, ClickHouseApiKeySecretArn and ClickHouseApiUrl (all optional)."""

    organization_id: Annotated[
        str,
        Field(alias="CLICKHOUSE_ORGANIZATION_ID", pattern=r"^([0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})?$"),
    ] = ""
    api_key_secret_arn: Annotated[
        str, Field(alias="CLICKHOUSE_API_KEY_SECRET_ARN", pattern=r"^(arn:(aws|aws-cn|aws-us-gov):secretsmanager:.+)?$")
    ] = ""
    api_url: Annotated[str, Field(alias="CLICKHOUSE_API_URL"), BeforeValidator(_api_url)] = DEFAULT_CLICKHOUSE_API_URL

    @property
    def configured(self) -> bool:
        return bool(self.organization_id and self.api_key_secret_arn)


class ClickPipeSettings(ClickHouseApiSettings):
    """CreateClickPipe: how often and how long it waits for the new pipe to leave Provisioning/Setup."""

    poll_seconds: Annotated[float, Field(alias="CLICKPIPE_POLL_SECONDS", ge=0, le=60)] = 10
    max_wait_seconds: Annotated[float, Field(alias="CLICKPIPE_MAX_WAIT_SECONDS", ge=0, le=600)] = 120
