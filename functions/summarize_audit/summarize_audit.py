"""SummarizeAuditFunction ↔ state SummarizeAudit: every DB's audit → the output, the drift tags (in each DB's
account and region) and events (on this stack's bus), and the DriftedDatabases metric."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from clickpipes.audit_models import SummarizeAuditRequest
from clickpipes.aws.clients import client_in
from clickpipes.aws.events import EventsGateway
from clickpipes.aws.rds_offboard import RdsOffboardGateway
from clickpipes.models import parse
from clickpipes.observability import lambda_step, metrics
from clickpipes.steps.audit_summary import summarize_audit


@lambda_step("SummarizeAudit")
def handler(event: dict[str, Any]) -> dict[str, Any]:
    output = summarize_audit(
        parse(SummarizeAuditRequest, event),
        rds=lambda account, region: RdsOffboardGateway(client_in("rds", account, region)),
        events=EventsGateway(),
    )
    metrics.add_metric(name="DriftedDatabases", unit=MetricUnit.Count, value=output.drifted + output.gone)
    return output.model_dump(mode="json")
