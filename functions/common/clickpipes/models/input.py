"""The execution input: what a user asks for (the API's body, a tag, a direct StartExecution), and
ResolveTarget's event.

Inputs from users forbid unknown fields, so a typo (``db_users``) is an error, not a silent default."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from clickpipes import names
from clickpipes.models.base import (
    Meta,
    Model,
    SchemaName,
    SecretArn,
    TableName,
)

ServiceId = Annotated[str, Meta(pattern=r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")]


class ClickPipeRequest(Model, frozen=True, kw_only=True):
    """``clickpipe``: the ClickPipe CreateClickPipe creates at the end of the onboarding (ClickHouse Cloud API)."""

    name: Annotated[str, Meta(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")]
    replication_mode: Literal["cdc", "snapshot"] = "cdc"
    destination_database: Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    tables: Annotated[list[TableName], Meta(min_length=1, max_length=1000)] | None = None


class OnboardingRequest(Model, frozen=True, kw_only=True):
    """What a user asks for (the API's body): the execution input but the requester, which the trigger sets."""

    db_identifier: Annotated[str, Meta(min_length=1, max_length=2048)]
    clickhouse_role_arn: Annotated[str, Meta(min_length=1, max_length=2048)] | None = None
    # instead of clickhouse_role_arn: the ClickHouse Cloud service whose iamRole to trust (read through the API)
    clickhouse_service_id: ServiceId | None = None
    db_user: Annotated[str, Meta(min_length=1, max_length=256)] | None = None
    admin_secret_arn: SecretArn | None = None
    database: Annotated[str, Meta(pattern=names.anchored(names.DATABASE))] | None = None
    # CDC readiness (the rest of ClickPipes' source setup)
    cdc: bool = True
    schemas: Annotated[list[SchemaName], Meta(max_length=100)] | None = None
    tables: Annotated[list[TableName], Meta(max_length=1000)] | None = None
    publication: SchemaName = "clickpipes"
    binlog_retention_hours: Annotated[int, Meta(ge=1, le=2160)] | None = None
    allow_reboot: bool = False
    plan_only: bool = False
    # the trust boundary's two opt-ins (never the protected users, never a principal outside the allowlist)
    adopt_existing_user: bool = False
    apply_pending_modifications: bool = False
    # opt-in: create the ClickPipe at the end (needs the stack's ClickHouse Cloud API settings)
    clickpipe: ClickPipeRequest | None = None

    def model_check(self) -> None:
        if self.clickhouse_role_arn and self.clickhouse_service_id:
            raise ValueError("give clickhouse_role_arn or clickhouse_service_id, not both")
        if self.clickpipe is not None and not self.clickhouse_service_id:
            raise ValueError("clickpipe needs clickhouse_service_id (the ClickHouse Cloud service to create it in)")


class OnboardingInput(OnboardingRequest, frozen=True, kw_only=True):
    """The execution input: the request, and who asked (API: the caller's IAM ARN; tag: the CloudTrail event's
    userIdentity.arn; a direct StartExecution: whatever its caller, trusted by IAM to start executions, says)."""

    requested_by: Annotated[str, Meta(min_length=1, max_length=2048)] | None = None


class ResolveTargetRequest(Model, frozen=True, kw_only=True):
    """ResolveTarget's event: the execution input, and which execution this is (for the one-at-a-time guard)."""

    request: dict[str, Any]
    execution_arn: str
    state_machine_arn: str
