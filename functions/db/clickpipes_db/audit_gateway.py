"""The audit's Database port (``clickpipes.steps.audit_ports.AuditDatabase``): what only the server can tell.

The user and the CDC objects are checked by the onboarding's own code in plan mode (``DatabaseGateway``); this adds
what the onboarding does not look at: PostgreSQL's inactive replication slots and the WAL each holds.

A PostgreSQL user's password is not read: RDS's master may not read ``pg_authid``, and a member of rds_iam logs in
with a token only, password or not (the onboarding's plan checks rds_iam). A MySQL-family user's password is its
plugin, which the plan checks too."""

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


class AuditDatabaseGateway(DatabaseGateway):
    def inspect(self, family: EngineFamily, credentials: AdminCredentials, user: str) -> DbInspection:
        """PostgreSQL: every inactive replication slot with the bytes of WAL it holds back. The MySQL family: none."""
        if family != "postgres":
            return DbInspection()
        with (
            postgres.connect(credentials, self._tls, self._timeout) as conn,
            postgres_faults("The admin user may not read pg_replication_slots ({detail})."),
        ):
            slots = [(str(name), int(size)) for name, size in conn.execute(SLOTS_SQL).fetchall()]
        return DbInspection(inactive_slots=slots)
