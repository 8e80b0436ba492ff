"""Step DropDbUser: the DB side of the offboarding, with the admin secret (see ``clickpipes_db.offboard_*``).

The user (only this tool's: marked), its sessions, and on PostgreSQL the publication (only ours: marked) and
the DB's logical replication slots (inactive ones named, dropped only with drop_replication_slots; active ones
never). With revert_settings, the MySQL family's binlog retention goes back to what the onboarding recorded."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.offboarding_models import DbOffboardRequest, DbOffboardResult, OffboardTarget
from clickpipes.record_tags import ORIGINAL_RETENTION_TAG
from clickpipes.steps.offboard_ports import OffboardDatabase
from clickpipes.steps.ports import Rds, Secrets
from clickpipes.steps.shared import admin_login


def drop_db_user(target: OffboardTarget, *, rds: Rds, secrets: Secrets, database: OffboardDatabase) -> DbOffboardResult:
    user = rules.check_db_user(target.db_user, target.engine)
    family = rules.family(target.engine)
    _, credentials = admin_login(rds, secrets, target)
    retention = target.records.get(ORIGINAL_RETENTION_TAG) if family == "mysql" and target.revert_settings else None
    request = DbOffboardRequest(
        user=user,
        publication=target.publication,
        plan_only=target.plan_only,
        drop_replication_slots=target.drop_replication_slots,
        restore_binlog_retention=retention,
    )
    return database.offboard(family, credentials, request)
