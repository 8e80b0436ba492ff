"""What a DB of the local world has *in effect* for CDC, as the DB server (not the API) would see it.

One PostgreSQL and one MariaDB server play every DB of the world, and they always have logical decoding and a
ROW binlog. What each RDS DB really has comes from moto instead: its parameter group's values apply once the DB
has been rebooted with that group (a newly attached group, or a static change, waits for the reboot); until then
the family's defaults apply. The real servers are then made to behave per DB:

* PostgreSQL: a logical replication login of an IAM user (``pam_rds_iam.so`` tells the verifier, which tells the
  local IAM, ``tests/harness/iam_authority.py``) is refused unless ``rds.logical_replication`` is in effect and
  ``rds.iam_auth_for_replication`` is in effect *and* on in the DB's database (what ``SHOW`` there says, which
  is what the product reads). Real RDS without ``rds.logical_replication`` lets the login in and refuses the slot
  (wal_level); here the login is refused, with that parameter as the reason.
* MySQL family: the application's writes (``tests/e2e/scenario.app_changes``) are logged with the DB's
  ``binlog_format`` in effect, or not at all when automated backups are off (no binlog on RDS).
"""

from __future__ import annotations

from typing import Any

from moto.rds.models import rds_backends

from . import rds_rules
from .template import DEFAULT_ACCOUNT_ID, DEFAULT_REGION

# the family defaults the servers stand in for (tests/harness/rds_rules.py's catalogue)
DEFAULT_BINLOG_FORMAT = {"aurora-mysql": "OFF"}  # RDS for MySQL / MariaDB: MIXED


def _rebooted(instances: set[str]) -> bool:
    records = [r for state in [*rds_rules._STATES.values(), *rds_rules._UNBOUND] for r in list(state.reboots)]
    return any(r.instance in instances or instances & set(r.with_it) for r in records)


def _values(group: Any) -> dict[str, str]:
    if group is None:
        return {}
    return {name: str(p["ParameterValue"]) for name, p in group.parameters.items() if "ParameterValue" in p}


def parameters_in_effect(db: Any, backend: Any = None) -> dict[str, str]:
    """The user-set parameters of a moto DBInstance or DBCluster that are in effect (empty: defaults only)."""
    backend = backend or rds_backends[DEFAULT_ACCOUNT_ID][DEFAULT_REGION]
    cluster_id = getattr(db, "db_cluster_identifier", None)
    if cluster_id and cluster_id in backend.clusters:
        db = backend.clusters[cluster_id]
    if hasattr(db, "members"):  # a cluster
        name, groups = db.parameter_group, backend.db_cluster_parameter_groups
        members = {m.db_instance_identifier for m in db.members}
    else:
        name, groups = db.db_parameter_group_name, backend.db_parameter_groups
        members = {db.db_instance_identifier}
    group = groups.get(name) if name else None  # None: the family's default group
    return _values(group) if _rebooted(members) else {}


def find_db(identifier: str, backend: Any = None) -> Any:
    backend = backend or rds_backends[DEFAULT_ACCOUNT_ID][DEFAULT_REGION]
    return backend.clusters.get(identifier) or backend.databases[identifier]


def binlog_in_effect(identifier: str) -> str:
    """``ROW``/``MIXED``/``STATEMENT`` for the DB's writes, ``OFF`` without a binlog (automated backups off)."""
    db = find_db(identifier)
    engine = str(db.engine)
    retention = int(getattr(db, "backup_retention_period", 1) or 0)
    value = parameters_in_effect(db).get("binlog_format", DEFAULT_BINLOG_FORMAT.get(engine, "MIXED"))
    return "OFF" if retention == 0 or value == "OFF" else value


def replication_refusal(db: Any, database_setting: str | None) -> str | None:
    """Why a logical replication login with an IAM token is refused on this PostgreSQL DB, or None.
    ``database_setting``: ``rds.iam_auth_for_replication`` as the DB's database reports it."""
    values = parameters_in_effect(db)
    if values.get("rds.logical_replication") != "1":
        return "rds.logical_replication is not in effect (parameter group not applied: reboot pending, or unset)"
    if values.get("rds.iam_auth_for_replication") != "1" or database_setting not in ("1", "on", "true"):
        return "rds.iam_auth_for_replication is off: replication connections do not accept IAM tokens"
    return None
