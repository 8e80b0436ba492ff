"""Step RebootDb: only with allow_reboot, when a static CDC change awaits a reboot. One instance per call, so
that each is back to `available` before the next is rebooted (the state machine's wait loop watches
``current``): an instance, or a cluster's writer once and then, where the engine needs it, each reader
(``rules.reboot_order``)."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.models import RebootRequest, RebootResult
from clickpipes.steps.ports import Rds
from clickpipes.steps.shared import current


def reboot_db(request: RebootRequest, *, rds: Rds) -> RebootResult:
    target, previous = request.target, request.previous
    done: list[str] = []
    changes: list[str] = []
    if previous is not None:
        order, done, changes = list(previous.remaining), list(previous.rebooted), list(previous.changes)
    elif target.kind == "instance":  # the instance itself: no describe (RDS refuses a missing or busy one)
        order = [target.db_identifier]
    else:  # a cluster: its writer and members as RDS describes them now
        db = current(rds, target)
        order = rules.reboot_order(
            target.engine,
            target.engine_version,
            db.kind,
            db.identifier,
            writer=db.writer,
            members=db.members,
            parameter_status=db.member_parameter_status,
        )
    if not order:
        return RebootResult(rebooted=done, current=None, remaining=[], changes=changes)
    instance, remaining = order[0], order[1:]
    rds.reboot_instance(instance)
    return RebootResult(
        rebooted=[*done, instance],
        current=instance,
        remaining=remaining,
        changes=[*changes, f"RebootDBInstance {instance}"],
    )
