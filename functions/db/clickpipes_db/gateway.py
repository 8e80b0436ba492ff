"""The Database port of the steps (``clickpipes.steps.ports.Database``), over both drivers."""

from __future__ import annotations

from clickpipes.models import AdminCredentials, CdcDbRequest, CdcDbResult, DbUserResult
from clickpipes.rules import EngineFamily
from clickpipes.settings import DbSettings

from clickpipes_db import cdc_mysql, cdc_postgres, mysql, postgres, trust
from clickpipes_db.tls import Tls


class DatabaseGateway:
    def __init__(self, settings: DbSettings) -> None:
        self._tls = Tls(mode=settings.tls_mode, ca_bundle=settings.ca_bundle)
        self._timeout = settings.connect_timeout_seconds

    def ensure_iam_user(
        self,
        family: EngineFamily,
        credentials: AdminCredentials,
        user: str,
        *,
        plan_only: bool = False,
        adopt_existing: bool = False,
    ) -> DbUserResult:
        """The IAM user, marked as this tool's; see ``postgres.ensure_iam_user`` and ``mysql.ensure_iam_user``.

        The admin's own login is refused before connecting (ProtectedUserError); the engines check it again.
        ``adopt_existing``: convert an existing password user not created by this tool (else ExistingUserError).
        """
        if user == credentials.username:
            raise trust.protected(user, ["the admin user of the admin secret"])
        if family == "postgres":
            with postgres.connect(credentials, self._tls, self._timeout) as conn:
                return postgres.ensure_iam_user(conn, user, plan_only=plan_only, adopt_existing=adopt_existing)
        with mysql.connect(credentials, self._tls, self._timeout) as conn:
            return mysql.ensure_iam_user(conn, user, plan_only=plan_only, adopt_existing=adopt_existing)

    def configure_cdc(self, family: EngineFamily, credentials: AdminCredentials, request: CdcDbRequest) -> CdcDbResult:
        """Grants, publication (PostgreSQL) or binlog retention (MySQL family) for CDC; see ``cdc_postgres`` and
        ``cdc_mysql``. The request's names are checked before connecting: a bad name never reaches a server."""
        if family == "postgres":
            pg_wanted = cdc_postgres.check_request(request)
            with postgres.connect(credentials, self._tls, self._timeout) as conn:
                return cdc_postgres.configure_cdc(conn, pg_wanted)
        mysql_wanted = cdc_mysql.check_request(request)
        with mysql.connect(credentials, self._tls, self._timeout) as conn:
            return cdc_mysql.configure_cdc(conn, mysql_wanted)
