"""The offboarding's functions, built by `sam build` and run by `sam local invoke` in the Lambda image, against moto
(the same session as test_sam_local.py), on a DB of their own: `leaving-pg`, onboarded as far as moto can tell
(IAM auth on, our role, the onboarding's records on its tags). What this proves beyond the unit tests: the new
handlers' paths, layers and environment in the template, and that their errors leave with the contract's names."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .samlocal import ACCOUNT, PROJECT_ROOT, SamLocal, role_name, sample_event

pytestmark = pytest.mark.container

DB = "leaving-pg"
OFFBOARDING_MACHINE = "clickpipes-offboarding"  # events/resolve_offboarding.json's state machine


event = sample_event


@pytest.fixture(scope="module")
def leaving(samlocal: SamLocal) -> dict[str, Any]:
    """An onboarded DB in moto: IAM auth on, tagged ready with the onboarding's records, and our role for it."""
    rds, iam = samlocal.aws("rds"), samlocal.aws("iam")
    db = rds.create_db_instance(
        DBInstanceIdentifier=DB,
        Engine="postgres",
        EngineVersion="16.4",
        DBInstanceClass="db.t3.micro",
        MasterUsername="master",
        ManageMasterUserPassword=True,
        AllocatedStorage=20,
        EnableIAMDatabaseAuthentication=True,
    )["DBInstance"]
    tags = {"clickpipes:status": "ready", "clickpipes:iam-auth-enabled-by-us": "true"}
    rds.add_tags_to_resource(ResourceName=db["DBInstanceArn"], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    trust = {"Version": "2012-10-17", "Statement": []}
    iam.create_role(
        RoleName=role_name(DB),
        Path="/clickpipes/",
        AssumeRolePolicyDocument=json.dumps(trust),
        Tags=[{"Key": "clickpipes:db-arn", "Value": db["DBInstanceArn"]}],
    )
    samlocal.aws("stepfunctions").create_state_machine(
        name=OFFBOARDING_MACHINE,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/offboarding-state-machine",
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}),
    )
    env = json.loads((PROJECT_ROOT / "env.json").read_text())
    samlocal.guard_table(env["ResolveOffboardingFunction"]["GUARD_TABLE_NAME"])
    return dict(db)


@pytest.fixture(scope="module")
def target(samlocal: SamLocal, leaving: dict[str, Any]) -> dict[str, Any]:
    request = event("resolve_offboarding")
    request["request"] = {"db_identifier": DB}
    # as the stack wires it (sam local cannot resolve the Ref of the onboarding state machine)
    onboarding = event("resolve_target")["state_machine_arn"]
    env = {"ResolveOffboardingFunction": {"ONBOARDING_STATE_MACHINE_ARN": onboarding}}
    return samlocal.invoke("ResolveOffboardingFunction", request, env=env).ok()


def test_resolve_offboarding_describes_the_db_and_its_records(target: dict[str, Any], leaving: dict[str, Any]) -> None:
    assert (target["db_identifier"], target["arn"], target["resource_id"]) == (
        DB,
        leaving["DBInstanceArn"],
        leaving["DbiResourceId"],
    )
    assert target["role_name"] == role_name(DB)
    assert target["records"]["clickpipes:iam-auth-enabled-by-us"] == "true"


def test_delete_iam_role_deletes_our_role(samlocal: SamLocal, target: dict[str, Any]) -> None:
    result = samlocal.invoke("DeleteIamRoleFunction", event("delete_iam_role", target=target)).ok()
    assert (result["role_name"], result["deleted"]) == (role_name(DB), True)
    assert [
        r["RoleName"] for r in samlocal.aws("iam").list_roles(PathPrefix="/clickpipes/")["Roles"] if DB in r["RoleName"]
    ] == []
    again = samlocal.invoke("DeleteIamRoleFunction", event("delete_iam_role", target=target)).ok()
    assert (again["deleted"], again["changes"]) == (False, [])  # idempotent


def test_drop_db_user_with_the_stack_defaults_stops_at_tls(samlocal: SamLocal, target: dict[str, Any]) -> None:
    """The DB layer is there and the TLS default holds: without `make ca-bundle`, verify-full has no CA file."""
    result = samlocal.invoke("DropDbUserFunction", event("drop_db_user", target=target))
    assert result.error_type in ("DbConnectionError", "AdminCredentialsError"), result.payload


def test_revert_settings_without_the_flag_lists_what_stays(samlocal: SamLocal, target: dict[str, Any]) -> None:
    result = samlocal.invoke("RevertSettingsFunction", event("revert_settings", target=target)).ok()
    assert result["changes"] == []
    assert any("stays on" in w for w in result["warnings"]), result["warnings"]
    db = samlocal.aws("rds").describe_db_instances(DBInstanceIdentifier=DB)["DBInstances"][0]
    assert db["IAMDatabaseAuthenticationEnabled"] is True


def test_record_offboarding_tags_the_db_offboarded(samlocal: SamLocal, target: dict[str, Any]) -> None:
    recorded = event("record_offboarding", target=target)
    output = samlocal.invoke("RecordOffboardingFunction", recorded).ok()
    assert output["db_identifier"] == DB
    tags = samlocal.aws("rds").list_tags_for_resource(ResourceName=target["arn"])["TagList"]
    assert {t["Key"]: t["Value"] for t in tags}["clickpipes:status"] == "offboarded"
