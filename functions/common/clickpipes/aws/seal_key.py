"""The state seal's key (``clickpipes.seal``): the stack's StateSealSecret, read through the secrets port once per
container (a cold container of a sealing or unsealing function pays one GetSecretValue; warm ones none). The key
never leaves this process: it is not logged, returned, or put in an error."""

from __future__ import annotations

from functools import cache

from clickpipes.aws.secrets import SecretsGateway
from clickpipes.errors import AdminCredentialsError, ConfigurationError
from clickpipes.seal import MIN_KEY_BYTES, Seals
from clickpipes.settings import SealSettings

KEY_FIELD = "key"  # StateSealSecret's GenerateStringKey


@cache
def seal_key(secret_arn: str) -> bytes:
    """The key in the stack's own account (the secret is the stack's, whichever account the DB is in)."""
    try:
        value = SecretsGateway().get_json(secret_arn).get(KEY_FIELD)
        problem = f"its '{KEY_FIELD}' is not a string of at least {MIN_KEY_BYTES} characters"
    except AdminCredentialsError as exc:  # the gateway's message names the error code, never a value
        value, problem = None, str(exc)
    if not isinstance(value, str) or len(value.encode()) < MIN_KEY_BYTES:
        raise ConfigurationError(
            f"Cannot use the state seal key {secret_arn} ({problem}): check the stack's StateSealSecret and this "
            "function's secretsmanager:GetSecretValue on it."
        ) from None
    return value.encode()


def seals(settings: SealSettings | None = None) -> Seals | None:
    """The function's Seals, or None when the stack seals nothing (no STATE_SEAL_SECRET_ARN: every step describes)."""
    settings = settings or SealSettings.from_env()
    if not settings.secret_arn:
        return None
    arn = settings.secret_arn
    return Seals(key=lambda: seal_key(arn), max_age=settings.max_age_seconds)
