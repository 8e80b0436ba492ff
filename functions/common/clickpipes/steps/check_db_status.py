"""Step CheckDbStatus: one poll of the wait loop. Ready = available with IAM authentication on, and after a
reboot the rebooted instance available as well. Any status that is not a known dead end is waited on
(``rules.check_db_state``), bounded by MaxWaitSeconds.

A ready poll seals what it described (``clickpipes.seal``): the next step acts on it instead of describing again.
After a cluster member's reboot the rebooted instance is described first, and the cluster only once that instance
is back (writer-first: a poll of a rebooting writer costs one describe, not two)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clickpipes import rules
from clickpipes.errors import DbNotFoundError, ModificationTimeoutError
from clickpipes.models import CheckDbStatusRequest, DbStatusResult
from clickpipes.steps.ports import Rds
from clickpipes.steps.shared import current, sealed

if TYPE_CHECKING:
    from clickpipes.seal import Seals


def check_db_status(request: CheckDbStatusRequest, *, rds: Rds, seals: Seals | None = None) -> DbStatusResult:
    target = request.target
    timed_out = request.waited_seconds >= request.max_wait_seconds
    member = (
        request.instance
        if request.instance and (target.kind, target.db_identifier) != ("instance", request.instance)
        else None
    )
    instance_status: str | None = None
    if member is not None:  # the rebooted instance first: while it is not back, the cluster need not be described
        instance = rds.describe("instance", member)
        if instance is None:
            raise DbNotFoundError(f"DB instance '{member}' no longer exists (deleted during its reboot).")
        if not rules.check_db_state("instance", instance.identifier, instance.status):
            instance_status = f"instance {instance.identifier}: {instance.status}"
            if not timed_out:
                return DbStatusResult(
                    ready=False, status=instance_status, iam_auth_enabled=None, waited_seconds=request.waited_seconds
                )
    db = current(rds, target)
    available = rules.check_db_state(db.kind, db.identifier, db.status) and instance_status is None
    status = f"{db.status} ({instance_status})" if instance_status else db.status
    # plan_only changed nothing, so there is nothing to wait for
    ready = available and (db.iam_auth_enabled or target.plan_only)
    if not ready and timed_out:
        raise ModificationTimeoutError(
            f"DB {db.kind} '{db.identifier}' is still '{status}' (IAM authentication "
            f"{'on' if db.iam_auth_enabled else 'off'}) after {request.waited_seconds} s: check its events in the "
            "RDS console, then run the onboarding again (it resumes where it stopped), or raise MaxWaitSeconds."
        )
    return DbStatusResult(
        ready=ready,
        status=status,
        iam_auth_enabled=db.iam_auth_enabled,
        waited_seconds=request.waited_seconds,
        seal=sealed(db, seals) if ready else None,
    )
