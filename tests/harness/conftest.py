"""Fixtures for the harness's own tests (tests of other suites build theirs from LocalWorld)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from .helpers import SAMPLE_TEMPLATE
from .local_aws import Deployed, LocalWorld


@pytest.fixture(scope="session", autouse=True)
def _freeze_import_time_objects() -> None:
    """moto + botocore + ANTLR leave ~1M long-lived objects: without this, every full GC pass
    (every few worlds) costs 0.7-1.5 s. Frozen objects are simply never scanned again."""
    import moto.stepfunctions.parser.models  # noqa: F401 - the big one

    gc.collect()
    gc.freeze()


@pytest.fixture
def world() -> Iterator[LocalWorld]:
    with LocalWorld() as local_world:
        yield local_world


@pytest.fixture
def sample(world: LocalWorld) -> Deployed:
    return world.deploy(SAMPLE_TEMPLATE)
