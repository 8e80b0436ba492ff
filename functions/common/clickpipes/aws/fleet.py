"""RDS for the fleet: every DB of this account and region, with its engine, ARN and tags (DescribeDB* carry them)."""

from __future__ import annotations

from typing import Any

from clickpipes.aws.clients import client, transient_faults
from clickpipes.aws.sfn import SfnGateway
from clickpipes.fleet_models import DbListing


class FleetRdsGateway:
    def __init__(self, rds: Any | None = None) -> None:
        self._rds = rds or client("rds")

    def list_dbs(self) -> list[DbListing]:
        """Every DB instance that is no cluster member (its cluster is onboarded), and every cluster."""
        found: list[DbListing] = []
        with transient_faults("list DB instances"):
            for page in self._rds.get_paginator("describe_db_instances").paginate():
                found += [
                    _listing("instance", d["DBInstanceIdentifier"], d["DBInstanceArn"], d)
                    for d in page["DBInstances"]
                    if not d.get("DBClusterIdentifier")
                ]
        with transient_faults("list DB clusters"):
            for page in self._rds.get_paginator("describe_db_clusters").paginate():
                found += [
                    _listing("cluster", d["DBClusterIdentifier"], d["DBClusterArn"], d) for d in page["DBClusters"]
                ]
        return found


def _listing(kind: Any, identifier: str, arn: str, d: dict[str, Any]) -> DbListing:
    tags = {t["Key"]: t["Value"] for t in d.get("TagList") or []}
    return DbListing(kind=kind, identifier=identifier, engine=d.get("Engine", ""), arn=arn, tags=tags)


class FleetSfnGateway(SfnGateway):
    """The fleet machine: start and read its executions, and their Distributed Map's progress (DescribeMapRun)."""

    def progress(self, name: str) -> dict[str, int] | None:
        """The item counts of the execution's map run (pending, running, succeeded, failed, …), or None before
        the Map started. Two calls whatever the fleet's size."""
        arn = self.execution_arn(name)
        with transient_faults(f"read the progress of fleet {name}"):
            runs = self._sfn.list_map_runs(executionArn=arn).get("mapRuns") or []
            if not runs:
                return None
            counts = self._sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"])["itemCounts"]
        return {key: int(value) for key, value in counts.items()}
