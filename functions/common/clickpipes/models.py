"""Pydantic models of the workflow's data: the execution input, what each step takes and returns.

Inputs from users forbid unknown fields, so a typo (``db_users``) is an error, not a silent default.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from clickpipes import names
from clickpipes.errors import InvalidInputError
from clickpipes.rules import DbKind, Engine

SchemaName = Annotated[str, Field(pattern=names.anchored(names.PG_NAME))]
TableName = Annotated[str, Field(pattern=names.anchored(names.PG_TABLE))]
SecretArn = Annotated[
    str,
    Field(
        pattern=r"^arn:(aws|aws-cn|aws-us-gov):secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$",
        max_length=2048,
    ),
]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


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


class CdcOptions(Model):
    """CDC settings after defaults and engine checks (see ``steps.resolve_target``)."""

    enabled: bool
    schemas: list[str]
    tables: list[str]
    publication: str
    binlog_retention_hours: int | None
    allow_reboot: bool


# What a step accepts about a DB: exact values, never a wildcard (each step checks its own input).
DbIdentifier = Annotated[str, Field(pattern=names.anchored(names.DB_IDENTIFIER), max_length=63)]
_PARTITION = r"arn:(aws|aws-cn|aws-us-gov)"
DbArn = Annotated[
    str, Field(pattern="^" + _PARTITION + r":rds:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:(db|cluster):[a-z][a-z0-9-]*$")
]
Partition = Literal["aws", "aws-cn", "aws-us-gov"]
Region = Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")]
Account = Annotated[str, Field(pattern=r"^[0-9]{12}$")]
ResourceId = Annotated[str, Field(pattern=r"^(db|cluster)-[A-Z0-9]{1,255}$")]
DbUserName = Annotated[str, Field(pattern=names.anchored(names.DB_USER))]
_IAM_NAME = r"[A-Za-z0-9_+=,.@-]"
RoleArn = Annotated[
    str, Field(pattern="^" + _PARTITION + rf":iam::[0-9]{{12}}:role/({_IAM_NAME}+/)*{_IAM_NAME}{{1,64}}$")
]
Hostname = Annotated[str, Field(pattern=r"^$|^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")]  # empty while RDS creates it


class Target(Model):
    """The resolved database: everything later steps need, and no secret."""

    db_identifier: DbIdentifier
    kind: DbKind
    arn: DbArn
    partition: Partition
    region: Region
    account: Account
    engine: Engine
    engine_version: str
    resource_id: ResourceId
    endpoint: Hostname
    port: Annotated[int, Field(ge=1, le=65535)]
    database: str | None
    iam_auth_enabled: bool
    admin_secret_arn: SecretArn
    db_user: DbUserName
    clickhouse_role_arn: RoleArn
    cdc: CdcOptions
    plan_only: bool = False
    warnings: list[str] = []
    adopt_existing_user: bool = False
    apply_pending_modifications: bool = False
    requested_by: str | None = None


class TargetRequest(Model):
    target: Target


class StepResult(Model):
    """Every changing step reports its changes (with plan_only: the changes it would make) and warnings."""

    changes: list[str] = []
    warnings: list[str] = []


class EnableIamAuthResult(StepResult):
    modified: bool


class CheckDbStatusRequest(Model):
    target: Target
    waited_seconds: Annotated[int, Field(ge=0)] = 0
    max_wait_seconds: Annotated[int, Field(ge=0)]
    instance: str | None = None  # after RebootDb: the instance just rebooted, which must be available too


class DbStatusResult(Model):
    ready: bool
    status: str
    iam_auth_enabled: bool
    waited_seconds: int


class CdcDbRequest(Model):
    """What the CDC database step must make true (see ``clickpipes_db.cdc``)."""

    user: str
    schemas: list[str]  # PostgreSQL: schemas to publish and grant; MySQL: schemas to grant SELECT on
    tables: list[str]  # "schema.table": when given, the publication lists exactly these
    publication: str  # PostgreSQL publication name
    binlog_retention_hours: int | None  # MySQL family: mysql.rds_set_configuration('binlog retention hours')
    plan_only: bool


class CdcDbResult(Model):
    actions: list[str]  # what was done (or, with plan_only, what would be done), in order, as SQL-ish text
    warnings: list[str] = []
    iam_auth_for_replication: bool | None = None
    # MySQL family: the server's live binlog settings are what CDC needs (None: not checked, PostgreSQL)
    binlog_ready: bool | None = None


class DbUserResult(Model):
    created: bool
    changed: bool
    actions: list[str]  # the SQL run (with plan_only: that would run)
    iam_auth_for_replication: bool | None = None
    warnings: list[str] = []


class IamRoleResult(StepResult):
    role_name: str
    role_arn: str
    dbuser_arn: str
    created: bool
    updated: bool


class CdcParametersResult(StepResult):
    """The AWS side of CDC: parameter group, backups. ``reboot_required``: a static change awaits a reboot."""

    skipped: bool = False
    reboot_required: bool = False
    pending_reboot: list[str] = []


class RebootResult(StepResult):
    """RebootDb reboots one instance per call: ``current`` (now rebooting), ``rebooted`` so far (current last),
    ``remaining`` in order. The state machine waits for ``current`` to be available before the next call."""

    rebooted: list[str]
    current: str | None = None
    remaining: list[str] = []


class RebootRequest(Model):
    target: Target
    previous: RebootResult | None = None  # the last RebootDb result of this execution (None: first call)


class RecordResultRequest(Model):
    target: Target
    enable: EnableIamAuthResult
    db_user: DbUserResult
    role: IamRoleResult
    cdc_parameters: CdcParametersResult | None = None
    reboot: RebootResult | None = None
    cdc_database: CdcDbResult | None = None


class OnboardingOutput(Model):
    """The execution output on success: what the user pastes into ClickPipes, and how it got there."""

    db_identifier: str
    kind: DbKind
    engine: Engine
    engine_version: str
    resource_id: str
    endpoint: str
    port: int
    db_user: str
    dbuser_arn: str
    role_arn: str
    pipe_modes: list[str]
    changes: list[str]
    warnings: list[str]
    plan_only: bool
    requested_by: str | None


class StepError(BaseModel):
    """A Step Functions error as caught by a Catch (``$states.errorOutput``)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    Error: str = "States.Runtime"
    Cause: str | None = None


class RecordFailureRequest(Model):
    input: dict[str, Any]
    target: Target | None = None
    error: StepError


class FailureOutput(Model):
    error: str
    cause: str
    tagged: bool


def parse[M: BaseModel](model: type[M], event: object) -> M:
    """Validate an event against a model; every violation becomes one precise InvalidInputError."""
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'input'}: {err['msg']}" for err in exc.errors())
        raise InvalidInputError(f"Invalid input: {problems}.") from None


class DbDescription(Model):
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


class RoleInfo(Model):
    """What IAM says about an existing role (see ``clickpipes.aws.iam``)."""

    arn: str
    path: str
    tags: dict[str, str]
    trust_policy: dict[str, Any]
    permissions_boundary: str | None


class AdminCredentials(Model):
    """Admin login read from Secrets Manager. The password is a SecretStr: it never prints."""

    username: Annotated[str, Field(min_length=1)]
    password: SecretStr
    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)]
    database: str | None


class RunningExecution(Model):
    arn: str
    name: str
    started_at: str  # ISO 8601
    db_identifier: str | None  # from its input


class ExecutionView(Model):
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


class TagEvent(BaseModel):
    """An EventBridge event from either tag rule: CloudTrail AddTagsToResource, or aws.tag Tag Change."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str
    source: Literal["aws.rds", "aws.tag"]
    time: str
    resources: list[str] = []
    detail: dict[str, Any]

    @property
    def db_arn(self) -> str | None:
        if self.source == "aws.tag":
            return self.resources[0] if self.resources else None
        name = (self.detail.get("requestParameters") or {}).get("resourceName")
        return name if isinstance(name, str) else None


class TagTriggerResult(Model):
    db_arn: str | None
    started: str | None
    reason: str
