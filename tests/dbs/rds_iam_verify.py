#!/usr/bin/python3
"""Offline verifier for Amazon RDS IAM authentication tokens (a test double for RDS).

An RDS IAM auth token is a SigV4 *presigned URL* without its scheme, as produced by boto3's
``rds.generate_db_auth_token(DBHostname, Port, DBUsername, Region)``::

    db.example:5432/?Action=connect&DBUser=alice&X-Amz-Algorithm=AWS4-HMAC-SHA256
        &X-Amz-Credential=AKIA.../20250101/us-east-1/rds-db/aws4_request&X-Amz-Date=20250101T120000Z
        &X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=<hex>

Real RDS asks IAM; this module recomputes the signature with the secret keys of a config file and
checks user, action, region, service, validity window and signature.

Command line (used by the PAM module pam_rds_iam.c for PostgreSQL and by the MariaDB ``AWSAuthenticationPlugin``)::

    rds_iam_verify.py [--config FILE] [--replication] [USER]   # the token on stdin (NUL or newline ends it)

USER defaults to ``$PAM_USER``. The config is ``--config FILE``, else ``$RDS_IAM_CONFIG``, else
``config.json`` beside this file. Exit status: 0 valid, 1 refused (reason on stderr), 2 usage/config.

Config (JSON)::

    {"keys": {"AKIA...": "secret"}, "region": "us-east-1",
     "max_skew_seconds": 300, "allowed_hosts": ["127.0.0.1:55432"], "authorities_dir": "/.../iam/authorities"}

``authorities_dir`` is optional: a token signed with other credentials (STS session credentials of the local
world) is decided by the local IAM whose URL is in a file there (``ask_authorities``).

``allowed_hosts`` is optional: when empty, any ``host:port`` in the token is accepted (tests sign
tokens for fake RDS endpoints and connect to 127.0.0.1).

Standard library only and Python 3.11 compatible: it runs as /usr/bin/python3 under the
``postgres`` and ``mysql`` OS users.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "rds-db"
ACTION = "connect"
MAX_EXPIRES_SECONDS = 900
MAX_TOKEN_LENGTH = 4096
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_EMPTY_PAYLOAD_SHA256 = hashlib.sha256(b"").hexdigest()

EXIT_VALID, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


class TokenError(ValueError):
    """The token is malformed or not valid for this login; the message says why."""


class ConfigError(ValueError):
    """The verifier's config file is unusable."""


@dataclass(frozen=True)
class Config:
    """Known test credentials and policy of the verifier."""

    keys: Mapping[str, str]
    region: str
    max_skew_seconds: int = 300
    allowed_hosts: tuple[str, ...] = field(default_factory=tuple)
    authorities_dir: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Config:
        """Build a Config from the JSON document (see the module docstring)."""
        keys = data.get("keys")
        region = data.get("region")
        if not isinstance(keys, dict) or not keys or not isinstance(region, str) or not region:
            raise ConfigError("config needs a non-empty 'keys' object and a 'region' string")
        skew = data.get("max_skew_seconds", 300)
        hosts = data.get("allowed_hosts") or []
        if not isinstance(skew, int) or not isinstance(hosts, list):
            raise ConfigError("config: 'max_skew_seconds' must be an int, 'allowed_hosts' a list")
        return cls(
            keys={str(k): str(v) for k, v in keys.items()},
            region=region,
            max_skew_seconds=skew,
            allowed_hosts=tuple(str(h).lower() for h in hosts),
            authorities_dir=str(data.get("authorities_dir") or ""),
        )


def load_config(path: str) -> Config:
    """Read a Config from a JSON file."""
    with open(path, encoding="utf-8") as fh:
        return Config.from_dict(json.load(fh))


def default_config_path() -> str:
    """$RDS_IAM_CONFIG, else config.json beside this file."""
    return os.environ.get("RDS_IAM_CONFIG") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.json")


@dataclass(frozen=True)
class ParsedToken:
    """A token split into its parts; ``params`` keeps the raw (still encoded) query pairs."""

    host: str
    path: str
    raw_params: tuple[tuple[str, str], ...]
    params: Mapping[str, str]


def parse_token(token: str) -> ParsedToken:
    """Split ``host:port/?query`` into host, path and decoded parameters.

    Raises TokenError for anything that is not a single well-formed presigned URL.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise TokenError(f"empty or oversized token ({len(token)} chars)")
    if "://" in token or any(c.isspace() for c in token):
        raise TokenError("token must be host:port/?query without scheme or whitespace")
    parts = urlsplit("https://" + token)
    if not parts.netloc or not parts.query or parts.fragment:
        raise TokenError("token is not a presigned URL (host:port/?query)")
    raw: list[tuple[str, str]] = []
    decoded: dict[str, str] = {}
    for pair in parts.query.split("&"):
        key, sep, value = pair.partition("=")
        if not key or not sep:
            raise TokenError(f"malformed query parameter {pair[:40]!r}")
        name = unquote(key)
        if name in decoded:
            raise TokenError(f"duplicate query parameter {name!r}")
        raw.append((key, value))
        decoded[name] = unquote(value)
    return ParsedToken(parts.netloc.lower(), parts.path or "/", tuple(raw), decoded)


def _aws_quote(value: str) -> str:
    """URI-encode the way SigV4 wants it (RFC 3986 unreserved characters stay)."""
    return quote(value, safe="-_.~")


def canonical_query_string(raw_params: Sequence[tuple[str, str]]) -> str:
    """Sorted, normalised query string of every parameter except the signature."""
    pairs = sorted(
        (_aws_quote(unquote(k)), _aws_quote(unquote(v))) for k, v in raw_params if unquote(k) != "X-Amz-Signature"
    )
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_host(host: str) -> str:
    """Host header as botocore signs it: lower case, default https port dropped."""
    host = host.lower()
    return host[: -len(":443")] if host.endswith(":443") else host


def signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    """Derive the SigV4 signing key for one day/region/service."""
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def expected_signature(parsed: ParsedToken, secret_key: str) -> str:
    """Recompute the hex SigV4 signature of a parsed token with the given secret key."""
    amz_date = parsed.params["X-Amz-Date"]
    _akid, day, region, service, _term = parsed.params["X-Amz-Credential"].split("/")
    canonical_request = "\n".join(
        [
            "GET",
            parsed.path,
            canonical_query_string(parsed.raw_params),
            f"host:{canonical_host(parsed.host)}\n",
            "host",
            _EMPTY_PAYLOAD_SHA256,
        ]
    )
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            amz_date,
            f"{day}/{region}/{service}/aws4_request",
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = signing_key(secret_key, day, region, service)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _check_validity_window(params: Mapping[str, str], day: str, config: Config, now: dt.datetime) -> None:
    amz_date = params.get("X-Amz-Date", "")
    try:
        signed_at = dt.datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=dt.UTC)
        expires = int(params.get("X-Amz-Expires", ""))
    except ValueError:
        raise TokenError("bad X-Amz-Date or X-Amz-Expires") from None
    if day != amz_date[:8]:
        raise TokenError("credential scope date does not match X-Amz-Date")
    if not 0 < expires <= MAX_EXPIRES_SECONDS:
        raise TokenError(f"X-Amz-Expires={expires} not in 1..{MAX_EXPIRES_SECONDS}")
    if signed_at - dt.timedelta(seconds=config.max_skew_seconds) > now:
        raise TokenError(f"token signed in the future ({amz_date})")
    if now > signed_at + dt.timedelta(seconds=expires):
        raise TokenError(f"token expired (signed {amz_date}, valid {expires}s)")


def verify_token(
    token: str, user: str, config: Config, now: dt.datetime | None = None, *, replication: bool = False
) -> None:
    """Raise TokenError unless ``token`` is a valid RDS IAM token for ``user`` under ``config``.

    ``now`` (timezone-aware, default: the current time) is for tests. ``replication``: the login opens a
    (logical) replication connection; a local IAM then also checks that the DB lets IAM users replicate.
    """
    now = now or dt.datetime.now(dt.UTC)
    parsed = parse_token(token)
    params = parsed.params
    if parsed.path != "/":
        raise TokenError(f"unexpected path {parsed.path!r}")
    if params.get("Action") != ACTION:
        raise TokenError(f"Action must be {ACTION!r}")
    if params.get("DBUser") != user:
        raise TokenError(f"token is for DBUser={params.get('DBUser')!r}, not {user!r}")
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise TokenError("unsupported X-Amz-Algorithm")
    if params.get("X-Amz-SignedHeaders") != "host":
        raise TokenError("X-Amz-SignedHeaders must be 'host'")
    scope = params.get("X-Amz-Credential", "").split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise TokenError("malformed X-Amz-Credential")
    access_key_id, day, region, service, _ = scope
    secret_key = config.keys.get(access_key_id)
    if secret_key is None and config.authorities_dir:
        ask_authorities(token, user, config.authorities_dir, replication=replication)
        return
    if secret_key is None:
        raise TokenError(f"unknown access key id {access_key_id!r}")
    if region != config.region:
        raise TokenError(f"token is for region {region!r}, not {config.region!r}")
    if service != SERVICE:
        raise TokenError(f"token is for service {service!r}, not {SERVICE!r}")
    if config.allowed_hosts and canonical_host(parsed.host) not in config.allowed_hosts:
        raise TokenError(f"token is for host {parsed.host!r}, not one of {list(config.allowed_hosts)}")
    _check_validity_window(params, day, config, now)
    signature = params.get("X-Amz-Signature", "")
    if not hmac.compare_digest(expected_signature(parsed, secret_key), signature):
        raise TokenError("signature does not match")


def ask_authorities(token: str, user: str, directory: str, timeout: float = 5.0, *, replication: bool = False) -> None:
    """Ask each local IAM (tests/harness/iam_authority.py, one URL per file in ``directory``) about a token
    signed with credentials that are not static keys; the first that knows them decides. Raises TokenError."""
    body = json.dumps({"token": token, "user": user, "replication": replication}).encode()
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        names = []
    for name in names:
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as fh:
                url = fh.read().strip()
            if not url.startswith("http://127.0.0.1:"):
                continue
            request = urllib.request.Request(url, body, {"Content-Type": "application/json"})  # noqa: S310
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1 only
                answer = json.load(response)
        except (OSError, ValueError):
            continue  # a world that has gone away
        if answer.get("known"):
            if answer.get("allowed"):
                return
            raise TokenError(f"IAM: {answer.get('reason')}")
    raise TokenError("unknown access key id (no local IAM knows these credentials)")


def read_token(data: bytes) -> str:
    """Token from raw stdin bytes: a NUL or a newline (a shell) ends it."""
    return data.split(b"\0", 1)[0].decode("utf-8", errors="replace").strip()


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    config_path = default_config_path()
    if args[:1] == ["--config"]:
        if len(args) < 2:
            print("usage: rds_iam_verify.py [--config FILE] [USER] < token", file=sys.stderr)
            return EXIT_USAGE
        config_path, args = args[1], args[2:]
    replication = args[:1] == ["--replication"]  # pam_rds_iam.so: the backend is a database walsender
    if replication:
        args = args[1:]
    if len(args) > 1:
        print("usage: rds_iam_verify.py [--config FILE] [USER] < token", file=sys.stderr)
        return EXIT_USAGE
    user = args[0] if args else os.environ.get("PAM_USER", "")
    try:
        config = load_config(config_path)
    except (OSError, ValueError) as exc:
        print(f"rds_iam_verify: cannot load config {config_path}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    token = read_token(sys.stdin.buffer.read())
    try:
        verify_token(token, user, config, replication=replication)
    except TokenError as exc:
        print(f"rds_iam_verify: refused user={user!r} token_len={len(token)}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_VALID


if __name__ == "__main__":
    sys.exit(main())
