"""Step CreateDbUser: the database user that logs in with IAM tokens, created with the admin's secret.

It acts on the DB as RDS describes it in this step (endpoint, master user, master secret), refuses the protected
users (master, admin, reserved names; the server refuses admin-class ones) and converts an existing password user
only with adopt_existing_user."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.models import DbUserResult, Target
from clickpipes.steps.ports import Database, Rds, Secrets
from clickpipes.steps.shared import admin_login


def create_db_user(target: Target, *, rds: Rds, secrets: Secrets, database: Database) -> DbUserResult:
    user = rules.check_db_user(target.db_user, target.engine)
    _, credentials = admin_login(rds, secrets, target)
    return database.ensure_iam_user(
        rules.family(target.engine),
        credentials,
        user,
        plan_only=target.plan_only,
        adopt_existing=target.adopt_existing_user,
    )
