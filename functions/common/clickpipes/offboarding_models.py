"""Models of the offboarding workflow: its input, what each of its steps takes and returns.

Kept apart from ``clickpipes.models`` (the onboarding's): the offboarding reuses its field types, errors and
failure path, and adds only what taking access away needs.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from clickpipes.models import (
    DbFacts,
    Model,
    SchemaName,
    SecretArn,
    StepResult,
)
from clickpipes.models.base import Meta, field


class OffboardingRequest(Model, frozen=True, kw_only=True):
    """What a user asks for (the API's body): the execution input but the requester, which the trigger sets."""

    db_identifier: Annotated[str, Meta(min_length=1, max_length=2048)]
    plan_only: bool = False
    drop_replication_slots: bool = False
    revert_settings: bool = False
    # where the onboarding's defaults or records do not say it (an onboarding with other names, no RDS secret)
    admin_secret_arn: SecretArn | None = None
    database: Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$")] | None = None
    db_user: Annotated[str, Meta(min_length=1, max_length=256)] | None = None
    publication: SchemaName | None = None


class OffboardingInput(OffboardingRequest, frozen=True, kw_only=True):
    requested_by: Annotated[str, Meta(min_length=1, max_length=2048)] | None = None


class ResolveOffboardingRequest(Model, frozen=True, kw_only=True):
    request: dict[str, Any]
    execution_arn: str
    state_machine_arn: str


class OffboardTarget(DbFacts, frozen=True, kw_only=True):
    """The DB to offboard as RDS describes it, and what the onboarding recorded on its tags. No secret."""

    workflow: ClassVar[str] = "offboarding"

    publication: str
    role_name: str
    records: dict[str, str] = field(default_factory=dict)  # the record_tags.RECORD_TAGS the DB carries
    plan_only: bool = False
    drop_replication_slots: bool = False
    revert_settings: bool = False
    warnings: list[str] = field(default_factory=list)
    requested_by: str | None = None


class OffboardTargetRequest(Model, frozen=True, kw_only=True):
    target: OffboardTarget


class RoleDeletionResult(StepResult, frozen=True, kw_only=True):
    role_name: str
    role_arn: str | None = None
    deleted: bool = False


class DbOffboardRequest(Model, frozen=True, kw_only=True):
    """What the DB step must make true (see ``clickpipes_db.offboard_postgres`` / ``offboard_mysql``)."""

    user: str
    publication: str  # PostgreSQL
    plan_only: bool
    drop_replication_slots: bool = False
    # MySQL family, with revert_settings: the binlog retention to set back ("NULL": RDS's default), else None
    restore_binlog_retention: str | None = None


class DbOffboardResult(Model, frozen=True, kw_only=True):
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    user: str = "absent"  # "dropped", "disabled", "absent", "foreign"
    publication: str = "absent"  # "dropped", "absent", "foreign" (MySQL: "absent")
    binlog_retention_restored: bool = False


class RevertSettingsResult(StepResult, frozen=True, kw_only=True):
    untag: list[str] = field(default_factory=list)  # the record tags whose change was undone


class RecordOffboardingRequest(Model, frozen=True, kw_only=True):
    target: OffboardTarget
    role: RoleDeletionResult
    db: DbOffboardResult
    settings: RevertSettingsResult


class OffboardingOutput(Model, frozen=True, kw_only=True):
    db_identifier: str
    changes: list[str]
    warnings: list[str]
    plan_only: bool
    requested_by: str | None
