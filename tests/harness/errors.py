"""The harness's own errors: the local world was used wrongly, or an execution did not finish."""

from __future__ import annotations


class HarnessError(Exception):
    """The local world was used wrongly (not a failure of the code under test)."""


class ExecutionTimeoutError(HarnessError):
    """An execution did not finish in time; the message shows how far it got."""
