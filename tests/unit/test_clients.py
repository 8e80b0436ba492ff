"""clickpipes.aws.clients: a client in the DB's account and region (home, another region, a member account)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.credentials import RefreshableCredentials
from clickpipes.aws import clients
from clickpipes.errors import AccountNotAllowedError, ConfigurationError
from clickpipes.settings import AccountSettings, RoleSettings

from tests.harness.helpers import account_session

HOME, MEMBER, OUTSIDER = "123456789012", "210987654321", "333333333333"
ROLE = "clickpipes-iam-member"


@pytest.fixture
def members(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME_ACCOUNT", HOME)
    monkeypatch.setenv("MEMBER_ROLE_NAME", ROLE)
    monkeypatch.setenv("MEMBER_ACCOUNTS", f"{MEMBER}, 444444444444")


def member_role(account: str = MEMBER) -> str:
    """The member role in ``account``, created there with credentials moto maps to that account."""
    iam = account_session(account, role="setup").client("iam")
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": HOME}, "Action": "sts:AssumeRole"}]}
    return str(iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def calls(client: Any) -> list[str]:
    seen: list[str] = []
    client.meta.events.register("before-call.*.*", lambda model, **_: seen.append(model.name))
    return seen


def test_home_account_and_region_is_the_function_s_own_client(aws: None, members: None) -> None:
    assert clients.client_in("rds", HOME, "us-east-1") is clients.client("rds")
    assert clients.client_for_reference("rds", "orders").meta is clients.client("rds").meta


def test_home_account_in_another_region_is_a_regional_client(aws: None, members: None) -> None:
    west = clients.client_in("rds", HOME, "us-west-2")
    assert west.meta.region_name == "us-west-2"
    assert clients.client_for_reference("rds", f"arn:aws:rds:us-west-2:{HOME}:db:orders").meta is west.meta


@pytest.mark.parametrize("role_name", ["", ROLE])
def test_an_account_outside_member_accounts_is_refused_before_any_call(
    aws: None, members: None, monkeypatch: pytest.MonkeyPatch, role_name: str
) -> None:
    monkeypatch.setenv("MEMBER_ROLE_NAME", role_name)
    sts = clients.client("sts", "us-east-1")
    seen = calls(sts)
    account = OUTSIDER if role_name else MEMBER  # without MemberRoleName no member account is allowed
    with pytest.raises(AccountNotAllowedError, match=f"account {account} is not in MemberAccounts"):
        clients.client_in("rds", account, "us-east-1")
    assert seen == []


def test_a_member_account_is_reached_as_its_member_role_once_per_container(aws: None, members: None) -> None:
    role_arn = member_role()
    seen = calls(clients.client("sts", "us-east-1"))
    iam = clients.client_in("iam", MEMBER, "us-east-1")
    rds_west = clients.client_in("rds", MEMBER, "us-west-2")
    assert seen == []  # deferred: no AssumeRole until the first call
    iam.create_role(RoleName="made-here", AssumeRolePolicyDocument="{}")
    rds_west.describe_db_instances()
    assert seen == ["AssumeRole"]  # one session per member account, every service and region on it
    assert clients.client_in("iam", MEMBER, "us-east-1") is iam
    home_roles = [r["RoleName"] for r in boto3.client("iam", region_name="us-east-1").list_roles()["Roles"]]
    assert "made-here" not in home_roles
    assert iam.get_role(RoleName="made-here")["Role"]["Arn"] == f"arn:aws:iam::{MEMBER}:role/made-here"
    session = clients.assumed_session(role_arn, "us-east-1")
    credentials = session.get_credentials()
    assert isinstance(credentials, RefreshableCredentials)  # botocore assumes again before the expiry
    assert credentials.method == "sts-assume-role"


def test_a_member_role_that_cannot_be_assumed_is_a_configuration_error(
    aws: None, members: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sts = clients.client("sts", "us-east-1")

    def refuse(**_: Any) -> Any:
        raise sts.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")

    monkeypatch.setattr(sts, "assume_role", refuse)
    with pytest.raises(ConfigurationError, match="deploy the member template"):
        clients.client_in("rds", MEMBER, "us-east-1").describe_db_instances()


def test_session_name_is_the_function_name_at_most_64_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-" + "x" * 80)
    assert clients.session_name() == ("stack-" + "x" * 80)[:64]
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    assert clients.session_name() == "clickpipes-iam"


def test_the_boundary_follows_the_account(members: None) -> None:
    settings = RoleSettings.from_env()
    assert settings.boundary_for(HOME, "aws") == settings.permissions_boundary_arn
    assert settings.boundary_for(MEMBER, "aws") == f"arn:aws:iam::{MEMBER}:policy/{ROLE}-boundary"


def test_member_accounts_must_be_account_ids() -> None:
    with pytest.raises(ConfigurationError, match="MEMBER_ACCOUNTS"):
        AccountSettings.from_env({"MEMBER_ACCOUNTS": "12345,abc"})
    assert AccountSettings.from_env({"MEMBER_ACCOUNTS": ""}).member_accounts == ()


def test_without_home_account_every_non_member_account_is_home() -> None:
    settings = AccountSettings.from_env({"MEMBER_ACCOUNTS": MEMBER, "MEMBER_ROLE_NAME": ROLE})
    assert settings.is_home(HOME)
    assert not settings.is_home(MEMBER)
