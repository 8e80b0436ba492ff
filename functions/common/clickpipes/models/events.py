"""The EventBridge event of the tag trigger (CloudTrail AddTagsToResource or aws.tag Tag Change), and
what the trigger answers."""

from __future__ import annotations

from typing import Any, Literal

from clickpipes.models.base import Lenient, Model


class TagEvent(Lenient, frozen=True, kw_only=True):
    """An EventBridge event from either tag rule: CloudTrail AddTagsToResource, or aws.tag Tag Change."""

    id: str
    account: str = ""  # the account the event comes from (a member account's forwarded event: that one)
    source: Literal["aws.rds", "aws.tag"]
    time: str
    resources: list[str] = []
    detail: dict[str, Any]

    @property
    def db_arn(self) -> str | None:
        if self.source == "aws.tag":
            return self.resources[0] if self.resources else None
        name = (self.detail.get("requestParameters") or {}).get("resourceName")
        return name if isinstance(name, str) else None


class TagTriggerResult(Model, frozen=True, kw_only=True):
    db_arn: str | None
    started: str | None
    reason: str
