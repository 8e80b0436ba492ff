"""Step RebootDb: only when the input says allow_reboot and a static CDC change awaits a reboot."""

from __future__ import annotations

from clickpipes.models import RebootResult, Target
from clickpipes.steps.enable_iam_auth import current
from clickpipes.steps.ports import Rds


def reboot_db(target: Target, *, rds: Rds) -> RebootResult:
    db = current(rds, target)
    rebooted = rds.reboot(db.kind, db.identifier, db.members)
    return RebootResult(rebooted=rebooted, changes=[f"RebootDBInstance {name}" for name in rebooted])
