"""The execution input: what a user asks for (the API's body, a tag, a direct StartExecution), and
ResolveTarget's event.

Inputs from users forbid unknown fields, so a typo (``db_users``) is an error, not a silent default."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from clickpipes import names
from clickpipes.models.base import (
    Model,
    SchemaName,
    SecretArn,
    TableName,
)


class OnboardingRequest(Model):
    """What a user asks for (the API's body): the execution input but the requester, which the trigger sets."""

    db_identifier: Annotated[str, Field(min_length=1, max_length=2048)]
    clickhouse_role_arn: Annotated[str, Field(min_length=1, max_length=2048)] | None = None
    db_user: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    admin_secret_arn: SecretArn | None = None
    database: Annotated[str, Field(pattern=names.anchored(names.DATABASE))] | None = None
    # CDC readiness (the rest of ClickPipes' source setup)
    cdc: bool = True
    schemas: Annotated[list[SchemaName], Field(max_length=100)] | None = None
    tables: Annotated[list[TableName], Field(max_length=1000)] | None = None
    publication: SchemaName = "clickpipes"
    binlog_retention_hours: Annotated[int, Field(ge=1, le=2160)] | None = None
    allow_reboot: bool = False
    plan_only: bool = False
    # the trust boundary's two opt-ins (never the protected users, never a principal outside the allowlist)
    adopt_existing_user: bool = False
    apply_pending_modifications: bool = False


class OnboardingInput(OnboardingRequest):
    """The execution input: the request, and who asked (API: the caller's IAM ARN; tag: the CloudTrail event's
    userIdentity.arn; a direct StartExecution: whatever its caller, trusted by IAM to start executions, says)."""

    requested_by: Annotated[str, Field(min_length=1, max_length=2048)] | None = None


class ResolveTargetRequest(Model):
    """ResolveTarget's event: the execution input, and which execution this is (for the one-at-a-time guard)."""

    request: dict[str, Any]
    execution_arn: str
    state_machine_arn: str
