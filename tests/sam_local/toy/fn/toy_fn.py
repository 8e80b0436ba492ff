"""Toy handler: imports from its own package dir, the layer and the runtime, then calls moto."""

import os
import sys
from importlib.metadata import version

import boto3  # from the runtime (/var/runtime), not bundled
import pydantic  # from the layer
import pymysql  # noqa: F401  (from the function's own requirements)
import toycommon  # from the layer


def handler(event: dict[str, object], context: object) -> dict[str, object]:
    # boto3 reads AWS_ENDPOINT_URL itself; an empty value means "the real AWS endpoint".
    iam = boto3.client("iam")
    roles = [role["RoleName"] for role in iam.list_roles()["Roles"]]
    return toycommon.proxy_response(
        toycommon.RoleListing(
            roles=roles,
            python=sys.version.split()[0],
            boto3=boto3.__version__,
            pydantic=pydantic.VERSION,
            pymysql=version("PyMySQL"),  # pymysql.__version__ mimics mysqlclient
            endpoint=os.environ.get("AWS_ENDPOINT_URL") or None,
            layer_file=toycommon.__file__ or "",
        )
    )
