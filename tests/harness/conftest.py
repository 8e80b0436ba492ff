"""Fixtures for the harness's own tests (tests of other suites build theirs from LocalWorld)."""

from __future__ import annotations

from collections.abc import Iterator
import pytest

from .helpers import SAMPLE_TEMPLATE
from .local_aws import Deployed, LocalWorld


@pytest.fixture
def world() -> Iterator[LocalWorld]:
    with LocalWorld() as local_world:
        yield local_world


@pytest.fixture
def sample(world: LocalWorld) -> Deployed:
    return world.deploy(SAMPLE_TEMPLATE)

