"""Describes an RDS instance or cluster: status and resource id."""

import os
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from sample_common.errors import DbNotFoundError
from sample_common.observability import logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rds = boto3.client("rds")
    identifier = event["dbIdentifier"]
    kind = event.get("kind") or os.environ["DB_KIND_DEFAULT"]
    try:
        if kind == "cluster":
            cluster = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
            return {
                "status": cluster["Status"],
                "resourceId": cluster["DbClusterResourceId"],
                "iamAuth": cluster["IAMDatabaseAuthenticationEnabled"],
            }
        instance = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("DBInstanceNotFound", "DBInstanceNotFoundFault", "DBClusterNotFoundFault"):
            raise DbNotFoundError(f"DB {kind} {identifier} not found") from exc
        raise
    return {
        "status": instance["DBInstanceStatus"],
        "resourceId": instance["DbiResourceId"],
        "iamAuth": instance["IAMDatabaseAuthenticationEnabled"],
    }
