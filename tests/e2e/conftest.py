"""e2e: the real template and state machine on the local world (moto for AWS, real DB servers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dbs.servers import LocalDbsEnv
from tests.e2e.scenario import deploy
from tests.harness.conftest import _freeze_import_time_objects  # noqa: F401  (session autouse fixture)
from tests.harness.iam_authority import IamAuthority
from tests.harness.local_aws import LocalWorld


@pytest.fixture(scope="module")
def world(local_dbs: LocalDbsEnv) -> Iterator[LocalWorld]:
    """One local world per test module, with the product deployed; tests use distinct DB identifiers. Its IAM
    answers the local servers' verifier (STS-signed tokens: tests/harness/clickpipes_client.py)."""
    authorities = Path(local_dbs.verifier_config).parent / "authorities"
    with LocalWorld() as local_world, IamAuthority(authorities):
        deploy(local_world, local_dbs)
        yield local_world
