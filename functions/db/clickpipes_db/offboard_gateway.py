"""The offboarding's Database port (``clickpipes.steps.offboard_ports.OffboardDatabase``), over both drivers."""

from __future__ import annotations

from clickpipes import rules
from clickpipes.errors import InvalidInputError
from clickpipes.models import AdminCredentials
from clickpipes.offboarding_models import DbOffboardRequest, DbOffboardResult
from clickpipes.rules import EngineFamily

from clickpipes_db import mysql, offboard_mysql, offboard_postgres, postgres, trust
from clickpipes_db.cdc_postgres import NAME_PATTERN
from clickpipes_db.gateway import DatabaseGateway


class OffboardDatabaseGateway(DatabaseGateway):
    def offboard(
        self, family: EngineFamily, credentials: AdminCredentials, request: DbOffboardRequest
    ) -> DbOffboardResult:
        """The user (dropped or disabled), the publication and the slots (PostgreSQL), the binlog retention (MySQL
        family); see ``offboard_postgres`` and ``offboard_mysql``. Names are checked before connecting."""
        rules.check_db_user(request.user)
        if request.user == credentials.username:
            raise trust.protected(request.user, ["the admin user of the admin secret"])
        if family == "postgres":
            if not NAME_PATTERN.fullmatch(request.publication):
                raise InvalidInputError(f"Publication name {request.publication!r} is not a plain identifier.")
            with postgres.connect(credentials, self._tls, self._timeout) as conn:
                return offboard_postgres.offboard(conn, request)
        with mysql.connect(credentials, self._tls, self._timeout) as conn:
            return offboard_mysql.offboard(conn, request)
