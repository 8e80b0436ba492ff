"""The audit's functions, built by `sam build` and run by `sam local invoke` in the Lambda image, against moto (the
same session as test_sam_local.py), on a DB of their own: `audited-pg`, onboarded as far as moto can tell (our role,
tagged ready) with IAM auth turned off since, and an orphan role whose DB is gone. What this proves beyond the unit
tests: the new handlers' paths, layers and environment in the template, and each one's answer on a real image."""

from __future__ import annotations

import json
from typing import Any

import pytest
from clickpipes import rules

from .samlocal import ACCOUNT, BOUNDARY_ARN, ONBOARDING_MACHINE_ARN, REGION, SamLocal, role_name, sample_event

pytestmark = pytest.mark.container

DB, GONE = "audited-pg", "audited-gone"
PRINCIPAL = "arn:aws:iam::111122223333:role/CH-S3-orange-ab-12-Role"
WHERE = {"account": ACCOUNT, "region": REGION}  # the audit names each DB's account and region (AuditRegions)


event = sample_event


def our_role(samlocal: SamLocal, identifier: str, resource_id: str) -> None:
    """The role as the onboarding makes it: its trust, its one policy, the stack's boundary, its tags."""
    iam = samlocal.aws("iam")
    db_arn = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{identifier}"
    iam.create_role(
        RoleName=role_name(identifier),
        Path="/clickpipes/",
        AssumeRolePolicyDocument=json.dumps(rules.trust_policy(PRINCIPAL)),
        PermissionsBoundary=BOUNDARY_ARN,
        Tags=[{"Key": rules.DB_ARN_TAG, "Value": db_arn}, {"Key": rules.PRINCIPAL_TAG, "Value": PRINCIPAL}],
    )
    dbuser = f"arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:{resource_id}/{rules.DEFAULT_DB_USER}"
    policy = json.dumps(rules.connect_policy(dbuser))
    iam.put_role_policy(RoleName=role_name(identifier), PolicyName=rules.CONNECT_POLICY_NAME, PolicyDocument=policy)


@pytest.fixture(scope="module")
def audited(samlocal: SamLocal) -> dict[str, Any]:
    db = samlocal.aws("rds").create_db_instance(
        DBInstanceIdentifier=DB,
        Engine="postgres",
        EngineVersion="16.4",
        DBInstanceClass="db.t3.micro",
        MasterUsername="master",
        ManageMasterUserPassword=True,
        AllocatedStorage=20,
        Tags=[{"Key": "clickpipes:status", "Value": "ready"}, {"Key": "clickpipes:onboarded-cdc", "Value": "false"}],
    )["DBInstance"]
    our_role(samlocal, DB, db["DbiResourceId"])
    our_role(samlocal, GONE, "db-GONEGONEGONEGONEGONEGONE")
    samlocal.stack_tables()
    return dict(db)


@pytest.fixture(scope="module")
def finding(samlocal: SamLocal, audited: dict[str, Any]) -> dict[str, Any]:
    item = {"db_identifier": DB, "kind": "instance", "role_name": role_name(DB), **WHERE}
    return samlocal.invoke("AuditDatabaseFunction", event("audit_database", item=item)).ok()


def test_resolve_audit_lists_the_ready_db_and_the_orphan_role(samlocal: SamLocal, audited: dict[str, Any]) -> None:
    plan = samlocal.invoke("ResolveAuditFunction", event("resolve_audit", request={})).ok()
    items = {item["db_identifier"]: item for item in plan["items"]}
    assert items[DB]["role_name"] == role_name(DB)
    assert items[GONE] == {"db_identifier": GONE, "kind": "instance", "role_name": role_name(GONE), **WHERE}


def test_audit_database_finds_iam_auth_off_and_nothing_else(finding: dict[str, Any]) -> None:
    assert (finding["status"], [f["check"] for f in finding["findings"]]) == ("drifted", ["iam-auth"])
    assert finding["target"]["plan_only"] is True


def test_audit_db_objects_reports_a_db_it_cannot_reach(samlocal: SamLocal, finding: dict[str, Any]) -> None:
    """The DB layer is there: moto's endpoint is no server, which is a finding (db-checks), not a failure."""
    result = samlocal.invoke("AuditDbObjectsFunction", event("audit_db_objects", audit=finding)).ok()
    assert [f["check"] for f in result["findings"]] == ["iam-auth", "db-checks"]


def test_summarize_audit_tags_the_drifted_db(samlocal: SamLocal, finding: dict[str, Any]) -> None:
    output = samlocal.invoke("SummarizeAuditFunction", event("summarize_audit", databases=[finding])).ok()
    assert (output["drifted"], output["gone"]) == (1, 0)
    tags = samlocal.aws("rds").list_tags_for_resource(ResourceName=finding["db_arn"])["TagList"]
    assert {t["Key"]: t["Value"] for t in tags}["clickpipes:drift"] == "iam-auth"


def test_repair_database_deletes_the_orphan_role_with_delete_orphans(
    samlocal: SamLocal, audited: dict[str, Any]
) -> None:
    gone = {
        "db_identifier": GONE,
        "kind": "instance",
        "status": "gone",
        "findings": [],
        "role_name": role_name(GONE),
        **WHERE,
    }
    request = event("repair_database", audit=gone, delete_orphans=True)
    env = {"RepairDatabaseFunction": {"STATE_MACHINE_ARN": ONBOARDING_MACHINE_ARN}}  # sam local resolves no Ref
    result = samlocal.invoke("RepairDatabaseFunction", request, env=env).ok()
    assert result["repair"].endswith("deleted"), result
    names = [r["RoleName"] for r in samlocal.aws("iam").list_roles(PathPrefix="/clickpipes/")["Roles"]]
    assert role_name(GONE) not in names
    assert role_name(DB) in names
