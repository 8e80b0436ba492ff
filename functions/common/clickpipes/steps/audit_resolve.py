"""Step ResolveAudit: which DBs to audit. Changes nothing.

The input's ``db_identifiers``, else every DB tagged clickpipes:status=ready and every DB a role of this tool
(path /clickpipes/, tag clickpipes:db-arn) names that no longer exists: its role is an orphan."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.audit_models import AuditInput, AuditItem, AuditPlan
from clickpipes.steps.audit_ports import AuditIam, AuditRds


def check_audit_request(request: AuditInput) -> list[AuditItem]:
    """Everything checkable without AWS (the API answers 400 on it)."""
    items: dict[str, AuditItem] = {}
    for reference in request.db_identifiers or []:
        kind, identifier, _ = rules.parse_db_reference(reference)
        items.setdefault(identifier, AuditItem(db_identifier=identifier, kind=kind))
    return list(items.values())


def resolve_audit(request: AuditInput, *, rds: AuditRds, iam: AuditIam, region: str) -> AuditPlan:
    named = check_audit_request(request)
    if request.db_identifiers is not None:
        items = [
            item.model_copy(update={"role_name": rules.role_name(item.kind, item.db_identifier, region)})
            if item.kind
            else item
            for item in named
        ]
        return AuditPlan(items=items, repair=request.repair, delete_orphans=request.delete_orphans)
    dbs = rds.list_dbs()
    existing = {(kind, identifier) for kind, identifier, _ in dbs}
    items = [
        AuditItem(db_identifier=identifier, kind=kind, role_name=rules.role_name(kind, identifier, region))
        for kind, identifier, tags in dbs
        if tags.get(rules.STATUS_TAG) == "ready"
    ]
    for name in iam.list_role_names(rules.ROLE_PATH):
        role = iam.get_role(name)
        db = rules.db_of_arn((role.tags if role else {}).get(rules.DB_ARN_TAG, ""))
        if db is None:
            continue  # not a role this tool made
        if db not in existing:
            items.append(AuditItem(db_identifier=db[1], kind=db[0], role_name=name))
    return AuditPlan(items=items, repair=request.repair, delete_orphans=request.delete_orphans)
