"""CreateDbUser without a server: secrets, the host/port seam, TLS bundle checks, error contract."""

import json
from typing import Any

import create_db_user
import pytest
from clickpipes.errors import AdminCredentialsError, ConfigurationError, DbConnectionError, InvalidInputError
from clickpipes.models import AdminCredentials, Target
from clickpipes.steps.create_db_user import create_db_user as create_step

from tests.fakes import FakeDatabase, FakeRds, FakeSecrets, description_of, forged
from tests.unit.conftest import FakeContext, load_event

TARGET = Target(**load_event("create_db_user.json")["target"])


RDS = FakeRds(description_of(TARGET))


def test_endpoint_from_rds_unless_the_secret_names_host_and_port() -> None:
    db = FakeDatabase()
    create_step(TARGET, rds=RDS, secrets=FakeSecrets({"username": "master", "password": "pw"}), database=db)
    create_step(
        TARGET,
        rds=RDS,
        secrets=FakeSecrets({"username": "master", "password": "pw", "host": "127.0.0.1", "port": "55432"}),
        database=db,
    )
    (_, _, first, _), (_, _, second, _) = db.calls
    assert (first.host, first.port) == (TARGET.endpoint, 5432)
    assert (second.host, second.port) == ("127.0.0.1", 55432)


def test_password_never_prints() -> None:
    credentials = AdminCredentials(username="master", password="hunter2-secret", host="h", port=1, database=None)
    assert "hunter2-secret" not in repr(credentials) + str(credentials) + credentials.model_dump_json()


@pytest.mark.parametrize(
    "secret",
    [
        {},
        {"username": "master"},
        {"password": "pw"},
        {"username": "", "password": "pw"},
        {"username": "m", "password": "p", "port": "x"},
    ],
)
def test_malformed_secret_is_an_admin_credentials_error(secret: dict[str, Any]) -> None:
    with pytest.raises(AdminCredentialsError, match="must be a JSON object"):
        create_step(TARGET, rds=RDS, secrets=FakeSecrets(secret), database=FakeDatabase())


def test_unreadable_secret_names_the_problem_not_the_value(
    secrets: Any, context: FakeContext, moto_target: Any
) -> None:
    target = moto_target("create_db_user.json")
    secrets.delete_secret(SecretId=target["admin_secret_arn"], ForceDeleteWithoutRecovery=True)
    with pytest.raises(AdminCredentialsError, match="ResourceNotFoundException"):
        create_db_user.handler({"target": target}, context)


def test_non_json_secret(secrets: Any, context: FakeContext, moto_target: Any) -> None:
    arn = secrets.create_secret(Name="admin", SecretString="hunter2-secret")["ARN"]
    with pytest.raises(AdminCredentialsError, match="not a JSON object") as caught:
        create_db_user.handler({"target": moto_target("create_db_user.json", admin_secret_arn=arn)}, context)
    assert "hunter2" not in str(caught.value)


def test_missing_ca_bundle_says_how_to_get_it(
    secrets: Any, context: FakeContext, monkeypatch: pytest.MonkeyPatch, moto_target: Any
) -> None:
    arn = secrets.create_secret(
        Name="admin", SecretString=json.dumps({"username": "m", "password": "p", "host": "127.0.0.1", "port": 1})
    )["ARN"]
    monkeypatch.setenv("DB_CA_BUNDLE", "/nonexistent/rds-global-bundle.pem")
    with pytest.raises(DbConnectionError, match="make ca-bundle"):
        create_db_user.handler({"target": moto_target("create_db_user.json", admin_secret_arn=arn)}, context)


def test_bad_tls_mode_is_a_configuration_error(context: FakeContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_TLS_MODE", "disable")
    with pytest.raises(ConfigurationError, match="DB_TLS_MODE"):
        create_db_user.handler({"target": TARGET.model_dump()}, context)


def test_hostile_user_in_target_is_refused_before_any_secret_is_read() -> None:
    class NoSecrets:
        def get_json(self, arn: str) -> dict[str, Any]:
            raise AssertionError("secret read before the user name was checked")

    hostile = forged(TARGET, db_user='x"; DROP ROLE rdsadmin; --')
    with pytest.raises(InvalidInputError, match="db_user"):
        create_step(hostile, rds=RDS, secrets=NoSecrets(), database=FakeDatabase())
