"""Step RecordFailure: the one failure path. Tag the DB failed (when it was resolved) and turn the caught
error into the execution's error name and a plain message.

A failure after RecordResult (CreateClickPipe's: the ClickPipe, not the access) leaves the DB recorded ready: only
``clickpipes:clickpipe-status`` says ``failed <error>``, and the message says the access is in place, so that a
re-run (which changes nothing else) retries the pipe."""

from __future__ import annotations

import json
import re

from clickpipes import clickpipe_rules, rules
from clickpipes.errors import (
    AccountNotAllowedError,
    ConfigurationError,
    DbNotFoundError,
    InvalidInputError,
    OnboardingInProgressError,
    TransientError,
)
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


# Failures that mean "there is no DB of yours to mark": nothing was touched, nothing is tagged.
# OnboardingInProgressError: another execution is onboarding that DB; its tags are not ours to touch.
# ConfigurationError: the stack, not the DB, is wrong (it was InvalidInputError before it had its own name).
# AccountNotAllowedError: the DB is in an account this stack may not act in (not even to tag it).
UNTAGGED_ERRORS: tuple[type[Exception], ...] = (
    AccountNotAllowedError,
    InvalidInputError,
    DbNotFoundError,
    OnboardingInProgressError,
    ConfigurationError,
)
_UNTAGGED_NAMES = frozenset(error.__name__ for error in UNTAGGED_ERRORS)


def _db_arn(request: RecordFailureRequest, rds: Rds) -> str | None:
    """The failed DB's ARN: from the resolved target, or (when ResolveTarget refused it) looked up again."""
    if request.target is not None:
        return request.target.arn
    if request.error.Error in _UNTAGGED_NAMES:
        return None
    reference = request.input.get("db_identifier")
    try:
        kind, identifier, _ = rules.parse_db_reference(reference if isinstance(reference, str) else "")
    except InvalidInputError:
        return None
    kinds: tuple[rules.DbKind, ...] = (kind,) if kind else ("instance", "cluster")
    found = next((db for k in kinds if (db := rds.describe(k, identifier)) is not None), None)
    return found.arn if found else None


def record_failure(request: RecordFailureRequest, *, rds: Rds) -> FailureOutput:
    error, cause = request.error.Error, failure_message(request.error.Cause)
    arn = _db_arn(request, rds)
    if arn is None:
        return FailureOutput(error=error, cause=cause, tagged=False)
    tags = {rules.STATUS_TAG: "failed", rules.ERROR_TAG: _TAG_UNSAFE.sub("_", error)[:256]}
    if request.result is not None:  # the access is recorded ready: only the pipe failed
        tags = {clickpipe_rules.STATUS_TAG: f"failed {_TAG_UNSAFE.sub('_', error)}"[:256]}
        cause = (
            f"The IAM access is in place and recorded (role {request.result.role_arn}, DB user "
            f"{request.result.db_user}); the ClickPipe failed: {cause} Run the onboarding again to retry the pipe "
            "(nothing else changes)."
        )
        if request.result.plan_only:  # a plan tags nothing
            return FailureOutput(error=error, cause=cause, tagged=False)
    try:
        rds.tag(arn, tags)
    except TransientError:
        raise
    except Exception:  # the DB may be gone (deleted mid-onboarding): the failure must still be reported
        return FailureOutput(error=error, cause=cause, tagged=False)
    return FailureOutput(error=error, cause=cause, tagged=True)
