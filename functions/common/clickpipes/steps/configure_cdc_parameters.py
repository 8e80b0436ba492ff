"""Step ConfigureCdcParameters: the AWS side of CDC readiness. Parameters go into our own parameter group
(defaults cannot be modified; a shared custom group is copied, not changed under other databases), automated
backups are turned on for MySQL-family instances (that enables the binlog). Static changes await a reboot."""

from __future__ import annotations

from dataclasses import dataclass, field

from clickpipes import rules
from clickpipes.models import CdcParametersResult, DbDescription, Target
from clickpipes.steps.enable_iam_auth import current
from clickpipes.steps.ports import Rds

BACKUP_RETENTION_DAYS = 1


@dataclass
class Plan:
    group: str  # our parameter group
    create_from: str | None  # None: exists already; "": from the family (like a default); else: copy of that group
    to_set: dict[str, tuple[str, bool]]
    enable_backups: bool
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pending_reboot: list[str] = field(default_factory=list)


def configure_cdc_parameters(target: Target, *, rds: Rds) -> CdcParametersResult:
    if not target.cdc.enabled:
        return CdcParametersResult(skipped=True)
    db = current(rds, target)
    plan = make_plan(target, db, rds)
    if not target.plan_only:
        apply(plan, target, db, rds)
    return CdcParametersResult(
        changes=plan.changes,
        warnings=plan.warnings,
        reboot_required=bool(plan.pending_reboot),
        pending_reboot=plan.pending_reboot,
    )


def make_plan(target: Target, db: DbDescription, rds: Rds) -> Plan:
    """What must change, read from RDS; changes nothing."""
    ours = rules.cdc_parameter_group_name(db.kind, db.identifier)
    wanted = rules.CDC_PARAMETERS[target.engine]
    current_group = db.parameter_group
    values = rds.parameter_values(db.kind, current_group, [p.name for p in wanted]) if current_group else {}
    to_set = {p.name: (p.value, p.static) for p in wanted if (values.get(p.name) or "").upper() != p.value.upper()}
    create_from = None
    if current_group != ours and to_set:
        is_default = current_group is None or current_group.startswith("default.")
        create_from = "" if is_default else current_group
    plan = Plan(group=ours, create_from=create_from, to_set=to_set, enable_backups=_needs_backups(target, db))

    if create_from is not None:
        family = rules.parameter_group_family(target.engine, target.engine_version)
        origin = f"a copy of {create_from}" if create_from else f"family {family}"
        plan.changes += [f"Create parameter group {ours} ({origin})", f"Attach {ours} to {db.kind} {db.identifier}"]
        plan.pending_reboot.append(f"parameter group {ours}")
        if create_from:
            plan.warnings.append(
                f"Parameter group {create_from} may be shared: copied it to {ours} instead of changing it."
            )
    for name, (value, static) in to_set.items():
        plan.changes.append(
            f"Set {name}={value} in {ours}" + (" (static: applies at the next reboot)" if static else "")
        )
        if static:
            plan.pending_reboot.append(name)
    if db.parameter_apply_status == "pending-reboot" and not plan.pending_reboot:
        plan.pending_reboot.append(f"parameter group {current_group} (pending-reboot)")
    if plan.enable_backups:
        plan.changes.append(
            f"Modify {db.identifier}: BackupRetentionPeriod={BACKUP_RETENTION_DAYS} (turns the binlog on; RDS "
            "restarts the instance, so only with allow_reboot)"
        )
        if not target.cdc.allow_reboot:
            plan.pending_reboot.append("automated backups (binlog)")
    return plan


def apply(plan: Plan, target: Target, db: DbDescription, rds: Rds) -> None:
    if plan.create_from is not None:
        family = rules.parameter_group_family(target.engine, target.engine_version)
        rds.create_parameter_group(db.kind, plan.group, family=family, source=plan.create_from or None)
    if plan.to_set:
        rds.set_parameters(db.kind, plan.group, plan.to_set)
    if plan.create_from is not None:
        rds.attach_parameter_group(db.kind, db.identifier, plan.group)
    if plan.enable_backups and target.cdc.allow_reboot:
        rds.enable_backups(db.identifier, BACKUP_RETENTION_DAYS)


def _needs_backups(target: Target, db: DbDescription) -> bool:
    return rules.family(target.engine) == "mysql" and db.kind == "instance" and db.backup_retention_days == 0
