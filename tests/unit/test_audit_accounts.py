"""The audit's places: ResolveAudit lists every (account, region) the stack serves (this account and MemberAccounts x
AuditRegions, or the input's accounts x regions), each account's roles once, an orphan only in a region it lists;
an account outside MemberAccounts is refused before any call; the summary tags each DB through its own place."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from clickpipes import rules
from clickpipes.audit_models import AuditInput, DbAudit, SummarizeAuditRequest
from clickpipes.errors import AccountNotAllowedError
from clickpipes.models import RoleInfo
from clickpipes.settings import AuditResolveSettings
from clickpipes.steps.audit_resolve import resolve_audit
from clickpipes.steps.audit_summary import summarize_audit
from clickpipes.steps.offboard_ports import OffboardRds

HOME, MEMBER, OUTSIDER = "123456789012", "210987654321", "999999999999"
SETTINGS = AuditResolveSettings.from_env(
    {
        "AWS_REGION": "us-east-1",
        "HOME_ACCOUNT": HOME,
        "MEMBER_ROLE_NAME": "clickpipes-iam-member",
        "MEMBER_ACCOUNTS": MEMBER,
        "AUDIT_REGIONS": "us-east-1,eu-west-1",
    }
)


def arn(account: str, region: str, identifier: str) -> str:
    return f"arn:aws:rds:{region}:{account}:db:{identifier}"


class PairRds:
    def __init__(self, dbs: list[tuple[str, dict[str, str]]]) -> None:
        self.dbs = dbs

    def list_dbs(self) -> list[tuple[rules.DbKind, str, dict[str, str]]]:
        return [("instance", identifier, tags) for identifier, tags in self.dbs]


class AccountIam:
    def __init__(self, account: str, roles: dict[str, str]) -> None:  # role name -> its clickpipes:db-arn
        self.account, self.roles = account, roles

    def list_role_names(self, path: str) -> list[str]:
        assert path == rules.ROLE_PATH
        return list(self.roles)

    def get_role(self, name: str) -> RoleInfo:
        return RoleInfo(
            arn=f"arn:aws:iam::{self.account}:role/clickpipes/{name}",
            path=rules.ROLE_PATH,
            tags={rules.DB_ARN_TAG: self.roles[name]},
            trust_policy={},
            permissions_boundary=None,
        )


READY = {rules.STATUS_TAG: "ready"}
WORLD = {
    (HOME, "us-east-1"): [("home-pg", READY), ("not-onboarded", {})],
    (HOME, "eu-west-1"): [("home-eu", READY)],
    (MEMBER, "us-east-1"): [],
    (MEMBER, "eu-west-1"): [("member-eu", READY)],
}
ROLES = {
    HOME: {"r-home": arn(HOME, "us-east-1", "home-pg")},
    MEMBER: {
        "r-orphan": arn(MEMBER, "eu-west-1", "member-gone"),  # its DB is gone, in an audited region
        "r-elsewhere": arn(MEMBER, "ap-south-1", "member-ap"),  # a region the audit does not list: not an orphan
        "r-foreign": arn(OUTSIDER, "eu-west-1", "x"),  # names another account's DB: not this account's to judge
    },
}


def resolve(request: AuditInput) -> tuple[list[tuple[str, str, str]], list[tuple[str, ...]]]:
    calls: list[tuple[str, ...]] = []

    def rds(account: str, region: str) -> PairRds:
        calls.append(("rds", account, region))
        return PairRds(WORLD[(account, region)])

    def iam(account: str) -> AccountIam:
        calls.append(("iam", account))
        return AccountIam(account, ROLES[account])

    plan = resolve_audit(request, rds=rds, iam=iam, settings=SETTINGS)
    for item in plan.items:
        if item.kind:
            assert item.role_name in (rules.role_name(item.kind, item.db_identifier, item.region), "r-orphan")
    return [(i.db_identifier, i.account, i.region) for i in plan.items], calls


def test_the_default_audit_covers_every_account_and_region_the_stack_serves() -> None:
    items, calls = resolve(AuditInput())
    assert items == [
        ("home-pg", HOME, "us-east-1"),
        ("home-eu", HOME, "eu-west-1"),
        ("member-eu", MEMBER, "eu-west-1"),
        ("member-gone", MEMBER, "eu-west-1"),  # the orphan role's DB, in its own account and region
    ]
    assert calls == [  # each pair listed once, each account's roles once (IAM is global)
        ("rds", HOME, "us-east-1"),
        ("rds", HOME, "eu-west-1"),
        ("rds", MEMBER, "us-east-1"),
        ("rds", MEMBER, "eu-west-1"),
        ("iam", HOME),
        ("iam", MEMBER),
    ]


def test_accounts_and_regions_narrow_it() -> None:
    items, calls = resolve(AuditInput(accounts=[MEMBER], regions=["us-east-1"]))
    assert items == []  # member-gone's region is not listed: its role is not judged an orphan
    assert calls == [("rds", MEMBER, "us-east-1"), ("iam", MEMBER)]


def test_without_member_accounts_it_is_this_account_only() -> None:
    alone = AuditResolveSettings.from_env({"AWS_REGION": "us-east-1", "HOME_ACCOUNT": HOME})
    assert (alone.served_accounts(), alone.served_regions()) == ([HOME], ["us-east-1"])


def test_a_named_arn_is_audited_in_its_own_account_and_region_without_listing() -> None:
    items, calls = resolve(AuditInput(db_identifiers=[arn(MEMBER, "eu-west-1", "member-eu"), "home-pg"]))
    assert items == [("member-eu", MEMBER, "eu-west-1"), ("home-pg", HOME, "us-east-1")]
    assert calls == []


@pytest.mark.parametrize(
    "request_",
    [AuditInput(accounts=[HOME, OUTSIDER]), AuditInput(db_identifiers=[arn(OUTSIDER, "us-east-1", "x")])],
)
def test_an_account_outside_member_accounts_is_refused_before_any_call(request_: AuditInput) -> None:
    with pytest.raises(AccountNotAllowedError, match=f"account {OUTSIDER} is not in MemberAccounts"):
        resolve(request_)


class TagRds:
    def __init__(self, place: tuple[str, str], log: list[Any]) -> None:
        self.place, self.log = place, log

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        self.log.append((self.place, arn))

    def tags(self, arn: str) -> dict[str, str]:
        return {}

    def untag(self, arn: str, keys: list[str]) -> None:
        raise AssertionError("nothing to untag")


class Events:
    def __init__(self) -> None:
        self.entries: list[dict[str, str]] = []

    def put(self, entries: list[dict[str, str]]) -> int:
        self.entries += entries
        return 0


def test_the_summary_tags_each_db_in_its_own_account_and_region() -> None:
    finding = {"check": "iam-auth", "expected": "true", "actual": "false", "repairable": True}
    dbs = [
        DbAudit(
            db_identifier=identifier,
            account=account,
            region=region,
            kind="instance",
            status="drifted",
            findings=[finding],
            db_arn=arn(account, region, identifier),
        )
        for identifier, account, region in (("a", MEMBER, "eu-west-1"), ("b", HOME, "us-east-1"))
    ]
    log: list[Any] = []
    events = Events()
    summarize_audit(
        SummarizeAuditRequest(databases=dbs),
        rds=lambda account, region: cast("OffboardRds", TagRds((account, region), log)),
        events=events,
    )
    assert log == [
        ((MEMBER, "eu-west-1"), arn(MEMBER, "eu-west-1", "a")),
        ((HOME, "us-east-1"), arn(HOME, "us-east-1", "b")),
    ]
    assert [(json.loads(e["Detail"])["account"], json.loads(e["Detail"])["region"]) for e in events.entries] == [
        (MEMBER, "eu-west-1"),
        (HOME, "us-east-1"),
    ]
