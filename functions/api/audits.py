"""The API's audit routes (included by ``api``; its error handlers apply: 400, 403, 404, 415).

POST /audits             start one (202): which DBs (default every onboarded one), accounts, regions, repair,
                         delete_orphans; 400 invalid input, 403 an account outside MemberAccounts
                         (AccountNotAllowedError). An audit holds no DB and trusts no principal: no 409
GET  /audits/{id}        status, current step, the audit's output (databases, drifted, gone, repaired) or error
                         (200), 404 unknown id
"""

from __future__ import annotations

from typing import Self

from clickpipes.audit_models import AuditInput
from clickpipes.aws.sfn import SfnGateway
from clickpipes.errors import ConfigurationError
from clickpipes.models import ExecutionView
from clickpipes.offboarding_settings import MachineSettings
from clickpipes.settings import AuditResolveSettings
from clickpipes.steps.start_audit import get_audit, start_audit
from routing import Answer, Call, Reply, Router
from views import Accepted, ExecutionStatus, accepted, problem

router = Router()


class AuditAccepted(Accepted, frozen=True, kw_only=True):
    """202: the audit started."""


class Audit(ExecutionStatus, frozen=True, kw_only=True):
    """An audit's status, current step, output (``databases``, ``drifted``, ``gone``, ``repaired``) or error;
    ``db_identifiers`` as requested (null: every onboarded DB)."""

    db_identifiers: list[str] | None = None

    @classmethod
    def of(cls, view: ExecutionView) -> Self:
        return super().of(view).model_copy(update={"db_identifiers": view.input.get("db_identifiers")})


def _machine() -> SfnGateway:
    arn = MachineSettings.from_env().audit_state_machine_arn
    if not arn:
        raise ConfigurationError("This stack has no audit state machine (AUDIT_STATE_MACHINE_ARN).")
    return SfnGateway(arn)


@router.post(
    "/audits",
    summary="Start an audit",
    body=AuditInput,
    responses={
        202: Answer("Started", AuditAccepted),
        400: problem("Invalid input"),
        403: problem("An account outside MemberAccounts (accounts, or a DB ARN): AccountNotAllowedError"),
        415: problem("The body is not JSON"),
    },
)
def post_audit(call: Call) -> Reply:
    started = start_audit(call.body_as(AuditInput), sfn=_machine(), settings=AuditResolveSettings.from_env())
    return accepted(AuditAccepted, started, "audits")


@router.get(
    "/audits/{audit_id}",
    summary="Status and result of an audit",
    responses={200: Answer("The audit", Audit), 404: problem("Unknown id")},
)
def get_audit_status(call: Call) -> Audit:
    return Audit.of(get_audit(call.params["audit_id"], sfn=_machine()))
