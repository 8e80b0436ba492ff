"""Tag trigger, offboarding side: `clickpipes:onboard=false` on an onboarded DB starts its offboarding, once.

"Onboarded": the DB carries what an onboarding records (``clickpipes:status=ready``, the role ARN, the user).
Setting the tag to false on a DB never onboarded, or already offboarded, starts nothing; removing the tag starts
nothing either (``tag_trigger`` says so in the log). The offboarding takes the onboarding's defaults (no
revert_settings, no slot dropped): the tag cannot ask for more."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.errors import OnboardingError, OnboardingInProgressError
from clickpipes.models import TagEvent, TagTriggerResult
from clickpipes.offboarding_models import OffboardingInput
from clickpipes.record_tags import DB_USER_TAG, OFFBOARDED
from clickpipes.settings import ResolveSettings
from clickpipes.steps.ports import Guard, StateMachine
from clickpipes.steps.start_offboarding import start_offboarding


def onboarded(tags: dict[str, str]) -> bool:
    if tags.get(rules.STATUS_TAG) == OFFBOARDED:
        return False
    return tags.get(rules.STATUS_TAG) == "ready" or rules.ROLE_ARN_TAG in tags or DB_USER_TAG in tags


def on_offboard_tag(
    event: TagEvent,
    arn: str,
    tags: dict[str, str],
    *,
    requested_by: str,
    sfn: StateMachine,
    guard: Guard,
    settings: ResolveSettings,
) -> TagTriggerResult:
    if not onboarded(tags):
        return TagTriggerResult(
            db_arn=arn,
            started=None,
            reason="clickpipes:onboard is 'false' on a DB that is not onboarded: nothing to do",
        )
    try:
        request = OffboardingInput(db_identifier=arn, requested_by=requested_by)
        name = start_offboarding(
            request, sfn=sfn, guard=guard, settings=settings, dedupe_key=f"{arn}@{event.time[:16]}:offboard"
        )
    except OnboardingInProgressError as exc:
        return TagTriggerResult(db_arn=arn, started=None, reason=str(exc))
    except OnboardingError as exc:  # refused before starting: nothing changed, the DB's tags stay as they are
        return TagTriggerResult(db_arn=arn, started=None, reason=str(exc))
    return TagTriggerResult(db_arn=arn, started=name, reason="offboarding started")
