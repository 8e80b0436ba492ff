"""Calls Step Functions makes for itself: a .sync integration learns that its child execution finished from an
EventBridge event (AWS), not by calling DescribeExecution on the account's quota; moto polls through the API.
Those polls run inside ``step_functions_internal()``: the rate limits and the API-call counter skip them. So does
the harness watching an execution (``RunningExecution.describe``, which ``wait()`` polls every 5 ms)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_STATE = threading.local()


def is_internal() -> bool:
    return bool(getattr(_STATE, "internal", False))


@contextmanager
def step_functions_internal() -> Iterator[None]:
    before = is_internal()
    _STATE.internal = True
    try:
        yield
    finally:
        _STATE.internal = before
