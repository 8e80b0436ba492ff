"""The fleet's functions, built by `sam build` and run by `sam local invoke` in the Lambda image, against moto
(the same session as test_sam_local.py), on DBs of their own tagged team=fleet-sam: ResolveFleet lists and names
them, SummarizeFleet turns the Map's output into the summary, and a bad fleet leaves with its contract name.
What this proves beyond the unit tests: the handlers' paths, layers and environment in the template."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .samlocal import EVENTS, SamLocal

pytestmark = pytest.mark.container

TAG = {"key": "team", "value": "fleet-sam"}


def event(name: str, **replace: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data | replace


@pytest.fixture(scope="module")
def fleet_dbs(samlocal: SamLocal) -> list[str]:
    rds = samlocal.aws("rds")
    names = ["fleet-sam-a", "fleet-sam-b"]
    for name in names:
        db = rds.create_db_instance(
            DBInstanceIdentifier=name,
            Engine="postgres",
            EngineVersion="16.4",
            DBInstanceClass="db.t3.micro",
            MasterUsername="master",
            ManageMasterUserPassword=True,
            AllocatedStorage=20,
        )["DBInstance"]
        rds.add_tags_to_resource(ResourceName=db["DBInstanceArn"], Tags=[{"Key": TAG["key"], "Value": TAG["value"]}])
    return names


def test_resolve_fleet_lists_the_tagged_dbs(samlocal: SamLocal, fleet_dbs: list[str]) -> None:
    request = event("resolve_fleet")
    request["request"] = request["request"] | {"tag": TAG}
    plan = samlocal.invoke("ResolveFleetFunction", request).ok()
    assert sorted(item["db_identifier"] for item in plan["items"]) == fleet_dbs
    assert all(item["execution_name"].startswith(item["db_identifier"] + "--") for item in plan["items"])
    assert plan["max_concurrency"] == 10  # env.json: the stack's FleetMaxConcurrency default


def test_resolve_fleet_refuses_a_bad_selector_by_name(samlocal: SamLocal) -> None:
    request = event("resolve_fleet")
    request["request"] = request["request"] | {"db_identifiers": ["no-such-db"], "tag": None}
    assert samlocal.invoke("ResolveFleetFunction", request).error_type == "DbNotFoundError"


def test_summarize_fleet_summarizes_the_map_output(samlocal: SamLocal) -> None:
    output = samlocal.invoke("SummarizeFleetFunction", event("summarize_fleet")).ok()
    assert (output["total"], output["succeeded"], output["failed"]) == (1, 1, 0)
    assert output["databases"][0]["role_arn"].endswith("clickpipes-orders-pg-1a2b3c4d")
