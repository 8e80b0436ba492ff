"""What every workflow's routes answer: 202 Accepted with a Location, an execution's view, a Problem.

One home for the shapes ``api`` (onboardings) and ``offboardings`` share; a new workflow's routes subclass
``Accepted`` and ``ExecutionStatus`` so its OpenAPI schemas keep their own names. msgspec Structs on the models'
``Model`` (unknown fields refused, checked when made): no pydantic in the API's cold start.
"""

from __future__ import annotations

from typing import Any, Self

from clickpipes.models import ExecutionView
from clickpipes.models.base import Model
from routing import Answer, Problem, Reply

__all__ = ["Accepted", "ExecutionStatus", "Problem", "accepted", "problem"]


class Accepted(Model, frozen=True, kw_only=True):
    id: str
    status: str
    location: str


class ExecutionStatus(Model, frozen=True, kw_only=True):
    id: str
    status: str
    db_identifier: str | None
    current_step: str | None
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    started_at: str
    stopped_at: str | None

    @classmethod
    def of(cls, view: ExecutionView) -> Self:
        return cls(
            id=view.name,
            status=view.status,
            db_identifier=view.input.get("db_identifier"),
            current_step=view.current_step,
            output=view.output,
            error=view.error,
            cause=view.cause,
            started_at=view.started_at,
            stopped_at=view.stopped_at,
        )


def problem(description: str) -> Answer:
    return Answer(description, Problem)


def accepted[A: Accepted](model: type[A], name: str, collection: str) -> Reply:
    """202 with the execution's id; Location is relative, so it keeps the stage (…/v1/<collection>/<id>)."""
    body = model(id=name, status="RUNNING", location=f"{collection}/{name}")
    return Reply(202, body, {"Location": body.location})
