"""ResolveTargetFunction ↔ state ResolveTarget: execution input → validated Target, and its describe sealed
(``{"target", "seal"}``). Changes nothing but the guard item that holds the DB for this execution."""

from typing import Any

from clickpipes import clickhouse_api
from clickpipes.aws.clients import client_for_reference
from clickpipes.aws.guard import DbGuard
from clickpipes.aws.rds import RdsGateway
from clickpipes.aws.seal_key import seals
from clickpipes.aws.secrets import SecretsGateway
from clickpipes.models import OnboardingInput, ResolveTargetRequest, parse
from clickpipes.observability import lambda_step
from clickpipes.settings import ClickHouseApiSettings, GuardSettings, ResolveSettings
from clickpipes.steps.resolve_target import resolve_sealed


@lambda_step("ResolveTarget")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    envelope = parse(ResolveTargetRequest, event)
    resolved = resolve_sealed(
        parse(OnboardingInput, envelope.request),
        rds=RdsGateway(client_for_reference("rds", envelope.request.get("db_identifier"))),
        settings=ResolveSettings.from_env(),
        guard=DbGuard(GuardSettings.from_env().guard_table),
        execution_arn=envelope.execution_arn,
        clickhouse=lambda: clickhouse_api.gateway(ClickHouseApiSettings.from_env(), SecretsGateway()),
        seals=seals(),
    )
    return resolved.model_dump(mode="json")
