"""EventBridge: the audit's drift events on the account's default bus."""

from __future__ import annotations

from typing import Any, Final

from clickpipes.aws.clients import client, transient_faults

BATCH: Final = 10  # PutEvents takes at most 10 entries


class EventsGateway:
    def __init__(self, events: Any | None = None) -> None:
        self._events = events or client("events")

    def put(self, entries: list[dict[str, str]]) -> int:
        """PutEvents in batches; returns how many entries EventBridge refused (FailedEntryCount)."""
        failed = 0
        for start in range(0, len(entries), BATCH):
            with transient_faults("put drift events"):
                answer = self._events.put_events(Entries=entries[start : start + BATCH])
            failed += int(answer.get("FailedEntryCount", 0))
        return failed
