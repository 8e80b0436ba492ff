"""EnableIamAuth, CheckDbStatus, RecordResult, RecordFailure against moto's RDS."""

import json
from typing import Any

import check_db_status
import enable_iam_auth
import pytest
import record_failure
import record_result
from clickpipes.errors import (
    DbNotFoundError,
    DbStateError,
    ModificationTimeoutError,
    PendingModificationsError,
    TransientError,
)
from clickpipes.models import DbDescription, RecordResultRequest, Target
from clickpipes.steps.enable_iam_auth import enable_iam_auth as enable_step
from clickpipes.steps.record_result import record_result as record_result_step

from tests.unit.conftest import PRINCIPAL, FakeContext, load_event, resolve


def target_of(
    make_db: Any, context: FakeContext, identifier: str = "orders-pg", engine: str = "postgres"
) -> dict[str, Any]:
    make_db(identifier, engine=engine)
    return resolve({"db_identifier": identifier, "clickhouse_role_arn": PRINCIPAL}, context)


def tags(rds: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in rds.list_tags_for_resource(ResourceName=arn)["TagList"]}


def test_enable_turns_iam_auth_on_then_skips(make_db: Any, rds: Any, context: FakeContext) -> None:
    # Clusters: moto does not reflect ModifyDBCluster's IAM flag; tests/e2e covers them with the harness patch.
    target = target_of(make_db, context)
    assert enable_iam_auth.handler({"target": target}, context) == {
        "modified": True,
        "changes": ["ModifyInstance(orders-pg): EnableIAMDatabaseAuthentication=true, ApplyImmediately=true"],
        "warnings": [],
    }
    db = rds.describe_db_instances(DBInstanceIdentifier="orders-pg")["DBInstances"][0]
    assert db["IAMDatabaseAuthenticationEnabled"] is True
    assert enable_iam_auth.handler({"target": target}, context) == {"modified": False, "changes": [], "warnings": []}


class RecordingRds:
    """In-memory RDS port: one DB, records modifications."""

    def __init__(self, db: DbDescription) -> None:
        self.db = db
        self.modified: list[tuple[str, str]] = []
        self.tagged: list[dict[str, str]] = []

    def describe(self, kind: str, identifier: str) -> DbDescription | None:
        return self.db if (kind, identifier) == (self.db.kind, self.db.identifier) else None

    def enable_iam_auth(self, kind: str, identifier: str) -> None:
        self.modified.append((kind, identifier))

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        """Only the record an offboarding reads (revert_settings): IAM auth was turned on by the onboarding."""
        assert (arn, tags) == (self.db.arn, {"clickpipes:iam-auth-enabled-by-us": "true"})
        assert not self.modified, "recorded before the modification"
        self.tagged.append(tags)


def description(**changes: Any) -> DbDescription:
    base = {
        "kind": "instance",
        "identifier": "orders-pg",
        "arn": "arn:aws:rds:us-east-1:123456789012:db:orders-pg",
        "engine": "postgres",
        "engine_version": "16.4",
        "status": "available",
        "resource_id": "db-ABC",
        "endpoint": "orders-pg.x.us-east-1.rds.amazonaws.com",
        "port": 5432,
        "iam_auth_enabled": False,
        "master_secret_arn": None,
        "cluster_identifier": None,
        "engine_mode": None,
        "database": None,
        "pending_modifications": [],
    }
    return DbDescription(**{**base, **changes})


def test_enable_refuses_while_other_modifications_are_pending() -> None:
    rds = RecordingRds(description(pending_modifications=["DBInstanceClass", "AllocatedStorage"]))
    with pytest.raises(PendingModificationsError, match=r"\(AllocatedStorage, DBInstanceClass\)"):
        enable_step(Target(**load_event("enable_iam_auth.json")["target"]), rds=rds)
    assert rds.modified == []


def test_enable_applies_pending_modifications_only_when_asked() -> None:
    rds = RecordingRds(description(pending_modifications=["DBInstanceClass", "IAMDatabaseAuthenticationEnabled"]))
    target = Target(**load_event("enable_iam_auth.json")["target"] | {"apply_pending_modifications": True})
    result = enable_step(target, rds=rds)
    assert rds.modified == [("instance", "orders-pg")]
    assert result.modified
    assert result.warnings == [
        "ApplyImmediately also applies the pending modifications of DB instance 'orders-pg' "
        "(apply_pending_modifications: true): DBInstanceClass."
    ]


def test_our_own_pending_iam_change_is_not_someone_elses() -> None:
    rds = RecordingRds(description(pending_modifications=["IAMDatabaseAuthenticationEnabled"]))
    assert enable_step(Target(**load_event("enable_iam_auth.json")["target"]), rds=rds).warnings == []


def test_enable_on_a_busy_db_retries_later_without_modifying() -> None:
    rds = RecordingRds(description(status="modifying"))
    with pytest.raises(TransientError, match="'modifying'"):
        enable_step(Target(**load_event("enable_iam_auth.json")["target"]), rds=rds)
    assert rds.modified == []


def test_enable_on_a_stopped_db_is_refused_without_modifying() -> None:
    rds = RecordingRds(description(status="stopped"))
    with pytest.raises(DbStateError, match="stopped"):
        enable_step(Target(**load_event("enable_iam_auth.json")["target"]), rds=rds)
    assert rds.modified == []


def test_enable_on_a_deleted_db(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context)
    rds.delete_db_instance(DBInstanceIdentifier="orders-pg", SkipFinalSnapshot=True)
    with pytest.raises(DbNotFoundError, match="no longer exists"):
        enable_iam_auth.handler({"target": target}, context)


def test_status_not_ready_until_iam_auth_is_on(make_db: Any, context: FakeContext) -> None:
    target = target_of(make_db, context)
    event = {"target": target, "waited_seconds": 30, "max_wait_seconds": 1800}
    assert check_db_status.handler(event, context) == {
        "ready": False,
        "status": "available",
        "iam_auth_enabled": False,
        "waited_seconds": 30,
        "seal": None,  # sealed only when ready (and with the stack's key: STATE_SEAL_SECRET_ARN)
    }
    enable_iam_auth.handler({"target": target}, context)
    assert check_db_status.handler(event, context)["ready"] is True


def test_status_times_out_past_max_wait(make_db: Any, context: FakeContext) -> None:
    target = target_of(make_db, context)
    with pytest.raises(ModificationTimeoutError, match="after 1800 s"):
        check_db_status.handler({"target": target, "waited_seconds": 1800, "max_wait_seconds": 1800}, context)


def test_status_of_a_stopped_db_is_an_error(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context)
    rds.stop_db_instance(DBInstanceIdentifier="orders-pg")
    with pytest.raises(DbStateError, match="stopped"):
        check_db_status.handler({"target": target, "waited_seconds": 0, "max_wait_seconds": 60}, context)


def test_record_result_tags_ready_and_builds_output(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context)
    event = load_event("record_result.json") | {"target": target}
    output = record_result.handler(event, context)
    role_arn = event["role"]["role_arn"]
    assert tags(rds, target["arn"]) == {
        "clickpipes:status": "ready",
        "clickpipes:role-arn": role_arn,
        # what an offboarding takes away (tests/unit/test_offboarding_steps.py)
        "clickpipes:onboarded-db-user": target["db_user"],
        "clickpipes:onboarded-publication": target["cdc"]["publication"],
        # what the audit checks again (tests/unit/test_audit*.py)
        "clickpipes:onboarded-cdc": "true",
        "clickpipes:admin-secret-arn": target["admin_secret_arn"],
        "clickpipes:onboarded-schemas": " ".join(target["cdc"]["schemas"]),
    }
    assert output == {
        "db_identifier": "orders-pg",
        "kind": "instance",
        "engine": "postgres",
        "engine_version": "16.4",
        "resource_id": target["resource_id"],
        "endpoint": target["endpoint"],
        "port": 5432,
        "db_user": "clickpipes_iam_user",
        "dbuser_arn": event["role"]["dbuser_arn"],
        "role_arn": role_arn,
        "pipe_modes": ["initial_load"],
        "changes": [
            *event["enable"]["changes"],
            *event["db_user"]["changes"],
            *event["cdc_parameters"]["changes"],
            *event["cdc_database"]["changes"],
        ],
        "warnings": [
            "CDC needs a reboot of DB instance 'orders-pg' to take effect (parameter group "
            "clickpipes-instance-orders-pg, rds.logical_replication): reboot it in a maintenance window, or run "
            "the onboarding again with allow_reboot: true. Until then ClickPipes can do initial loads only."
        ],
        "plan_only": False,
        "requested_by": None,
    }


@pytest.mark.parametrize(("binlog_ready", "modes"), [(True, ["initial_load", "cdc"]), (False, ["initial_load"])])
def test_record_result_mysql_cdc_follows_the_live_binlog_check(binlog_ready: bool, modes: list[str]) -> None:
    """The parameter group is set and nothing awaits a reboot: the server's own binlog settings decide."""
    event = load_event("record_result.json")
    event["target"] |= {"engine": "mysql", "engine_version": "8.0.39", "port": 3306}
    event["cdc_parameters"] |= {"reboot_required": False, "pending_reboot": []}
    warning = "binlog_row_metadata is MINIMAL, ClickPipes CDC needs FULL: …"
    event["cdc_database"] |= {"binlog_ready": binlog_ready, "warnings": [] if binlog_ready else [warning]}

    class Tags:
        def tag(self, arn: str, tags: dict[str, str]) -> None:
            self.tagged = (arn, tags)

    rds = Tags()
    output = record_result_step(RecordResultRequest.model_validate(event), rds=rds)
    assert output.pipe_modes == modes
    assert output.warnings == ([] if binlog_ready else [warning])
    assert rds.tagged[1]["clickpipes:status"] == "ready"


@pytest.mark.parametrize(("reported", "modes"), [(True, ["initial_load", "cdc"]), (False, ["initial_load"])])
def test_record_result_postgres_cdc_needs_iam_auth_for_replication(reported: bool, modes: list[str]) -> None:
    """Nothing awaits a reboot, yet the server reports rds.iam_auth_for_replication off: no CDC, and a warning says
    why (found by the ClickPipes stand-in: its replication login is refused, tests/e2e/test_pipe_modes_reality.py)."""
    event = load_event("record_result.json")
    event["cdc_parameters"] |= {"reboot_required": False, "pending_reboot": []}
    event["cdc_database"] |= {"iam_auth_for_replication": reported, "warnings": []}

    class Tags:
        def tag(self, arn: str, tags: dict[str, str]) -> None:
            self.tagged = (arn, tags)

    output = record_result_step(RecordResultRequest.model_validate(event), rds=Tags())
    assert output.pipe_modes == modes
    assert [w for w in output.warnings if "rds.iam_auth_for_replication is off" in w] == (
        []
        if reported
        else [
            f"rds.iam_auth_for_replication is off on DB instance '{event['target']['db_identifier']}': replication "
            "connections do not accept IAM tokens, so ClickPipes can do initial loads only. Set it to 1 in the DB's "
            "parameter group (dynamic, no reboot) and run the onboarding again."
        ]
    )


def test_record_failure_tags_failed_and_keeps_only_the_message(make_db: Any, rds: Any, context: FakeContext) -> None:
    target = target_of(make_db, context)
    event = load_event("record_failure.json") | {"target": target}
    assert record_failure.handler(event, context) == {
        "error": "DbPrivilegeError",
        "cause": "The admin user may not create or grant roles (permission denied to create role).",
        "tagged": True,
    }
    assert tags(rds, target["arn"]) == {"clickpipes:status": "failed", "clickpipes:error": "DbPrivilegeError"}


@pytest.mark.parametrize("error", ["DbNotFoundError", "InvalidInputError"])
def test_record_failure_of_bad_input_tags_nothing(make_db: Any, rds: Any, context: FakeContext, error: str) -> None:
    db = make_db("orders-pg")
    event = {"input": {"db_identifier": "orders-pg"}, "target": None, "error": {"Error": error, "Cause": "x"}}
    assert record_failure.handler(event, context) == {"error": error, "cause": "x", "tagged": False}
    assert tags(rds, db["DBInstanceArn"]) == {}


def test_record_failure_of_a_refused_db_tags_it(make_db: Any, rds: Any, context: FakeContext) -> None:
    db = make_db("legacy", engine="mariadb", version="10.6.19")
    event = {"input": {"db_identifier": "legacy"}, "target": None, "error": {"Error": "UnsupportedEngineError"}}
    assert record_failure.handler(event, context)["tagged"] is True
    assert tags(rds, db["DBInstanceArn"]) == {
        "clickpipes:status": "failed",
        "clickpipes:error": "UnsupportedEngineError",
    }


def test_record_failure_after_the_record_keeps_the_access_ready(make_db: Any, rds: Any, context: FakeContext) -> None:
    """CreateClickPipe's failure (RecordResult's output is there): the DB stays recorded ready, only the pipe's
    status tag says failed, and the message says the access is in place."""
    target = target_of(make_db, context)
    rds.add_tags_to_resource(ResourceName=target["arn"], Tags=[{"Key": "clickpipes:status", "Value": "ready"}])
    output = load_event("create_clickpipe.json")["output"]
    cause = json.dumps({"errorMessage": "ClickPipe 'orders' (p-1) is Failed: see its logs.", "errorType": "x"})
    event = {
        "input": {},
        "target": target,
        "result": output,
        "error": {"Error": "ClickPipeFailedError", "Cause": cause},
    }
    result = record_failure.handler(event, context)
    assert (result["error"], result["tagged"]) == ("ClickPipeFailedError", True)
    assert result["cause"].startswith(f"The IAM access is in place and recorded (role {output['role_arn']}")
    assert "is Failed: see its logs." in result["cause"]
    assert "retry the pipe" in result["cause"]
    assert tags(rds, target["arn"]) == {
        "clickpipes:status": "ready",
        "clickpipes:clickpipe-status": "failed ClickPipeFailedError",
    }


class GoneRds(RecordingRds):
    def tag(self, arn: str, tags: dict[str, str]) -> None:
        raise LookupError(f"DBInstanceNotFound: {arn}")  # what RDS answers for a deleted DB (moto tags anyway)


def test_record_failure_when_the_db_is_gone_still_reports() -> None:
    from clickpipes.models import RecordFailureRequest
    from clickpipes.steps.record_failure import record_failure as record_failure_step

    cause = json.dumps({"errorMessage": "gone", "errorType": "DbNotFoundError"})
    request = RecordFailureRequest(
        input={},
        target=Target(**load_event("record_failure.json")["target"]),
        error={"Error": "DbNotFoundError", "Cause": cause},
    )
    result = record_failure_step(request, rds=GoneRds(description()))
    assert result.model_dump() == {"error": "DbNotFoundError", "cause": "gone", "tagged": False}


@pytest.mark.parametrize(
    ("cause", "message"),
    [
        (None, "No cause was reported."),
        ("States.Timeout after 60 s", "States.Timeout after 60 s"),
        ('{"errorMessage": "boom", "errorType": "X", "stackTrace": ["secret-ish frame"]}', "boom"),
        ('["not", "an", "object"]', '["not", "an", "object"]'),
    ],
)
def test_failure_message(cause: str | None, message: str) -> None:
    from clickpipes.steps.record_failure import failure_message

    assert failure_message(cause) == message
