"""The registry of moto adaptations: every ``MotoPatch`` is registered in ``PATCHES`` (``@_moto_patch``),
in import order, which is the order a ``LocalWorld`` applies them. moto is pinned exactly because of them."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from unittest import mock

import moto

if TYPE_CHECKING:
    from tests.harness.local_aws import LocalWorld


MOTO_VERSION: Final = "5.2.5"
if moto.__version__ != MOTO_VERSION:  # pragma: no cover - guard for dependency bumps
    warnings.warn(
        f"tests/harness/local_aws.py patches moto {MOTO_VERSION} internals, found moto {moto.__version__}: "
        f"run tests/harness/test_moto_gaps.py and update the patches",
        RuntimeWarning,
        stacklevel=1,
    )


@dataclass(frozen=True)
class MotoPatch:
    name: str
    gap: str  # what moto 5.2.5 lacks or gets wrong
    touches: str  # the moto internal that is replaced
    apply: Callable[[ExitStack, LocalWorld], None] = field(repr=False)


PATCHES: dict[str, MotoPatch] = {}


def _moto_patch(
    name: str, *, gap: str, touches: str
) -> Callable[[Callable[[ExitStack, LocalWorld], None]], Callable[[ExitStack, LocalWorld], None]]:
    def register(apply: Callable[[ExitStack, LocalWorld], None]) -> Callable[[ExitStack, LocalWorld], None]:
        PATCHES[name] = MotoPatch(name=name, gap=gap, touches=touches, apply=apply)
        return apply

    return register


def _replace_module_attribute(
    stack: ExitStack, package: str, attribute: str, original: object, replacement: object
) -> None:
    """Patch a function everywhere it was imported by name (``from x import f``) under ``package``."""
    for name, module in list(sys.modules.items()):
        if name.startswith(package) and getattr(module, attribute, None) is original:
            stack.enter_context(mock.patch.object(module, attribute, replacement))
