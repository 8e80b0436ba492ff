"""The role factory is capped in the template itself: the CreateIamRole function may create or change a
/clickpipes/ role only with the stack's boundary attached, may never remove a boundary, and the boundary allows
nothing but rds-db:connect. The API admits only its own account."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.harness.template import SamApp, load_template

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
GUARDED = {"iam:CreateRole", "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary"}
NEVER = {"iam:AttachRolePolicy", "iam:PassRole", "iam:CreatePolicy"}
# the offboarding's DeleteIamRoleFunction alone may delete, and only roles under /clickpipes/
DELETES = {"iam:DeleteRolePolicy", "iam:DeleteRolePermissionsBoundary", "iam:DeleteRole"}


def statements(app: SamApp, function: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in app.resolve(app.functions[function].properties.get("Policies") or []):
        if isinstance(policy, dict) and "Statement" in policy:
            found += [s for s in policy["Statement"] if isinstance(s, dict)]
    return found


def actions(statement: dict[str, Any]) -> set[str]:
    value = statement.get("Action", [])
    return {value} if isinstance(value, str) else set(value)


@pytest.mark.parametrize(
    ("overrides", "boundary"),
    [
        ({}, "arn:aws:iam::123456789012:policy/clickpipes/local-role-boundary"),
        (
            {"PermissionsBoundaryArn": "arn:aws:iam::123456789012:policy/org-boundary"},
            "arn:aws:iam::123456789012:policy/org-boundary",
        ),
    ],
)
def test_roles_can_be_created_and_changed_only_under_the_boundary(overrides: dict[str, str], boundary: str) -> None:
    app = load_template(TEMPLATE, overrides)
    assert app.functions["CreateIamRoleFunction"].environment["PERMISSIONS_BOUNDARY_ARN"] == boundary
    for function in app.functions:
        for statement in statements(app, function):
            granted = actions(statement)
            assert not granted & NEVER, (function, statement)
            assert not any(a in ("*", "iam:*") for a in granted), (function, statement)
            if any(a.startswith("iam:Delete") for a in granted):
                # the offboarding's step, and the audit's repair of orphan roles (delete_orphans)
                assert function in ("DeleteIamRoleFunction", "RepairDatabaseFunction"), (function, statement)
                assert {a for a in granted if a.startswith("iam:Delete")} <= DELETES
                assert statement["Resource"] == "arn:aws:iam::123456789012:role/clickpipes/*"
                assert not granted & GUARDED
            if granted & GUARDED:
                assert function == "CreateIamRoleFunction"
                assert statement["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": boundary}}
                assert statement["Resource"] == "arn:aws:iam::123456789012:role/clickpipes/*"
    guarded = set().union(*(actions(s) & GUARDED for s in statements(app, "CreateIamRoleFunction")))
    assert guarded == GUARDED
    deletes = set().union(*(actions(s) & DELETES for s in statements(app, "DeleteIamRoleFunction")))
    assert deletes == DELETES


def test_the_boundary_allows_rds_db_connect_only() -> None:
    app = load_template(TEMPLATE)
    policy = app.resolve(app.resources["ClickPipesRoleBoundary"]["Properties"])["PolicyDocument"]
    assert policy["Statement"] == [
        {"Effect": "Allow", "Action": "rds-db:connect", "Resource": "arn:aws:rds-db:*:123456789012:dbuser:*/*"}
    ]


def test_every_function_sees_the_same_allowlist() -> None:
    app = load_template(TEMPLATE, {"AllowedClickHousePrincipals": ["111122223333", "arn:aws:iam::1:role/x"]})
    values = {f.environment.get("ALLOWED_CLICKHOUSE_PRINCIPALS") for f in app.functions.values()}
    assert values == {"111122223333,arn:aws:iam::1:role/x"}


def test_the_api_admits_only_its_own_account() -> None:
    app = load_template(TEMPLATE)
    auth = app.resolve(app.resources["OnboardingApi"]["Properties"]["Auth"])
    assert auth["DefaultAuthorizer"] == "AWS_IAM"
    assert auth["ResourcePolicy"] == {"AwsAccountWhitelist": ["123456789012"]}


KEY_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:clickhouse-api-key-AbCdEf"
API_CALLERS = {"ResolveTargetFunction", "CreateIamRoleFunction", "CreateClickPipeFunction", "DeleteIamRoleFunction"}


@pytest.mark.parametrize("configured", [True, False])
def test_only_the_api_callers_read_the_clickhouse_key_and_only_when_set(configured: bool) -> None:
    overrides = {
        "ClickHouseOrganizationId": "0b6c7e3a-4a59-4b3e-9a57-0a4f6a0c1d11",
        "ClickHouseApiKeySecretArn": KEY_ARN,
    }
    app = load_template(TEMPLATE, overrides if configured else {})
    readers = {
        function
        for function in app.functions
        for statement in statements(app, function)
        if "secretsmanager:GetSecretValue" in actions(statement) and statement["Resource"] == KEY_ARN
    }
    assert readers == (API_CALLERS if configured else set())
    for function in API_CALLERS:
        assert app.functions[function].environment["CLICKHOUSE_API_KEY_SECRET_ARN"] == (KEY_ARN if configured else "")


def test_only_the_api_may_start_an_audit() -> None:
    """The audit machine is started by the API (and its schedule), never by the tag trigger or a step."""
    app = load_template(TEMPLATE)
    audit = app.resolve({"Ref": "AuditStateMachine"})
    starters = {
        name
        for name in app.functions
        for statement in statements(app, name)
        if "states:StartExecution" in actions(statement) and audit in str(statement.get("Resource"))
    }
    assert starters == {"ApiFunction"}
