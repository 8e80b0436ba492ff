"""Step CheckDbStatus: one poll of the wait loop. Ready = available with IAM authentication on."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.errors import ModificationTimeoutError
from clickpipes.models import CheckDbStatusRequest, DbStatusResult
from clickpipes.steps.enable_iam_auth import current
from clickpipes.steps.ports import Rds


def check_db_status(request: CheckDbStatusRequest, *, rds: Rds) -> DbStatusResult:
    target = request.target
    db = current(rds, target)
    available = rules.check_db_state(db.kind, db.identifier, db.status)
    # plan_only changed nothing, so there is nothing to wait for
    ready = available and (db.iam_auth_enabled or target.plan_only)
    if not ready and request.waited_seconds >= request.max_wait_seconds:
        raise ModificationTimeoutError(
            f"DB {db.kind} '{db.identifier}' is still '{db.status}' (IAM authentication "
            f"{'on' if db.iam_auth_enabled else 'off'}) after {request.waited_seconds} s: check its events in the "
            "RDS console, then run the onboarding again (it resumes where it stopped), or raise MaxWaitSeconds."
        )
    return DbStatusResult(
        ready=ready, status=db.status, iam_auth_enabled=db.iam_auth_enabled, waited_seconds=request.waited_seconds
    )
