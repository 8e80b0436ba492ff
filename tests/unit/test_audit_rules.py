"""The audit's pure finding rules: each drift gives one finding with expected and actual; a clean role none."""

from clickpipes import audit_rules, rules

PRINCIPAL = "arn:aws:iam::111122223333:role/clickhouse"
DBUSER = "arn:aws:rds-db:us-east-1:123456789012:dbuser:db-ABC/clickpipes_iam_user"
BOUNDARY = "arn:aws:iam::123456789012:policy/boundary"
ROLE = "arn:aws:iam::123456789012:role/clickpipes/r"


def role_findings(**changes: object) -> list[audit_rules.Finding]:
    values: dict[str, object] = {
        "trust_policy": rules.trust_policy(PRINCIPAL),
        "inline": {rules.CONNECT_POLICY_NAME: rules.connect_policy(DBUSER)},
        "managed": [],
        "boundary": BOUNDARY,
        "expected_principal": PRINCIPAL,
        "expected_dbuser": DBUSER,
        "expected_boundary": BOUNDARY,
    }
    return audit_rules.role(ROLE, **(values | changes))


def test_a_role_as_the_onboarding_made_it_has_no_finding() -> None:
    assert role_findings() == []
    assert audit_rules.status([]) == "ok"


def test_each_role_drift_is_one_finding_with_expected_and_actual() -> None:
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    (managed,) = role_findings(managed=[admin])
    assert (managed.check, managed.expected, managed.actual, managed.repairable) == (
        "role-managed-policies",
        "none",
        f'["{admin}"]',
        True,
    )
    (boundary,) = role_findings(boundary=None)
    assert (boundary.check, boundary.expected, boundary.actual) == ("role-boundary", BOUNDARY, "none")
    edited = rules.trust_policy("arn:aws:iam::999999999999:role/other")
    assert [f.check for f in role_findings(trust_policy=edited)] == ["role-trust"]
    (missing,) = audit_rules.role_missing(ROLE)
    assert (missing.check, missing.actual) == ("role", "missing")


def test_a_restored_db_is_a_resource_id_finding() -> None:
    (found,) = audit_rules.resource_id(rules.connect_policy(DBUSER), "db-NEW")
    assert (found.check, found.expected, found.actual) == ("resource-id", "db-NEW", "db-ABC")
    assert audit_rules.resource_id(rules.connect_policy(DBUSER), "db-ABC") == []


def test_a_gone_db_and_a_removed_principal_are_not_repairable() -> None:
    gone = audit_rules.gone("instance", "pg1", ROLE)
    assert audit_rules.status(gone) == "gone"
    assert not audit_rules.repairable(gone)
    (principal,) = audit_rules.principal(PRINCIPAL, allowed=False)
    assert not principal.repairable
    assert audit_rules.principal(PRINCIPAL, allowed=True) == []
    iam_off = audit_rules.iam_auth(False)
    assert audit_rules.repairable(iam_off)
    assert audit_rules.drift_tag([*iam_off, principal]) == "iam-auth principal"
