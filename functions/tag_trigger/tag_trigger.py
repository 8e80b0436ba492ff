"""TagTriggerFunction: tagging a DB instance or cluster `clickpipes:onboard=true` starts its onboarding;
`clickpipes:onboard=false` on an onboarded one starts its offboarding.

Two EventBridge rules feed it (template.yaml): CloudTrail's AddTagsToResource ("AWS API Call via CloudTrail",
needs a trail) and the best-effort "Tag Change on Resource" (aws.tag). Their patterns drop every other event.
"""

from typing import Any

from clickpipes.aws.clients import client_for_reference
from clickpipes.aws.guard import DbGuard
from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.sfn import SfnGateway
from clickpipes.models import TagEvent, parse
from clickpipes.observability import lambda_step
from clickpipes.offboarding_settings import MachineSettings
from clickpipes.settings import GuardSettings, TriggerSettings
from clickpipes.steps.tag_trigger import on_tag_event


@lambda_step("TagTrigger")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    settings = TriggerSettings.from_env()
    onboarding = settings.state_machine_arn
    offboarding = MachineSettings.from_env().offboarding_state_machine_arn
    # either start is refused while an onboarding or an offboarding of the DB runs (one guard item per DB)
    guard = DbGuard(GuardSettings.from_env().guard_table)
    off = SfnGateway(offboarding) if offboarding else None
    tag_event = parse(TagEvent, event)
    result = on_tag_event(
        tag_event,
        rds=RdsGateway(client_for_reference("rds", tag_event.db_arn)),
        sfn=SfnGateway(onboarding),
        guard=guard,
        settings=settings,
        offboarding=off,
    )
    return result.model_dump(mode="json")
