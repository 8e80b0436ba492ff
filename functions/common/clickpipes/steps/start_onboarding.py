"""Start an onboarding (API and tag trigger): refuse bad input early, never run two at once for one DB."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Final

from clickpipes.errors import OnboardingInProgressError, OnboardingNotFoundError
from clickpipes.models import ExecutionView, OnboardingInput
from clickpipes.models.base import Base
from clickpipes.settings import ResolveSettings
from clickpipes.steps.ports import Guard, StateMachine
from clickpipes.steps.shared import check_request, hold_db

# Execution name = "<db identifier>--<12 hex>": RDS identifiers never contain "--", so the prefix
# "<db identifier>--" names exactly the executions of that DB. At most 63 + 2 + 12 <= 80 characters.
ONBOARDING_ID: Final = re.compile(r"[a-z](?:[a-z0-9]|-(?!-)){0,62}--[0-9a-f]{12}")


def start_onboarding(
    request: OnboardingInput,
    *,
    sfn: StateMachine,
    guard: Guard,
    settings: ResolveSettings,
    dedupe_key: str | None = None,
) -> str:
    """Start the workflow; returns the onboarding id. ``dedupe_key``: the same key starts at most once.
    The request is checked first (input, allowlist, reserved names): a refusal starts nothing."""
    checked = check_request(request, settings=settings)
    busy = (
        "Onboarding {running} of DB '{identifier}' is still running: wait for it to finish "
        "(GET /onboardings/{running})."
    )
    return start_execution(
        sfn, guard, checked.identifier, checked.guard_key, request, dedupe_key=dedupe_key, what="Onboarding", busy=busy
    )


def start_execution(
    sfn: StateMachine,
    guard: Guard,
    identifier: str,
    key: str,
    request: Base,
    *,
    dedupe_key: str | None,
    what: str,
    busy: str,
) -> str:
    """Start ``<db identifier>--<12 hex>`` with the checked request as input (and who asked, even when unset),
    holding the DB for it first (``shared.hold_db``): while an onboarding or offboarding of that DB runs,
    OnboardingInProgressError with ``busy`` (placeholders ``{running}``, ``{identifier}``)."""
    suffix = hashlib.sha256(dedupe_key.encode()).hexdigest()[:12] if dedupe_key else uuid.uuid4().hex[:12]
    name = f"{identifier}--{suffix}"
    # a start made before (a duplicate event: the same name) is refused like any other running execution: Step
    # Functions would answer a repeated StartExecution of a running one with that one, not an error
    hold_db(guard, identifier, key, sfn.execution_arn(name), busy, again=False)
    payload = request.model_dump(exclude_unset=True) | {"requested_by": getattr(request, "requested_by", None)}
    if not sfn.start(name, payload):
        raise OnboardingInProgressError(f"{what} {name} of DB '{identifier}' was already started.")
    return name


def get_execution(execution_id: str, *, sfn: StateMachine, what: str) -> ExecutionView:
    view = sfn.describe(execution_id) if ONBOARDING_ID.fullmatch(execution_id) else None
    if view is None:
        raise OnboardingNotFoundError(f"No {what} with id {execution_id!r}.")
    return view


def get_onboarding(onboarding_id: str, *, sfn: StateMachine) -> ExecutionView:
    return get_execution(onboarding_id, sfn=sfn, what="onboarding")
