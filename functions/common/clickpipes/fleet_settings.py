"""The fleet's environment: the stack's defaults for how many DBs at once and how many failures to tolerate."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from clickpipes.offboarding_settings import MachineSettings
from clickpipes.settings import ResolveSettings


class FleetSettings(ResolveSettings):
    """FleetMaxConcurrency and FleetToleratedFailurePercentage (the input's max_concurrency and
    tolerated_failure_percentage win)."""

    max_concurrency: Annotated[int, Field(alias="FLEET_MAX_CONCURRENCY", ge=1, le=1000)] = 10
    tolerated_failure_percentage: Annotated[float, Field(alias="FLEET_TOLERATED_FAILURE_PERCENTAGE", ge=0, le=100)] = 0


class FleetSummarySettings(MachineSettings):
    """The onboarding machine, whose child executions the summary reads when an iteration failed."""


class FleetApiSettings(FleetSettings):
    """The API's: what ResolveFleet checks without AWS, and the fleet machine it starts."""

    fleet_state_machine_arn: Annotated[
        str, Field(alias="FLEET_STATE_MACHINE_ARN", pattern=r"^$|^arn:[a-z-]+:states:")
    ] = ""
