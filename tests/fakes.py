"""Complete, type-checked fakes of the steps' ports (``clickpipes.steps.ports``), for unit tests without moto.

Each fake records what it was asked to do in ``calls``, so a test can assert that a refusal changed nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec
from clickpipes.audit_models import DbInspection
from clickpipes.errors import ClickHouseApiError
from clickpipes.fleet_models import DbListing
from clickpipes.models import (
    AdminCredentials,
    CdcDbRequest,
    CdcDbResult,
    DbDescription,
    DbUserResult,
    ExecutionView,
    RoleInfo,
    Target,
)
from clickpipes.rules import DbKind, EngineFamily, ParameterInfo
from clickpipes.seal import Seals


def forged[M](model: M, **changes: Any) -> M:
    """A copy of ``model`` holding values its own checks refuse (a model is checked whenever it is made): to prove
    that a step checks again what it acts on, as a model with a bug in its checks would not."""
    copy = msgspec.structs.replace(model)  # type: ignore[type-var]
    for name, value in changes.items():
        msgspec.structs.force_setattr(copy, name, value)
    return copy


def description_of(target: Target, **changes: Any) -> DbDescription:
    """What RDS would say about the DB a target names (master user 'master', its own rds! secret)."""
    values: dict[str, Any] = {
        "kind": target.kind,
        "identifier": target.db_identifier,
        "arn": target.arn,
        "engine": target.engine,
        "engine_version": target.engine_version,
        "status": "available",
        "resource_id": target.resource_id,
        "endpoint": target.endpoint,
        "port": target.port,
        "iam_auth_enabled": True,
        "master_secret_arn": target.admin_secret_arn,
        "master_username": "master",
        "cluster_identifier": None,
        "engine_mode": None,
        "database": target.database,
        "pending_modifications": [],
    }
    return DbDescription(**(values | changes))


class FakeRds:
    """The Rds port over a dict of DBs; every changing call is recorded in ``calls`` and changes nothing else."""

    def __init__(self, *dbs: DbDescription) -> None:
        self.dbs = {(db.kind, db.identifier): db for db in dbs}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.describes: list[tuple[DbKind, str]] = []  # every describe asked (a seal stands in for one)
        self.tag_values: dict[str, dict[str, str]] = {}

    def describe(self, kind: DbKind, identifier: str) -> DbDescription | None:
        self.describes.append((kind, identifier))
        return self.dbs.get((kind, identifier))

    def enable_iam_auth(self, kind: DbKind, identifier: str) -> None:
        self.calls.append(("enable_iam_auth", (kind, identifier)))

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        self.calls.append(("tag", (arn, tags)))
        self.tag_values.setdefault(arn, {}).update(tags)

    def tags(self, arn: str) -> dict[str, str]:
        return dict(self.tag_values.get(arn, {}))

    def parameter_group_family(self, engine: str, version: str) -> str | None:
        return None

    def parameter_info(self, kind: DbKind, group: str, names: list[str]) -> dict[str, ParameterInfo] | None:
        return {}

    def default_parameter_info(self, kind: DbKind, family: str, names: list[str]) -> dict[str, ParameterInfo]:
        return {}

    def create_parameter_group(self, kind: DbKind, name: str, *, family: str, source: str | None) -> None:
        self.calls.append(("create_parameter_group", (kind, name, family, source)))

    def set_parameters(self, kind: DbKind, group: str, parameters: dict[str, tuple[str, str]]) -> None:
        self.calls.append(("set_parameters", (kind, group, parameters)))

    def attach_parameter_group(self, kind: DbKind, identifier: str, group: str) -> None:
        self.calls.append(("attach_parameter_group", (kind, identifier, group)))

    def enable_backups(self, identifier: str, days: int) -> None:
        self.calls.append(("enable_backups", (identifier, days)))

    def reboot_instance(self, identifier: str) -> None:
        self.calls.append(("reboot_instance", (identifier,)))


SEAL_KEY = b"k" * 48  # a stack's state seal key (StateSealSecret: 64 letters and digits)
SEAL_NOW = 1_800_000_000.0


def fake_seals(key: bytes = SEAL_KEY, now: float = SEAL_NOW, max_age: int = 120) -> Seals:
    """The state seal with a fixed key and clock (``clickpipes.seal``); ``seals.key`` reads nothing."""
    return Seals(key=lambda: key, max_age=max_age, clock=lambda: now)


class FakeIam:
    """The Iam port over a dict of roles; every call that changes a role is recorded in ``calls``."""

    def __init__(self, *roles: tuple[str, RoleInfo]) -> None:
        self.roles = dict(roles)
        self.policies: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def get_role(self, name: str) -> RoleInfo | None:
        return self.roles.get(name)

    def get_inline_policy(self, role: str, policy_name: str) -> dict[str, Any] | None:
        return self.policies.get((role, policy_name))

    def create_role(
        self,
        name: str,
        *,
        path: str,
        trust_policy: dict[str, Any],
        tags: dict[str, str],
        description: str,
        permissions_boundary: str | None,
    ) -> str | None:
        self.calls.append(("create_role", (name, path, tags, permissions_boundary)))
        if name in self.roles:
            return None
        arn = f"arn:aws:iam::123456789012:role{path}{name}"
        self.roles[name] = RoleInfo(
            arn=arn, path=path, tags=tags, trust_policy=trust_policy, permissions_boundary=permissions_boundary
        )
        return arn

    def update_trust_policy(self, name: str, trust_policy: dict[str, Any]) -> None:
        self.calls.append(("update_trust_policy", (name,)))

    def put_inline_policy(self, role: str, policy_name: str, policy: dict[str, Any]) -> None:
        self.calls.append(("put_inline_policy", (role, policy_name)))
        self.policies[(role, policy_name)] = policy

    def put_permissions_boundary(self, role: str, policy_arn: str) -> None:
        self.calls.append(("put_permissions_boundary", (role, policy_arn)))

    def tag_role(self, role: str, tags: dict[str, str]) -> None:
        self.calls.append(("tag_role", (role, tags)))


class FakeSecrets:
    """The Secrets port: one JSON value for every ARN; ``reads`` counts the reads."""

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value
        self.reads: list[str] = []

    def get_json(self, arn: str) -> dict[str, Any]:
        self.reads.append(arn)
        return dict(self.value)


class FakeDatabase:
    """The Database port: records each call with its arguments, answers a fixed result."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, EngineFamily, AdminCredentials, Any]] = []

    def ensure_iam_user(
        self,
        family: EngineFamily,
        credentials: AdminCredentials,
        user: str,
        *,
        plan_only: bool = False,
        adopt_existing: bool = False,
    ) -> DbUserResult:
        self.calls.append(("ensure_iam_user", family, credentials, (user, plan_only, adopt_existing)))
        return DbUserResult(created=True, changed=True, changes=[f"CREATE USER {user}"])

    def configure_cdc(self, family: EngineFamily, credentials: AdminCredentials, request: CdcDbRequest) -> CdcDbResult:
        self.calls.append(("configure_cdc", family, credentials, request))
        return CdcDbResult(changes=[])


class FakeAuditDatabase(FakeDatabase):
    """The audit's Database port: the onboarding's DB steps answering a given plan (or raising a refusal), and the
    server's inactive slots. Records every call: a test checks that only plans ran."""

    def __init__(
        self,
        user: DbUserResult | Exception | None = None,
        cdc: CdcDbResult | None = None,
        slots: list[tuple[str, int]] | None = None,
    ) -> None:
        super().__init__()
        self.user = user or DbUserResult(created=False, changed=False, changes=[])
        self.cdc = cdc or CdcDbResult(changes=[])
        self.slots = slots or []

    def ensure_iam_user(
        self,
        family: EngineFamily,
        credentials: AdminCredentials,
        user: str,
        *,
        plan_only: bool = False,
        adopt_existing: bool = False,
    ) -> DbUserResult:
        super().ensure_iam_user(family, credentials, user, plan_only=plan_only, adopt_existing=adopt_existing)
        if isinstance(self.user, Exception):
            raise self.user
        return self.user

    def configure_cdc(self, family: EngineFamily, credentials: AdminCredentials, request: CdcDbRequest) -> CdcDbResult:
        super().configure_cdc(family, credentials, request)
        return self.cdc

    def inspect(self, family: EngineFamily, credentials: AdminCredentials, user: str) -> DbInspection:
        self.calls.append(("inspect", family, credentials, user))
        return DbInspection(inactive_slots=self.slots)


class FakeGuard:
    """The Guard port, as ``clickpipes.aws.guard.DbGuard`` behaves: ``held`` maps a DB key to its holder's ARN;
    a holder not in ``running`` is gone and is taken over. ``calls`` records each acquire."""

    def __init__(self, held: dict[str, str] | None = None, running: set[str] | None = None) -> None:
        self.held = dict(held or {})
        self.running = set(running or ())
        self.calls: list[tuple[str, str]] = []

    def acquire(self, key: str, holder: str, *, again: bool = True) -> str | None:
        self.calls.append((key, holder))
        current = self.held.get(key)
        if current is not None and (current != holder or not again) and current in self.running:
            return current
        self.held[key] = holder
        return None


class FakeClickHouseCloud:
    """The ClickHouseCloud port: each service id's IAM role; ``reads`` lists the ids asked for; ``pipes`` each
    service's ClickPipes (``states``: the states a created pipe goes through, one per read)."""

    def __init__(self, roles: dict[str, str], states: tuple[str, ...] = ("Provisioning", "Running")) -> None:
        self.roles = roles
        self.reads: list[str] = []
        self.pipes: dict[str, dict[str, dict[str, Any]]] = {}
        self.states = states
        self.created: list[dict[str, Any]] = []
        self._progress: dict[str, list[str]] = {}

    def list_clickpipes(self, service_id: str) -> list[dict[str, Any]]:
        return list(self.pipes.get(service_id, {}).values())

    def create_clickpipe(self, service_id: str, body: dict[str, Any]) -> dict[str, Any]:
        pipe_id = f"00000000-0000-4000-8000-{len(self.created) + 1:012d}"
        pipe = {"id": pipe_id, "serviceId": service_id, "state": self.states[0]} | body
        self.created.append(body)
        self.pipes.setdefault(service_id, {})[pipe_id] = pipe
        self._progress[pipe_id] = list(self.states[1:])
        return dict(pipe)

    def get_clickpipe(self, service_id: str, pipe_id: str) -> dict[str, Any]:
        pipe = self.pipes[service_id][pipe_id]
        if self._progress.get(pipe_id):
            pipe["state"] = self._progress[pipe_id].pop(0)
        return dict(pipe)

    def delete_clickpipe(self, service_id: str, pipe_id: str) -> bool:
        return self.pipes.get(service_id, {}).pop(pipe_id, None) is not None

    def service_iam_role(self, service_id: str) -> str:
        self.reads.append(service_id)
        if service_id not in self.roles:
            raise ClickHouseApiError(f"ClickHouse Cloud API GET service {service_id} answered 404.")
        return self.roles[service_id]


class FakeFleetRds:
    """The fleet's FleetRds port over a list of DB listings; ``calls`` counts the listings. Called with an
    (account, region) pair (what ResolveFleet takes), the same port over the DBs of that pair (``pairs``)."""

    def __init__(self, *dbs: DbListing, parent: FakeFleetRds | None = None) -> None:
        self.dbs = list(dbs)
        self.calls = 0
        self.pairs: list[tuple[str, str]] = []
        self._parent = parent

    def __call__(self, account: str, region: str) -> FakeFleetRds:
        self.pairs.append((account, region))
        here = [db for db in self.dbs if db.arn.split(":")[3] == region and db.arn.split(":")[4] in (account, "")]
        return FakeFleetRds(*here, parent=self)

    def list_dbs(self) -> list[DbListing]:
        self.calls += 1
        if self._parent is not None:
            self._parent.calls += 1
        return list(self.dbs)


class FakeStateMachine:
    """The StateMachine port over a dict of execution views by name; ``started`` records each start."""

    def __init__(self, arn: str, *views: ExecutionView) -> None:
        self.arn = arn
        self.views = {view.name: view for view in views}
        self.started: list[tuple[str, dict[str, Any]]] = []
        self.described: list[str] = []

    def execution_arn(self, name: str) -> str:
        prefix, _, machine = self.arn.partition(":stateMachine:")
        return f"{prefix}:execution:{machine}:{name}"

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        if name in self.views:
            return False
        self.started.append((name, payload))
        return True

    def describe(self, name: str) -> ExecutionView | None:
        self.described.append(name)
        return self.views.get(name)
