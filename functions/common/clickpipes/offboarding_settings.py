"""The offboarding's environment: the state machines (the triggers start either workflow, the API the audit too)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from clickpipes.settings import ResolveSettings, Settings

_STATES_ARN = r"^$|^arn:[a-z-]+:states:"


class MachineSettings(Settings):
    """Empty: that machine is not deployed (or not known to this function)."""

    onboarding_state_machine_arn: Annotated[str, Field(alias="ONBOARDING_STATE_MACHINE_ARN", pattern=_STATES_ARN)] = ""
    offboarding_state_machine_arn: Annotated[str, Field(alias="OFFBOARDING_STATE_MACHINE_ARN", pattern=_STATES_ARN)] = (
        ""
    )
    audit_state_machine_arn: Annotated[str, Field(alias="AUDIT_STATE_MACHINE_ARN", pattern=_STATES_ARN)] = ""


class OffboardingSettings(ResolveSettings, MachineSettings):
    pass
