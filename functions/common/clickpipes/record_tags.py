"""What the onboarding records on the DB's tags, so that an offboarding can undo exactly what it changed.

Plain constants, apart from the offboarding's models: an onboarding step that writes a tag loads no offboarding
model (cold starts)."""

from __future__ import annotations

from typing import Final

IAM_AUTH_BY_US_TAG: Final = "clickpipes:iam-auth-enabled-by-us"  # "true": EnableIamAuth turned it on
ORIGINAL_GROUP_TAG: Final = "clickpipes:original-parameter-group"  # the group before ours was attached
ORIGINAL_RETENTION_TAG: Final = "clickpipes:original-binlog-retention"  # hours, or "NULL" (RDS default)
DB_USER_TAG: Final = "clickpipes:onboarded-db-user"  # the user the onboarding created
PUBLICATION_TAG: Final = "clickpipes:onboarded-publication"  # the publication it created (PostgreSQL)
RECORD_TAGS: Final = (IAM_AUTH_BY_US_TAG, ORIGINAL_GROUP_TAG, ORIGINAL_RETENTION_TAG)
OFFBOARDED: Final = "offboarded"
