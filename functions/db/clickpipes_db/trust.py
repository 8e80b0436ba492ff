"""The trust boundary, shared by both engines: how this tool marks what it owns, and what it refuses.

Marker design (what "this user is ours" means, for re-runs, offboarding and audit):

* **Users**: a role named :data:`MARKER` (``clickpipes_managed``), holding no privileges, granted to every user this
  tool creates or adopts. PostgreSQL: ``CREATE ROLE clickpipes_managed NOLOGIN`` + ``COMMENT ON ROLE`` saying what it
  is, then ``GRANT clickpipes_managed TO u`` (the way Teleport's automatic user provisioning marks its users with a
  role). MySQL 8 / MariaDB 10.5+: ``CREATE ROLE clickpipes_managed`` + ``GRANT clickpipes_managed TO 'u'@'%'`` (both
  engines have roles; MariaDB has no user attributes, MySQL's ``ATTRIBUTE`` would be a second design for one engine).
  Why a role rather than a comment or a naming rule: a role membership is catalog state that ``pg_dumpall`` and a
  dump of the ``mysql`` schema carry over (``GRANT clickpipes_managed TO u``), it cannot be forged by choosing a
  name, it is one catalog lookup to ask, and ``DROP ROLE``/``REVOKE`` undoes it. Only a direct membership without
  ADMIN OPTION counts: the admin that creates the role may be given ADMIN OPTION on it by the server (MariaDB
  always, PostgreSQL 16+ for CREATEROLE admins), which does not make the admin ours.
* **Publications** (PostgreSQL): ``COMMENT ON PUBLICATION p IS`` :data:`PUBLICATION_COMMENT` (comments are dumped
  with the publication). A publication without it belongs to someone else and is used as it is, never altered.

Users with admin-class rights, the admin itself, the marker role and the engines' reserved accounts are never
converted (:class:`~clickpipes.errors.ProtectedUserError`, not overridable); any other existing user that still
logs in with a password is converted only when the operator says so (``adopt_existing``; else
:class:`~clickpipes.errors.ExistingUserError`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from clickpipes.errors import ExistingUserError, ProtectedUserError
from clickpipes.trust import MARKER_ROLE as MARKER  # one home for the name: clickpipes.trust
from clickpipes.trust import is_reserved

__all__ = ["MARKER", "MARKER_COMMENT", "PUBLICATION_COMMENT", "PUBLICATION_MARK", "is_reserved"]
MARKER_COMMENT: Final = (
    "Marker of clickpipes-onboarding: the roles that are members of this one (without ADMIN OPTION) were created or "
    "adopted by it, to log in with IAM for ClickHouse ClickPipes. Holds no privileges; never log in with it."
)
PUBLICATION_MARK: Final = "clickpipes-onboarding"  # what the comment of our publications contains
PUBLICATION_COMMENT: Final = (
    f"Created by {PUBLICATION_MARK} for ClickHouse ClickPipes CDC: this tool keeps it holding exactly the tables it "
    "was asked for. Without this comment, the tool leaves the publication as it is."
)


def protected(user: str, reasons: Sequence[str]) -> ProtectedUserError:
    return ProtectedUserError(
        f"db_user '{user}' is protected: it is {' and '.join(reasons)}. The onboarding never converts such a user to "
        "IAM (it would lose its password login, and ClickPipes would hold its rights), whatever the options. Choose "
        "another db_user: a new name, which the onboarding creates with only what ClickPipes needs. Nothing was "
        "changed."
    )


def existing(user: str, how: str) -> ExistingUserError:
    return ExistingUserError(
        f"db_user '{user}' already exists, was not created by this onboarding, and {how}: converting it to IAM would "
        "end its password login and break whatever uses it. Choose another db_user (a new name is created), or, if "
        "nothing logs in with it, run again with adopt_existing_user: true to convert it. Nothing was changed."
    )


def adopted_warning(user: str, *, converted: bool, plan_only: bool) -> str:
    """The warning naming an existing user the run adopts (or, with plan_only, would adopt)."""
    was, is_ = ("would be", "would then be") if plan_only else ("was", "is now")
    mark = f"{is_} marked as managed by this tool (role {MARKER})"
    if converted:
        logs = "would then log in" if plan_only else "now logs in"
        return (
            f"Existing user '{user}' {was} adopted (adopt_existing_user): it {logs} with IAM only (its password no "
            f"longer works) and {mark}."
        )
    return f"Existing user '{user}' already logged in with IAM only: it {was} adopted as it is and {mark}."
