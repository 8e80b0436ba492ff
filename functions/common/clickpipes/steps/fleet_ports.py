"""What the fleet steps need: the DBs of this account and region with their tags, and the child onboardings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from clickpipes.steps.ports import StateMachine

if TYPE_CHECKING:  # annotations only: a port loads no model (cold starts)
    from clickpipes.fleet_models import DbListing


class FleetRds(Protocol):
    def list_dbs(self) -> list[DbListing]: ...


class FleetMachine(StateMachine, Protocol):
    def progress(self, name: str) -> dict[str, int] | None: ...
