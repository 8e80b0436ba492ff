"""Start an offboarding (API and tag trigger): refuse bad input early, never while an onboarding or another
offboarding of the DB runs (``shared.hold_db``)."""

from __future__ import annotations

from clickpipes.models import ExecutionView
from clickpipes.offboarding_models import OffboardingInput
from clickpipes.settings import ResolveSettings
from clickpipes.steps.offboard_resolve import check_offboarding_request
from clickpipes.steps.ports import Guard, StateMachine
from clickpipes.steps.shared import guard_key
from clickpipes.steps.start_onboarding import get_execution, start_execution


def start_offboarding(
    request: OffboardingInput,
    *,
    sfn: StateMachine,
    guard: Guard,
    settings: ResolveSettings,
    dedupe_key: str | None = None,
) -> str:
    """Start the offboarding workflow; returns its id (``<db identifier>--<12 hex>``, like an onboarding's)."""
    identifier = check_offboarding_request(request, settings=settings)[1]
    key = guard_key(request.db_identifier, identifier, settings=settings)
    busy = (
        "An onboarding or offboarding ({running}) of DB '{identifier}' is still running: wait for it to finish, "
        "then offboard."
    )
    return start_execution(sfn, guard, identifier, key, request, dedupe_key=dedupe_key, what="Offboarding", busy=busy)


def get_offboarding(offboarding_id: str, *, sfn: StateMachine) -> ExecutionView:
    return get_execution(offboarding_id, sfn=sfn, what="offboarding")
