"""Start an offboarding (API and tag trigger): refuse bad input early, never while an onboarding or another
offboarding of the DB runs (``sfn`` sees both state machines: ``offboard_ports.Machines``)."""

from __future__ import annotations

import hashlib
import uuid

from clickpipes.errors import OnboardingInProgressError, OnboardingNotFoundError
from clickpipes.models import ExecutionView
from clickpipes.offboarding_models import OffboardingInput
from clickpipes.settings import ResolveSettings
from clickpipes.steps.offboard_resolve import check_offboarding_request
from clickpipes.steps.ports import StateMachine
from clickpipes.steps.start_onboarding import ONBOARDING_ID


def start_offboarding(
    request: OffboardingInput,
    *,
    sfn: StateMachine,
    settings: ResolveSettings,
    dedupe_key: str | None = None,
) -> str:
    """Start the offboarding workflow; returns its id (``<db identifier>--<12 hex>``, like an onboarding's)."""
    identifier = check_offboarding_request(request, settings=settings)[1]
    running = sfn.running_names(f"{identifier}--")
    if running:
        raise OnboardingInProgressError(
            f"An onboarding or offboarding ({running[0]}) of DB '{identifier}' is still running: wait for it to "
            "finish, then offboard."
        )
    suffix = hashlib.sha256(dedupe_key.encode()).hexdigest()[:12] if dedupe_key else uuid.uuid4().hex[:12]
    name = f"{identifier}--{suffix}"
    payload = request.model_dump(exclude_unset=True) | {"requested_by": request.requested_by}
    if not sfn.start(name, payload):
        raise OnboardingInProgressError(f"Offboarding {name} of DB '{identifier}' was already started.")
    return name


def get_offboarding(offboarding_id: str, *, sfn: StateMachine) -> ExecutionView:
    view = sfn.describe(offboarding_id) if ONBOARDING_ID.fullmatch(offboarding_id) else None
    if view is None:
        raise OnboardingNotFoundError(f"No offboarding with id {offboarding_id!r}.")
    return view
