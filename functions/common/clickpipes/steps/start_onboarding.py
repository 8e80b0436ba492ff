"""Start an onboarding (API and tag trigger): refuse bad input early, never run two at once for one DB."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Final

from clickpipes.errors import OnboardingInProgressError, OnboardingNotFoundError
from clickpipes.models import ExecutionView, OnboardingInput
from clickpipes.settings import ResolveSettings
from clickpipes.steps.ports import StateMachine
from clickpipes.steps.shared import check_request

# Execution name = "<db identifier>--<12 hex>": RDS identifiers never contain "--", so the prefix
# "<db identifier>--" names exactly the executions of that DB. At most 63 + 2 + 12 <= 80 characters.
ONBOARDING_ID: Final = re.compile(r"[a-z](?:[a-z0-9]|-(?!-)){0,62}--[0-9a-f]{12}")


def start_onboarding(
    request: OnboardingInput,
    *,
    sfn: StateMachine,
    settings: ResolveSettings,
    dedupe_key: str | None = None,
) -> str:
    """Start the workflow; returns the onboarding id. ``dedupe_key``: the same key starts at most once.
    The request is checked first (input, allowlist, reserved names): a refusal starts nothing."""
    identifier = check_request(request, settings=settings).identifier
    running = sfn.running_names(f"{identifier}--")
    if running:
        raise OnboardingInProgressError(
            f"Onboarding {running[0]} of DB '{identifier}' is still running: wait for it to finish "
            f"(GET /onboardings/{running[0]})."
        )
    suffix = hashlib.sha256(dedupe_key.encode()).hexdigest()[:12] if dedupe_key else uuid.uuid4().hex[:12]
    name = f"{identifier}--{suffix}"
    payload = request.model_dump(exclude_unset=True) | {"requested_by": request.requested_by}
    if not sfn.start(name, payload):
        raise OnboardingInProgressError(f"Onboarding {name} of DB '{identifier}' was already started.")
    return name


def get_onboarding(onboarding_id: str, *, sfn: StateMachine) -> ExecutionView:
    view = sfn.describe(onboarding_id) if ONBOARDING_ID.fullmatch(onboarding_id) else None
    if view is None:
        raise OnboardingNotFoundError(f"No onboarding with id {onboarding_id!r}.")
    return view
