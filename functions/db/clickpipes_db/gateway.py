"""The Database port of the steps (``clickpipes.steps.ports.Database``), over both drivers."""

from __future__ import annotations

from clickpipes.models import AdminCredentials, DbUserResult
from clickpipes.rules import EngineFamily
from clickpipes.settings import DbSettings

from clickpipes_db import mysql, postgres
from clickpipes_db.tls import Tls


class DatabaseGateway:
    def __init__(self, settings: DbSettings) -> None:
        self._tls = Tls(mode=settings.tls_mode, ca_bundle=settings.ca_bundle)
        self._timeout = settings.connect_timeout_seconds

    def ensure_iam_user(self, family: EngineFamily, credentials: AdminCredentials, user: str) -> DbUserResult:
        if family == "postgres":
            with postgres.connect(credentials, self._tls, self._timeout) as conn:
                return postgres.ensure_iam_user(conn, user)
        with mysql.connect(credentials, self._tls, self._timeout) as conn:
            return mysql.ensure_iam_user(conn, user)
