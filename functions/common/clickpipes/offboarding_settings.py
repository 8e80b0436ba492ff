"""The offboarding's environment: the state machines (the triggers start either workflow, the API the audit too)."""

from __future__ import annotations

from typing import Annotated

from clickpipes.models.base import Meta, field
from clickpipes.settings import ResolveSettings, Settings

_STATES_ARN = Annotated[str, Meta(pattern=r"^$|^arn:[a-z-]+:states:")]


class MachineSettings(Settings, frozen=True, kw_only=True):
    """Empty: that machine is not deployed (or not known to this function)."""

    onboarding_state_machine_arn: _STATES_ARN = field(name="ONBOARDING_STATE_MACHINE_ARN", default="")
    offboarding_state_machine_arn: _STATES_ARN = field(name="OFFBOARDING_STATE_MACHINE_ARN", default="")
    audit_state_machine_arn: _STATES_ARN = field(name="AUDIT_STATE_MACHINE_ARN", default="")


class OffboardingSettings(ResolveSettings, frozen=True, kw_only=True):
    """ResolveOffboarding's: what it checks of the request (the account, the principal allowlist is not used)."""
