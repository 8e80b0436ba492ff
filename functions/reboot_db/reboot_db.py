"""RebootDbFunction ↔ state RebootDb: reboot (only with allow_reboot) so static CDC parameters apply."""

from typing import Any

from clickpipes.aws.rds import RdsGateway
from clickpipes.models import TargetRequest, parse
from clickpipes.observability import lambda_step
from clickpipes.steps.reboot_db import reboot_db


@lambda_step("RebootDb")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(TargetRequest, event)
    return reboot_db(request.target, rds=RdsGateway()).model_dump(mode="json")
