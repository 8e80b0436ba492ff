"""The layers' requirements.txt pin every package they ship, at the versions the tests run with.

`sam build` installs functions/<layer>/requirements.txt with pip: an unpinned dependency there would ship
whatever PyPI has that day (botocore, under Powertools' tracer, did until these pins), untested.
"""

from __future__ import annotations

from importlib import metadata

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.layer_pins import LAYERS, pins

LAMBDA = {"python_version": "3.13", "python_full_version": "3.13.0", "sys_platform": "linux"}
LAMBDA |= {"platform_system": "Linux", "implementation_name": "cpython", "platform_machine": "x86_64"}


def applies(marker: Marker | None, extras: set[str]) -> bool:
    if marker is None:
        return True
    return any(marker.evaluate(LAMBDA | {"extra": extra}) for extra in extras | {""})


@pytest.mark.parametrize("layer", LAYERS)
def test_every_requirement_is_pinned_to_the_tested_version(layer: str) -> None:
    for name, requirement in pins(LAYERS[layer]).items():
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{layer}: {requirement} is not pinned"
        assert spec.version == metadata.version(name), f"{layer}: {requirement}, the tests run {metadata.version(name)}"


def unpinned(pinned: dict[str, Requirement]) -> set[str]:
    """What pip would install for these pins on Lambda that is not pinned itself."""
    missing = set()
    for requirement in pinned.values():
        for dependency in map(Requirement, metadata.requires(requirement.name) or []):
            if applies(dependency.marker, set(requirement.extras)) and canonicalize_name(dependency.name) not in pinned:
                missing.add(f"{canonicalize_name(dependency.name)} (for {requirement.name})")
    return missing


@pytest.mark.parametrize("layer", LAYERS)
def test_the_pins_cover_every_dependency_on_lambda(layer: str) -> None:
    assert unpinned(pins(LAYERS[layer])) == set()


def test_an_unpinned_dependency_is_named() -> None:
    """botocore comes in through aws-xray-sdk (Powertools' tracer extra): without its pin it is named."""
    pinned = pins(LAYERS["CommonLayer"])
    del pinned["botocore"]
    assert unpinned(pinned) == {"botocore (for aws-xray-sdk)", "botocore (for boto3)", "botocore (for s3transfer)"}
