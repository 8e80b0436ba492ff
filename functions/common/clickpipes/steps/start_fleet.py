"""Start a fleet (the API): refuse bad input before anything starts; read a fleet with its progress."""

from __future__ import annotations

import re
import uuid
from typing import Any, Final

from clickpipes.errors import OnboardingInProgressError, OnboardingNotFoundError
from clickpipes.fleet_models import FleetInput
from clickpipes.fleet_settings import FleetSettings
from clickpipes.models import ExecutionView
from clickpipes.steps.fleet_ports import FleetMachine
from clickpipes.steps.fleet_resolve import check_fleet_request

FLEET_ID: Final = re.compile(r"fleet--[0-9a-f]{12}")


def start_fleet(request: FleetInput, *, sfn: FleetMachine, settings: FleetSettings) -> str:
    """Start ``fleet--<12 hex>`` with the checked request as input; returns its id. The per-DB guard is each
    child onboarding's (ResolveTarget): two fleets may name the same DB, only one onboards it at a time."""
    check_fleet_request(request, settings=settings)
    name = f"fleet--{uuid.uuid4().hex[:12]}"
    payload = request.model_dump(exclude_unset=True) | {"requested_by": request.requested_by}
    if not sfn.start(name, payload):  # pragma: no cover - a random name
        raise OnboardingInProgressError(f"Fleet {name} was already started.")
    return name


def get_fleet(fleet_id: str, *, sfn: FleetMachine) -> tuple[ExecutionView, dict[str, Any]]:
    """The fleet's execution and its progress: total, done (succeeded), failed, running, pending."""
    view = sfn.describe(fleet_id) if FLEET_ID.fullmatch(fleet_id) else None
    if view is None:
        raise OnboardingNotFoundError(f"No fleet onboarding with id {fleet_id!r}.")
    counts = sfn.progress(fleet_id) or {}
    progress = {
        "total": counts.get("total", 0),
        "done": counts.get("succeeded", 0),
        "failed": counts.get("failed", 0) + counts.get("timedOut", 0) + counts.get("aborted", 0),
        "running": counts.get("running", 0),
        "pending": counts.get("pending", 0),
    }
    return view, progress
