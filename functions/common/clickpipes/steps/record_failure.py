"""Step RecordFailure: the one failure path. Tag the DB failed (when it was resolved) and turn the caught
error into the execution's error name and a plain message."""

from __future__ import annotations

import json
import re

from clickpipes import rules
from clickpipes.errors import TransientError
from clickpipes.models import FailureOutput, RecordFailureRequest
from clickpipes.steps.ports import Rds

_TAG_UNSAFE = re.compile(r"[^\w .:/=+\-@]")


def failure_message(cause: str | None) -> str:
    """A Lambda error's cause is the runtime's JSON (message, type, stack trace): keep the message only."""
    if not cause:
        return "No cause was reported."
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    message = parsed.get("errorMessage") if isinstance(parsed, dict) else None
    if isinstance(message, str):
        return message
    return cause


def record_failure(request: RecordFailureRequest, *, rds: Rds) -> FailureOutput:
    error, cause = request.error.Error, failure_message(request.error.Cause)
    if request.target is None:  # bad input or unknown DB: nothing was changed, nothing to tag
        return FailureOutput(error=error, cause=cause, tagged=False)
    try:
        rds.tag(
            request.target.arn,
            {rules.STATUS_TAG: "failed", rules.ERROR_TAG: _TAG_UNSAFE.sub("_", error)[:256]},
        )
    except TransientError:
        raise
    except Exception:  # the DB may be gone (deleted mid-onboarding): the failure must still be reported
        return FailureOutput(error=error, cause=cause, tagged=False)
    return FailureOutput(error=error, cause=cause, tagged=True)
