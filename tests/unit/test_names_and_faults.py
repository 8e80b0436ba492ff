"""One home per rule: the name patterns (clickpipes.names) and the driver-error translation (clickpipes_db.faults)."""

from __future__ import annotations

import psycopg
import pymysql
import pytest
from clickpipes import names, rules
from clickpipes.errors import DbPrivilegeError, TransientError
from clickpipes.models import OnboardingRequest, Target
from clickpipes.models.base import Base
from clickpipes_db import cdc_mysql, cdc_postgres
from clickpipes_db.faults import mysql_faults, postgres_faults
from psycopg import errors


def test_every_module_uses_the_one_pattern() -> None:
    assert rules.DB_USER_PATTERN is names.DB_USER_PATTERN
    assert rules.MYSQL_SCHEMA is names.MYSQL_NAME_PATTERN is cdc_mysql.IDENTIFIER
    assert cdc_postgres.NAME_PATTERN is names.PG_NAME_PATTERN
    assert rules.DB_IDENTIFIER_PATTERN is names.DB_IDENTIFIER_INPUT_PATTERN
    assert rules.BINLOG_RETENTION_MAX["aurora-mysql"] == cdc_mysql.AURORA_MAX_RETENTION
    assert cdc_mysql.RDS_MAX_RETENTION == rules.BINLOG_RETENTION_MAX["mysql"] == rules.BINLOG_RETENTION_MAX["mariadb"]


def _field_pattern(model: type, field: str) -> str | None:
    schema = model.model_json_schema()  # type: ignore[attr-defined]
    prop = schema["properties"][field]
    candidates = [prop, *prop.get("anyOf", []), prop.get("items", {})]
    candidates += [c.get("items", {}) for c in prop.get("anyOf", [])]
    return next((c["pattern"] for c in candidates if "pattern" in c), None)


def test_the_models_use_the_same_patterns() -> None:
    assert _field_pattern(Target, "db_user") == names.anchored(names.DB_USER)
    assert _field_pattern(Target, "db_identifier") == names.anchored(names.DB_IDENTIFIER)
    assert _field_pattern(OnboardingRequest, "database") == names.anchored(names.DATABASE)
    assert _field_pattern(OnboardingRequest, "publication") == names.anchored(names.PG_NAME)


@pytest.mark.parametrize("name", ["ok_name", "a$b", "_x"])
def test_a_postgres_name_the_model_allows_the_engine_allows(name: str) -> None:
    assert names.PG_NAME_PATTERN.fullmatch(name)


def test_postgres_faults() -> None:
    with (
        pytest.raises(DbPrivilegeError, match=r"may not \(permission denied for schema s\)"),
        postgres_faults("may not ({detail})"),
    ):
        raise errors.InsufficientPrivilege("permission denied for schema s\nHINT: ask the owner")
    with pytest.raises(TransientError, match="Connection to PostgreSQL lost"), postgres_faults("may not ({detail})"):
        raise psycopg.OperationalError("server closed the connection unexpectedly")
    with pytest.raises(errors.UndefinedTable), postgres_faults("may not ({detail})"):
        raise errors.UndefinedTable("no such table")


def test_mysql_faults() -> None:
    with (
        pytest.raises(DbPrivilegeError, match=r"may not \(SELECT command denied\)"),
        mysql_faults("may not ({detail})"),
    ):
        raise pymysql.err.OperationalError(1142, "SELECT command denied")
    with pytest.raises(TransientError, match="Connection to MySQL lost"), mysql_faults("may not ({detail})"):
        raise pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query")
    with pytest.raises(pymysql.err.OperationalError), mysql_faults("may not ({detail})"):
        raise pymysql.err.OperationalError(1045, "Access denied")  # at login: the caller's to name
    with pytest.raises(DbPrivilegeError), mysql_faults("may not ({detail})", access_denied_is_privilege=True):
        raise pymysql.err.OperationalError(1045, "Access denied")


def test_every_step_result_says_changes() -> None:
    """What a step did (or, with plan_only, would do) is ``changes`` in every result: no ``actions``."""
    from clickpipes.models import steps

    results: list[type[Base]] = [
        m for name, m in vars(steps).items() if name.endswith("Result") and isinstance(m, type) and issubclass(m, Base)
    ]
    assert {"DbUserResult", "CdcDbResult", "IamRoleResult"} <= {m.__name__ for m in results}
    for model in results:
        assert "actions" not in model.model_fields, model.__name__
    assert "changes" in steps.DbUserResult.model_fields
    assert "changes" in steps.CdcDbResult.model_fields
