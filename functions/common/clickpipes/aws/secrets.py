"""Secrets Manager: the admin credentials. The secret's value never leaves the function that reads it."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from clickpipes.aws.clients import THROTTLING_CODES, client, error_code, transient_faults
from clickpipes.errors import AdminCredentialsError

ADVICE = {
    "ResourceNotFoundException": "it does not exist; pass admin_secret_arn, or let RDS manage the master "
    "password (ManageMasterUserPassword)",
    "AccessDeniedException": "this function's role may not read it; allow secretsmanager:GetSecretValue on it "
    "(stack parameter AdminSecretArns)",
    "DecryptionFailure": "its KMS key cannot decrypt it; allow kms:Decrypt for this function's role",
    "InvalidRequestException": "it is scheduled for deletion or disabled; restore it",
}


class SecretsGateway:
    def __init__(self, secrets: Any | None = None) -> None:
        self._secrets = secrets or client("secretsmanager")

    def get_json(self, arn: str) -> dict[str, Any]:
        """The secret's JSON object; AdminCredentialsError (naming no value) when unreadable or not JSON."""
        with transient_faults(f"read secret {arn}"):
            try:
                value = self._secrets.get_secret_value(SecretId=arn).get("SecretString")
            except ClientError as exc:
                code = error_code(exc)
                if code in THROTTLING_CODES:
                    raise
                advice = ADVICE.get(code, "check that it exists and that this function may read it")
                raise AdminCredentialsError(f"Cannot read admin secret {arn} ({code}): {advice}.") from None
        try:
            parsed = json.loads(value or "")
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise AdminCredentialsError(
                f"Admin secret {arn} is not a JSON object with 'username' and 'password' (the RDS secret format)."
            )
        return parsed
