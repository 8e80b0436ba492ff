"""Start an audit (API): refuse bad input early (``check_audit_request``); audits hold no DB (they only read,
and a repair re-runs the idempotent onboarding's steps), so several may run."""

from __future__ import annotations

import uuid
from typing import Final

from clickpipes.audit_models import AuditInput
from clickpipes.errors import OnboardingInProgressError
from clickpipes.models import ExecutionView
from clickpipes.settings import AuditResolveSettings
from clickpipes.steps.audit_resolve import check_audit_request
from clickpipes.steps.ports import StateMachine
from clickpipes.steps.start_onboarding import get_execution

AUDIT_PREFIX: Final = "audit"  # an audit's id: "audit--<12 hex>", the shape of the other workflows' ids


def start_audit(request: AuditInput, *, sfn: StateMachine, settings: AuditResolveSettings) -> str:
    """Start the audit workflow with the request as input; returns its id. An account outside the stack's own and
    MemberAccounts (in ``accounts`` or a DB ARN) is AccountNotAllowedError, nothing started."""
    check_audit_request(request, settings=settings)
    name = f"{AUDIT_PREFIX}--{uuid.uuid4().hex[:12]}"
    if not sfn.start(name, request.model_dump(exclude_unset=True)):
        raise OnboardingInProgressError(f"Audit {name} was already started.")
    return name


def get_audit(audit_id: str, *, sfn: StateMachine) -> ExecutionView:
    return get_execution(audit_id, sfn=sfn, what="audit")
