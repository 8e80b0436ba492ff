"""Step CheckDbStatus: one poll of the wait loop. Ready = available with IAM authentication on, and after a
reboot the rebooted instance available as well. Any status that is not a known dead end is waited on
(``rules.check_db_state``), bounded by MaxWaitSeconds."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.errors import DbNotFoundError, ModificationTimeoutError
from clickpipes.models import CheckDbStatusRequest, DbStatusResult
from clickpipes.steps.ports import Rds
from clickpipes.steps.shared import current


def check_db_status(request: CheckDbStatusRequest, *, rds: Rds) -> DbStatusResult:
    target = request.target
    db = current(rds, target)
    available = rules.check_db_state(db.kind, db.identifier, db.status)
    status = db.status
    if request.instance and (db.kind, db.identifier) != ("instance", request.instance):
        instance = rds.describe("instance", request.instance)
        if instance is None:
            raise DbNotFoundError(f"DB instance '{request.instance}' no longer exists (deleted during its reboot).")
        instance_available = rules.check_db_state("instance", instance.identifier, instance.status)
        available = available and instance_available
        if not instance_available:
            status = f"{db.status} (instance {instance.identifier}: {instance.status})"
    # plan_only changed nothing, so there is nothing to wait for
    ready = available and (db.iam_auth_enabled or target.plan_only)
    if not ready and request.waited_seconds >= request.max_wait_seconds:
        raise ModificationTimeoutError(
            f"DB {db.kind} '{db.identifier}' is still '{status}' (IAM authentication "
            f"{'on' if db.iam_auth_enabled else 'off'}) after {request.waited_seconds} s: check its events in the "
            "RDS console, then run the onboarding again (it resumes where it stopped), or raise MaxWaitSeconds."
        )
    return DbStatusResult(
        ready=ready, status=status, iam_auth_enabled=db.iam_auth_enabled, waited_seconds=request.waited_seconds
    )
