"""Step SummarizeAudit: the audit's output and counts, the drift tag on each DB, one drift event per drifted DB.

clickpipes:drift names the drifted checks on the DB and is removed when it is clean again (a gone DB has no tags
to set), through the RDS of the DB's own account and region. The event (source clickpipes.onboarding, detail-type
"ClickPipes Access Drift", on this stack's bus) carries the DB's account, region and findings, never a secret:
rules route it to SNS, email or chat. The DriftedDatabases metric is the handler's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Final

from clickpipes import audit_rules
from clickpipes.audit_models import AuditOutput, DbAudit, SummarizeAuditRequest
from clickpipes.errors import TransientError
from clickpipes.steps.audit_ports import Events
from clickpipes.steps.offboard_ports import OffboardRds

SOURCE: Final = "clickpipes.onboarding"
DETAIL_TYPE: Final = "ClickPipes Access Drift"
DETAIL_MAX: Final = 200_000  # an entry is at most 256 KiB: findings beyond are cut, the count stays


def summarize_audit(
    request: SummarizeAuditRequest, *, rds: Callable[[str, str], OffboardRds], events: Events
) -> AuditOutput:
    """``rds(account, region)``: the RDS of the DB's account and region (``clients.client_in``)."""
    databases = [db.model_copy(update={"target": None}) for db in request.databases]
    for db in databases:
        arn = db.db_arn
        if arn is None or db.status in ("error", "gone"):
            continue
        tags = rds(db.account, db.region)
        if db.findings:
            tags.tag(arn, {audit_rules.DRIFT_TAG: audit_rules.drift_tag(db.findings)})
        elif audit_rules.DRIFT_TAG in tags.tags(arn):
            tags.untag(arn, [audit_rules.DRIFT_TAG])
    drifted = [db for db in databases if db.status in ("drifted", "gone")]
    if drifted and events.put([event(db, request.audit_execution) for db in drifted]):
        raise TransientError("EventBridge refused some drift events; will retry.")
    repaired = [db.db_identifier for db in databases if db.repair and not db.repair.startswith(("not ", "role "))]
    return AuditOutput(
        databases=databases,
        drifted=sum(db.status == "drifted" for db in databases),
        gone=sum(db.status == "gone" for db in databases),
        failed=sum(db.status == "error" for db in databases),
        repaired=repaired if request.repair else None,
    )


def event(db: DbAudit, execution: str) -> dict[str, str]:
    detail = {
        "db_identifier": db.db_identifier,
        "account": db.account,
        "region": db.region,
        "kind": db.kind,
        "status": db.status,
        "role_arn": db.role_arn,
        "audit": execution,
        "findings": [f.model_dump(mode="json") for f in db.findings],
    }
    text = json.dumps(detail)
    while len(text) > DETAIL_MAX and detail["findings"]:
        detail["findings"] = detail["findings"][:-1]
        text = json.dumps(detail | {"truncated": True})
    return {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": text}
