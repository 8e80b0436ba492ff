"""boto3 clients with one retry policy, and the translation of AWS faults into the error contract.

A DB's RDS, IAM and Secrets Manager are reached in the DB's account and region (``client_in``): the stack's own
account as the function's role, another region of it with a regional client, a member account (MemberAccounts)
by assuming its member role (MemberRoleName), once per account per container, refreshed before it expires."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, Final

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, DeferredRefreshableCredentials
from botocore.exceptions import ClientError, ConnectionError, EndpointConnectionError

from clickpipes import rules
from clickpipes.errors import ConfigurationError, TransientError
from clickpipes.settings import AccountSettings

# botocore's standard mode: exponential backoff with jitter on throttling and 5xx, in the client.
# What still fails after that surfaces as TransientError, which the state machine retries in turn.
CLIENT_CONFIG: Final = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)

THROTTLING_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
    }
)


@cache
def client(service: str, region: str | None = None) -> Any:
    """One client per service (and region) per container. The endpoint honours AWS_ENDPOINT_URL(_<SERVICE>)."""
    return boto3.session.Session().client(service, region_name=region, config=CLIENT_CONFIG)  # type: ignore[call-overload]


def client_in(service: str, account: str, region: str) -> Any:
    """A client acting in ``account`` and ``region``: the function's own credentials in the stack's account, a
    member account's role (AccountNotAllowedError, before any call, for an account not in MemberAccounts)."""
    settings = AccountSettings.from_env()
    if settings.is_home(account):
        return client(service) if region in ("", settings.region) else client(service, region)
    settings.check_account(account)
    partition = rules.partition_of(region)
    return member_client(settings.member_role_arn(account, partition), settings.region or region, service, region)


def client_for(service: str, db: Any) -> Any:
    """``client_in`` the account and region of ``db`` (a Target, DbFacts or anything with both)."""
    return client_in(service, db.account, db.region)


def client_for_reference(service: str, reference: object) -> Any:
    """``client_in`` the account and region a DB ARN names; the stack's own for an identifier (or anything else:
    the step refuses what is not a DB reference). Made on first use: the step checks the reference first, so an
    account outside MemberAccounts is its named refusal, not the handler's."""

    def make() -> Any:
        place = rules.place_of_arn(reference) if isinstance(reference, str) else None
        return client(service) if place is None else client_in(service, *place)

    return Deferred(make)


class Deferred:
    """A client made when it is first used."""

    def __init__(self, make: Any) -> None:
        self._make = make
        self._made: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._made is None:
            self._made = self._make()
        return getattr(self._made, name)


def session_name() -> str:
    """The role session: this function's name (CloudTrail in the member account names who acted)."""
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "clickpipes-iam"
    return "".join(c if c.isalnum() or c in "+=,.@-_" else "-" for c in name)[:64]


@cache
def assumed_session(role_arn: str, sts_region: str) -> boto3.session.Session:
    """A session as the member role: AssumeRole (regional STS endpoint) on first use, again before the
    credentials expire (botocore refreshes them), one per role per container."""
    sts = client("sts", sts_region)

    def assume() -> dict[str, str]:
        with transient_faults(f"assume {role_arn}"):
            try:
                credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name())["Credentials"]
            except ClientError as exc:
                if error_code(exc) in THROTTLING_CODES:
                    raise
                raise ConfigurationError(
                    f"Cannot assume the member role {role_arn} ({error_code(exc)}): deploy the member template in "
                    "that account with this stack's MemberCallerRoleArns, and the same MemberRoleName."
                ) from None
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }

    core = botocore.session.get_session()
    core.register_component("credential_provider", CredentialResolver([_Assumed(assume)]))
    return boto3.session.Session(botocore_session=core)


class _Assumed(CredentialProvider):
    METHOD = "sts-assume-role"

    def __init__(self, assume: Any) -> None:
        super().__init__()
        self._assume = assume

    def load(self) -> DeferredRefreshableCredentials:
        return DeferredRefreshableCredentials(refresh_using=self._assume, method=self.METHOD)


@cache
def member_client(role_arn: str, sts_region: str, service: str, region: str) -> Any:
    """One client per member role, service and region per container, on the role's one session."""
    session = assumed_session(role_arn, sts_region)
    return session.client(service, region_name=region, config=CLIENT_CONFIG)  # type: ignore[call-overload]


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def transient_faults(action: str) -> Iterator[None]:
    """Turn throttling and network faults that outlived the client's retries into TransientError."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in THROTTLING_CODES:
            raise TransientError(
                f"{action}: AWS is throttling or unavailable ({error_code(exc)}); will retry."
            ) from exc
        raise
    except (EndpointConnectionError, ConnectionError) as exc:
        raise TransientError(f"{action}: cannot reach the AWS endpoint; will retry.") from exc
