"""What several steps share: the execution input checked without AWS, the DB as RDS describes it now (checked
against the event), and the admin login. Steps import these from here, never from a sibling step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from clickpipes import rules, trust
from clickpipes.errors import AdminCredentialsError, DbNotFoundError, InvalidInputError, OnboardingInProgressError
from clickpipes.models import (
    AdminCredentials,
    CdcDbRequest,
    DbDescription,
    DbFacts,
    OnboardingRequest,
    RoleInfo,
    Target,
)
from clickpipes.models.base import ValidationError
from clickpipes.settings import AccountSettings, ResolveSettings
from clickpipes.steps.ports import Guard, Rds

if TYPE_CHECKING:
    from clickpipes.seal import Seals
    from clickpipes.steps.offboard_ports import OffboardIam


class CheckedRequest(NamedTuple):
    kind: rules.DbKind | None
    identifier: str
    user: str
    principal: str  # "" with clickhouse_service_id: ResolveTarget reads it from ClickHouse Cloud
    guard_key: str  # the DB's guard item (``guard_key``)


def db_reference(
    db_identifier: str, *, settings: ResolveSettings, workflow: str = "onboards"
) -> tuple[rules.DbKind | None, str]:
    """The kind (when an ARN says it) and identifier of the DB named. A DB ARN may name another region, and
    another account when it is one of MemberAccounts (AccountNotAllowedError otherwise, changing nothing)."""
    kind, identifier, _ = rules.parse_db_reference(db_identifier)
    settings.check_account(db_place(db_identifier, settings=settings)[0])
    return kind, identifier


def db_place(db_identifier: str, *, settings: AccountSettings) -> tuple[str, str]:
    """The account and region of the DB named: a DB ARN's, else the stack's own."""
    return rules.place_of_arn(db_identifier) or (settings.home_account, settings.region)


def guard_key(db_identifier: str, identifier: str, *, settings: AccountSettings) -> str:
    """The guard item of a DB: ``<account>/<region>/<identifier>`` (the same DB named by its identifier or its
    ARN is one item: an ARN of the stack's own account counts as HOME_ACCOUNT)."""
    account, region = db_place(db_identifier, settings=settings)
    return f"{settings.home_account if settings.is_home(account) else account}/{region}/{identifier}"


def check_request(request: OnboardingRequest, *, settings: ResolveSettings) -> CheckedRequest:
    """Everything checkable without AWS, the trust boundary's allowlist and reserved names included (the API
    answers 400/403 on it, the tag trigger tags the DB failed, before starting anything)."""
    region = settings.region
    kind, identifier = db_reference(request.db_identifier, settings=settings)
    key = guard_key(request.db_identifier, identifier, settings=settings)
    user = trust.check_not_protected(rules.check_db_user(request.db_user or rules.DEFAULT_DB_USER))
    if request.clickhouse_service_id:  # the principal is the service's iamRole: ResolveTarget reads it
        return CheckedRequest(kind, identifier, user, "", key)
    principal = trust.check_principal_allowed(
        rules.check_principal(
            request.clickhouse_role_arn or settings.default_clickhouse_role_arn, partition=rules.partition_of(region)
        ),
        default_principal=settings.default_clickhouse_role_arn,
        allowed=settings.allowed_principals,
    )
    return CheckedRequest(kind, identifier, user, principal, key)


def sealed(db: DbDescription, seals: Seals | None) -> dict[str, Any] | None:
    """The DB as this step described it, sealed for the next step (``clickpipes.seal``); None when the stack seals
    nothing."""
    return seals.seal(db) if seals is not None else None


def unsealed(target: DbFacts, seal: dict[str, Any] | None, seals: Seals | None) -> DbDescription | None:
    """The DB as a former step of the execution described it, when its seal verifies (``clickpipes.seal``: else
    SealError, before anything is done), is fresh and is of the target's DB; None otherwise (describe)."""
    return seals.unseal(seal, target) if seals is not None and seal else None


def current(
    rds: Rds, target: DbFacts, *, seal: dict[str, Any] | None = None, seals: Seals | None = None
) -> DbDescription:
    """The DB as RDS sees it now (or as a fresh seal of it says); DbNotFoundError when it vanished after the
    workflow resolved it."""
    sealed = unsealed(target, seal, seals)
    if sealed is not None:
        return sealed
    db = rds.describe(target.kind, target.db_identifier)
    if db is None:
        raise DbNotFoundError(
            f"DB {target.kind} '{target.db_identifier}' no longer exists (deleted during the {target.workflow})."
        )
    return db


def described(
    rds: Rds, target: DbFacts, *, seal: dict[str, Any] | None = None, seals: Seals | None = None
) -> DbDescription:
    """The DB as RDS describes it in this step, which must be the one the event names: a step acts on RDS's
    resource id, account, region and endpoint, never on what an event claims (it may be invoked directly).
    A seal made by this stack's ResolveTarget or CheckDbStatus moments ago stands in for the describe
    (``clickpipes.seal``: it verifies, is fresh and of this DB, the same checks as below), nothing else does."""
    sealed = unsealed(target, seal, seals)
    if sealed is not None:
        return sealed
    db = current(rds, target)
    match = rules.DB_ARN_PATTERN.fullmatch(db.arn)
    claimed = (target.arn, target.resource_id, target.partition, target.region, target.account)
    actual = (db.arn, db.resource_id, *((match["partition"], match["region"], match["account"]) if match else ()))
    if claimed != actual:
        raise InvalidInputError(
            f"The step's input does not describe DB {target.kind} '{target.db_identifier}' as RDS does (ARN, resource "
            f"ID, partition, region, account): run the {target.workflow} from the start (it may have been recreated). "
            "Nothing was changed."
        )
    return db


def admin_credentials(secret: dict[str, Any], target: DbFacts, db: DbDescription) -> AdminCredentials:
    """The RDS secret convention: username/password, and optionally host/port/dbname, which win over the
    DB's endpoint as RDS describes it (that is how a proxy, a tunnel or a local server is reached)."""
    try:
        return AdminCredentials.model_validate(
            {
                "username": secret.get("username"),
                "password": secret.get("password"),
                "host": secret.get("host") or db.endpoint,
                "port": int(secret.get("port") or db.port),
                "database": target.database or secret.get("dbname"),
            }
        )
    except (ValidationError, TypeError, ValueError):
        raise AdminCredentialsError(
            f"Admin secret {target.admin_secret_arn} must be a JSON object with string 'username' and 'password' "
            "(and optionally 'host', 'port', 'dbname')."
        ) from None


def admin_login(
    rds: Rds, secrets: Any, target: DbFacts, *, seal: dict[str, Any] | None = None, seals: Seals | None = None
) -> tuple[DbDescription, AdminCredentials]:
    """The DB (as RDS describes it, or a fresh seal of it says) and the admin login for it: the secret must be
    bound to this DB, and the IAM user may be neither the master user nor the admin."""
    db = described(rds, target, seal=seal, seals=seals)
    trust.check_secret_bound(
        target.admin_secret_arn, db_kind=db.kind, db_identifier=db.identifier, master_secret_arn=db.master_secret_arn
    )
    credentials = admin_credentials(secrets.get_json(target.admin_secret_arn), target, db)
    trust.check_not_protected(target.db_user, master_username=db.master_username, admin_username=credentials.username)
    return db, credentials


def cdc_db_request(target: Target) -> CdcDbRequest:
    """What the database side of the onboarding must make true: the read grants, and with CDC the replication."""
    return CdcDbRequest(
        user=rules.check_db_user(target.db_user, target.engine),
        schemas=target.cdc.schemas,
        tables=target.cdc.tables,
        publication=target.cdc.publication,
        binlog_retention_hours=target.cdc.binlog_retention_hours,
        plan_only=target.plan_only,
        replication=target.cdc.enabled,
        pipe_tables=list(target.clickpipe.tables) if target.clickpipe and target.clickpipe.tables else None,
    )


BUSY = (
    "An onboarding or offboarding ({running}) of DB '{identifier}' is already running: this one stops here, "
    "changing nothing."
)


def hold_db(guard: Guard, identifier: str, key: str, holder: str, busy: str, *, again: bool = True) -> None:
    """Hold the DB (its guard item ``key``: ``guard_key``) for the execution ARN ``holder`` (``clickpipes.aws.guard``:
    O(1) calls, conditional writes), or OnboardingInProgressError with ``busy`` (placeholders ``{running}``: the
    holder's name, ``{identifier}``).
    The API and the tag trigger hold it for the execution they are about to start; ResolveTarget and
    ResolveOffboarding hold it again (already theirs when started so: one call), so an execution started any
    other way (a fleet's child, the console) is guarded too. ``again=False`` (a start): the holder itself
    running counts as busy, as the start was made before."""
    running = guard.acquire(key, holder, again=again)
    if running is not None:
        raise OnboardingInProgressError(busy.format(running=running.rsplit(":", 1)[-1], identifier=identifier))


def take_apart_role(iam: OffboardIam, name: str, role: RoleInfo, *, plan_only: bool) -> tuple[list[str], bool]:
    """A role this tool made (the caller checked its path and tag): inline policies, boundary, then the role.
    Returns the changes (planned, or done) and whether the role is gone; False when IAM refused DeleteRole
    (managed policies or an instance profile someone else attached: then the last change is left out)."""
    policies = iam.list_inline_policies(name)
    changes = [f"DeleteRolePolicy {name}: {policy}" for policy in policies]
    if role.permissions_boundary:
        changes.append(f"DeleteRolePermissionsBoundary {name}: {role.permissions_boundary}")
    changes.append(f"DeleteRole {rules.ROLE_PATH}{name}")
    if plan_only:
        return changes, False
    for policy in policies:
        iam.delete_inline_policy(name, policy)
    if role.permissions_boundary:
        iam.delete_permissions_boundary(name)
    if not iam.delete_role(name):
        return changes[:-1], False
    return changes, True
