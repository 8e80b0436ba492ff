"""RDS status feeder: the statuses a test feeds (``LocalWorld.feed_statuses``) before moto's own."""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Iterable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, Literal
from unittest import mock

from tests.harness.patches.registry import _moto_patch

if TYPE_CHECKING:
    from tests.harness.local_aws import LocalWorld


@_moto_patch(
    "rds_status_feeder",
    gap="moto reports every instance and cluster as 'available' at all times (no 'modifying', "
    "'configuring-iam-database-auth', ...), so a polling loop is never exercised",
    touches="moto.rds.responses.RDSResponse.describe_db_instances / describe_db_clusters (the response "
    "shows a copy of the model with the fed status; moto's own state is untouched)",
)
def _patch_rds_status_feeder(stack: ExitStack, world: LocalWorld) -> None:
    from moto.rds.responses import RDSResponse

    def wrap(operation: str, key: str, kind: DbKind, id_attribute: str) -> None:
        original = getattr(RDSResponse, operation)

        def describe(self: RDSResponse) -> Any:
            result = original(self)
            items = result.result[key]
            result.result[key] = [world._status_feeder.apply(kind, getattr(item, id_attribute), item) for item in items]
            return result

        stack.enter_context(mock.patch.object(RDSResponse, operation, describe))

    wrap("describe_db_instances", "DBInstances", "instance", "db_instance_identifier")
    wrap("describe_db_clusters", "DBClusters", "cluster", "db_cluster_identifier")


DbKind = Literal["instance", "cluster"]


class _StatusFeeder:
    """Queues of statuses to report on the next Describe calls, per instance/cluster."""

    def __init__(self) -> None:
        self._queues: dict[tuple[DbKind, str], deque[str]] = {}
        self._lock = threading.Lock()

    def feed(self, kind: DbKind, identifier: str, statuses: Iterable[str]) -> None:
        with self._lock:
            self._queues.setdefault((kind, identifier.lower()), deque()).extend(statuses)

    def pending(self, kind: DbKind, identifier: str) -> list[str]:
        with self._lock:
            return list(self._queues.get((kind, identifier.lower()), ()))

    def apply(self, kind: DbKind, identifier: str, model: Any) -> Any:
        with self._lock:
            queue = self._queues.get((kind, identifier.lower()))
            if not queue:
                return model
            status = queue.popleft()
        shown = copy.copy(model)
        shown.status = status
        return shown
