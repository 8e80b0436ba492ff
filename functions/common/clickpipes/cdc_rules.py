"""Pure rules of CDC readiness: the parameter group settings ClickPipes needs, binlog retention, and the reboot
order of instances and Aurora cluster members. Re-exported by ``clickpipes.rules``."""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from clickpipes import names
from clickpipes.engines import DbKind, Engine, family
from clickpipes.engines import version_tuple as _version_tuple
from clickpipes.errors import InvalidInputError


# CDC readiness --------------------------------------------------------------------------------------
class CdcParameter(NamedTuple):
    """A parameter ClickPipes needs. Whether it exists, is modifiable and how it applies (static: at the next
    reboot) is the parameter group's own answer (``ParameterInfo``), never assumed per engine."""

    name: str
    value: str


class ParameterInfo(NamedTuple):
    """One parameter as DescribeDBParameters / DescribeDBClusterParameters / DescribeEngineDefault(Cluster)Parameters
    report it: https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_Parameter.html"""

    value: str | None  # ParameterValue (None: not set, the engine default applies)
    modifiable: bool  # IsModifiable
    apply_type: str  # ApplyType: "static" | "dynamic"
    allowed_values: str | None = None  # AllowedValues: "ROW,STATEMENT,MIXED", "0-1", or None


_PG_CDC = (
    CdcParameter("rds.logical_replication", "1"),
    CdcParameter("rds.iam_auth_for_replication", "1"),
)
# ClickPipes' MySQL/MariaDB source guides: binlog_format=ROW, binlog_row_image=FULL, binlog_row_metadata=FULL.
# GTID is not needed by ClickPipes and is left alone: turning gtid-mode ON in one step breaks a source that has
# read replicas (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/mysql-replication-gtid.html).
_BINLOG = (
    CdcParameter("binlog_format", "ROW"),
    CdcParameter("binlog_row_image", "FULL"),
    CdcParameter("binlog_row_metadata", "FULL"),
)
CDC_PARAMETERS: Final[dict[Engine, tuple[CdcParameter, ...]]] = {
    "postgres": _PG_CDC,
    "aurora-postgresql": _PG_CDC,
    "mysql": _BINLOG,
    "mariadb": _BINLOG,
    "aurora-mysql": _BINLOG,
}
# Read, never set: PARTIAL_JSON logs only the changed part of JSON columns (MySQL 8.0.3+), which CDC cannot replay.
BINLOG_ROW_VALUE_OPTIONS: Final = "binlog_row_value_options"
CHECKED_PARAMETERS: Final[dict[Engine, tuple[str, ...]]] = {
    "mysql": (BINLOG_ROW_VALUE_OPTIONS,),
    "aurora-mysql": (BINLOG_ROW_VALUE_OPTIONS,),
}


def parameters_to_read(engine: Engine) -> list[str]:
    return [p.name for p in CDC_PARAMETERS[engine]] + list(CHECKED_PARAMETERS.get(engine, ()))


def apply_method(info: ParameterInfo) -> str:
    """ModifyDBParameterGroup's ApplyMethod: ``immediate`` is accepted for dynamic parameters only."""
    return "immediate" if info.apply_type == "dynamic" else "pending-reboot"


def value_allowed(info: ParameterInfo, value: str) -> bool:
    """Whether AllowedValues (a comma list, or a numeric range "a-b") admits the value; no list: anything."""
    allowed = (info.allowed_values or "").strip()
    if not allowed:
        return True
    numeric = re.fullmatch(r"(-?\d+)-(-?\d+)", allowed)
    if numeric and re.fullmatch(r"-?\d+", value):
        return int(numeric[1]) <= int(value) <= int(numeric[2])
    return value.upper() in {v.strip().upper() for v in allowed.split(",")}


class ParameterPlan(NamedTuple):
    to_set: dict[str, tuple[str, str]]  # name -> (value, ApplyMethod)
    warnings: list[str]


def plan_cdc_parameters(engine: Engine, family: str, infos: dict[str, ParameterInfo]) -> ParameterPlan:
    """What to set, decided from the group's own answer (``infos``: the parameters the group has). A needed
    parameter the family lacks, cannot modify or cannot take the value is not set (RDS would refuse the whole
    ModifyDBParameterGroup) but named in a warning: the server's live settings decide CDC readiness."""
    to_set: dict[str, tuple[str, str]] = {}
    warnings: list[str] = []
    for wanted in CDC_PARAMETERS[engine]:
        info = infos.get(wanted.name)
        needs = f"ClickPipes CDC asks for {wanted.name}={wanted.value}"
        if info is None:
            warnings.append(
                f"{needs}, but parameter group family {family} has no {wanted.name}: not set (the server's own "
                "setting applies)."
            )
        elif (info.value or "").upper() == wanted.value.upper():
            continue
        elif not info.modifiable:
            warnings.append(
                f"{needs}, but {wanted.name} is not modifiable in parameter group family {family} "
                f"(it is {info.value or 'the engine default'}): not set."
            )
        elif not value_allowed(info, wanted.value):
            warnings.append(
                f"{needs}, but family {family} allows only {info.allowed_values} for {wanted.name}: not set."
            )
        else:
            to_set[wanted.name] = (wanted.value, apply_method(info))
    options = infos.get(BINLOG_ROW_VALUE_OPTIONS)
    checked = BINLOG_ROW_VALUE_OPTIONS in CHECKED_PARAMETERS.get(engine, ())
    if checked and options is not None and "PARTIAL_JSON" in (options.value or "").upper():
        warnings.append(
            "binlog_row_value_options is PARTIAL_JSON: the binlog then holds only the changed part of JSON "
            "values, which ClickPipes CDC cannot replay; reset it to the default (empty) in the parameter group."
        )
    return ParameterPlan(to_set, warnings)


# mysql.rds_set_configuration('binlog retention hours', N): RDS MySQL/MariaDB allow 1-168, Aurora MySQL 1-2160.
BINLOG_RETENTION_MAX: Final[dict[Engine, int]] = {"mysql": 168, "mariadb": 168, "aurora-mysql": 2160}
BINLOG_RETENTION_LIMITS: Final = (
    f"1 to {BINLOG_RETENTION_MAX['mysql']} hours on RDS MySQL and RDS MariaDB, "
    f"1 to {BINLOG_RETENTION_MAX['aurora-mysql']} on Aurora MySQL"
)
DEFAULT_BINLOG_RETENTION_HOURS: Final = 72
DEFAULT_PG_SCHEMAS: Final = ("public",)
MYSQL_SCHEMA: Final = names.MYSQL_NAME_PATTERN  # what clickpipes_db.cdc_mysql quotes


def parameter_group_family(engine: Engine, version: str) -> str:
    """A guess of the parameter group family, used only when DescribeDBEngineVersions does not answer (the
    family is RDS's answer: DBEngineVersion.DBParameterGroupFamily)."""
    numbers = _version_tuple(version)
    if engine in ("postgres", "aurora-postgresql"):
        return f"{engine}{numbers[0]}" if numbers and numbers[0] >= 10 else f"{engine}{'.'.join(map(str, numbers[:2]))}"
    return f"{engine}{'.'.join(map(str, numbers[:2]))}"


# Reboots -----------------------------------------------------------------------------------------------
def aurora_mysql_version(version: str) -> tuple[int, int]:
    """Aurora MySQL's own version of an engine version: 8.0.mysql_aurora.3.07.1 -> (3, 7); 5.7.12 -> (2, 0)."""
    match = re.search(r"mysql_aurora\.(\d+)\.(\d+)", version)
    if match:
        return int(match[1]), int(match[2])
    major = _version_tuple(version)[:2]
    if major < (5, 7):
        return 1, 0
    return (2, 0) if major < (8, 0) else (3, 0)


def readers_need_own_reboot(engine: Engine, version: str) -> bool:
    """Whether a cluster's readers need their own reboot to run a changed cluster parameter group.

    Aurora MySQL before 2.10 (and Aurora PostgreSQL before 15.2/14.7/13.10/12.14) reboots every reader with the
    writer: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-reboot-cluster.html. From Aurora
    MySQL 2.10 the readers stay up (read availability) and run the old settings until each is rebooted, one at
    a time after the writer: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-mysql-survivable-replicas.html.
    Aurora PostgreSQL's CDC parameter (rds.logical_replication) is used by the writer alone (logical replication
    runs on the writer), so its readers are never rebooted for it."""
    return engine == "aurora-mysql" and aurora_mysql_version(version) >= (2, 10)


def _reboot_candidates(engine: Engine, version: str, writer: str | None, members: list[str]) -> list[str]:
    first = writer or (members[0] if members else None)
    if first is None:
        return []
    if not readers_need_own_reboot(engine, version):
        return [first]
    return [first, *(m for m in members if m != first)]


def cluster_members_pending_reboot(
    engine: Engine, version: str, *, writer: str | None, members: list[str], parameter_status: dict[str, str]
) -> list[str]:
    """The members whose reboot the cluster parameter group still waits for (DBClusterMembers[].
    DBClusterParameterGroupStatus = pending-reboot), among those the change needs rebooted."""
    candidates = _reboot_candidates(engine, version, writer, members)
    return [m for m in candidates if parameter_status.get(m) == "pending-reboot"]


def reboot_order(
    engine: Engine,
    version: str,
    kind: DbKind,
    identifier: str,
    *,
    writer: str | None,
    members: list[str],
    parameter_status: dict[str, str] | None = None,
) -> list[str]:
    """The instances a static parameter change needs rebooted, one at a time in this order: an instance itself;
    a cluster's writer once, then (where the writer's reboot leaves them on the old settings) each reader. Members
    already ``in-sync`` with the cluster parameter group are skipped (a re-run resumes); when every member reads
    in-sync (the status may lag behind the change), the writer is rebooted."""
    if kind == "instance":
        return [identifier]
    candidates = _reboot_candidates(engine, version, writer, members)
    if parameter_status is None or not candidates:
        return candidates
    pending = [m for m in candidates if parameter_status.get(m, "in-sync") != "in-sync"]
    return pending or candidates[:1]


def cdc_parameter_group_name(kind: DbKind, identifier: str) -> str:
    """Our own parameter group for a DB (defaults cannot be modified; a shared group is not ours to change)."""
    return f"clickpipes-{kind}-{identifier}"[:255]


def check_binlog_retention(engine: Engine, hours: int | None) -> int | None:
    if family(engine) != "mysql":
        if hours is not None:
            raise InvalidInputError("binlog_retention_hours applies to MySQL, MariaDB and Aurora MySQL only.")
        return None
    hours = DEFAULT_BINLOG_RETENTION_HOURS if hours is None else hours
    limit = BINLOG_RETENTION_MAX[engine]
    if not 1 <= hours <= limit:
        raise InvalidInputError(f"binlog_retention_hours must be between 1 and {limit} for {engine}, not {hours}.")
    return hours
