"""Shared code shipped in the toy's CommonLayer (lands in /opt/python/toycommon)."""

from pydantic import BaseModel


class RoleListing(BaseModel):
    roles: list[str]
    python: str
    boto3: str
    pydantic: str
    pymysql: str
    endpoint: str | None
    layer_file: str


def proxy_response(body: BaseModel, status: int = 200) -> dict[str, object]:
    """API Gateway (REST, proxy) response: what `sam local start-api` expects back."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": body.model_dump_json(),
    }
