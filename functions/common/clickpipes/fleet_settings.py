"""The fleet's environment: the stack's defaults for how many DBs at once and how many failures to tolerate."""

from __future__ import annotations

from typing import Annotated

from clickpipes.models.base import Meta, field
from clickpipes.offboarding_settings import MachineSettings
from clickpipes.settings import ResolveSettings


class FleetSettings(ResolveSettings, frozen=True, kw_only=True):
    """FleetMaxConcurrency and FleetToleratedFailurePercentage (the input's max_concurrency and
    tolerated_failure_percentage win)."""

    max_concurrency: Annotated[int, Meta(ge=1, le=1000)] = field(name="FLEET_MAX_CONCURRENCY", default=10)
    tolerated_failure_percentage: Annotated[float, Meta(ge=0, le=100)] = field(
        name="FLEET_TOLERATED_FAILURE_PERCENTAGE", default=0
    )


class FleetSummarySettings(MachineSettings, frozen=True, kw_only=True):
    """The onboarding machine, whose child executions the summary reads when an iteration failed."""


class FleetApiSettings(FleetSettings, frozen=True, kw_only=True):
    """The API's: what ResolveFleet checks without AWS, and the fleet machine it starts."""

    fleet_state_machine_arn: Annotated[str, Meta(pattern=r"^$|^arn:[a-z-]+:states:")] = field(
        name="FLEET_STATE_MACHINE_ARN", default=""
    )
