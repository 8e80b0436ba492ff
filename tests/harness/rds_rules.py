"""RDS as documented, where moto 5.2.5 allows anything: the adapters that make the local world refuse what real
RDS and Aurora refuse, and report what they report. Registered in ``local_aws.PATCHES`` like every other moto
adapter (``@_moto_patch``); each has a gap test in ``tests/harness/test_rds_gaps.py``, and each fact the product
relies on is listed with its source in ``docs/aws-facts.md``.

* ``rds_engine_versions``: DescribeDBEngineVersions -> DBParameterGroupFamily (moto: not implemented).
* ``rds_parameter_catalogue``: every parameter the product reads or sets, per family, with IsModifiable,
  ApplyType and AllowedValues, in DescribeDB(Cluster)Parameters (honouring the parameter-name filter), in the
  family's default groups and in DescribeEngineDefault(Cluster)Parameters (moto: only what was set; no defaults).
* ``rds_parameter_validation``: ModifyDB(Cluster)ParameterGroup refuses a parameter the family lacks, one that is
  not modifiable, a value outside AllowedValues (InvalidParameterValue) and ``immediate`` for a static parameter
  (InvalidParameterCombination) (moto: accepts anything).
* ``rds_cluster_default_group``: a cluster created without a cluster parameter group gets its family's default,
  ``default.<family>`` (moto: ``default.aurora8.0`` whatever the engine).
* ``rds_modify_statuses``: the status a DB shows right after ModifyDBInstance/ModifyDBCluster enables or
  disables IAM authentication (``configuring-iam-database-auth`` / ``update-iam-db-auth``) (moto: `available`).
* ``rds_reboot_semantics``: a rebooted instance shows ``rebooting`` for a few polls, refuses another reboot
  meanwhile (InvalidDBInstanceState), and an Aurora writer's reboot reboots the readers where the engine does
  (moto: reboots are no-ops).
* ``rds_cluster_parameter_status``: an Aurora member's DBClusterParameterGroupStatus is ``pending-reboot`` after its
  cluster gets another cluster parameter group or a static change to it, until that member reboots (moto: always
  ``in-sync``).
* ``rds_pending_modifications``: ModifyDBInstance without ApplyImmediately leaves deferrable changes in
  PendingModifiedValues; ApplyImmediately applies them all (moto: applies everything at once, no pending values).

The catalogue covers only the parameters the product touches: any other parameter passes unchecked.
"""

from __future__ import annotations

import copy
import re
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from unittest import mock

from .patches.registry import _moto_patch

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .local_aws import LocalWorld

# ==================================================================================================
# The documented facts
# ==================================================================================================

DOCS: Final = {
    "engine_versions": "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBEngineVersions.html",
    "parameter": "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_Parameter.html",
    "modify_group": "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBParameterGroup.html",
    "pg_logical": "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.FeatureSupport.LogicalReplication.html",
    "apg_logical": "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.Replication.Logical.Configure.html",
    "mysql_binlog": "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.MySQL.BinaryFormat.html",
    "mysql_gtid": "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/mysql-replication-gtid.html",
    "mysql_binlog_vars": "https://dev.mysql.com/doc/refman/8.0/en/replication-options-binary-log.html",
    "mariadb_params": "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.MariaDB.Parameters.html",
    "aurora_mysql_params": "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraMySQL.Reference.ParameterGroups.html",
    "instance_status": "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html#Overview.DBInstance.Status",
    "cluster_status": "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/accessing-monitoring.html#Aurora.Status",
    "reboot_instance": "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RebootDBInstance.html",
    "aurora_reboot_old": "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-reboot-cluster.html",
    "aurora_reboot_new": "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-mysql-survivable-replicas.html",
    "modify_instance": "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html",
    "modify_settings": "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ModifyInstance.Settings.html",
    "cluster_member": "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBClusterMember.html",
    "cluster_params": "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_WorkingWithParamGroups.ModifyingCluster.html",
    "default_groups": "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/parameter-groups-overview.html",
}


@dataclass(frozen=True)
class Param:
    """One parameter as a family's groups have it (DescribeDBParameters' Parameter shape)."""

    apply_type: str  # "static" | "dynamic"
    default: str | None = None
    allowed: str | None = None
    modifiable: bool = True
    data_type: str = "string"

    def shape(self, name: str, value: str | None = None, method: str | None = None) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "ParameterName": name,
            "Description": name,
            "Source": "user" if value is not None else "engine-default",
            "ApplyType": self.apply_type,
            "DataType": self.data_type,
            "IsModifiable": self.modifiable,
            "ApplyMethod": method or ("immediate" if self.apply_type == "dynamic" else "pending-reboot"),
        }
        if self.allowed is not None:
            shown["AllowedValues"] = self.allowed
        current = value if value is not None else self.default
        if current is not None:
            shown["ParameterValue"] = current
        return shown


# PostgreSQL: rds.logical_replication is static, in the DB parameter group (RDS) or the DB cluster parameter group
# (Aurora) [pg_logical, apg_logical]. rds.iam_auth_for_replication: dynamic, as the product has always treated it
# (no AWS page found that lists its ApplyType: an assumption, named as such in docs/aws-facts.md).
_PG: Final = {
    "rds.logical_replication": Param("static", "0", "0,1", data_type="boolean"),
    "rds.iam_auth_for_replication": Param("dynamic", "0", "0,1", data_type="boolean"),
}
# RDS for MySQL: binlog_format and binlog_row_image are dynamic [mysql_binlog]; binlog_row_metadata exists from MySQL
# 8.0.1 and binlog_row_value_options from 8.0.3 [mysql_binlog_vars], so mysql5.7 groups have neither; gtid-mode and
# enforce_gtid_consistency are static [mysql_gtid].
_MYSQL57: Final = {
    "binlog_format": Param("dynamic", "MIXED", "ROW,STATEMENT,MIXED"),
    "binlog_row_image": Param("dynamic", None, "FULL,MINIMAL,NOBLOB"),
    "gtid-mode": Param("static", "OFF_PERMISSIVE", "OFF,OFF_PERMISSIVE,ON_PERMISSIVE,ON"),
    "enforce_gtid_consistency": Param("static", "OFF", "OFF,ON,WARN"),
}
_MYSQL8: Final = {
    **_MYSQL57,
    "binlog_format": Param("dynamic", None, "ROW,STATEMENT,MIXED"),
    "binlog_row_metadata": Param("dynamic", "MINIMAL", "FULL,MINIMAL"),
    "binlog_row_value_options": Param("dynamic", None, "PARTIAL_JSON"),
}
# RDS for MariaDB: "some but not all" MySQL parameters; binlog_row_image is among the MySQL parameters not available
# to MariaDB groups [mariadb_params]. binlog_row_metadata is a MariaDB 10.5+ variable; GTID is always on in MariaDB.
_MARIADB: Final = {
    "binlog_format": Param("dynamic", "MIXED", "ROW,STATEMENT,MIXED"),
    "binlog_row_metadata": Param("dynamic", "NO_LOG", "NO_LOG,MINIMAL,FULL"),
}
# Aurora MySQL: binlog_format is a cluster-level, static parameter [aurora_mysql_params]; on Aurora MySQL 2
# (aurora-mysql5.7) binlog_row_image is not modifiable and binlog_row_metadata does not exist (MySQL 5.7).
_AURORA_MYSQL2: Final = {
    "binlog_format": Param("static", "OFF", "ROW,STATEMENT,MIXED,OFF"),
    "binlog_row_image": Param("dynamic", "FULL", "FULL,MINIMAL,NOBLOB", modifiable=False),
    "gtid-mode": Param("static", "OFF_PERMISSIVE", "OFF,OFF_PERMISSIVE,ON_PERMISSIVE,ON"),
    "enforce_gtid_consistency": Param("static", "OFF", "OFF,ON,WARN"),
}
_AURORA_MYSQL3: Final = {
    **_AURORA_MYSQL2,
    "binlog_row_image": Param("dynamic", "FULL", "FULL,MINIMAL,NOBLOB"),
    "binlog_row_metadata": Param("dynamic", "MINIMAL", "FULL,MINIMAL"),
    "binlog_row_value_options": Param("dynamic", None, "PARTIAL_JSON"),
}

CATALOGUE: Final[dict[str, dict[str, Param]]] = {
    **{f"postgres{v}": _PG for v in range(11, 18)},
    **{f"aurora-postgresql{v}": _PG for v in range(11, 18)},
    "mysql5.7": _MYSQL57,
    "mysql8.0": _MYSQL8,
    "mysql8.4": _MYSQL8,
    **{f"mariadb{v}": _MARIADB for v in ("10.5", "10.6", "10.11", "11.4", "11.8")},
    "aurora-mysql5.7": _AURORA_MYSQL2,
    "aurora-mysql8.0": _AURORA_MYSQL3,
    "aurora-mysql8.4": _AURORA_MYSQL3,
}
# Names the catalogue speaks for: in a family that lacks one of these, RDS answers "Could not find parameter".
CATALOGUED: Final = frozenset(name for params in CATALOGUE.values() for name in params)

# DescribeDBEngineVersions -> DBParameterGroupFamily [engine_versions]: one family per major version (PostgreSQL 10+:
# the major; MySQL/MariaDB: major.minor; Aurora MySQL: the MySQL version it is compatible with, 8.4 included).
_ENGINE_FAMILY_PATTERNS: Final[list[tuple[str, re.Pattern[str], str]]] = [
    ("postgres", re.compile(r"(1[1-7])\.\d+"), "postgres{0}"),
    ("aurora-postgresql", re.compile(r"(1[1-7])\.\d+"), "aurora-postgresql{0}"),
    ("mysql", re.compile(r"(5\.7|8\.0|8\.4)\.\d+"), "mysql{0}"),
    ("mariadb", re.compile(r"(10\.5|10\.6|10\.11|11\.4|11\.8)\.\d+"), "mariadb{0}"),
    ("aurora-mysql", re.compile(r"(5\.7|8\.0|8\.4)\.mysql_aurora\.\d+\.\d+\.\d+"), "aurora-mysql{0}"),
]


def engine_family(engine: str, version: str) -> str | None:
    for name, pattern, family in _ENGINE_FAMILY_PATTERNS:
        match = pattern.fullmatch(version)
        if name == engine and match:
            return family.format(match[1])
    return None


# Statuses right after a modification [instance_status, cluster_status].
IAM_MODIFY_STATUS: Final = {"instance": "configuring-iam-database-auth", "cluster": "update-iam-db-auth"}
REBOOT_POLLS: Final = 2  # Describe calls that show a rebooted instance as `rebooting`

# ModifyDBInstance settings that wait for the maintenance window unless ApplyImmediately [modify_settings]
# (BackupRetentionPeriod only when it changes from 0 to non-zero or back [modify_instance]). DBParameterGroupName
# is not among them: "The parameter group name itself is changed immediately".
DEFERRABLE: Final = {
    "db_instance_class": "DBInstanceClass",
    "allocated_storage": "AllocatedStorage",
    "engine_version": "EngineVersion",
    "multi_az": "MultiAZ",
    "storage_type": "StorageType",
    "iops": "Iops",
    "storage_throughput": "StorageThroughput",
    "backup_retention_period": "BackupRetentionPeriod",
}


def readers_reboot_with_writer(engine: str, version: str) -> bool:
    """[aurora_reboot_old]: Aurora MySQL 2.09 and lower, Aurora PostgreSQL 11, 12 < 12.14, 13 < 13.10, 14 < 14.7,
    15 < 15.2 reboot every reader with the writer; later versions have read availability [aurora_reboot_new]."""
    if engine == "aurora-mysql":
        match = re.search(r"mysql_aurora\.(\d+)\.(\d+)", version)
        return match is None or (int(match[1]), int(match[2])) < (2, 10)
    if engine == "aurora-postgresql":
        numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
        first_with_read_availability = {12: (12, 14), 13: (13, 10), 14: (14, 7), 15: (15, 2)}
        major = numbers[0] if numbers else 0
        if major <= 11:
            return True
        return major in first_with_read_availability and numbers < first_with_read_availability[major]
    return False


# ==================================================================================================
# State and helpers
# ==================================================================================================


@dataclass(frozen=True)
class RebootRecord:
    instance: str
    busy: list[str]  # other instances of its cluster that were not available when this one was rebooted
    with_it: list[str]  # readers rebooted by this (writer's) reboot


@dataclass
class RdsRulesState:
    rebooting: dict[str, int] = field(default_factory=dict)  # instance -> Describe calls still showing `rebooting`
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # instance -> snake_case kwarg -> value
    member_status: dict[str, str] = field(default_factory=dict)  # Aurora instance -> DBClusterParameterGroupStatus
    reboots: list[RebootRecord] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_STATES: dict[int, RdsRulesState] = {}
_UNBOUND: list[RdsRulesState] = [RdsRulesState()]  # the state of rules applied outside a world (unit tests)


def state_of(world: LocalWorld | None) -> RdsRulesState:
    if world is None:
        return _UNBOUND[0]
    return _STATES.setdefault(id(world), RdsRulesState())


def _bind(stack: ExitStack, world: LocalWorld | None) -> RdsRulesState:
    """The state of this world's rules, forgotten when the world closes (a later world may reuse its id)."""
    if world is not None:
        stack.callback(_STATES.pop, id(world), None)
    return state_of(world)


def reboots(world: LocalWorld | None = None) -> list[RebootRecord]:
    """Every RebootDBInstance accepted in this world, in order."""
    with state_of(world).lock:
        return list(state_of(world).reboots)


def _backend() -> Any:
    from moto.rds.models import rds_backends

    from .template import DEFAULT_ACCOUNT_ID, DEFAULT_REGION

    return rds_backends[DEFAULT_ACCOUNT_ID][DEFAULT_REGION]


def _error(code: str, message: str) -> Exception:
    from moto.rds.exceptions import RDSClientError

    return RDSClientError(code, message)


def _group_family(kind: str, name: str) -> tuple[str | None, dict[str, Any] | None]:
    """(family, the parameters set in moto) of a group; a default.<family> group exists in AWS for every family."""
    backend = _backend()
    groups = backend.db_parameter_groups if kind == "instance" else backend.db_cluster_parameter_groups
    group = groups.get(name)
    if group is not None:
        family = group.family if kind == "instance" else group.db_parameter_group_family
        return family, dict(group.parameters)
    if name.startswith("default.") and name.removeprefix("default.") in CATALOGUE:
        return name.removeprefix("default."), {}
    return None, None


def _parameters_shown(family: str | None, set_values: dict[str, Any]) -> list[dict[str, Any]]:
    shown: dict[str, dict[str, Any]] = {}
    for name, param in CATALOGUE.get(family or "", {}).items():
        given = set_values.get(name) or {}
        shown[name] = param.shape(name, given.get("ParameterValue"), given.get("ApplyMethod"))
    for name, given in set_values.items():
        if name not in shown:
            shown[name] = {"ParameterName": name, "Source": "user", **given}
    return list(shown.values())


def _name_filter(filters: Any) -> set[str] | None:
    for f in filters or []:
        item = f if isinstance(f, dict) else f.original_dict()
        if item.get("Name") == "parameter-name":
            return set(item.get("Values") or [])
    return None


def _items(values: Any) -> list[dict[str, Any]]:
    return [v if isinstance(v, dict) else v.original_dict() for v in values or []]


# ==================================================================================================
# The adapters
# ==================================================================================================


@_moto_patch(
    "rds_engine_versions",
    gap="DescribeDBEngineVersions is not implemented (NotImplementedError -> HTTP 500), so the parameter group "
    "family of a version (DBParameterGroupFamily, e.g. aurora-mysql8.4) cannot be asked for "
    f"[{DOCS['engine_versions']}]",
    touches="moto.rds.responses.RDSResponse.describe_db_engine_versions (added; answers from rds_rules.engine_family)",
)
def _patch_engine_versions(stack: ExitStack, world: LocalWorld | None) -> None:
    from moto.core.responses import ActionResult
    from moto.rds.responses import RDSResponse

    def describe_db_engine_versions(self: RDSResponse) -> Any:
        engine, version = self.params.get("Engine"), self.params.get("EngineVersion")
        family = engine_family(str(engine), str(version)) if engine and version else None
        found = (
            []
            if family is None
            else [{"Engine": engine, "EngineVersion": version, "DBParameterGroupFamily": family, "Status": "available"}]
        )
        return ActionResult({"DBEngineVersions": found})

    stack.enter_context(
        mock.patch.object(RDSResponse, "describe_db_engine_versions", describe_db_engine_versions, create=True)
    )


@_moto_patch(
    "rds_parameter_catalogue",
    gap="DescribeDBParameters/DescribeDBClusterParameters list only the parameters set through the API (no "
    "IsModifiable, ApplyType, AllowedValues), ignore the parameter-name filter, and know no default.<family> "
    "group; DescribeEngineDefault(Cluster)Parameters are not implemented "
    f"[{DOCS['parameter']}]",
    touches="moto.rds.responses.RDSResponse.describe_db_parameters / describe_db_cluster_parameters (replaced), "
    "describe_engine_default_parameters / describe_engine_default_cluster_parameters (added)",
)
def _patch_parameter_catalogue(stack: ExitStack, world: LocalWorld | None) -> None:
    from moto.core.responses import ActionResult
    from moto.rds.responses import RDSResponse

    def describe(kind: str, key: str) -> Any:
        def handler(self: RDSResponse) -> Any:
            name = str(self.params.get(key))
            family, set_values = _group_family(kind, name)
            if set_values is None:
                code = "DBParameterGroupNotFound"
                raise _error(code, f"{'DB' if kind == 'instance' else 'DB cluster'} parameter group {name} not found.")
            wanted = _name_filter(self.params.get("Filters"))
            shown = [p for p in _parameters_shown(family, set_values) if wanted is None or p["ParameterName"] in wanted]
            return ActionResult({"Parameters": shown})

        return handler

    def defaults(self: RDSResponse) -> Any:
        family = str(self.params.get("DBParameterGroupFamily"))
        return ActionResult(
            {"EngineDefaults": {"DBParameterGroupFamily": family, "Parameters": _parameters_shown(family, {})}}
        )

    stack.enter_context(
        mock.patch.object(RDSResponse, "describe_db_parameters", describe("instance", "DBParameterGroupName"))
    )
    stack.enter_context(
        mock.patch.object(
            RDSResponse, "describe_db_cluster_parameters", describe("cluster", "DBClusterParameterGroupName")
        )
    )
    for operation in ("describe_engine_default_parameters", "describe_engine_default_cluster_parameters"):
        stack.enter_context(mock.patch.object(RDSResponse, operation, defaults, create=True))


def check_parameters(family: str | None, parameters: list[dict[str, Any]]) -> None:
    """RDS's answers to ModifyDB(Cluster)ParameterGroup [modify_group, parameter] for the catalogued names."""
    known = CATALOGUE.get(family or "")
    if known is None:
        return
    for item in parameters:
        name, value, method = item.get("ParameterName"), item.get("ParameterValue"), item.get("ApplyMethod")
        if name not in CATALOGUED:
            continue
        param = known.get(str(name))
        if param is None:
            raise _error("InvalidParameterValue", f"Could not find parameter with name: {name}")
        if not param.modifiable:
            raise _error("InvalidParameterValue", f"The parameter {name} cannot be modified.")
        allowed = {v.strip().upper() for v in (param.allowed or "").split(",") if v.strip()}
        if value is not None and allowed and str(value).upper() not in allowed:
            raise _error(
                "InvalidParameterValue", f"Value: {value} is not allowed for: {name}. Allowed values: {param.allowed}"
            )
        if method == "immediate" and param.apply_type == "static":
            raise _error("InvalidParameterCombination", "cannot use immediate apply method for static parameter")


@_moto_patch(
    "rds_parameter_validation",
    gap="ModifyDBParameterGroup/ModifyDBClusterParameterGroup accept any parameter name, value and ApplyMethod: "
    "binlog_row_metadata in a mysql5.7 group, binlog_row_image in a MariaDB group, immediate for a static "
    f"parameter all succeed [{DOCS['modify_group']}]",
    touches="moto.rds.responses.RDSResponse.modify_db_parameter_group / modify_db_cluster_parameter_group "
    "(checked against CATALOGUE first)",
)
def _patch_parameter_validation(stack: ExitStack, world: LocalWorld | None) -> None:
    from moto.rds.responses import RDSResponse

    def wrap(operation: str, kind: str, key: str) -> None:
        original = getattr(RDSResponse, operation)

        def handler(self: RDSResponse) -> Any:
            family, _ = _group_family(kind, str(self.params.get(key)))
            check_parameters(family, _items(self.params.get("Parameters")))
            return original(self)

        stack.enter_context(mock.patch.object(RDSResponse, operation, handler))

    wrap("modify_db_parameter_group", "instance", "DBParameterGroupName")
    wrap("modify_db_cluster_parameter_group", "cluster", "DBClusterParameterGroupName")


@_moto_patch(
    "rds_cluster_default_group",
    gap="a DB cluster created without DBClusterParameterGroupName reports default.aurora8.0 whatever its engine and "
    f"version; AWS attaches the family's default group, default.<family> [{DOCS['default_groups']}]",
    touches="moto.rds.models.RDSBackend.create_db_cluster (sets the new cluster's group name when none was given)",
)
def _patch_cluster_default_group(stack: ExitStack, world: LocalWorld | None) -> None:
    from moto.rds.models import RDSBackend

    original = RDSBackend.create_db_cluster

    def create_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> Any:
        cluster = original(self, kwargs)
        family = engine_family(cluster.engine, cluster.engine_version)
        if not kwargs.get("db_cluster_parameter_group_name") and family:
            cluster.parameter_group = f"default.{family}"
        return cluster

    stack.enter_context(mock.patch.object(RDSBackend, "create_db_cluster", create_db_cluster))


@_moto_patch(
    "rds_modify_statuses",
    gap="right after ModifyDBInstance/ModifyDBCluster(EnableIAMDatabaseAuthentication) moto reports `available`; "
    "AWS reports configuring-iam-database-auth (instance) / update-iam-db-auth (cluster) "
    f"[{DOCS['instance_status']}, {DOCS['cluster_status']}]",
    touches="moto.rds.models.RDSBackend.modify_db_instance / modify_db_cluster (feeds the status to the world's "
    "status feeder when nothing is fed already; no effect outside a LocalWorld)",
)
def _patch_modify_statuses(stack: ExitStack, world: LocalWorld | None) -> None:
    from moto.rds.models import RDSBackend

    if world is None:
        return
    feeder = world._status_feeder
    original_instance, original_cluster = RDSBackend.modify_db_instance, RDSBackend.modify_db_cluster

    def announce(kind: str, identifier: str, before: bool, after: bool) -> None:
        if before != after and not feeder.pending(kind, identifier):
            feeder.feed(kind, identifier, [IAM_MODIFY_STATUS[kind]])

    def modify_db_instance(self: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
        database = self.describe_db_instances(db_instance_identifier)[0]
        before = bool(getattr(database, "enable_iam_database_authentication", False))
        result = original_instance(self, db_instance_identifier, db_kwargs)
        after = bool(getattr(result, "enable_iam_database_authentication", False))
        if not hasattr(result, "cluster"):  # an Aurora member follows its cluster
            announce("instance", result.db_instance_identifier, before, after)
        return result

    def modify_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> Any:
        before = bool(self.clusters[kwargs["db_cluster_identifier"]].iam_auth)
        result = original_cluster(self, kwargs)
        announce("cluster", result.db_cluster_identifier, before, bool(result.iam_auth))
        return result

    stack.enter_context(mock.patch.object(RDSBackend, "modify_db_instance", modify_db_instance))
    stack.enter_context(mock.patch.object(RDSBackend, "modify_db_cluster", modify_db_cluster))


@_moto_patch(
    "rds_reboot_semantics",
    gap="RebootDBInstance is a no-op: the instance never shows `rebooting`, a second reboot of a rebooting instance "
    "succeeds (AWS: InvalidDBInstanceState), and an Aurora writer's reboot leaves the readers alone even where AWS "
    f"reboots them with it [{DOCS['reboot_instance']}, {DOCS['aurora_reboot_old']}, {DOCS['aurora_reboot_new']}]",
    touches="moto.rds.models.RDSBackend.reboot_db_instance; moto.rds.responses.RDSResponse.describe_db_instances "
    "(a copy of the model shows `rebooting` for REBOOT_POLLS calls)",
)
def _patch_reboot_semantics(stack: ExitStack, world: LocalWorld | None) -> None:
    from moto.rds.models import RDSBackend
    from moto.rds.responses import RDSResponse

    state = _bind(stack, world)
    original_describe = RDSResponse.describe_db_instances

    def busy(identifier: str) -> bool:
        fed = world._status_feeder.pending("instance", identifier) if world is not None else []
        return state.rebooting.get(identifier, 0) > 0 or bool(fed and fed[0] != "available")

    def reboot_db_instance(self: RDSBackend, db_instance_identifier: str) -> Any:
        database = self.describe_db_instances(db_instance_identifier)[0]
        identifier = database.db_instance_identifier
        with state.lock:
            if busy(identifier):
                raise _error(
                    "InvalidDBInstanceState", f"Instance {identifier} is not currently in the available state."
                )
            cluster = getattr(database, "cluster", None)
            members = [m.db_instance_identifier for m in cluster.members] if cluster is not None else []
            with_it: list[str] = []
            writer = cluster is not None and database.is_cluster_writer
            if writer and readers_reboot_with_writer(cluster.engine, cluster.engine_version):
                with_it = [m for m in members if m != identifier]
            state.reboots.append(RebootRecord(identifier, [m for m in members if m != identifier and busy(m)], with_it))
            for name in (identifier, *with_it):
                state.rebooting[name] = REBOOT_POLLS
        return database

    def describe_db_instances(self: RDSResponse) -> Any:
        result = original_describe(self)
        shown = []
        for item in result.result["DBInstances"]:
            with state.lock:
                remaining = state.rebooting.get(item.db_instance_identifier, 0)
                if remaining:
                    state.rebooting[item.db_instance_identifier] = remaining - 1
            if remaining:
                rebooting = copy.copy(item)
                rebooting.status = "rebooting"
                shown.append(rebooting)
            else:
                shown.append(item)
        result.result["DBInstances"] = shown
        return result

    stack.enter_context(mock.patch.object(RDSBackend, "reboot_db_instance", reboot_db_instance))
    stack.enter_context(mock.patch.object(RDSResponse, "describe_db_instances", describe_db_instances))


@_moto_patch(
    "rds_cluster_parameter_status",
    gap="DBClusterMembers[].DBClusterParameterGroupStatus is always in-sync; AWS reports pending-reboot on each "
    "member after the cluster gets another DB cluster parameter group or a pending-reboot change to its group, "
    "until that member is rebooted (a writer's reboot counts for the readers it reboots) "
    f"[{DOCS['cluster_member']}, {DOCS['cluster_params']}]",
    touches="moto.rds.models.DBCluster.db_cluster_members (status from the world's state); RDSBackend."
    "modify_db_cluster / modify_db_cluster_parameter_group / reboot_db_instance (update it)",
)
def _patch_cluster_parameter_status(stack: ExitStack, world: LocalWorld | None) -> None:
    from moto.rds.models import DBCluster, RDSBackend

    state = _bind(stack, world)
    original_modify, original_group = RDSBackend.modify_db_cluster, RDSBackend.modify_db_cluster_parameter_group
    original_reboot = RDSBackend.reboot_db_instance

    def pending_reboot(cluster: Any) -> None:
        with state.lock:
            for member in cluster.members:
                state.member_status[member.db_instance_identifier] = "pending-reboot"

    def modify_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> Any:
        before = self.clusters[kwargs["db_cluster_identifier"]].parameter_group
        result = original_modify(self, kwargs)
        if result.parameter_group != before:
            pending_reboot(result)
        return result

    def modify_db_cluster_parameter_group(self: RDSBackend, name: str, parameters: Any) -> Any:
        parameters = list(parameters)
        result = original_group(self, name, parameters)
        if any(p.get("ApplyMethod") == "pending-reboot" for p in parameters):
            for cluster in list(self.clusters.values()):
                if cluster.parameter_group == name:
                    pending_reboot(cluster)
        return result

    def reboot_db_instance(self: RDSBackend, db_instance_identifier: str) -> Any:
        database = original_reboot(self, db_instance_identifier)
        cluster = getattr(database, "cluster", None)
        rebooted = [database.db_instance_identifier]
        writer = cluster is not None and database.is_cluster_writer
        if writer and readers_reboot_with_writer(cluster.engine, cluster.engine_version):
            rebooted = [m.db_instance_identifier for m in cluster.members]
        with state.lock:
            for name in rebooted:
                state.member_status.pop(name, None)
        return database

    def db_cluster_members(self: DBCluster) -> list[dict[str, Any]]:
        with state.lock:
            return [
                {
                    "DBInstanceIdentifier": m.db_instance_identifier,
                    "IsClusterWriter": m.is_cluster_writer,
                    "DBClusterParameterGroupStatus": state.member_status.get(m.db_instance_identifier, "in-sync"),
                    "PromotionTier": m.promotion_tier,
                }
                for m in self.members
            ]

    stack.enter_context(mock.patch.object(RDSBackend, "modify_db_cluster", modify_db_cluster))
    stack.enter_context(
        mock.patch.object(RDSBackend, "modify_db_cluster_parameter_group", modify_db_cluster_parameter_group)
    )
    stack.enter_context(mock.patch.object(RDSBackend, "reboot_db_instance", reboot_db_instance))
    stack.enter_context(mock.patch.object(DBCluster, "db_cluster_members", property(db_cluster_members)))


@_moto_patch(
    "rds_pending_modifications",
    gap="ModifyDBInstance applies every change at once and DescribeDBInstances has no PendingModifiedValues; AWS "
    "defers DBInstanceClass, AllocatedStorage, BackupRetentionPeriod 0<->n, ... to the maintenance window unless "
    "ApplyImmediately, which applies every pending modification "
    f"[{DOCS['modify_instance']}, {DOCS['modify_settings']}]",
    touches="moto.rds.models.RDSBackend.modify_db_instance (deferred kwargs held back; DBInstance."
    "pending_modified_values set for the response)",
)
def _patch_pending_modifications(stack: ExitStack, world: LocalWorld | None) -> None:
    from moto.rds.models import RDSBackend

    state = _bind(stack, world)
    original = RDSBackend.modify_db_instance

    def modify_db_instance(self: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
        database = self.describe_db_instances(db_instance_identifier)[0]
        kwargs = dict(db_kwargs)
        now = bool(kwargs.get("apply_immediately"))
        deferred: dict[str, Any] = {}
        for key in DEFERRABLE:
            if key not in kwargs or now:
                continue
            if key == "backup_retention_period":
                crosses_zero = (int(database.backup_retention_period or 0) == 0) != (int(kwargs[key] or 0) == 0)
                if not crosses_zero:
                    continue
            deferred[key] = kwargs.pop(key)
        with state.lock:
            pending = state.pending.setdefault(database.db_instance_identifier, {})
            if now:
                kwargs = {**pending, **kwargs}
                pending.clear()
            pending.update(deferred)
            shown = {DEFERRABLE[k]: v for k, v in pending.items()}
        result = original(self, db_instance_identifier, kwargs)
        result.pending_modified_values = shown
        return result

    stack.enter_context(mock.patch.object(RDSBackend, "modify_db_instance", modify_db_instance))


RDS_RULES: Final = (
    "rds_engine_versions",
    "rds_parameter_catalogue",
    "rds_parameter_validation",
    "rds_modify_statuses",
    "rds_reboot_semantics",
    "rds_cluster_parameter_status",
    "rds_pending_modifications",
)


@contextmanager
def applied(disable: frozenset[str] = frozenset()) -> Iterator[RdsRulesState]:
    """The RDS rules on plain moto (inside ``mock_aws()``, no LocalWorld): for the unit tests."""
    from .local_aws import PATCHES

    _UNBOUND[0] = RdsRulesState()
    with ExitStack() as stack:
        for name in RDS_RULES:
            if name not in disable:
                PATCHES[name].apply(stack, None)
        yield _UNBOUND[0]
