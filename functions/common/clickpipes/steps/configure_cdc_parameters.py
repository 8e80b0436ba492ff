"""Step ConfigureCdcParameters: the AWS side of CDC readiness. Parameters go into our own parameter group
(defaults cannot be modified; a shared custom group is copied, not changed under other databases), automated
backups are turned on for MySQL-family instances (that enables the binlog). Static changes await a reboot.

What is set is decided from the group itself (or, for a group still to be created, the family's defaults):
a parameter the family lacks, cannot modify or cannot take the value is named in a warning instead of failing
ModifyDBParameterGroup; ApplyMethod follows ApplyType. The family is RDS's answer (the default group it attached,
else DescribeDBEngineVersions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clickpipes import rules
from clickpipes.models import CdcParametersResult, DbDescription, Target
from clickpipes.record_tags import ORIGINAL_GROUP_TAG
from clickpipes.steps.ports import Rds
from clickpipes.steps.shared import current

if TYPE_CHECKING:
    from clickpipes.seal import Seals

BACKUP_RETENTION_DAYS = 1


@dataclass
class ParameterGroupPlan:
    """What ConfigureCdcParameters does to the DB's (cluster) parameter group and backups."""

    group: str  # our parameter group
    family: str
    create_from: str | None  # None: exists already; "": from the family (like a default); else: copy of that group
    to_set: dict[str, tuple[str, str]]  # name -> (value, ApplyMethod)
    enable_backups: bool
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pending_reboot: list[str] = field(default_factory=list)


def configure_cdc_parameters(
    target: Target, *, rds: Rds, seal: dict[str, Any] | None = None, seals: Seals | None = None
) -> CdcParametersResult:
    if not target.cdc.enabled:
        return CdcParametersResult(skipped=True)
    db = current(rds, target, seal=seal, seals=seals)  # the IAM wait's last poll, sealed
    plan = make_plan(target, db, rds)
    if not target.plan_only:
        apply(plan, db, rds)
    return CdcParametersResult(
        changes=plan.changes,
        warnings=plan.warnings,
        reboot_required=bool(plan.pending_reboot),
        pending_reboot=plan.pending_reboot,
    )


def parameter_group_family(target: Target, db: DbDescription, rds: Rds, warnings: list[str]) -> str:
    """RDS's answer: the family of the default group RDS attached (``default.<family>``) when it is the one the
    engine version implies; else DescribeDBEngineVersions (a custom group, ours, or any doubt)."""
    implied = rules.parameter_group_family(target.engine, target.engine_version)
    if db.parameter_group == f"default.{implied}":
        return implied
    family = rds.parameter_group_family(target.engine, target.engine_version)
    if family is None:
        family = rules.parameter_group_family(target.engine, target.engine_version)
        warnings.append(
            f"DescribeDBEngineVersions does not list {target.engine} {target.engine_version}: assumed parameter "
            f"group family {family}."
        )
    return family


def make_plan(target: Target, db: DbDescription, rds: Rds) -> ParameterGroupPlan:
    """What must change, read from RDS; changes nothing."""
    ours = rules.cdc_parameter_group_name(db.kind, db.identifier)
    warnings: list[str] = []
    family = parameter_group_family(target, db, rds, warnings)
    names = rules.parameters_to_read(target.engine)
    current_group = db.parameter_group
    infos = rds.parameter_info(db.kind, current_group, names) if current_group else None
    if infos is None:  # no group (or it vanished): what a new group of the family has
        infos = rds.default_parameter_info(db.kind, family, names)
    decided = rules.plan_cdc_parameters(target.engine, family, infos)
    warnings += decided.warnings
    to_set = decided.to_set
    create_from = None
    if current_group != ours and to_set:
        is_default = current_group is None or current_group.startswith("default.")
        create_from = "" if is_default else current_group
    plan = ParameterGroupPlan(
        group=ours,
        family=family,
        create_from=create_from,
        to_set=to_set,
        enable_backups=_needs_backups(target, db),
        warnings=warnings,
    )

    if create_from is not None:
        origin = f"a copy of {create_from}" if create_from else f"family {family}"
        plan.changes += [f"Create parameter group {ours} ({origin})", f"Attach {ours} to {db.kind} {db.identifier}"]
        # a newly associated group's values apply at the next reboot, static and dynamic ones alike
        plan.pending_reboot.append(f"parameter group {ours}")
        if create_from:
            plan.warnings.append(
                f"Parameter group {create_from} may be shared: copied it to {ours} instead of changing it."
            )
    for name, (value, method) in to_set.items():
        static = method == "pending-reboot"
        plan.changes.append(
            f"Set {name}={value} in {ours}" + (" (static: applies at the next reboot)" if static else "")
        )
        if static:
            plan.pending_reboot.append(name)
    if db.kind == "cluster" and not plan.pending_reboot:
        waiting = rules.cluster_members_pending_reboot(
            target.engine,
            target.engine_version,
            writer=db.writer,
            members=db.members,
            parameter_status=db.member_parameter_status,
        )
        if waiting:  # e.g. a re-run after the writer's reboot: the readers that still wait for theirs
            plan.pending_reboot.append(f"parameter group {current_group} (pending-reboot on {', '.join(waiting)})")
    elif db.parameter_apply_status == "pending-reboot" and not plan.pending_reboot:
        plan.pending_reboot.append(f"parameter group {current_group} (pending-reboot)")
    if plan.enable_backups:
        _plan_backups(plan, target, db)
    return plan


def _plan_backups(plan: ParameterGroupPlan, target: Target, db: DbDescription) -> None:
    """BackupRetentionPeriod 0 -> 1 turns the binlog on. RDS applies it at the next maintenance window unless
    ApplyImmediately, and ApplyImmediately applies every other pending modification too; it restarts the
    instance either way. So: only with allow_reboot, and only when nothing else is pending."""
    change = (
        f"Modify {db.identifier}: BackupRetentionPeriod={BACKUP_RETENTION_DAYS}, ApplyImmediately=true (turns the "
        "binlog on; RDS restarts the instance, so only with allow_reboot)"
    )
    if not target.cdc.allow_reboot:
        plan.changes.append(change)
        plan.pending_reboot.append("automated backups (binlog)")
        plan.enable_backups = False
        return
    if db.pending_modifications:
        plan.enable_backups = False
        plan.pending_reboot.append("automated backups (binlog)")
        plan.warnings.append(
            f"Automated backups (the binlog) not turned on: that needs ApplyImmediately, which would also apply the "
            f"pending modifications of {db.identifier} now ({', '.join(db.pending_modifications)}). Apply or cancel "
            "them, then run the onboarding again."
        )
        return
    plan.changes.append(change)


def apply(plan: ParameterGroupPlan, db: DbDescription, rds: Rds) -> None:
    if plan.create_from is not None:
        rds.create_parameter_group(db.kind, plan.group, family=plan.family, source=plan.create_from or None)
    if plan.to_set:
        rds.set_parameters(db.kind, plan.group, plan.to_set)
    if plan.create_from is not None:
        if db.parameter_group:  # recorded first, for an offboarding's revert_settings
            rds.tag(db.arn, {ORIGINAL_GROUP_TAG: db.parameter_group})
        rds.attach_parameter_group(db.kind, db.identifier, plan.group)
    if plan.enable_backups:
        rds.enable_backups(db.identifier, BACKUP_RETENTION_DAYS)


def _needs_backups(target: Target, db: DbDescription) -> bool:
    return rules.family(target.engine) == "mysql" and db.kind == "instance" and db.backup_retention_days == 0
