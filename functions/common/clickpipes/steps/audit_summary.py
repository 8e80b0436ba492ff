"""Step SummarizeAudit: the audit's output (counts) and its DriftedDatabases metric."""

from __future__ import annotations

from clickpipes.audit_models import AuditOutput, SummarizeAuditRequest


def summarize_audit(request: SummarizeAuditRequest) -> AuditOutput:
    databases = request.databases
    return AuditOutput(
        databases=databases,
        drifted=sum(db.status == "drifted" for db in databases),
        gone=sum(db.status == "gone" for db in databases),
    )
