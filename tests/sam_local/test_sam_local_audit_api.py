"""The audit's API routes (POST /audits, GET /audits/{id}) of ApiFunction, built by `sam build` and run by
`sam local invoke` in the Lambda image against moto (the session of test_sam_local.py): the template's
AUDIT_STATE_MACHINE_ARN variable, the new router in the function's code, and its answers as API Gateway
proxy results. The audit machine is a stand-in in moto (sam local cannot resolve its Ref)."""

from __future__ import annotations

import json

import pytest

from .samlocal import ACCOUNT, HttpResponse, SamLocal, sample_event

pytestmark = pytest.mark.container

AUDIT_MACHINE = "clickpipes-api-audit"


@pytest.fixture(scope="module")
def audit_env(samlocal: SamLocal) -> dict[str, dict[str, str]]:
    arn = samlocal.aws("stepfunctions").create_state_machine(
        name=AUDIT_MACHINE,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/audit-state-machine",
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}),
    )["stateMachineArn"]
    return {"ApiFunction": {"AUDIT_STATE_MACHINE_ARN": arn}}


@pytest.fixture(scope="module")
def audit_post(samlocal: SamLocal, audit_env: dict[str, dict[str, str]]) -> HttpResponse:
    return HttpResponse.from_proxy(samlocal.invoke("ApiFunction", sample_event("api_post_audit"), env=audit_env))


def test_post_audits_starts_the_audit_machine(
    samlocal: SamLocal, audit_env: dict[str, dict[str, str]], audit_post: HttpResponse
) -> None:
    assert audit_post.status == 202, audit_post
    audit_id = audit_post.body["id"]
    assert audit_post.headers["Location"] == f"audits/{audit_id}"
    sfn = samlocal.aws("stepfunctions")
    arn = audit_env["ApiFunction"]["AUDIT_STATE_MACHINE_ARN"]
    [started] = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert started["name"] == audit_id
    described = sfn.describe_execution(executionArn=started["executionArn"])
    assert json.loads(described["input"]) == json.loads(sample_event("api_post_audit")["body"])


def test_get_audits_reads_it_back(
    samlocal: SamLocal, audit_env: dict[str, dict[str, str]], audit_post: HttpResponse
) -> None:
    audit_id = audit_post.body["id"]
    base = sample_event("api_get_audit")
    get = base | {
        "path": f"/audits/{audit_id}",
        "pathParameters": {"audit_id": audit_id},
        "requestContext": base["requestContext"] | {"path": f"/v1/audits/{audit_id}"},
    }
    response = HttpResponse.from_proxy(samlocal.invoke("ApiFunction", get, env=audit_env))
    assert response.status == 200, response
    assert (response.body["id"], response.body["status"], response.body["db_identifiers"]) == (
        audit_id,
        "RUNNING",
        ["orders-pg"],
    )


def test_get_an_unknown_audit_is_404(samlocal: SamLocal, audit_env: dict[str, dict[str, str]]) -> None:
    response = HttpResponse.from_proxy(samlocal.invoke("ApiFunction", sample_event("api_get_audit"), env=audit_env))
    assert (response.status, response.body["error"]) == (404, "OnboardingNotFoundError")
