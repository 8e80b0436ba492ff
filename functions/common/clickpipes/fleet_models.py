"""Models of the fleet workflow: its input (a selector plus every onboarding field as the DBs' defaults),
the DBs it onboards (one child onboarding each), and its summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec

from clickpipes.engines import DbKind, Engine
from clickpipes.models import Model, OnboardingRequest
from clickpipes.models.base import Account, Meta, Region, field

MAX_FLEET: int = 2000  # the items travel in the state (256 KiB): ~80 bytes each, the defaults once
STATUS = Literal["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "NOT_STARTED", "RUNNING"]

# Every onboarding field but db_identifier, as OnboardingRequest declares it (its constraints and defaults):
# a field added to the onboarding is a fleet default too.
if TYPE_CHECKING:

    class OnboardingDefaults(Model, frozen=True, kw_only=True):
        """For the type checker: the fields are made at import, from OnboardingRequest's."""

else:
    OnboardingDefaults = msgspec.defstruct(
        "OnboardingDefaults",
        [
            (info.name, info.type, field(default=info.default, default_factory=info.default_factory))
            for info in msgspec.structs.fields(OnboardingRequest)
            if info.name != "db_identifier"
        ],
        bases=(Model,),
        frozen=True,
        kw_only=True,
        module=__name__,
    )


class FleetTag(Model, frozen=True, kw_only=True):
    key: Annotated[str, Meta(min_length=1, max_length=128)]
    value: Annotated[str, Meta(max_length=256)]


class FleetRequest(OnboardingDefaults, frozen=True, kw_only=True):  # a class built from OnboardingRequest
    """What a user asks for (the API's body): which DBs (``db_identifiers``, or ``tag``, narrowed by ``engines``,
    ``regions``, ``accounts``), how many at once, how many failures to tolerate, and the onboarding fields."""

    db_identifiers: (
        Annotated[list[Annotated[str, Meta(min_length=1, max_length=2048)]], Meta(min_length=1, max_length=MAX_FLEET)]
        | None
    ) = None
    tag: FleetTag | None = None
    engines: Annotated[list[Engine], Meta(min_length=1, max_length=5)] | None = None
    regions: Annotated[list[Region], Meta(min_length=1, max_length=30)] | None = None
    accounts: Annotated[list[Account], Meta(min_length=1, max_length=100)] | None = None
    max_concurrency: Annotated[int, Meta(ge=1, le=1000)] | None = None
    tolerated_failure_percentage: Annotated[float, Meta(ge=0, le=100)] | None = None

    def model_check(self) -> None:
        super().model_check()
        if (self.db_identifiers is None) == (self.tag is None):
            raise ValueError("name the DBs with exactly one of db_identifiers or tag {key, value}")

    def defaults(self) -> dict[str, Any]:
        """The onboarding fields the user set, for every DB's child onboarding."""
        onboarding = OnboardingDefaults.model_fields
        return {name: value for name, value in self.model_dump(exclude_unset=True).items() if name in onboarding}


class FleetInput(FleetRequest, frozen=True, kw_only=True):
    """The execution input: the request, and who asked (the API: the caller's IAM ARN)."""

    requested_by: Annotated[str, Meta(min_length=1, max_length=2048)] | None = None


class ResolveFleetRequest(Model, frozen=True, kw_only=True):
    request: dict[str, Any]
    fleet_execution: Annotated[str, Meta(min_length=1, max_length=80)]  # names the children (``child_name``)


class DbListing(Model, frozen=True, kw_only=True):
    """One DB as DescribeDBInstances/DescribeDBClusters list it (cluster members are their cluster's)."""

    kind: DbKind
    identifier: str
    engine: str
    arn: str
    tags: dict[str, str]


class FleetItem(Model, frozen=True, kw_only=True):
    """One DB of the fleet and the name of its child onboarding (``<db identifier>--<12 hex>``, GET /onboardings);
    the child's db_identifier is the DB's ARN (its kind, account and region said)."""

    db_identifier: str
    arn: str
    kind: DbKind
    engine: str
    execution_name: str


class FleetPlan(Model, frozen=True, kw_only=True):
    items: list[FleetItem]
    defaults: dict[str, Any]
    max_concurrency: int
    tolerated_failure_percentage: float
    plan_only: bool
    warnings: list[str] = field(default_factory=list)


class FleetDbResult(Model, frozen=True, kw_only=True):
    db_identifier: str
    arn: str | None = None  # the DB's (its account and region: one identifier may be in several)
    execution_name: str
    status: STATUS
    role_arn: str | None = None
    pipe_modes: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    error: str | None = None
    cause: str | None = None


class SummarizeFleetRequest(Model, frozen=True, kw_only=True):
    items: list[FleetItem]
    results: list[dict[str, Any] | None] | None  # the Map's output (None where an iteration failed)
    error: dict[str, Any] | None = None  # the Map's error when it failed (more failures than tolerated)
    plan_only: bool = False
    warnings: list[str] = field(default_factory=list)


class FleetOutput(Model, frozen=True, kw_only=True):
    databases: list[FleetDbResult]
    total: int
    succeeded: int
    failed: int
    running: int  # still running when the fleet stopped (Step Functions stops them)
    not_started: int
    plan_only: bool
    warnings: list[str]
