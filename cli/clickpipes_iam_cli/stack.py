"""The deployed stack: its CloudFormation outputs, SigV4-signed API calls, its executions (boto3, botocore)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from functools import cached_property
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError, ClientError

REFUSED = frozenset({400, 403, 404, 409, 415})  # the API's answers to bad input: exit 2
MACHINES = {
    "onboarding": "OnboardingStateMachineArn",
    "offboarding": "OffboardingStateMachineArn",
    "audit": "AuditStateMachineArn",
}


class StackError(Exception):
    """AWS or the stack cannot be reached (no credentials, no such stack, no network): exit 3."""


class Stack:
    def __init__(
        self, name: str, *, profile: str | None, region: str | None, endpoint_url: str | None, api_url: str | None
    ) -> None:
        self.name, self._profile, self._region, self._endpoint_url = name, profile, region, endpoint_url
        self._api_url = api_url

    @cached_property
    def session(self) -> boto3.Session:
        try:
            # AWS_REGION as the AWS CLI reads it (botocore itself only reads AWS_DEFAULT_REGION and the profile)
            region = self._region or os.environ.get("AWS_REGION") or None
            return boto3.Session(profile_name=self._profile, region_name=region)
        except BotoCoreError as exc:
            raise StackError(str(exc)) from exc

    def _client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self._endpoint_url)  # type: ignore[call-overload]

    @cached_property
    def outputs(self) -> dict[str, str]:
        try:
            stacks = self._client("cloudformation").describe_stacks(StackName=self.name)["Stacks"]
        except (BotoCoreError, ClientError) as exc:
            raise StackError(f"stack {self.name!r}: {exc}") from exc
        return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """A SigV4-signed call of the API (the caller's credentials): its status and JSON body."""
        url = f"{(self._api_url or self.outputs['ApiUrl']).rstrip('/')}/{path}"
        if not url.startswith(("https://", "http://")):
            raise StackError(f"the API URL {url!r} is not http(s)")
        credentials = self.session.get_credentials()
        if credentials is None:
            raise StackError("no AWS credentials (profile, environment, SSO, instance role)")
        data = None if body is None else json.dumps(body).encode()
        signed = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self.session.region_name).add_auth(signed)
        request = urllib.request.Request(  # noqa: S310 (http(s) only, checked above)
            url, data=data, method=method, headers=dict(signed.headers.items())
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except (urllib.error.URLError, OSError) as exc:
            raise StackError(f"{url}: {exc}") from exc

    def executions(self, *, running: bool) -> list[dict[str, Any]]:
        """Every workflow's executions, newest first."""
        sfn, rows = self._client("stepfunctions"), []
        filters = {"statusFilter": "RUNNING"} if running else {}
        try:
            for workflow, output in MACHINES.items():
                if output not in self.outputs:
                    continue
                pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=self.outputs[output], **filters)
                for page in pages:
                    rows += [
                        {
                            "id": e["name"],
                            "workflow": workflow,
                            "status": e["status"],
                            "started_at": e["startDate"].isoformat(),
                            "stopped_at": e["stopDate"].isoformat() if e.get("stopDate") else None,
                        }
                        for e in page["executions"]
                    ]
        except (BotoCoreError, ClientError) as exc:
            raise StackError(str(exc)) from exc
        return sorted(rows, key=lambda r: r["started_at"], reverse=True)
