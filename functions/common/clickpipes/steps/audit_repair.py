"""Step RepairDatabase: with ``repair``, what the audit may fix, and only that.

Repairable drift (the DB exists, the principal is still allowed, nothing the onboarding refuses) starts the
onboarding again, as recorded on the DB's tags: the same user, principal, admin login and CDC setting, never a
reboot. It is idempotent, so it puts back exactly what drifted; it starts at most once per audit and DB (the
execution name derives from both) and never beside another onboarding or offboarding of the DB (the guard).
What the onboarding leaves alone on its own role is taken off first: managed policies someone attached
(detached, not changed) and inline policies beside its rds-db:connect one. An orphan role (its DB is gone) is
deleted only with ``delete_orphans``, and only when it is this tool's: under /clickpipes/ and tagged
clickpipes:db-arn with the gone DB's kind and identifier."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.audit_models import DbAudit, DbAuditRequest
from clickpipes.errors import OnboardingInProgressError
from clickpipes.models import OnboardingInput
from clickpipes.settings import ResolveSettings
from clickpipes.steps.audit_ports import AuditIam
from clickpipes.steps.ports import Guard, StateMachine
from clickpipes.steps.shared import take_apart_role
from clickpipes.steps.start_onboarding import start_onboarding


def repair_database(
    request: DbAuditRequest, *, sfn: StateMachine, guard: Guard, iam: AuditIam, settings: ResolveSettings
) -> DbAudit:
    audit = request.audit
    if not request.repair:
        return audit
    if audit.status == "gone":
        return audit.model_copy(update={"repair": delete_orphan(audit, iam)}) if request.delete_orphans else audit
    target = audit.target
    if audit.status != "drifted" or not audit.repairable or target is None:
        return audit
    onboarding = OnboardingInput(
        db_identifier=target.arn,
        clickhouse_role_arn=target.clickhouse_role_arn,
        db_user=target.db_user,
        admin_secret_arn=target.admin_secret_arn,
        cdc=target.cdc.enabled,
        schemas=target.cdc.schemas or None,
        publication=target.cdc.publication,
        binlog_retention_hours=target.cdc.binlog_retention_hours,
        requested_by=f"audit {request.audit_execution}",
    )
    stripped = strip_role(audit, iam)
    try:
        started = start_onboarding(
            onboarding, sfn=sfn, guard=guard, settings=settings, dedupe_key=f"audit:{request.audit_execution}"
        )
    except OnboardingInProgressError as exc:
        return audit.model_copy(update={"repair": f"not started: {exc}" + stripped})
    return audit.model_copy(update={"repair": f"onboarding {started} started" + stripped})


def strip_role(audit: DbAudit, iam: AuditIam) -> str:
    """The role's extras (managed policies, foreign inline policies), when the audit found them."""
    checks = {f.check for f in audit.findings}
    name = audit.role_name
    if name is None or not checks & {"role-managed-policies", "role-permissions"}:
        return ""
    removed = []
    for arn in iam.attached_policies(name):
        iam.detach_policy(name, arn)
        removed.append(f"detached {arn}")
    for policy in iam.list_inline_policies(name):
        if policy != rules.CONNECT_POLICY_NAME:
            iam.delete_inline_policy(name, policy)
            removed.append(f"deleted inline policy {policy}")
    return f" ({'; '.join(removed)})" if removed else ""


def delete_orphan(audit: DbAudit, iam: AuditIam) -> str | None:
    name = audit.role_name
    role = iam.get_role(name) if name else None
    if name is None or role is None:
        return None
    if role.path != rules.ROLE_PATH or rules.db_of_arn(role.tags.get(rules.DB_ARN_TAG, "")) != (
        audit.kind,
        audit.db_identifier,
    ):
        return f"role {role.arn} is not this tool's role for {audit.db_identifier}: left as it is"
    _, deleted = take_apart_role(iam, name, role, plan_only=False)
    if not deleted:
        return f"orphan role {role.arn}: policies deleted, the role not (someone attached managed policies)"
    return f"orphan role {role.arn} deleted"
