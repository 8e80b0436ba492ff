"""What the fleet steps need: the DBs of this account and region with their tags, and the child onboardings."""

from __future__ import annotations

from typing import Protocol

from clickpipes.fleet_models import DbListing
from clickpipes.steps.ports import StateMachine


class FleetRds(Protocol):
    def list_dbs(self) -> list[DbListing]: ...


class FleetMachine(StateMachine, Protocol):
    def progress(self, name: str) -> dict[str, int] | None: ...
