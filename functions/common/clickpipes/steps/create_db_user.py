"""Step CreateDbUser: the database user that logs in with IAM tokens, created with the admin's secret."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from clickpipes import rules
from clickpipes.errors import AdminCredentialsError
from clickpipes.models import AdminCredentials, DbUserResult, Target
from clickpipes.steps.ports import Database, Secrets


def admin_credentials(secret: dict[str, Any], target: Target) -> AdminCredentials:
    """The RDS secret convention: username/password, and optionally host/port/dbname, which win over the
    DB's endpoint (that is how a proxy, a tunnel or a local server is reached)."""
    try:
        return AdminCredentials(
            username=secret.get("username"),
            password=secret.get("password"),
            host=secret.get("host") or target.endpoint,
            port=int(secret.get("port") or target.port),
            database=target.database or secret.get("dbname"),
        )
    except (ValidationError, TypeError, ValueError):
        raise AdminCredentialsError(
            f"Admin secret {target.admin_secret_arn} must be a JSON object with string 'username' and 'password' "
            "(and optionally 'host', 'port', 'dbname')."
        ) from None


def create_db_user(target: Target, *, secrets: Secrets, database: Database) -> DbUserResult:
    user = rules.check_db_user(target.db_user, target.engine)
    credentials = admin_credentials(secrets.get_json(target.admin_secret_arn), target)
    return database.ensure_iam_user(rules.family(target.engine), credentials, user, plan_only=target.plan_only)
