"""Sealed descriptions: the DB as one step of an execution described it, carried to a later step with an HMAC, so
that step may act on it instead of describing the DB again (issue 14, part 5).

A step may be invoked directly, so it never trusts facts in its input (``steps.shared.described``). A seal is
different: it is made by a step of this stack (ResolveTarget, CheckDbStatus) from RDS's answer, with a key only the
stack's sealing functions may read. ``unseal`` gives the description back only when its MAC verifies, it is at most
``max_age`` seconds old, and it is of the DB the step's target names (ARN, resource id, partition, region, account):
anything else is ``None`` and the step describes as it would without a seal. A seal whose MAC does not verify is
``SealError`` (nothing done). The description holds no secret (no password); the seal is a MAC, not encryption.

Pure logic: the key and the clock come from the caller (``clickpipes.aws.seal_key`` reads the key)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clickpipes import rules
from clickpipes.errors import ConfigurationError, SealError
from clickpipes.models import DbDescription, DbFacts
from clickpipes.models.base import ValidationError

VERSION = 1
DEFAULT_MAX_AGE_SECONDS = 120
CLOCK_SKEW_SECONDS = 5  # a seal from a few seconds "ahead" (another container's clock) still counts as fresh
MIN_KEY_BYTES = 32
FIELDS = frozenset({"v", "description", "issued_at", "mac"})


def canonical(description: dict[str, Any], issued_at: int) -> bytes:
    """What the MAC covers: the version, the description's fields and issued_at, as canonical JSON."""
    body = {"v": VERSION, "description": description, "issued_at": issued_at}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _mac(key: bytes, description: dict[str, Any], issued_at: int) -> str:
    if len(key) < MIN_KEY_BYTES:
        raise ConfigurationError(
            f"The state seal key is shorter than {MIN_KEY_BYTES} bytes: check the stack's StateSealSecret."
        )
    return hmac.new(key, canonical(description, issued_at), hashlib.sha256).hexdigest()


def seal(description: DbDescription, key: bytes, now: float) -> dict[str, Any]:
    """The description, sealed at ``now`` (epoch seconds)."""
    fields = description.model_dump(mode="json")
    issued_at = int(now)
    return {"v": VERSION, "description": fields, "issued_at": issued_at, "mac": _mac(key, fields, issued_at)}


def unseal(
    sealed: dict[str, Any] | None,
    key: bytes,
    target: DbFacts,
    now: float,
    max_age: int = DEFAULT_MAX_AGE_SECONDS,
) -> DbDescription | None:
    """The sealed description, when it verifies, is fresh and is of ``target``'s DB; else None (describe).
    SealError when the MAC does not verify (or the seal is not one this stack makes)."""
    if not sealed:
        return None
    description, issued_at, mac = _parts(sealed)
    if sealed["v"] != VERSION:  # sealed by another version of the stack's code: describe instead
        return None
    if not hmac.compare_digest(_mac(key, description, issued_at), mac):
        raise SealError(
            f"The step's seal does not verify with the stack's key (edited, forged, or sealed by another stack): "
            f"run the {target.workflow} from the start. Nothing was changed."
        )
    if not -CLOCK_SKEW_SECONDS <= now - issued_at <= max_age:
        return None
    try:
        db = DbDescription.model_validate(description)
    except ValidationError:  # sealed by another version of the stack's code: describe instead
        return None
    return db if same_db(db, target) else None


def same_db(db: DbDescription, target: DbFacts) -> bool:
    """The checks of ``steps.shared.described``: the ARN, resource id, partition, region and account RDS gave."""
    match = rules.DB_ARN_PATTERN.fullmatch(db.arn)
    if match is None:
        return False
    actual = (db.kind, db.identifier, db.arn, db.resource_id, match["partition"], match["region"], match["account"])
    claimed = (
        target.kind,
        target.db_identifier,
        target.arn,
        target.resource_id,
        target.partition,
        target.region,
        target.account,
    )
    return actual == claimed


def _parts(sealed: dict[str, Any]) -> tuple[dict[str, Any], int, str]:
    description, issued_at, mac = sealed.get("description"), sealed.get("issued_at"), sealed.get("mac")
    if (
        set(sealed) != FIELDS
        or not isinstance(description, dict)
        or not isinstance(issued_at, int)
        or isinstance(issued_at, bool)
        or not isinstance(mac, str)
    ):
        raise SealError(
            "The step's seal is not one this stack makes (fields v, description, issued_at, mac): run the workflow "
            "from the start. Nothing was changed."
        )
    return description, issued_at, mac


@dataclass(frozen=True)
class Seals:
    """What a step seals and unseals with: the stack's key (read on first use), the maximum age, the clock."""

    key: Callable[[], bytes]
    max_age: int = DEFAULT_MAX_AGE_SECONDS
    clock: Callable[[], float] = time.time

    def seal(self, description: DbDescription) -> dict[str, Any]:
        return seal(description, self.key(), self.clock())

    def unseal(self, sealed: dict[str, Any] | None, target: DbFacts) -> DbDescription | None:
        if not sealed:
            return None
        return unseal(sealed, self.key(), target, self.clock(), self.max_age)
