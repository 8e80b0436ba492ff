"""Step ConfigureCdcDatabase: the database side of CDC readiness (grants, publication, binlog retention).

With ``cdc: false`` it still runs, read-only (``CdcDbRequest.replication`` off): the SELECT grants an initial load
needs, nothing for replication. Either way it reports the published tables (``CdcDbResult.published_tables``), of
which CreateClickPipe makes its table mappings."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.models import CdcDbRequest, CdcDbResult, Target
from clickpipes.offboarding_models import ORIGINAL_RETENTION_TAG
from clickpipes.steps.ports import Database, Rds, Secrets
from clickpipes.steps.shared import admin_login


def configure_cdc_database(target: Target, *, rds: Rds, secrets: Secrets, database: Database) -> CdcDbResult:
    _, credentials = admin_login(rds, secrets, target)
    request = CdcDbRequest(
        user=rules.check_db_user(target.db_user, target.engine),
        schemas=target.cdc.schemas,
        tables=target.cdc.tables,
        publication=target.cdc.publication,
        binlog_retention_hours=target.cdc.binlog_retention_hours,
        plan_only=target.plan_only,
        replication=target.cdc.enabled,
        pipe_tables=list(target.clickpipe.tables) if target.clickpipe and target.clickpipe.tables else None,
    )
    result = database.configure_cdc(rules.family(target.engine), credentials, request)
    if result.previous_binlog_retention is not None and ORIGINAL_RETENTION_TAG not in rds.tags(target.arn):
        # for an offboarding's revert_settings; a re-run keeps the first record (the value before the tool)
        rds.tag(target.arn, {ORIGINAL_RETENTION_TAG: result.previous_binlog_retention})
    return result
