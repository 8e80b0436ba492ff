"""Pure domain rules: no AWS, no database, no environment. Everything here is a function of its inputs."""

from __future__ import annotations

import hashlib
import re
from typing import Final

from clickpipes import names
from clickpipes.engines import FAMILY, SUPPORTED_ENGINES, DbKind, Engine, EngineFamily, family
from clickpipes.engines import version_tuple as _version_tuple
from clickpipes.errors import DbStateError, InvalidInputError, UnsupportedEngineError

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


def db_of_arn(arn: str) -> tuple[DbKind, str] | None:
    """The kind and identifier an RDS DB instance or cluster ARN names, as written; None when it is no such ARN."""
    match = DB_ARN_PATTERN.fullmatch(arn)
    if match is None:
        return None
    return ("instance" if match["kind"] == "db" else "cluster"), match["identifier"]


def place_of_arn(arn: str) -> tuple[str, str] | None:
    """The (account, region) an RDS DB instance or cluster ARN names; None when it is no such ARN."""
    match = DB_ARN_PATTERN.fullmatch(arn)
    return (match["account"], match["region"]) if match else None


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
TAG_VALUE_MAX: Final = 256  # RDS and IAM tag values
PRINCIPAL_TAG: Final = "clickpipes:principal"  # on the role: the principal its trust names (the audit's reference)
DRIFT_TAG: Final = "clickpipes:drift"  # on the DB: the audit's drifted checks (removed when clean again)
CDC_TAG: Final = "clickpipes:onboarded-cdc"  # on the DB: "true" when the onboarding set up CDC
SCHEMAS_TAG: Final = "clickpipes:onboarded-schemas"  # on the DB: the granted schemas, space-separated (when they fit)
TABLES_TAG: Final = "clickpipes:onboarded-tables"  # on the DB: the CDC tables asked for, space-separated, or "-"
ADMIN_SECRET_TAG: Final = "clickpipes:admin-secret-arn"  # on the DB: the admin login the onboarding used
USER_TAG: Final = "clickpipes:db-user"  # the tag trigger's: the DB user to onboard (and to offboard)


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


# CDC readiness and reboots live in cdc_rules (re-exported: `rules.X` keeps working).
from clickpipes.cdc_rules import (  # noqa: E402
    BINLOG_RETENTION_LIMITS,
    BINLOG_RETENTION_MAX,
    BINLOG_ROW_VALUE_OPTIONS,
    CDC_PARAMETERS,
    CHECKED_PARAMETERS,
    DEFAULT_BINLOG_RETENTION_HOURS,
    DEFAULT_PG_SCHEMAS,
    MYSQL_SCHEMA,
    CdcParameter,
    ParameterInfo,
    ParameterPlan,
    apply_method,
    aurora_mysql_version,
    cdc_parameter_group_name,
    check_binlog_retention,
    cluster_members_pending_reboot,
    parameter_group_family,
    parameters_to_read,
    plan_cdc_parameters,
    readers_need_own_reboot,
    reboot_order,
    value_allowed,
)

# What this module re-exports (mypy: explicit re-exports); every name defined above is public as well.
__all__ = [
    "BINLOG_RETENTION_LIMITS",
    "BINLOG_RETENTION_MAX",
    "BINLOG_ROW_VALUE_OPTIONS",
    "CDC_PARAMETERS",
    "CHECKED_PARAMETERS",
    "DEFAULT_BINLOG_RETENTION_HOURS",
    "DEFAULT_PG_SCHEMAS",
    "FAMILY",
    "MYSQL_SCHEMA",
    "SUPPORTED_ENGINES",
    "CdcParameter",
    "DbKind",
    "Engine",
    "EngineFamily",
    "ParameterInfo",
    "ParameterPlan",
    "apply_method",
    "aurora_mysql_version",
    "cdc_parameter_group_name",
    "check_binlog_retention",
    "cluster_members_pending_reboot",
    "family",
    "parameter_group_family",
    "parameters_to_read",
    "plan_cdc_parameters",
    "readers_need_own_reboot",
    "reboot_order",
    "value_allowed",
]
