"""What the offboarding steps share: the DB as RDS describes it now, checked against the event, and the admin
login (the offboarding's counterparts of ``clickpipes.steps.shared``, on an OffboardTarget)."""

from __future__ import annotations

from typing import Any

from clickpipes import rules, trust
from clickpipes.errors import DbNotFoundError, InvalidInputError
from clickpipes.models import AdminCredentials, DbDescription
from clickpipes.offboarding_models import OffboardTarget
from clickpipes.steps.ports import Rds
from clickpipes.steps.shared import admin_credentials


def described(rds: Rds, target: OffboardTarget) -> DbDescription:
    """The DB as RDS describes it in this step, which must be the one the event names (ARN, resource id, …)."""
    db = rds.describe(target.kind, target.db_identifier)
    if db is None:
        raise DbNotFoundError(
            f"DB {target.kind} '{target.db_identifier}' no longer exists (deleted during the offboarding)."
        )
    match = rules.DB_ARN_PATTERN.fullmatch(db.arn)
    claimed = (target.arn, target.resource_id, target.partition, target.region, target.account)
    actual = (db.arn, db.resource_id, *((match["partition"], match["region"], match["account"]) if match else ()))
    if claimed != actual:
        raise InvalidInputError(
            f"The step's input does not describe DB {target.kind} '{target.db_identifier}' as RDS does (ARN, resource "
            "ID, partition, region, account): run the offboarding from the start. Nothing was changed."
        )
    return db


def admin_login(rds: Rds, secrets: Any, target: OffboardTarget) -> tuple[DbDescription, AdminCredentials]:
    """The DB and the admin login for it: the secret bound to this DB, the user neither master nor admin."""
    db = described(rds, target)
    trust.check_secret_bound(
        target.admin_secret_arn, db_kind=db.kind, db_identifier=db.identifier, master_secret_arn=db.master_secret_arn
    )
    # admin_credentials reads only admin_secret_arn and database from the target
    credentials = admin_credentials(secrets.get_json(target.admin_secret_arn), target, db)  # type: ignore[arg-type]
    trust.check_not_protected(target.db_user, master_username=db.master_username, admin_username=credentials.username)
    return db, credentials
