"""What the fleet steps need: the DBs of this account and region with their tags, and the child onboardings."""

from __future__ import annotations

from typing import Protocol

from clickpipes.fleet_models import DbListing


class FleetRds(Protocol):
    def list_dbs(self) -> list[DbListing]: ...
