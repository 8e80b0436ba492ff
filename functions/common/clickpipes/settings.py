"""Each function's environment, as a model: read once per invocation, never at import time."""

from __future__ import annotations

import os
import re
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from clickpipes import trust
from clickpipes.errors import ConfigurationError

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


class ResolveSettings(PrincipalSettings):
    region: Annotated[str, Field(alias="AWS_REGION", min_length=1)]


class GuardSettings(Settings):
    """The one-at-a-time guard's table (``clickpipes.aws.guard``): one item per DB, shared by both workflows."""

    guard_table: Annotated[str, Field(alias="GUARD_TABLE_NAME", min_length=1)]


class DbSettings(Settings):
    tls_mode: Annotated[Literal["verify-full", "require"], Field(alias="DB_TLS_MODE")] = "verify-full"
    ca_bundle: Annotated[str, Field(alias="DB_CA_BUNDLE", min_length=1)] = "/opt/python/rds-global-bundle.pem"
    connect_timeout_seconds: Annotated[int, Field(alias="DB_CONNECT_TIMEOUT_SECONDS", ge=1, le=60)] = 10


class AuditSettings(Settings):
    """The audit's thresholds (stack parameters)."""

    slot_wal_warn_bytes: Annotated[int, Field(alias="SLOT_WAL_WARN_BYTES", ge=0)] = 1024**3


class RoleSettings(PrincipalSettings):
    # the stack's boundary policy (or PermissionsBoundaryArn): every role created or updated carries it
    permissions_boundary_arn: Annotated[
        str, Field(alias="PERMISSIONS_BOUNDARY_ARN", pattern=r"^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:policy/")
    ]


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
