"""The audit's Database port (``clickpipes.steps.audit_ports.AuditDatabase``): what only the server can tell.

The user and the CDC objects are checked by the onboarding's own code in plan mode (``DatabaseGateway``); this adds
what the onboarding does not look at: PostgreSQL's inactive replication slots and the WAL each holds, and whether
the IAM user has a password too (readable only where the admin may read ``pg_authid``; RDS's master may not)."""

from __future__ import annotations

from typing import Final

from clickpipes.audit_models import DbInspection
from clickpipes.models import AdminCredentials
from clickpipes.rules import EngineFamily

from clickpipes_db import postgres
from clickpipes_db.faults import postgres_faults
from clickpipes_db.gateway import DatabaseGateway

SLOTS_SQL: Final = (
    "SELECT slot_name::text, COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint "
    "FROM pg_replication_slots WHERE NOT active ORDER BY slot_name"
)
PASSWORD_SQL: Final = (
    "SELECT CASE WHEN has_table_privilege('pg_catalog.pg_authid', 'SELECT') THEN "
    "  (SELECT rolpassword IS NOT NULL FROM pg_catalog.pg_authid WHERE rolname = %(user)s) END"
)


class AuditDatabaseGateway(DatabaseGateway):
    def inspect(self, family: EngineFamily, credentials: AdminCredentials, user: str) -> DbInspection:
        """PostgreSQL: every inactive replication slot with the bytes of WAL it holds back, and whether ``user`` has
        a password besides rds_iam (None: the admin cannot tell). The MySQL family: nothing to add (its password is
        its plugin, which the onboarding's plan checks)."""
        if family != "postgres":
            return DbInspection()
        with (
            postgres.connect(credentials, self._tls, self._timeout) as conn,
            postgres_faults("The admin user may not read pg_replication_slots or the roles ({detail})."),
        ):
            slots = [(str(name), int(size)) for name, size in conn.execute(SLOTS_SQL).fetchall()]
            row = conn.execute(PASSWORD_SQL, {"user": user}).fetchone()
        return DbInspection(inactive_slots=slots, password=None if row is None or row[0] is None else bool(row[0]))
