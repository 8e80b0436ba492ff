"""What each Lambda step takes and returns (the state machine's data between steps), and the
execution's output on success or failure."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from clickpipes.models.base import (
    Account,
    DbArn,
    DbIdentifier,
    DbUserName,
    Hostname,
    Lenient,
    Meta,
    Model,
    Partition,
    Region,
    ResourceId,
    RoleArn,
    SecretArn,
)
from clickpipes.models.input import ClickPipeRequest
from clickpipes.rules import DbKind, Engine


class CdcOptions(Model, frozen=True, kw_only=True):
    """CDC settings after defaults and engine checks (see ``steps.resolve_target``)."""

    enabled: bool
    schemas: list[str]
    tables: list[str]
    publication: str
    binlog_retention_hours: int | None
    allow_reboot: bool


class DbFacts(Model, frozen=True, kw_only=True):
    """The DB as RDS described it when a workflow resolved it, and the login a step uses on it: what the
    onboarding's and the offboarding's targets share. Each acting step checks it against RDS again
    (``steps.shared.described``)."""

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
    port: Annotated[int, Meta(ge=1, le=65535)]
    database: str | None
    iam_auth_enabled: bool
    admin_secret_arn: SecretArn
    db_user: DbUserName

    workflow: ClassVar[str] = "onboarding"  # the word the shared steps' messages use


class Target(DbFacts, frozen=True, kw_only=True):
    """The resolved database: everything later steps need, and no secret."""

    clickhouse_role_arn: RoleArn
    # set when the role was read from this ClickHouse Cloud service (CreateIamRole reads it again)
    clickhouse_service_id: str | None = None
    clickpipe: ClickPipeRequest | None = None
    cdc: CdcOptions
    plan_only: bool = False
    warnings: list[str] = []
    adopt_existing_user: bool = False
    apply_pending_modifications: bool = False
    requested_by: str | None = None


class TargetRequest(Model, frozen=True, kw_only=True):
    target: Target
    # the DB as a former step sealed it (``clickpipes.seal``): used instead of a describe when it verifies, is
    # fresh and is of this target's DB; None: the step describes
    seal: dict[str, Any] | None = None


class ResolvedTarget(Model, frozen=True, kw_only=True):
    """ResolveTarget's result: the target, and the DB as its describe saw it, sealed (None: the stack seals nothing)."""

    target: Target
    seal: dict[str, Any] | None = None


class StepResult(Model, frozen=True, kw_only=True):
    """Every changing step reports its changes (with plan_only: the changes it would make) and warnings."""

    changes: list[str] = []
    warnings: list[str] = []


class EnableIamAuthResult(StepResult, frozen=True, kw_only=True):
    modified: bool


class CheckDbStatusRequest(Model, frozen=True, kw_only=True):
    target: Target
    waited_seconds: Annotated[int, Meta(ge=0)] = 0
    max_wait_seconds: Annotated[int, Meta(ge=0)]
    instance: str | None = None  # after RebootDb: the instance just rebooted, which must be available too


class DbStatusResult(Model, frozen=True, kw_only=True):
    ready: bool
    status: str
    iam_auth_enabled: bool | None  # None: the poll saw the rebooted instance not back, and described nothing else
    waited_seconds: int
    seal: dict[str, Any] | None = None  # when ready: the DB as this poll described it, sealed (``clickpipes.seal``)


class CdcDbRequest(Model, frozen=True, kw_only=True):
    """What the CDC database step must make true (see ``clickpipes_db.cdc``)."""

    user: str
    schemas: list[str]  # PostgreSQL: schemas to publish and grant; MySQL: schemas to grant SELECT on
    tables: list[str]  # "schema.table": when given, the publication lists exactly these
    publication: str  # PostgreSQL publication name
    binlog_retention_hours: int | None  # MySQL family: mysql.rds_set_configuration('binlog retention hours')
    plan_only: bool
    # False (the onboarding with cdc: false): only what an initial load reads with, the SELECT grants; no
    # replication grant, publication or binlog retention
    replication: bool = True
    # the ClickPipe's tables (clickpipe.tables), to check against the published ones; None: no pipe, or its
    # tables are the published ones
    pipe_tables: list[str] | None = None


class CdcDbResult(Model, frozen=True, kw_only=True):
    changes: list[str]  # what was done (or, with plan_only, what would be done), in order, as SQL-ish text
    warnings: list[str] = []
    iam_auth_for_replication: bool | None = None
    # MySQL family: the server's live binlog settings are what CDC needs (None: not checked, PostgreSQL)
    binlog_ready: bool | None = None
    # MySQL family: the binlog retention before this run changed it ("NULL": RDS's default); None: unchanged
    previous_binlog_retention: str | None = None
    # what a ClickPipe replicates ("schema.table", sorted; at most clickpipe_rules.MAX_PUBLISHED_TABLES, of
    # published_count): PostgreSQL, the publication's tables (cdc: false, the tables of the schemas); MySQL family,
    # the tables of the granted schemas (only the onboarding's tables, when given). None: not known yet (plan_only
    # before the publication is made)
    published_tables: list[str] | None = None
    published_count: int | None = None
    unpublished: list[str] = []  # those of the request's pipe_tables that are not published


class DbUserResult(Model, frozen=True, kw_only=True):
    created: bool
    changed: bool
    changes: list[str]  # the SQL run (with plan_only: that would run)
    iam_auth_for_replication: bool | None = None
    warnings: list[str] = []
    # cdc: false: the read grants, made by CreateDbUser with the same login (the onboarding then skips
    # ConfigureCdcDatabase); None with CDC, whose grants wait for the parameters and the reboot
    reads: CdcDbResult | None = None


class IamRoleResult(StepResult, frozen=True, kw_only=True):
    role_name: str
    role_arn: str
    dbuser_arn: str
    created: bool
    updated: bool


class CdcParametersResult(StepResult, frozen=True, kw_only=True):
    """The AWS side of CDC: parameter group, backups. ``reboot_required``: a static change awaits a reboot."""

    skipped: bool = False
    reboot_required: bool = False
    pending_reboot: list[str] = []


class RebootResult(StepResult, frozen=True, kw_only=True):
    """RebootDb reboots one instance per call: ``current`` (now rebooting), ``rebooted`` so far (current last),
    ``remaining`` in order. The state machine waits for ``current`` to be available before the next call."""

    rebooted: list[str]
    current: str | None = None
    remaining: list[str] = []


class RebootRequest(Model, frozen=True, kw_only=True):
    target: Target
    previous: RebootResult | None = None  # the last RebootDb result of this execution (None: first call)


class RecordResultRequest(Model, frozen=True, kw_only=True):
    target: Target
    enable: EnableIamAuthResult
    db_user: DbUserResult
    role: IamRoleResult
    cdc_parameters: CdcParametersResult | None = None
    reboot: RebootResult | None = None
    cdc_database: CdcDbResult | None = None


class OnboardingOutput(Model, frozen=True, kw_only=True):
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


class StepError(Lenient, frozen=True, kw_only=True):
    """A Step Functions error as caught by a Catch (``$states.errorOutput``)."""

    Error: str = "States.Runtime"
    Cause: str | None = None


class RecordFailureRequest(Model, frozen=True, kw_only=True):
    input: dict[str, Any]
    target: Target | None = None
    error: StepError
    # RecordResult's output when the failure came after it (CreateClickPipe): the access is granted and recorded
    result: OnboardingOutput | None = None


class FailureOutput(Model, frozen=True, kw_only=True):
    error: str
    cause: str
    tagged: bool


class CreateClickPipeRequest(Model, frozen=True, kw_only=True):
    """CreateClickPipe's event: the resolved DB, the onboarding's output (RecordResult's), and what
    ConfigureCdcDatabase reported (the published tables)."""

    target: Target
    output: OnboardingOutput
    cdc_database: CdcDbResult | None = None


class ClickPipeOutput(OnboardingOutput, frozen=True, kw_only=True):
    """The execution output with a ClickPipe: the onboarding's, and the pipe's id and state."""

    clickpipe_id: str
    clickpipe_name: str
    clickpipe_state: str
