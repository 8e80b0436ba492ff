"""Step ConfigureCdcDatabase: the database side of CDC readiness (grants, publication, binlog retention).

With ``cdc: false`` the onboarding leaves it out: CreateDbUser makes the SELECT grants an initial load needs (the
same request, ``CdcDbRequest.replication`` off, which this step also honours when invoked so).
Either way the result reports the published tables (``CdcDbResult.published_tables``), of which CreateClickPipe
makes its table mappings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clickpipes import rules
from clickpipes.models import CdcDbResult, Target
from clickpipes.record_tags import ORIGINAL_RETENTION_TAG
from clickpipes.steps.locate import tags_of
from clickpipes.steps.ports import Database, Rds, Secrets
from clickpipes.steps.shared import admin_login, cdc_db_request

if TYPE_CHECKING:
    from clickpipes.seal import Seals


def configure_cdc_database(
    target: Target,
    *,
    rds: Rds,
    secrets: Secrets,
    database: Database,
    seal: dict[str, Any] | None = None,
    seals: Seals | None = None,
) -> CdcDbResult:
    db, credentials = admin_login(rds, secrets, target, seal=seal, seals=seals)
    result = database.configure_cdc(rules.family(target.engine), credentials, cdc_db_request(target))
    if result.previous_binlog_retention is not None and ORIGINAL_RETENTION_TAG not in tags_of(rds, db):
        # for an offboarding's revert_settings; a re-run keeps the first record (the value before the tool)
        rds.tag(target.arn, {ORIGINAL_RETENTION_TAG: result.previous_binlog_retention})
    return result
