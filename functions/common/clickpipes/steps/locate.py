"""Find the DB a workflow acts on and what both workflows record of it (``DbFacts``): RDS reads, no change."""

from __future__ import annotations

from typing import Any

from clickpipes import rules, trust
from clickpipes.errors import AdminCredentialsError, DbNotFoundError
from clickpipes.models import DbDescription
from clickpipes.settings import ResolveSettings
from clickpipes.steps.ports import Rds


def find_db(rds: Rds, kind: rules.DbKind | None, identifier: str) -> tuple[DbDescription, list[str]]:
    """The DB to onboard: an Aurora member instance is onboarded through its cluster."""
    db = (
        rds.describe(kind, identifier)
        if kind
        else (rds.describe("instance", identifier) or rds.describe("cluster", identifier))
    )
    if db is None:
        what = f"DB {kind}" if kind else "DB instance or cluster"
        raise DbNotFoundError(
            f"No {what} '{identifier}' in this account and region: check the identifier (or pass the DB's ARN)."
        )
    if db.kind == "instance" and db.cluster_identifier:
        cluster = rds.describe("cluster", db.cluster_identifier)
        if cluster is None:
            raise DbNotFoundError(
                f"DB instance '{identifier}' belongs to cluster '{db.cluster_identifier}', which was not found."
            )
        return cluster, [
            f"DB instance '{db.identifier}' belongs to Aurora cluster '{cluster.identifier}': onboarded the cluster "
            "(IAM authentication, resource ID and writer endpoint are the cluster's)."
        ]
    return db, []


def tags_of(rds: Rds, db: DbDescription) -> dict[str, str]:
    """The DB's tags: as its describe listed them (TagList), else ListTagsForResource."""
    return db.tags if db.tags is not None else rds.tags(db.arn)


def admin_secret(db: DbDescription, requested: str | None) -> str:
    """The admin login's secret: the one asked for, else the RDS-managed one; bound to this DB (trust)."""
    secret_arn = requested or db.master_secret_arn
    if not secret_arn:
        raise AdminCredentialsError(
            f"DB {db.kind} '{db.identifier}' has no RDS-managed master user secret: pass admin_secret_arn, the "
            "ARN of a Secrets Manager secret with the admin's 'username' and 'password'."
        )
    trust.check_secret_bound(
        secret_arn, db_kind=db.kind, db_identifier=db.identifier, master_secret_arn=db.master_secret_arn
    )
    return secret_arn


def db_facts(
    db: DbDescription,
    *,
    engine: rules.Engine,
    settings: ResolveSettings,
    database: str | None,
    db_user: str,
    admin_secret_arn: str,
) -> dict[str, Any]:
    """The fields of ``models.DbFacts`` for this DB (the base of Target and OffboardTarget)."""
    return {
        "db_identifier": db.identifier,
        "kind": db.kind,
        "arn": db.arn,
        "partition": db.arn.split(":")[1],
        "region": db.arn.split(":")[3],
        "account": db.arn.split(":")[4],
        "engine": engine,
        "engine_version": db.engine_version,
        "resource_id": db.resource_id,
        "endpoint": db.endpoint,
        "port": db.port,
        "database": database or db.database or ("postgres" if rules.family(engine) == "postgres" else None),
        "iam_auth_enabled": db.iam_auth_enabled,
        "admin_secret_arn": admin_secret_arn,
        "db_user": db_user,
    }
