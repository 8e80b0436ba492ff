"""The Database port of the steps (``clickpipes.steps.ports.Database``), over both drivers."""

from __future__ import annotations

from clickpipes.models import AdminCredentials, CdcDbRequest, CdcDbResult, DbUserResult
from clickpipes.rules import EngineFamily
from clickpipes.settings import DbSettings

from clickpipes_db import cdc_mysql, cdc_postgres, mysql, postgres
from clickpipes_db.tls import Tls


class DatabaseGateway:
    def __init__(self, settings: DbSettings) -> None:
        self._tls = Tls(mode=settings.tls_mode, ca_bundle=settings.ca_bundle)
        self._timeout = settings.connect_timeout_seconds

    def ensure_iam_user(
        self, family: EngineFamily, credentials: AdminCredentials, user: str, *, plan_only: bool = False
    ) -> DbUserResult:
        if family == "postgres":
            with postgres.connect(credentials, self._tls, self._timeout) as conn:
                return postgres.ensure_iam_user(conn, user, plan_only=plan_only)
        with mysql.connect(credentials, self._tls, self._timeout) as conn:
            return mysql.ensure_iam_user(conn, user, plan_only=plan_only)

    def configure_cdc(self, family: EngineFamily, credentials: AdminCredentials, request: CdcDbRequest) -> CdcDbResult:
        """Grants, publication (PostgreSQL) or binlog retention (MySQL family) for CDC; see ``cdc_postgres`` and
        ``cdc_mysql``. The request's names are checked before connecting: a bad name never reaches a server."""
        if family == "postgres":
            cdc_postgres.check_request(request)
            with postgres.connect(credentials, self._tls, self._timeout) as conn:
                return cdc_postgres.configure_cdc(conn, request)
        cdc_mysql.check_request(request)
        with mysql.connect(credentials, self._tls, self._timeout) as conn:
            return cdc_mysql.configure_cdc(conn, request)
