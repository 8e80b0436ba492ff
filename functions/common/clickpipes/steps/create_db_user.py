"""Step CreateDbUser: the database user that logs in with IAM tokens, created with the admin's secret.

It acts on the DB as RDS describes it in this step (endpoint, master user, master secret), refuses the protected
users (master, admin, reserved names; the server refuses admin-class ones) and converts an existing password user
only with adopt_existing_user. With ``cdc: false`` it also makes the read grants an initial load needs (what
ConfigureCdcDatabase makes with CDC, which the onboarding then skips)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clickpipes import rules
from clickpipes.models import DbUserResult, Target
from clickpipes.steps.ports import Database, Rds, Secrets
from clickpipes.steps.shared import admin_login, cdc_db_request

if TYPE_CHECKING:
    from clickpipes.seal import Seals


def create_db_user(
    target: Target,
    *,
    rds: Rds,
    secrets: Secrets,
    database: Database,
    seal: dict[str, Any] | None = None,
    seals: Seals | None = None,
) -> DbUserResult:
    user = rules.check_db_user(target.db_user, target.engine)
    _, credentials = admin_login(rds, secrets, target, seal=seal, seals=seals)
    family = rules.family(target.engine)
    result = database.ensure_iam_user(
        family, credentials, user, plan_only=target.plan_only, adopt_existing=target.adopt_existing_user
    )
    if target.cdc.enabled:  # ConfigureCdcDatabase grants, once the CDC parameters are in effect
        return result
    # cdc: false: the read grants now, with this login (one describe and one secret read for both)
    return result.model_copy(update={"reads": database.configure_cdc(family, credentials, cdc_db_request(target))})
