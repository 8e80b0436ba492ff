"""Tag trigger: `clickpipes:onboard=true` on a DB starts its onboarding, once.

The tags are the request of whoever may tag the DB, which is a wider circle than who may create IAM roles: the
principal they name must pass the stack's allowlist like any other (a refusal starts nothing and tags the DB
failed). Removing the tag, or setting it to anything but 'true', starts nothing (and says so in the log)."""

from __future__ import annotations

from typing import Final

from clickpipes import rules, trust
from clickpipes.errors import AccountNotAllowedError, OnboardingError, OnboardingInProgressError
from clickpipes.models import OnboardingInput, TagEvent, TagTriggerResult
from clickpipes.observability import logger
from clickpipes.settings import ResolveSettings
from clickpipes.steps.ports import Guard, Rds, StateMachine
from clickpipes.steps.start_onboarding import start_onboarding

ONBOARD_TAG: Final = "clickpipes:onboard"
PRINCIPAL_TAG: Final = "clickpipes:clickhouse-role-arn"
USER_TAG: Final = rules.USER_TAG


def requester(event: TagEvent) -> str:
    """Who tagged: CloudTrail's userIdentity.arn; the aws.tag event does not say."""
    if event.source == "aws.tag":
        return trust.UNKNOWN_TAG_REQUESTER
    arn = (event.detail.get("userIdentity") or {}).get("arn")
    return arn if isinstance(arn, str) and arn else trust.UNKNOWN_TAG_REQUESTER


def on_tag_event(
    event: TagEvent,
    *,
    rds: Rds,
    sfn: StateMachine,
    guard: Guard,
    settings: ResolveSettings,
    offboarding: StateMachine | None = None,
) -> TagTriggerResult:
    """``offboarding``: the offboarding state machine; given,
    ``clickpipes:onboard=false`` on an onboarded DB starts its offboarding."""
    arn = event.db_arn
    match = rules.DB_ARN_PATTERN.fullmatch(arn) if arn else None
    if arn is None or match is None:
        return TagTriggerResult(db_arn=arn, started=None, reason="not an RDS DB instance or cluster")
    try:  # a member account forwards its DBs' tag events to this bus: only MemberAccounts' are acted on
        for account in dict.fromkeys(a for a in (event.account, match["account"]) if a):
            settings.check_account(account)
    except AccountNotAllowedError as exc:
        logger.warning("tag event refused", extra={"db_arn": arn, "error": type(exc).__name__, "reason": str(exc)})
        return TagTriggerResult(db_arn=arn, started=None, reason=str(exc))
    tags = rds.tags(arn)  # the truth now: the event may be late, or only carry the tags of one call
    if ONBOARD_TAG not in tags:
        return TagTriggerResult(db_arn=arn, started=None, reason=f"{ONBOARD_TAG} was removed: nothing to do")
    if offboarding is not None and tags[ONBOARD_TAG].lower() == "false":
        from clickpipes.steps.offboard_tag_trigger import on_offboard_tag  # noqa: PLC0415 (offboarding's module)

        return on_offboard_tag(
            event, arn, tags, requested_by=requester(event), sfn=offboarding, guard=guard, settings=settings
        )
    if tags.get(ONBOARD_TAG, "").lower() != "true":
        return TagTriggerResult(db_arn=arn, started=None, reason=f"{ONBOARD_TAG} is not 'true' (any more)")
    try:
        from_tags = {"clickhouse_role_arn": tags.get(PRINCIPAL_TAG), "db_user": tags.get(USER_TAG)}
        request = OnboardingInput.model_validate(
            {"db_identifier": arn, "requested_by": requester(event)} | {k: v for k, v in from_tags.items() if v}
        )
        # One tagging can arrive as a CloudTrail event and an aws.tag event, each possibly twice: the key is
        # the DB and the minute of the change, so all of them start one execution.
        name = start_onboarding(request, sfn=sfn, guard=guard, settings=settings, dedupe_key=f"{arn}@{event.time[:16]}")
    except OnboardingInProgressError as exc:
        return TagTriggerResult(db_arn=arn, started=None, reason=str(exc))
    except OnboardingError as exc:  # refused before starting: tell the user where they look, on the DB's tags
        rds.tag(arn, {rules.STATUS_TAG: "failed", rules.ERROR_TAG: type(exc).__name__})
        return TagTriggerResult(db_arn=arn, started=None, reason=str(exc))
    return TagTriggerResult(db_arn=arn, started=name, reason="started")
