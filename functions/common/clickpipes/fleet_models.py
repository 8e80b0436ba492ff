"""Pydantic models of the fleet workflow: its input (a selector plus every onboarding field as the DBs' defaults),
the DBs it onboards (one child onboarding each), and its summary."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, create_model, model_validator

from clickpipes.engines import DbKind, Engine
from clickpipes.models import Model, OnboardingRequest
from clickpipes.models.base import Account, Region

MAX_FLEET: int = 2000  # the items travel in the state (256 KiB): ~80 bytes each, the defaults once
STATUS = Literal["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "NOT_STARTED", "RUNNING"]

# Every onboarding field but db_identifier, as OnboardingRequest declares it (its constraints and defaults):
# a field added to the onboarding is a fleet default too.
OnboardingDefaults: Any = create_model(
    "OnboardingDefaults",
    __base__=Model,
    **{
        name: (info.annotation, info)
        for name, info in OnboardingRequest.model_fields.items()
        if name != "db_identifier"
    },  # type: ignore[call-overload]
)


class FleetTag(Model):
    key: Annotated[str, Field(min_length=1, max_length=128)]
    value: Annotated[str, Field(max_length=256)]


class FleetRequest(OnboardingDefaults):  # a class built from OnboardingRequest
    """What a user asks for (the API's body): which DBs (``db_identifiers``, or ``tag``, narrowed by ``engines``,
    ``regions``, ``accounts``), how many at once, how many failures to tolerate, and the onboarding fields."""

    db_identifiers: (
        Annotated[list[Annotated[str, Field(min_length=1, max_length=2048)]], Field(min_length=1, max_length=MAX_FLEET)]
        | None
    ) = None
    tag: FleetTag | None = None
    engines: Annotated[list[Engine], Field(min_length=1, max_length=5)] | None = None
    regions: Annotated[list[Region], Field(min_length=1, max_length=30)] | None = None
    accounts: Annotated[list[Account], Field(min_length=1, max_length=100)] | None = None
    max_concurrency: Annotated[int, Field(ge=1, le=1000)] | None = None
    tolerated_failure_percentage: Annotated[float, Field(ge=0, le=100)] | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> FleetRequest:
        if (self.db_identifiers is None) == (self.tag is None):
            raise ValueError("name the DBs with exactly one of db_identifiers or tag {key, value}")
        return self

    def defaults(self) -> dict[str, Any]:
        """The onboarding fields the user set, for every DB's child onboarding."""
        return self.model_dump(exclude_unset=True, include=set(OnboardingDefaults.model_fields))


class FleetInput(FleetRequest):
    """The execution input: the request, and who asked (the API: the caller's IAM ARN)."""

    requested_by: Annotated[str, Field(min_length=1, max_length=2048)] | None = None


class ResolveFleetRequest(Model):
    request: dict[str, Any]
    fleet_execution: Annotated[str, Field(min_length=1, max_length=80)]  # names the children (``child_name``)


class DbListing(Model):
    """One DB as DescribeDBInstances/DescribeDBClusters list it (cluster members are their cluster's)."""

    kind: DbKind
    identifier: str
    engine: str
    arn: str
    tags: dict[str, str]


class FleetItem(Model):
    """One DB of the fleet and the name of its child onboarding (``<db identifier>--<12 hex>``, GET /onboardings);
    the child's db_identifier is the DB's ARN (its kind, account and region said)."""

    db_identifier: str
    arn: str
    kind: DbKind
    engine: str
    execution_name: str


class FleetPlan(Model):
    items: list[FleetItem]
    defaults: dict[str, Any]
    max_concurrency: int
    tolerated_failure_percentage: float
    plan_only: bool
    warnings: list[str] = Field(default_factory=list)


class FleetDbResult(Model):
    db_identifier: str
    arn: str | None = None  # the DB's (its account and region: one identifier may be in several)
    execution_name: str
    status: STATUS
    role_arn: str | None = None
    pipe_modes: list[str] = Field(default_factory=list)
    changes: list[str] = Field(default_factory=list)
    error: str | None = None
    cause: str | None = None


class SummarizeFleetRequest(Model):
    items: list[FleetItem]
    results: list[dict[str, Any] | None] | None  # the Map's output (None where an iteration failed)
    error: dict[str, Any] | None = None  # the Map's error when it failed (more failures than tolerated)
    plan_only: bool = False
    warnings: list[str] = Field(default_factory=list)


class FleetOutput(Model):
    databases: list[FleetDbResult]
    total: int
    succeeded: int
    failed: int
    running: int  # still running when the fleet stopped (Step Functions stops them)
    not_started: int
    plan_only: bool
    warnings: list[str]
