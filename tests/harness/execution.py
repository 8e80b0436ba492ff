"""Views over a Step Functions execution history: the steps it went through and the final result.

Pure data, no moto: built from ``GetExecutionHistory`` events (boto3 shape), so it works the same
for moto and for a real account. ``Step`` pairing assumes a sequential flow: inside Map/Parallel
states, iterations of the same state name may be paired out of order.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

__all__ = ["ExecutionResult", "Step", "StepError", "steps_from_history"]

StepOutcome = Literal["running", "succeeded", "caught", "failed"]

_ATTEMPT_EVENTS = frozenset({"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"})
_SUCCESS_EVENTS = frozenset({"TaskSucceeded", "LambdaFunctionSucceeded", "ActivitySucceeded"})
_FAILURE_EVENTS = frozenset(
    {
        "TaskFailed",
        "TaskTimedOut",
        "TaskSubmitFailed",
        "TaskStartFailed",
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "LambdaFunctionStartFailed",
        "LambdaFunctionScheduleFailed",
        "ActivityFailed",
        "ActivityTimedOut",
        "EvaluationFailed",
    }
)


@dataclass(frozen=True)
class StepError:
    error: str | None
    cause: str | None
    event_type: str

    def cause_json(self) -> Any:
        """The cause parsed as JSON (Lambda error payloads are JSON), or the raw text."""
        try:
            return json.loads(self.cause or "")
        except json.JSONDecodeError:
            return self.cause


@dataclass(frozen=True)
class Step:
    """One entry into a state: what the demo's step-by-step progress view shows."""

    name: str
    type: str  # "Task", "Wait", "Choice", "Pass", "Fail", "Succeed", "Map", "Parallel"
    entered_at: datetime
    exited_at: datetime | None
    outcome: StepOutcome
    attempts: int  # task schedules: 1 + retries (0 for non-Task states)
    errors: tuple[StepError, ...]
    input: Any
    output: Any = None
    wait_seconds: float | None = None  # requested Wait (the local world may not really wait)

    @property
    def duration(self) -> timedelta | None:
        return None if self.exited_at is None else self.exited_at - self.entered_at

    @property
    def duration_ms(self) -> float | None:
        duration = self.duration
        return None if duration is None else duration.total_seconds() * 1000

    @property
    def retries(self) -> int:
        return max(self.attempts - 1, 0)


def _details(event: Mapping[str, Any]) -> Mapping[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, Mapping):
            return value
    return {}


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def steps_from_history(
    events: Sequence[Mapping[str, Any]],
    execution_status: str = "RUNNING",
    wait_seconds: Mapping[str, Sequence[float]] | None = None,
) -> list[Step]:
    """Turn history events into entered-state steps, in order of entry.

    ``wait_seconds`` (state name -> requested seconds per entry, in order) fills ``Step.wait_seconds``.
    """
    drafts: list[dict[str, Any]] = []
    open_by_name: dict[str, list[dict[str, Any]]] = {}
    current: dict[str, Any] | None = None
    waits = {name: list(values) for name, values in (wait_seconds or {}).items()}

    for event in events:
        etype = str(event["type"])
        details = _details(event)
        if etype.endswith("StateEntered"):
            name = str(details.get("name"))
            draft = {
                "name": name,
                "type": etype[: -len("StateEntered")],
                "entered_at": event["timestamp"],
                "exited_at": None,
                "attempts": 0,
                "errors": [],
                "last_task_failed": False,
                "input": _json(details.get("input")),
                "output": None,
                "wait_seconds": waits[name].pop(0) if waits.get(name) else None,
            }
            drafts.append(draft)
            open_by_name.setdefault(name, []).append(draft)
            current = draft
        elif etype.endswith("StateExited"):
            name = str(details.get("name"))
            pending = open_by_name.get(name)
            if pending:
                draft = pending.pop(0)
                draft["exited_at"] = event["timestamp"]
                draft["output"] = _json(details.get("output"))
        elif current is not None and etype in _ATTEMPT_EVENTS:
            current["attempts"] += 1
        elif current is not None and etype in _SUCCESS_EVENTS:
            current["last_task_failed"] = False
        elif current is not None and etype in _FAILURE_EVENTS:
            current["errors"].append(StepError(details.get("error"), details.get("cause"), etype))
            current["last_task_failed"] = True

    steps = []
    for d in drafts:
        outcome: StepOutcome
        if d["exited_at"] is None:
            outcome = "running" if execution_status == "RUNNING" else "failed"
        elif d["last_task_failed"]:
            outcome = "caught"
        else:
            outcome = "succeeded"
        steps.append(
            Step(
                name=d["name"],
                type=d["type"],
                entered_at=d["entered_at"],
                exited_at=d["exited_at"],
                outcome=outcome,
                attempts=d["attempts"],
                errors=tuple(d["errors"]),
                input=d["input"],
                output=d["output"],
                wait_seconds=d["wait_seconds"],
            )
        )
    return steps


@dataclass(frozen=True)
class ExecutionResult:
    """A finished (or timed-out) execution, as seen through the Step Functions API."""

    arn: str
    name: str
    status: str  # SUCCEEDED | FAILED | TIMED_OUT | ABORTED | RUNNING (only if we gave up waiting)
    input: Any
    output: Any  # parsed JSON output, None unless SUCCEEDED
    error: str | None
    cause: str | None
    started_at: datetime
    stopped_at: datetime | None
    events: list[dict[str, Any]] = field(repr=False)
    steps: list[Step] = field(repr=False)
    api_calls: Counter[str] = field(default_factory=Counter, repr=False)  # world's calls while it ran
    wall_time_s: float = 0.0  # harness-measured: start_execution .. status seen final

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    @property
    def entered(self) -> list[str]:
        """Names of the entered states, in order (a state entered N times appears N times)."""
        return [step.name for step in self.steps]

    def count(self, state_name: str) -> int:
        return sum(1 for step in self.steps if step.name == state_name)

    def steps_named(self, state_name: str) -> list[Step]:
        return [step for step in self.steps if step.name == state_name]

    def events_of_type(self, *event_types: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["type"] in event_types]

    def cause_json(self) -> Any:
        try:
            return json.loads(self.cause or "")
        except json.JSONDecodeError:
            return self.cause

    def describe(self) -> str:
        """Human-readable step list (for assertion messages and the demo)."""
        lines = [f"{self.name}: {self.status}" + (f" {self.error}: {self.cause}" if self.error else "")]
        for step in self.steps:
            extra = []
            if step.retries:
                extra.append(f"{step.retries} retr{'y' if step.retries == 1 else 'ies'}")
            if step.wait_seconds is not None:
                extra.append(f"wait {step.wait_seconds:g}s requested")
            if step.errors:
                extra.append("errors: " + ", ".join(str(e.error) for e in step.errors))
            ms = step.duration_ms
            timing = f"{ms:7.1f} ms" if ms is not None else "    ... "
            lines.append(f"  {timing}  {step.type:<8} {step.name:<28} {step.outcome:<9} {'; '.join(extra)}")
        return "\n".join(lines)
