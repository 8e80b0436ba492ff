"""TagTriggerFunction: tagging a DB instance or cluster `clickpipes:onboard=true` starts its onboarding.

Two EventBridge rules feed it (template.yaml): CloudTrail's AddTagsToResource ("AWS API Call via CloudTrail",
needs a trail) and the best-effort "Tag Change on Resource" (aws.tag). Their patterns drop every other event.
"""

from typing import Any

from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.sfn import SfnGateway
from clickpipes.models import TagEvent, parse
from clickpipes.observability import lambda_step
from clickpipes.settings import TriggerSettings
from clickpipes.steps.tag_trigger import on_tag_event


@lambda_step("TagTrigger")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    settings = TriggerSettings.from_env()
    result = on_tag_event(
        parse(TagEvent, event), rds=RdsGateway(), sfn=SfnGateway(settings.state_machine_arn), settings=settings
    )
    return result.model_dump(mode="json")
