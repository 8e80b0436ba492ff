"""RebootDbFunction ↔ state RebootDb: reboot one instance (only with allow_reboot) so static CDC parameters
apply; returns what remains, the state machine waits for this one to be available before the next."""

from typing import Any

from clickpipes.aws.clients import client_for
from clickpipes.aws.rds import RdsGateway
from clickpipes.models import RebootRequest, parse
from clickpipes.observability import lambda_step
from clickpipes.steps.reboot_db import reboot_db


@lambda_step("RebootDb")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    request = parse(RebootRequest, event)
    return reboot_db(request, rds=RdsGateway(client_for("rds", request.target))).model_dump(mode="json")
