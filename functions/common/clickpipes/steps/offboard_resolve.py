"""Step ResolveOffboarding: from the execution input to a validated OffboardTarget. Changes nothing.

Refuses (OnboardingInProgressError) while an onboarding or another offboarding of the DB runs (``shared.hold_db``:
one guard item per DB for both state machines). What to take away is read from what the onboarding recorded on the
DB's tags (user, publication, the settings it changed), with the onboarding's defaults where nothing is recorded."""

from __future__ import annotations

import re
from typing import Final

from clickpipes import rules, trust
from clickpipes.errors import InvalidInputError
from clickpipes.offboarding_models import OffboardingInput, OffboardTarget
from clickpipes.record_tags import DB_USER_TAG, PUBLICATION_TAG, RECORD_TAGS
from clickpipes.settings import ResolveSettings
from clickpipes.steps.locate import admin_secret, db_facts, find_db, tags_of
from clickpipes.steps.ports import Guard, Rds
from clickpipes.steps.shared import BUSY, db_reference, guard_key, hold_db

DEFAULT_PUBLICATION: Final = "clickpipes"
PUBLICATION_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")


def check_offboarding_request(
    request: OffboardingInput, *, settings: ResolveSettings
) -> tuple[rules.DbKind | None, str]:
    """Everything checkable without AWS (the API answers 400 on it, before starting anything)."""
    kind, identifier = db_reference(request.db_identifier, settings=settings, workflow="offboards")
    if request.db_user is not None:
        trust.check_not_protected(rules.check_db_user(request.db_user))
    return kind, identifier


def resolve_offboarding(
    request: OffboardingInput,
    *,
    rds: Rds,
    settings: ResolveSettings,
    guard: Guard | None = None,
    execution_arn: str = "",
) -> OffboardTarget:
    kind_hint, identifier = check_offboarding_request(request, settings=settings)
    if guard is not None:
        hold_db(guard, identifier, guard_key(request.db_identifier, identifier, settings=settings), execution_arn, BUSY)
    db, warnings = find_db(rds, kind_hint, identifier)
    engine = rules.check_engine(db.engine, db.engine_version, engine_mode=db.engine_mode)
    rules.check_db_state(db.kind, db.identifier, db.status)
    tags = tags_of(rds, db)
    user = request.db_user or tags.get(DB_USER_TAG) or tags.get(rules.USER_TAG) or rules.DEFAULT_DB_USER
    rules.check_db_user(user, engine)
    trust.check_not_protected(user, master_username=db.master_username)
    publication = request.publication or tags.get(PUBLICATION_TAG) or DEFAULT_PUBLICATION
    if not PUBLICATION_NAME.fullmatch(publication):
        raise InvalidInputError(f"Tag {PUBLICATION_TAG} names no valid publication ({publication!r}): fix the tag.")
    secret_arn = admin_secret(db, request.admin_secret_arn)
    facts = db_facts(
        db, engine=engine, settings=settings, database=request.database, db_user=user, admin_secret_arn=secret_arn
    )
    return OffboardTarget(
        **facts,
        publication=publication,
        role_name=rules.role_name(db.kind, db.identifier, facts["region"]),
        records={k: tags[k] for k in RECORD_TAGS if k in tags},
        plan_only=request.plan_only,
        drop_replication_slots=request.drop_replication_slots,
        revert_settings=request.revert_settings,
        warnings=warnings,
        requested_by=request.requested_by,
    )
