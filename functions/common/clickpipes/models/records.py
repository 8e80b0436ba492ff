"""What the gateways read back from AWS: a DB as RDS describes it, a role, the admin secret's
credentials, an execution of the state machine."""

from __future__ import annotations

from typing import Annotated, Any

from clickpipes.models.base import Meta, Model, SecretStr
from clickpipes.rules import DbKind


class DbDescription(Model, frozen=True, kw_only=True):
    """What RDS says about one DB instance or cluster (see ``clickpipes.aws.rds``)."""

    kind: DbKind
    identifier: str
    arn: str
    engine: str
    engine_version: str
    status: str
    resource_id: str
    endpoint: str
    port: int
    iam_auth_enabled: bool
    master_secret_arn: str | None
    master_username: str | None = None
    cluster_identifier: str | None
    engine_mode: str | None
    database: str | None
    pending_modifications: list[str]
    parameter_group: str | None = None  # the DB parameter group (instance) or DB cluster parameter group
    parameter_apply_status: str | None = None  # "in-sync", "applying", "pending-reboot"
    backup_retention_days: int = 0
    members: list[str] = []  # cluster member instances
    writer: str | None = None  # the cluster's writer instance (DBClusterMembers[].IsClusterWriter)
    member_parameter_status: dict[str, str] = {}  # member -> DBClusterParameterGroupStatus: in-sync, pending-reboot
    tags: dict[str, str] | None = None  # the describe's TagList (None: it had none; ask ListTagsForResource)


class RoleInfo(Model, frozen=True, kw_only=True):
    """What IAM says about an existing role (see ``clickpipes.aws.iam``)."""

    arn: str
    path: str
    tags: dict[str, str]
    trust_policy: dict[str, Any]
    permissions_boundary: str | None


class AdminCredentials(Model, frozen=True, kw_only=True):
    """Admin login read from Secrets Manager. The password is a SecretStr: it never prints."""

    username: Annotated[str, Meta(min_length=1)]
    password: SecretStr
    host: Annotated[str, Meta(min_length=1)]
    port: Annotated[int, Meta(ge=1, le=65535)]
    database: str | None


class ExecutionView(Model, frozen=True, kw_only=True):
    """One onboarding execution as Step Functions reports it."""

    name: str
    status: str
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    current_step: str | None
    started_at: str
    stopped_at: str | None
