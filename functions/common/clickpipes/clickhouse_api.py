"""The ClickHouse Cloud API (https://api.clickhouse.cloud): the only HTTP code of the project.

HTTP Basic auth with an API key read from Secrets Manager (``{"key_id": ..., "key_secret": ...}``); TLS is
verified (the default context). Retries: a request that cannot reach the API, or answers 429 or 5xx, is
retried here (``attempts`` in all, exponential backoff, ``Retry-After`` honoured up to ``max_delay``);
if it still fails, ``TransientError``, which the state machine retries like every transient AWS fault.
401/403 (the key is wrong or its role lacks the permission), 404 and other 4xx are ``ClickHouseApiError``,
not retried. Messages name the method, the path and the status, never the key or the Authorization header.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from clickpipes.errors import ClickHouseApiError, ConfigurationError, InvalidInputError, TransientError
from clickpipes.settings import ClickHouseApiSettings
from clickpipes.steps.ports import Secrets

UUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
RETRIED = frozenset({429, 500, 502, 503, 504})
IDLE = 424  # ClickPipes calls while the service is idle
ABSENT: dict[str, Any] = {}  # request(absent_ok=True)'s answer to 404 (compared by identity)
ADVICE = {
    401: "the API key is wrong or revoked: check the secret ClickHouseApiKeySecretArn",
    403: "the API key may not do this: give its role the permission (README, ClickHouse Cloud setup)",
    404: "not found in organization {org}: check the id (ClickHouse Cloud console, service settings)",
}


class ServiceIdleError(ClickHouseApiError):
    """424: the service is idle; the ClickPipes calls wake it and try again (never leaves this module)."""


def _open(request: urllib.request.Request, timeout: float) -> Any:
    # the scheme is https or http (ClickHouseCloudGateway checks it): never file: or a custom one
    return urllib.request.urlopen(request, timeout=timeout, context=ssl.create_default_context())  # noqa: S310


class ClickHouseCloudGateway:
    def __init__(
        self,
        *,
        base_url: str,
        organization_id: str,
        key_id: str,
        key_secret: str,
        timeout: float = 10.0,
        attempts: int = 3,
        base_delay: float = 0.5,
        max_delay: float = 5.0,
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ConfigurationError("ClickHouseApiUrl must be an https:// URL.")
        self._base = base_url.rstrip("/")
        self._org = organization_id
        token = base64.b64encode(f"{key_id}:{key_secret}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self._timeout, self._attempts = timeout, max(1, attempts)
        self._base_delay, self._max_delay = base_delay, max_delay

    def __repr__(self) -> str:  # never the key
        return f"ClickHouseCloudGateway({self._base}, organization {self._org})"

    def service_iam_role(self, service_id: str) -> str:
        """The service's IAM role ARN (``result.iamRole``): the principal ClickPipes uses."""
        if not UUID.match(service_id):
            raise InvalidInputError(
                f"clickhouse_service_id {service_id[:64]!r} is not a ClickHouse Cloud service id (a UUID)."
            )
        path = f"/v1/organizations/{quote(self._org, safe='')}/services/{quote(service_id, safe='')}"
        result = self.request("GET", path).get("result")
        role = result.get("iamRole") if isinstance(result, dict) else None
        if not isinstance(role, str) or not role.startswith("arn:"):
            raise ClickHouseApiError(
                f"ClickHouse Cloud service {service_id} has no IAM role (iamRole) in its description: "
                "pass clickhouse_role_arn instead (the console's Service role ID)."
            )
        return role

    # ClickPipes --------------------------------------------------------------------------------------------------
    def list_clickpipes(self, service_id: str) -> list[dict[str, Any]]:
        result = self._pipes_call(service_id, "GET", "").get("result")
        return [p for p in result if isinstance(p, dict)] if isinstance(result, list) else []

    def create_clickpipe(self, service_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._pipe_result(self._pipes_call(service_id, "POST", "", body))

    def get_clickpipe(self, service_id: str, pipe_id: str) -> dict[str, Any]:
        return self._pipe_result(self._pipes_call(service_id, "GET", f"/{quote(pipe_id, safe='')}"))

    def delete_clickpipe(self, service_id: str, pipe_id: str) -> bool:
        """True when deleted, False when there was no such pipe (already deleted)."""
        return self._pipes_call(service_id, "DELETE", f"/{quote(pipe_id, safe='')}", absent_ok=True) is not ABSENT

    def _pipes_call(
        self, service_id: str, method: str, tail: str, body: dict[str, Any] | None = None, *, absent_ok: bool = False
    ) -> dict[str, Any]:
        """A ClickPipes call; 424 (the service is idle) wakes the service (PATCH …/state ``awake``, as the
        ClickHouse tooling does) and tries again, ``attempts`` times in all, then TransientError."""
        service = f"/v1/organizations/{quote(self._org, safe='')}/services/{quote(service_id, safe='')}"
        for attempt in range(1, self._attempts + 1):
            try:
                return self.request(method, f"{service}/clickpipes{tail}", body, absent_ok=absent_ok)
            except ServiceIdleError:
                self.request("PATCH", f"{service}/state", {"command": "awake"})
                if attempt < self._attempts:
                    time.sleep(self._delay(attempt, None))
        raise TransientError(f"ClickHouse Cloud service {service_id} is still waking up (424); retrying later.")

    @staticmethod
    def _pipe_result(answer: dict[str, Any]) -> dict[str, Any]:
        result = answer.get("result")
        if not isinstance(result, dict) or not isinstance(result.get("id"), str):
            raise TransientError("ClickHouse Cloud API answered a ClickPipe without an id.")
        return result

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, absent_ok: bool = False
    ) -> dict[str, Any]:
        """One API call: its JSON object; the retries and the errors of the module docstring. ``absent_ok``: 404 is
        answered ``ABSENT`` rather than raised."""
        data = None if body is None else json.dumps(body).encode()
        headers = self._headers | ({"Content-Type": "application/json"} if data is not None else {})
        what = f"{method} {path}"
        for attempt in range(1, self._attempts + 1):
            request = urllib.request.Request(self._base + path, data=data, headers=headers, method=method)  # noqa: S310
            retry_after: str | None = None
            try:
                with _open(request, self._timeout) as response:
                    return _json_object(response.read(), what)
            except urllib.error.HTTPError as exc:
                status, retry_after = exc.code, exc.headers.get("Retry-After") if exc.headers else None
                if status == IDLE:
                    exc.close()
                    raise ServiceIdleError(f"ClickHouse Cloud API {what} answered 424: the service is idle.") from None
                if status == 404 and absent_ok:
                    exc.close()
                    return ABSENT
                if status not in RETRIED:
                    advice = ADVICE.get(status, "the API rejected the request: {detail}")
                    detail = _error_detail(exc)
                    raise ClickHouseApiError(
                        f"ClickHouse Cloud API {what} answered {status}: "
                        + advice.format(org=self._org, detail=detail)
                        + "."
                    ) from None
                exc.close()
                fault = f"answered {status}"
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, ssl.SSLCertVerificationError):
                    raise ConfigurationError(
                        f"ClickHouse Cloud API {self._base}: TLS verification failed ({reason.verify_message}): "
                        "check ClickHouseApiUrl."
                    ) from None
                fault = f"is unreachable ({type(reason).__name__})"
            if attempt < self._attempts:
                time.sleep(self._delay(attempt, retry_after))
        raise TransientError(f"ClickHouse Cloud API {what} {fault} after {self._attempts} attempts; retrying later.")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after.strip()), self._max_delay)
        return min(self._base_delay * 2.0 ** (attempt - 1), self._max_delay)


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        parsed = json.loads(raw or b"{}")
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise TransientError(f"ClickHouse Cloud API {what} answered something that is not a JSON object.")
    return parsed


def _error_detail(exc: urllib.error.HTTPError) -> str:
    """The API's own ``error`` text (bounded), if its body is the documented JSON error."""
    try:
        body = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        return "no details"
    error = body.get("error") if isinstance(body, dict) else None
    return str(error)[:200] if error else "no details"


def gateway(settings: ClickHouseApiSettings, secrets: Secrets) -> ClickHouseCloudGateway | None:
    """The API client of the stack's settings, or None when the stack has no ClickHouse Cloud API settings."""
    if not settings.configured:
        return None
    key = secrets.get_json(settings.api_key_secret_arn)
    key_id, key_secret = key.get("key_id"), key.get("key_secret")
    if not (isinstance(key_id, str) and key_id and isinstance(key_secret, str) and key_secret):
        raise ConfigurationError(
            f"Secret {settings.api_key_secret_arn} (ClickHouseApiKeySecretArn) is not a JSON object with "
            "'key_id' and 'key_secret' (the ClickHouse Cloud API key)."
        )
    return ClickHouseCloudGateway(
        base_url=settings.api_url, organization_id=settings.organization_id, key_id=key_id, key_secret=key_secret
    )
