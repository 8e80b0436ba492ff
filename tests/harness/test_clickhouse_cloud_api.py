"""The ClickHouse Cloud stand-in holds requests to the vendored OpenAPI document: a drifted field is refused."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest
from clickpipes.clickhouse_api import ClickHouseCloudGateway
from clickpipes.errors import ClickHouseApiError

from tests.harness.clickhouse_cloud_api import ClickHouseCloudStandIn

ORG = "0b6c7e3a-4a59-4b3e-9a57-0a4f6a0c1d11"
ROLE = "arn:aws:iam::444455556666:role/CH-Role"


def body(**source: object) -> dict[str, object]:
    postgres = {
        "type": "rdspostgres",
        "host": "orders.abc.us-east-1.rds.amazonaws.com",
        "port": 5432,
        "database": "postgres",
        "authentication": "IAM_ROLE",
        "iamRole": ROLE,
        "settings": {"replicationMode": "snapshot"},
        "tableMappings": [{"sourceSchemaName": "public", "sourceTable": "t", "targetTable": "public_t"}],
    } | source
    return {"name": "p", "source": {"postgres": postgres}, "destination": {"database": "analytics"}}


@pytest.mark.parametrize(
    "drift",
    [
        {"authentication": "iam_role"},
        {"type": "rds-postgres"},
        {"port": "5432"},
        {"settings": {"replicationMode": "CDC"}},
    ],
)
def test_a_request_outside_the_contract_is_refused_and_recorded(drift: dict[str, object]) -> None:
    service = str(uuid.uuid4())
    with ClickHouseCloudStandIn(ORG) as api:
        api.add_service(service, ROLE)
        gateway = ClickHouseCloudGateway(base_url=api.url, organization_id=ORG, base_delay=0.01, **api.key)
        gateway.create_clickpipe(service, body())
        assert api.state.violations == []
        with pytest.raises(ClickHouseApiError, match="400"):
            gateway.create_clickpipe(service, body(**drift))
        assert len(api.state.violations) == 1
        assert len(api.pipes(service)) == 1


def test_a_wrong_key_is_401_in_the_documented_error_shape() -> None:
    with ClickHouseCloudStandIn(ORG) as api:
        api.add_service(str(uuid.uuid4()), ROLE)
        request = urllib.request.Request(f"{api.url}/v1/organizations/{ORG}/services/{uuid.uuid4()}")  # noqa: S310
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)  # noqa: S310 (the stand-in on 127.0.0.1)
        assert refused.value.code == 401
        assert set(json.loads(refused.value.read())) == {"status", "error", "requestId"}
        assert api.state.violations == []
