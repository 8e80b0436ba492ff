"""What every workflow's routes answer: 202 Accepted with a Location, an execution's view, a Problem.

One home for the shapes ``api`` (onboardings) and ``offboardings`` share; a new workflow's routes subclass
``Accepted`` and ``ExecutionStatus`` so its OpenAPI schemas keep their own names.
"""

from __future__ import annotations

from typing import Any, Self

from aws_lambda_powertools.event_handler import Response
from clickpipes.models import ExecutionView
from pydantic import BaseModel, ConfigDict


class Accepted(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    status: str
    location: str


class ExecutionStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")
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


class Problem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    error: str
    message: str


def problem(description: str) -> Any:  # an OpenAPIResponse
    return {"description": description, "content": {"application/json": {"model": Problem}}}


def accepted[A: Accepted](model: type[A], name: str, collection: str) -> Response[A]:
    """202 with the execution's id; Location is relative, so it keeps the stage (…/v1/<collection>/<id>)."""
    body = model(id=name, status="RUNNING", location=f"{collection}/{name}")
    return Response(status_code=202, content_type="application/json", body=body, headers={"Location": body.location})
