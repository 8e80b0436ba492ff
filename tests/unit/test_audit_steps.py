"""The audit's steps on their own: the events parse, the DB-side checks turn the onboarding's plan into findings,
the summary tags and puts events, the repair starts only what it may and deletes only this tool's orphans."""

from __future__ import annotations

import json
from typing import Any

import pytest
import summarize_audit
from clickpipes import audit_models, rules
from clickpipes.audit_models import DbAudit, DbAuditRequest
from clickpipes.errors import AdminCredentialsError, ProtectedUserError
from clickpipes.models import CdcDbResult, DbUserResult
from clickpipes.settings import AuditSettings
from clickpipes.steps.audit_db_objects import audit_db_objects

from tests.fakes import FakeAuditDatabase, FakeRds, FakeSecrets, description_of
from tests.unit.conftest import EVENTS, FakeContext

AUDIT_EVENTS = {
    "audit_input.json": audit_models.AuditInput,
    "resolve_audit.json": audit_models.ResolveAuditRequest,
    "audit_database.json": audit_models.AuditDatabaseRequest,
    "audit_db_objects.json": audit_models.DbAuditRequest,
    "repair_database.json": audit_models.DbAuditRequest,
    "summarize_audit.json": audit_models.SummarizeAuditRequest,
}


@pytest.mark.parametrize(("name", "model"), AUDIT_EVENTS.items())
def test_each_sample_event_is_its_step_input(name: str, model: type[Any]) -> None:
    model.model_validate(json.loads((EVENTS / name).read_text()))


def sample_audit() -> DbAudit:
    return DbAuditRequest.model_validate(json.loads((EVENTS / "audit_db_objects.json").read_text())).audit


def run_db_checks(database: FakeAuditDatabase, audit: DbAudit | None = None, **secret: str) -> DbAudit:
    audit = audit or sample_audit()
    assert audit.target is not None
    value = {"username": "admin", "password": "pw", **secret}
    return audit_db_objects(
        audit,
        rds=FakeRds(description_of(audit.target)),
        secrets=FakeSecrets(value),
        database=database,
        settings=AuditSettings(slot_wal_warn_bytes=1000),
    )


def test_what_the_onboarding_would_change_is_drift_and_only_plans_run() -> None:
    database = FakeAuditDatabase(
        DbUserResult(created=False, changed=True, changes=["GRANT rds_iam TO u"]),
        CdcDbResult(changes=["CREATE PUBLICATION clickpipes FOR TABLES IN SCHEMA public"]),
        [("left_behind", 5000), ("small", 10)],
    )
    audit = sample_audit()
    assert audit.target is not None
    cdc_audit = audit.model_copy(update={"target": audit.target.model_copy(update={"cdc": audit.target.cdc})})
    result = run_db_checks(database, cdc_audit)
    found = {f.check: f for f in result.findings}
    assert set(found) == {"iam-auth", "db-user", "cdc-database", "replication-slots"}
    assert found["db-user"].expected == "GRANT rds_iam TO u"
    assert found["replication-slots"].actual == "left_behind holds 5000 bytes"
    assert (found["replication-slots"].repairable, result.repairable, result.status) == (False, False, "drifted")
    plans = [
        (c[0], c[3][1] if c[0] == "ensure_iam_user" else c[3].plan_only) for c in database.calls if c[0] != "inspect"
    ]
    assert plans == [("ensure_iam_user", True), ("configure_cdc", True)]


def test_an_admin_class_user_is_drift_the_onboarding_may_not_repair() -> None:
    refusal = ProtectedUserError("User 'u' is protected: a member of rds_superuser.")
    result = run_db_checks(FakeAuditDatabase(refusal, CdcDbResult(changes=[]), []))
    finding = next(f for f in result.findings if f.check == "db-user")
    assert (finding.actual, finding.repairable, result.repairable) == (str(refusal), False, False)


def test_a_db_the_admin_cannot_log_in_to_is_reported_not_failed() -> None:
    class NoLogin(FakeAuditDatabase):
        def ensure_iam_user(self, *args: Any, **kwargs: Any) -> DbUserResult:
            raise AdminCredentialsError("The admin secret holds no password.")

    result = run_db_checks(NoLogin(DbUserResult(created=False, changed=False, changes=[]), CdcDbResult(changes=[]), []))
    assert [(f.check, f.actual) for f in result.findings] == [
        ("iam-auth", "false"),  # the control plane's finding, kept
        ("db-checks", "not checked: The admin secret holds no password."),
    ]
    assert result.status == "drifted"


def test_a_gone_db_or_one_without_a_target_is_passed_through() -> None:
    gone = sample_audit().model_copy(update={"status": "gone", "target": None})
    database = FakeAuditDatabase(DbUserResult(created=False, changed=False, changes=[]), CdcDbResult(changes=[]), [])
    assert (
        audit_db_objects(gone, rds=FakeRds(), secrets=FakeSecrets({}), database=database, settings=AuditSettings())
        == gone
    )
    assert database.calls == []


def test_the_summary_tags_drift_removes_the_tag_when_clean_and_puts_one_event_per_drifted_db(
    make_db: Any, rds: Any, context: FakeContext
) -> None:
    drifted_db, clean_db = make_db("drifted-pg"), make_db("clean-pg")
    rds.add_tags_to_resource(
        ResourceName=clean_db["DBInstanceArn"], Tags=[{"Key": rules.DRIFT_TAG, "Value": "iam-auth"}]
    )
    audit = sample_audit()

    def of(db: dict[str, Any], findings: list[Any]) -> dict[str, Any]:
        status = "drifted" if findings else "ok"
        return audit.model_copy(
            update={
                "db_identifier": db["DBInstanceIdentifier"],
                "findings": findings,
                "status": status,
                "db_arn": db["DBInstanceArn"],
                "target": None,  # the iteration's last state drops it
            }
        ).model_dump(mode="json")

    event = {"databases": [of(drifted_db, audit.findings), of(clean_db, [])], "audit_execution": "a1"}
    output = summarize_audit.handler(event, context)
    tags = {
        name: {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=db["DBInstanceArn"])["TagList"]}
        for name, db in (("drifted", drifted_db), ("clean", clean_db))
    }
    assert tags["drifted"][rules.DRIFT_TAG] == "iam-auth"
    assert rules.DRIFT_TAG not in tags["clean"]
    assert (output["drifted"], output["gone"], output["failed"], output["repaired"]) == (1, 0, 0, None)
    assert all(db["target"] is None for db in output["databases"])


def orphan_role(iam: Any, name: str, db_arn: str, path: str = "/clickpipes/") -> None:
    trust = {"Version": "2012-10-17", "Statement": []}
    iam.create_role(
        RoleName=name,
        Path=path,
        AssumeRolePolicyDocument=json.dumps(trust),
        Tags=[{"Key": rules.DB_ARN_TAG, "Value": db_arn}],
    )
    iam.put_role_policy(
        RoleName=name,
        PolicyName=rules.CONNECT_POLICY_NAME,
        PolicyDocument=json.dumps(
            trust | {"Statement": [{"Effect": "Allow", "Action": "rds-db:connect", "Resource": "*"}]}
        ),
    )


@pytest.mark.parametrize("delete_orphans", [True, False])
def test_an_orphan_role_goes_only_with_delete_orphans_and_only_when_it_is_ours(iam: Any, delete_orphans: bool) -> None:
    from clickpipes.aws.audit import AuditIamGateway
    from clickpipes.settings import ResolveSettings
    from clickpipes.steps.audit_repair import repair_database

    from tests.fakes import FakeGuard

    ours, foreign = "clickpipes-gone-pg-0a1b2c3d", "clickpipes-gone-my-0a1b2c3d"
    orphan_role(iam, ours, "arn:aws:rds:us-east-1:123456789012:db:gone-pg")
    orphan_role(iam, foreign, "arn:aws:rds:us-east-1:123456789012:db:someone-elses")
    gone = sample_audit().model_copy(update={"status": "gone", "target": None, "repairable": False})
    results = {
        name: repair_database(
            DbAuditRequest(
                audit=gone.model_copy(update={"db_identifier": identifier, "role_name": name}),
                repair=True,
                delete_orphans=delete_orphans,
            ),
            sfn=None,  # an orphan's repair starts nothing
            guard=FakeGuard(),
            iam=AuditIamGateway(),
            settings=ResolveSettings.from_env(),
        )
        for name, identifier in ((ours, "gone-pg"), (foreign, "gone-my"))
    }
    left = {r["RoleName"] for r in iam.list_roles(PathPrefix="/clickpipes/")["Roles"]}
    if delete_orphans:
        assert (results[ours].repair or "").endswith("deleted")
        assert "not this tool's role for gone-my" in (results[foreign].repair or "")
        assert left == {foreign}
    else:
        assert (results[ours].repair, results[foreign].repair, left) == (None, None, {ours, foreign})
