"""cdc: false still grants what an initial load reads with: CreateDbUser (the onboarding's step; ConfigureCdcDatabase
when invoked so) asks the DB for the read grants only (``CdcDbRequest.replication`` off), RecordResult records the
granted schemas, the audit checks those grants."""

from __future__ import annotations

import json

import pytest
from clickpipes import rules
from clickpipes.audit_models import DbAuditRequest
from clickpipes.models import CdcDbRequest, CdcDbResult, Target
from clickpipes.settings import AuditSettings
from clickpipes.steps.audit_db_objects import audit_db_objects
from clickpipes.steps.configure_cdc_database import configure_cdc_database
from clickpipes.steps.create_db_user import create_db_user
from clickpipes.steps.record_result import recorded

from tests.fakes import FakeAuditDatabase, FakeDatabase, FakeRds, FakeSecrets, description_of
from tests.unit.conftest import EVENTS, load_event

ONBOARDING = Target(**load_event("configure_cdc_database.json")["target"])
SECRET = FakeSecrets({"username": "master", "password": "pw"})


def cdc(target: Target, enabled: bool) -> Target:
    return target.model_copy(update={"cdc": target.cdc.model_copy(update={"enabled": enabled})})


def requests(database: FakeDatabase) -> list[CdcDbRequest]:
    return [call[3] for call in database.calls if call[0] == "configure_cdc"]


@pytest.mark.parametrize("enabled", [True, False])
def test_the_step_runs_with_cdc_off_too_for_the_read_grants_only(enabled: bool) -> None:
    target = cdc(ONBOARDING, enabled)
    database = FakeDatabase()
    configure_cdc_database(target, rds=FakeRds(description_of(target)), secrets=SECRET, database=database)
    (request,) = requests(database)
    assert (request.replication, request.schemas, request.plan_only) == (enabled, ["public"], False)


@pytest.mark.parametrize("enabled", [True, False])
def test_create_db_user_makes_the_read_grants_with_cdc_off_only(enabled: bool) -> None:
    """One secret read for the user and the grants; with CDC the grants wait for ConfigureCdcDatabase (after the
    parameters and the reboot)."""
    target = cdc(ONBOARDING, enabled)
    database, secrets = FakeDatabase(), FakeSecrets({"username": "master", "password": "pw"})
    result = create_db_user(target, rds=FakeRds(description_of(target)), secrets=secrets, database=database)
    assert [call[0] for call in database.calls] == ["ensure_iam_user", *([] if enabled else ["configure_cdc"])]
    assert (result.reads is None) is enabled
    if not enabled:
        (request,) = requests(database)
        assert (request.replication, request.schemas, request.plan_only) == (False, ["public"], False)
    assert len(secrets.reads) == 1


def test_the_request_keeps_its_fields_and_defaults_to_replication() -> None:
    """Callers that predate the read-only mode (the audit's plan) keep what they asked for: CDC."""
    request = CdcDbRequest(
        user="u", schemas=["public"], tables=[], publication="clickpipes", binlog_retention_hours=None, plan_only=True
    )
    assert request.replication is True


@pytest.mark.parametrize("enabled", [True, False])
def test_the_granted_schemas_are_recorded_with_cdc_off_too(enabled: bool) -> None:
    tags = recorded(cdc(ONBOARDING, enabled))
    assert tags[rules.SCHEMAS_TAG] == "public"
    assert tags[rules.CDC_TAG] == str(enabled).lower()
    assert ("clickpipes:onboarded-publication" in tags) is enabled  # no publication without CDC


@pytest.mark.parametrize("enabled", [True, False])
def test_the_audit_checks_the_read_grants_of_a_cdc_off_onboarding(enabled: bool) -> None:
    audit = DbAuditRequest.model_validate(json.loads((EVENTS / "audit_db_objects.json").read_text())).audit
    assert audit.target is not None
    audit = audit.model_copy(update={"target": cdc(audit.target, enabled)})
    assert audit.target is not None
    database = FakeAuditDatabase(cdc=CdcDbResult(changes=['GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "u"']))
    result = audit_db_objects(
        audit,
        rds=FakeRds(description_of(audit.target)),
        secrets=SECRET,
        database=database,
        settings=AuditSettings(),
    )
    (request,) = requests(database)
    assert (request.replication, request.plan_only) == (enabled, True)
    found = {f.check: f for f in result.findings}
    assert found["cdc-database"].expected == 'GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "u"'
