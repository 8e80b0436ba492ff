"""Fixtures of the integration suite (real local DB servers): the DB gateway the CDC tests share."""

from __future__ import annotations

import pytest
from clickpipes.settings import DbSettings
from clickpipes_db.gateway import DatabaseGateway

from tests.dbs.servers import LocalDbsEnv


@pytest.fixture(scope="module")
def gateway(local_dbs: LocalDbsEnv) -> DatabaseGateway:
    return DatabaseGateway(DbSettings.from_env({"DB_TLS_MODE": "verify-full", "DB_CA_BUNDLE": local_dbs.ca_file}))
