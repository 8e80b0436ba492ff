"""Pure domain rules: no AWS, no database, no environment. Everything here is a function of its inputs."""

from __future__ import annotations

import hashlib
import re
from typing import Final, Literal, NamedTuple

from clickpipes import names
from clickpipes.errors import DbStateError, InvalidInputError, UnsupportedEngineError

Engine = Literal["postgres", "mysql", "mariadb", "aurora-postgresql", "aurora-mysql"]
EngineFamily = Literal["postgres", "mysql"]
DbKind = Literal["instance", "cluster"]

SUPPORTED_ENGINES: Final[tuple[Engine, ...]] = (
    "postgres",
    "mysql",
    "mariadb",
    "aurora-postgresql",
    "aurora-mysql",
)
FAMILY: Final[dict[Engine, EngineFamily]] = {
    "postgres": "postgres",
    "aurora-postgresql": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "aurora-mysql": "mysql",
}

DEFAULT_DB_USER: Final = "clickpipes_iam_user"
DB_USER_PATTERN: Final = names.DB_USER_PATTERN
# MySQL 5.7+/8.0 and Aurora MySQL cap user names at 32 characters; PostgreSQL at 63 bytes.
MAX_USER_LENGTH: Final[dict[EngineFamily, int]] = {"postgres": 63, "mysql": 32}

# RDS identifiers: 1-63 letters, digits, hyphens; a letter first; no "--", no trailing hyphen.
DB_IDENTIFIER_PATTERN: Final = names.DB_IDENTIFIER_INPUT_PATTERN
DB_ARN_PATTERN: Final = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):rds:(?P<region>[a-z]{2}(?:-[a-z]+)+-[0-9]):"
    r"(?P<account>[0-9]{12}):(?P<kind>db|cluster):(?P<identifier>[^:\s]+)"
)

# DB statuses (instances and clusters) -------------------------------------------------------------
# AWS adds statuses over time (Aurora's update-iam-db-auth, failing-over, backtracking, ...), so the list that
# is closed is the one of states that never heal by themselves; any other status is waited on, bounded by
# MaxWaitSeconds (ModificationTimeoutError). Sources:
#   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html#Overview.DBInstance.Status
#   https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/accessing-monitoring.html#Aurora.Status
READY_STATUS: Final = "available"
# Documented statuses from which the DB gets back to `available` by itself (informative: unknown ones wait too).
TRANSITIONAL_STATUSES: Final = frozenset(
    {
        "backing-up",
        "backtracking",
        "configuring-enhanced-monitoring",
        "configuring-iam-database-auth",
        "configuring-log-exports",
        "converting-to-vpc",
        "creating",
        "failing-over",
        "maintenance",
        "modifying",
        "moving-to-vpc",
        "rebooting",
        "renaming",
        "resetting-master-credentials",
        "starting",
        "storage-config-upgrade",
        "storage-initialization",
        "storage-optimization",
        "update-iam-db-auth",
        "upgrading",
        "promoting",
        "migrating",
        "preparing-data-migration",
    }
)
STATE_ADVICE: Final[dict[str, str]] = {
    "stopped": "start it (aws rds start-db-instance / start-db-cluster) and run the onboarding again",
    "stopping": "wait until it is stopped, start it, and run the onboarding again",
    "deleting": "it is being deleted; onboard another database",
    "deleted": "it was deleted; onboard another database",
    "failed": "AWS reports it failed; restore it or open a case with AWS Support",
    "storage-full": "increase its allocated storage, then run the onboarding again",
    "insufficient-capacity": "RDS lacks capacity for its instance class: choose another class or zone, then run the "
    "onboarding again",
    "inaccessible-encryption-credentials": "restore access to its KMS key, then run the onboarding again",
    "inaccessible-encryption-credentials-recoverable": "restore access to its KMS key, then run the onboarding again",
    "incompatible-credentials": "fix its credentials (see the RDS console), then run the onboarding again",
    "incompatible-parameters": "fix its parameter group (see the RDS console), then run the onboarding again",
    "incompatible-network": "fix its subnet group or network settings, then run the onboarding again",
    "incompatible-option-group": "fix its option group, then run the onboarding again",
    "incompatible-restore": "the restore failed; restore it again from a snapshot",
    "restore-error": "the restore failed; restore it again from a snapshot",
    "cloning-failed": "the clone failed; clone it again",
    "migration-failed": "the migration failed; migrate it again",
}
# The closed list: statuses that never become `available` without someone acting.
DEAD_END_STATUSES: Final = frozenset(STATE_ADVICE)


def check_db_state(kind: DbKind, identifier: str, status: str) -> bool:
    """True when available, False while it may still become available by itself (every status that is not a
    known dead end: AWS adds new ones); DbStateError for a dead end."""
    if status == READY_STATUS:
        return True
    if status not in DEAD_END_STATUSES:
        return False
    raise DbStateError(
        f"DB {kind} '{identifier}' is '{status}' and will not become available by itself: {STATE_ADVICE[status]}."
    )


# Engines ------------------------------------------------------------------------------------------
def _version_tuple(version: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", version)
    return tuple(int(p) for p in parts[:3])


def check_engine(engine: str, version: str, *, engine_mode: str | None = None) -> Engine:
    """Return the engine when IAM DB authentication works on it, else raise UnsupportedEngineError."""
    if engine not in SUPPORTED_ENGINES:
        raise UnsupportedEngineError(
            f"Engine '{engine}' is not supported: ClickPipes with IAM database authentication works with "
            f"{', '.join(SUPPORTED_ENGINES)}."
        )
    supported: Engine = engine  # narrowed by the membership test above
    if engine_mode == "serverless":
        raise UnsupportedEngineError(
            "Aurora Serverless v1 has no IAM database authentication: migrate the cluster to Aurora "
            "Serverless v2 or provisioned, then run the onboarding again."
        )
    if supported == "mariadb" and _version_tuple(version) < (10, 11):
        raise UnsupportedEngineError(
            f"RDS for MariaDB {version} has no IAM database authentication (it starts with 10.11): "
            "upgrade the instance to MariaDB 10.11 or later, then run the onboarding again."
        )
    return supported


def family(engine: Engine) -> EngineFamily:
    return FAMILY[engine]


# Names --------------------------------------------------------------------------------------------
def check_db_user(user: str, engine: Engine | None = None) -> str:
    """Validate a DB user name; the drivers quote it as well, this keeps names portable and readable."""
    if not DB_USER_PATTERN.fullmatch(user):
        raise InvalidInputError(
            f"db_user {user!r} is not allowed: use 1-63 characters from A-Z, a-z, 0-9 and _, not starting with a digit."
        )
    if engine is not None:
        limit = MAX_USER_LENGTH[family(engine)]
        if len(user) > limit:
            raise InvalidInputError(f"db_user {user!r} is too long for {engine}: at most {limit} characters.")
    return user


def parse_db_reference(reference: str) -> tuple[DbKind | None, str, str | None]:
    """Split an identifier or an RDS ARN into (kind or None, identifier, region or None)."""
    match = DB_ARN_PATTERN.fullmatch(reference)
    if match:
        identifier = match["identifier"]
        kind: DbKind = "instance" if match["kind"] == "db" else "cluster"
        if not DB_IDENTIFIER_PATTERN.fullmatch(identifier):
            raise InvalidInputError(f"db_identifier ARN {reference!r} does not name a valid DB identifier.")
        return kind, identifier.lower(), match["region"]
    if DB_IDENTIFIER_PATTERN.fullmatch(reference):
        return None, reference.lower(), None
    raise InvalidInputError(
        f"db_identifier {reference!r} is neither a DB instance/cluster identifier (1-63 letters, digits and "
        "hyphens, starting with a letter) nor an RDS ARN (arn:aws:rds:<region>:<account>:db|cluster:<id>)."
    )


def role_name(kind: DbKind, identifier: str, region: str) -> str:
    """Deterministic IAM role name for a DB: readable, unique per (region, kind, identifier), <= 64 chars."""
    digest = hashlib.sha256(f"{region}:{kind}:{identifier}".encode()).hexdigest()[:8]
    return f"clickpipes-{identifier[:44]}-{digest}"


ROLE_PATH: Final = "/clickpipes/"
DB_ARN_TAG: Final = "clickpipes:db-arn"
STATUS_TAG: Final = "clickpipes:status"
ROLE_ARN_TAG: Final = "clickpipes:role-arn"
ERROR_TAG: Final = "clickpipes:error"


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# Principal ----------------------------------------------------------------------------------------
ROLE_ARN_PATTERN: Final = re.compile(
    r"arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>[0-9]{12}):role/"
    r"(?P<path>(?:[A-Za-z0-9_+=,.@-]+/)*)(?P<name>[A-Za-z0-9_+=,.@-]{1,64})"
)


def check_principal(arn: str, *, partition: str) -> str:
    """The ClickHouse service role ARN must be exactly one IAM role in the stack's partition."""
    if not isinstance(arn, str) or not arn:
        raise InvalidInputError(
            "clickhouse_role_arn is required: copy 'Service role ID (IAM)' from the ClickHouse Cloud "
            "service's Settings > Network security information, or set the stack parameter ClickHouseRoleArn."
        )
    match = ROLE_ARN_PATTERN.fullmatch(arn)
    if match is None or "*" in arn or "?" in arn:
        raise InvalidInputError(
            f"clickhouse_role_arn {arn!r} is not one IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>): "
            "wildcards, account roots, users, services and whitespace are refused."
        )
    if match["partition"] != partition:
        raise InvalidInputError(
            f"clickhouse_role_arn {arn!r} is in partition '{match['partition']}', but this stack runs in '{partition}'."
        )
    return arn


# Policies -----------------------------------------------------------------------------------------
def dbuser_arn(*, partition: str, region: str, account: str, resource_id: str, user: str) -> str:
    return f"arn:{partition}:rds-db:{region}:{account}:dbuser:{resource_id}/{user}"


def trust_policy(principal_arn: str) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": principal_arn},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }


def connect_policy(dbuser: str) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["rds-db:connect"], "Resource": [dbuser]}],
    }


CONNECT_POLICY_NAME: Final = "clickpipes-rds-db-connect"


# ClickPipes ---------------------------------------------------------------------------------------
def pipe_modes(engine: Engine, *, iam_auth_for_replication: bool | None, cdc_ready: bool = True) -> list[str]:
    """The ClickPipes pipe types that work with IAM authentication on this DB now. ``cdc_ready``: the CDC
    setup is complete and in effect (nothing awaits a reboot)."""
    if cdc_ready and (family(engine) == "mysql" or iam_auth_for_replication):
        return ["initial_load", "cdc"]
    return ["initial_load"]


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
