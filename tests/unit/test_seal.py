"""The state seal (``clickpipes.seal``): a description sealed by one step stands in for the next step's describe
only when its MAC verifies with the stack's key, it is fresh and it is of the target's DB. A forged or edited seal
is SealError before anything is done; a stale seal, or one of another DB, makes the step describe as before."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from clickpipes import seal as sealing
from clickpipes.errors import ConfigurationError, InvalidInputError, SealError
from clickpipes.models import Target
from clickpipes.steps.create_db_user import create_db_user
from clickpipes.steps.create_iam_role import create_iam_role
from clickpipes.steps.enable_iam_auth import enable_iam_auth

from tests.fakes import SEAL_KEY, SEAL_NOW, FakeDatabase, FakeRds, FakeSecrets, description_of, fake_seals
from tests.unit.conftest import load_event

TARGET = Target(**load_event("create_db_user.json")["target"])
DB = description_of(TARGET)
ADMIN = {"username": "master", "password": "pw"}


def sealed(**changes: Any) -> dict[str, Any]:
    return sealing.seal(description_of(TARGET, **changes), SEAL_KEY, SEAL_NOW)


# seal.py: pure ------------------------------------------------------------------------------------------------
def test_a_valid_seal_gives_the_description_back() -> None:
    assert sealing.unseal(sealed(), SEAL_KEY, TARGET, SEAL_NOW + 5) == DB


def test_the_seal_is_canonical_json_with_an_hmac() -> None:
    seal = sealed()
    assert set(seal) == {"v", "description", "issued_at", "mac"}
    assert seal["issued_at"] == int(SEAL_NOW)
    assert len(seal["mac"]) == 64
    assert sealing.canonical(seal["description"], seal["issued_at"]).startswith(b'{"description":{')
    assert "pw" not in str(seal)  # a description holds no password: the seal is a MAC, not a secret


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("endpoint", "attacker.example.com"),
        ("master_secret_arn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-other"),
        ("master_username", "someone"),
        ("resource_id", "db-OTHER"),
        ("status", "available "),
    ],
)
def test_an_edited_description_is_a_seal_error(field: str, value: str) -> None:
    seal = sealed()
    seal["description"][field] = value
    with pytest.raises(SealError, match="Nothing was changed"):
        sealing.unseal(seal, SEAL_KEY, TARGET, SEAL_NOW)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s.update(issued_at=s["issued_at"] + 60),
        lambda s: s.update(mac="0" * 64),
        lambda s: s.pop("mac"),
        lambda s: s.update(issued_at="1800000000"),
        lambda s: s.update(extra=1),
        lambda s: s.update(description="{}"),
    ],
)
def test_a_tampered_or_malformed_seal_is_a_seal_error(tamper: Any) -> None:
    seal = sealed()
    tamper(seal)
    with pytest.raises(SealError):
        sealing.unseal(seal, SEAL_KEY, TARGET, SEAL_NOW)


def test_a_seal_of_another_key_is_a_seal_error() -> None:
    other = sealing.seal(DB, b"x" * 48, SEAL_NOW)
    with pytest.raises(SealError):
        sealing.unseal(other, SEAL_KEY, TARGET, SEAL_NOW)
    assert issubclass(SealError, InvalidInputError)


@pytest.mark.parametrize(("age", "fresh"), [(0, True), (120, True), (121, False), (-5, True), (-6, False)])
def test_a_stale_seal_is_none(age: int, fresh: bool) -> None:
    got = sealing.unseal(sealed(), SEAL_KEY, TARGET, SEAL_NOW + age, max_age=120)
    assert (got == DB) if fresh else got is None


@pytest.mark.parametrize(
    "other",
    [
        {"arn": "arn:aws:rds:us-east-1:123456789012:db:another"},
        {"identifier": "another"},
        {"resource_id": "db-RECREATED"},
        {"arn": TARGET.arn.replace(":us-east-1:", ":eu-west-1:")},
        {"arn": TARGET.arn.replace(":123456789012:", ":210987654321:")},
    ],
)
def test_a_seal_of_another_db_is_none(other: dict[str, str]) -> None:
    assert sealing.unseal(sealed(**other), SEAL_KEY, TARGET, SEAL_NOW) is None


def test_no_seal_is_none_and_a_seal_of_another_version_is_none() -> None:
    assert sealing.unseal(None, SEAL_KEY, TARGET, SEAL_NOW) is None
    assert sealing.unseal({}, SEAL_KEY, TARGET, SEAL_NOW) is None
    assert sealing.unseal(sealed() | {"v": 2}, SEAL_KEY, TARGET, SEAL_NOW) is None


def test_a_short_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="shorter than 32 bytes"):
        sealing.seal(DB, b"short", SEAL_NOW)


# the steps: a seal stands in for the describe, a forged one changes nothing ----------------------------------
def test_create_db_user_acts_on_a_valid_seal_without_describing() -> None:
    rds, database, secrets = FakeRds(DB), FakeDatabase(), FakeSecrets(ADMIN)
    create_db_user(TARGET, rds=rds, secrets=secrets, database=database, seal=sealed(), seals=fake_seals())
    assert rds.describes == []
    (_, _, credentials, _), *_ = database.calls
    assert credentials.host == DB.endpoint


def test_create_db_user_with_a_forged_endpoint_changes_nothing() -> None:
    """A direct invoker edits the endpoint (and would point the admin's password at their host): SealError, before
    the describe, the secret read and any database call."""
    forged = sealed()
    forged["description"]["endpoint"] = "attacker.example.com"
    rds, database, secrets = FakeRds(DB), FakeDatabase(), FakeSecrets(ADMIN)
    with pytest.raises(SealError, match="Nothing was changed"):
        create_db_user(TARGET, rds=rds, secrets=secrets, database=database, seal=forged, seals=fake_seals())
    assert (rds.describes, rds.calls, secrets.reads, database.calls) == ([], [], [], [])


def test_a_forged_secret_binding_with_a_fresh_mac_of_another_key_changes_nothing() -> None:
    """Someone without the stack's key seals their own description (another admin secret bound, their host)."""
    theirs = description_of(TARGET, endpoint="attacker.example.com", master_secret_arn=TARGET.admin_secret_arn)
    forged = sealing.seal(theirs, b"attacker-key-" * 4, SEAL_NOW)
    rds, database, secrets = FakeRds(DB), FakeDatabase(), FakeSecrets(ADMIN)
    with pytest.raises(SealError):
        create_db_user(TARGET, rds=rds, secrets=secrets, database=database, seal=forged, seals=fake_seals())
    assert (rds.describes, secrets.reads, database.calls) == ([], [], [])


def test_a_stale_seal_or_one_of_another_db_makes_the_step_describe() -> None:
    for seal, seals in ((sealed(), fake_seals(now=SEAL_NOW + 121)), (sealed(resource_id="db-OLD"), fake_seals())):
        rds, database = FakeRds(DB), FakeDatabase()
        create_db_user(TARGET, rds=rds, secrets=FakeSecrets(ADMIN), database=database, seal=seal, seals=seals)
        assert rds.describes == [(TARGET.kind, TARGET.db_identifier)]


def test_a_seal_is_not_used_by_a_function_without_the_key() -> None:
    rds = FakeRds(DB)
    create_db_user(TARGET, rds=rds, secrets=FakeSecrets(ADMIN), database=FakeDatabase(), seal=sealed(), seals=None)
    assert rds.describes == [(TARGET.kind, TARGET.db_identifier)]


def test_the_sealed_description_is_still_checked_like_a_describe() -> None:
    """The seal only replaces the describe: the secret binding and protected users are checked on it as before."""
    from clickpipes.errors import ProtectedUserError

    seal = sealed(master_username=TARGET.db_user)
    with pytest.raises(ProtectedUserError):
        create_db_user(
            TARGET, rds=FakeRds(DB), secrets=FakeSecrets(ADMIN), database=FakeDatabase(), seal=seal, seals=fake_seals()
        )


def test_enable_iam_auth_with_an_edited_seal_modifies_nothing() -> None:
    target = TARGET.model_copy(update={"iam_auth_enabled": False})
    forged = sealing.seal(description_of(target, iam_auth_enabled=False), SEAL_KEY, SEAL_NOW)
    forged = copy.deepcopy(forged)
    forged["description"]["pending_modifications"] = []  # (unchanged) ...
    forged["description"]["iam_auth_enabled"] = True  # ... but claims IAM is on: the step would skip
    rds = FakeRds(description_of(target, iam_auth_enabled=False))
    with pytest.raises(SealError):
        enable_iam_auth(target, rds=rds, seal=forged, seals=fake_seals())
    assert (rds.describes, rds.calls) == ([], [])


def test_create_iam_role_uses_the_sealed_resource_id_without_describing() -> None:
    from clickpipes.settings import RoleSettings

    from tests.fakes import FakeIam

    target = Target(**load_event("create_iam_role.json")["target"])
    boundary = "arn:aws:iam::123456789012:policy/clickpipes/boundary"
    settings = RoleSettings.model_validate(
        {"PERMISSIONS_BOUNDARY_ARN": boundary, "CLICKHOUSE_ROLE_ARN": target.clickhouse_role_arn}
    )
    rds, iam = FakeRds(description_of(target)), FakeIam()
    seal = sealing.seal(description_of(target), SEAL_KEY, SEAL_NOW)
    result = create_iam_role(target, iam=iam, rds=rds, settings=settings, seal=seal, seals=fake_seals())
    assert rds.describes == []
    assert result.dbuser_arn.split(":dbuser:")[1].startswith(target.resource_id)


# the producers: what they seal, and when ---------------------------------------------------------------------
def test_check_db_status_seals_only_a_ready_poll() -> None:
    from clickpipes.models import CheckDbStatusRequest
    from clickpipes.steps.check_db_status import check_db_status

    request = CheckDbStatusRequest(target=TARGET, max_wait_seconds=60)
    busy = check_db_status(request, rds=FakeRds(description_of(TARGET, status="modifying")), seals=fake_seals())
    ready = check_db_status(request, rds=FakeRds(DB), seals=fake_seals())
    assert (busy.ready, busy.seal) == (False, None)
    assert ready.ready
    assert sealing.unseal(ready.seal, SEAL_KEY, TARGET, SEAL_NOW) == DB
    assert check_db_status(request, rds=FakeRds(DB), seals=None).seal is None


def test_the_writer_first_poll_describes_the_cluster_only_once_the_writer_is_back() -> None:
    from clickpipes.models import CheckDbStatusRequest
    from clickpipes.steps.check_db_status import check_db_status

    target = Target(**load_event("configure_cdc_database.json")["target"]).model_copy(
        update={
            "kind": "cluster",
            "db_identifier": "shop",
            "arn": "arn:aws:rds:us-east-1:123456789012:cluster:shop",
            "resource_id": "cluster-ABC",
        }
    )
    cluster = description_of(target)
    writer = description_of(target, kind="instance", identifier="shop-writer", status="rebooting")
    rds = FakeRds(cluster, writer)
    request = CheckDbStatusRequest(target=target, max_wait_seconds=60, instance="shop-writer")
    assert not check_db_status(request, rds=rds, seals=fake_seals()).ready
    assert rds.describes == [("instance", "shop-writer")]
    rds.dbs[("instance", "shop-writer")] = writer.model_copy(update={"status": "available"})
    result = check_db_status(request, rds=rds, seals=fake_seals())
    assert result.ready
    assert result.seal is not None
    assert rds.describes[1:] == [("instance", "shop-writer"), ("cluster", "shop")]


def test_resolve_target_seals_an_available_db_only() -> None:
    from clickpipes.models import OnboardingInput
    from clickpipes.settings import ResolveSettings
    from clickpipes.steps.resolve_target import resolve_sealed

    request = OnboardingInput.model_validate(load_event("resolve_target.json")["request"])
    db = description_of(TARGET).model_copy(update={"identifier": request.db_identifier})
    settings = ResolveSettings.from_env()
    for status, seals_it in (("available", True), ("modifying", False)):
        rds = FakeRds(db.model_copy(update={"status": status}))
        resolved = resolve_sealed(request, rds=rds, settings=settings, seals=fake_seals())
        assert (resolved.seal is not None) == seals_it
    assert resolve_sealed(request, rds=FakeRds(db), settings=settings, seals=None).seal is None


# the key: read once per container, never shown ---------------------------------------------------------------
def test_the_key_is_read_once_per_container_and_never_shown(secrets: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from clickpipes.aws import seal_key

    value = "A1" * 32
    arn = secrets.create_secret(Name="seal", SecretString='{"key": "' + value + '"}')["ARN"]
    monkeypatch.setenv("STATE_SEAL_SECRET_ARN", arn)
    seal_key.seal_key.cache_clear()
    from clickpipes.aws.secrets import SecretsGateway

    reads: list[str] = []
    original = SecretsGateway.get_json

    def counted(self: SecretsGateway, secret_arn: str) -> dict[str, Any]:
        reads.append(secret_arn)
        return original(self, secret_arn)

    monkeypatch.setattr(SecretsGateway, "get_json", counted)
    seals = seal_key.seals()
    assert seals is not None
    assert seals.max_age == 120
    one, two = seals.seal(DB), seal_key.seals().seal(DB)  # type: ignore[union-attr]
    assert reads == [arn]
    assert value not in str(one) + str(two)
    seal_key.seal_key.cache_clear()


def test_an_unusable_key_is_a_configuration_error_naming_no_value(secrets: Any) -> None:
    from clickpipes.aws import seal_key

    arn = secrets.create_secret(Name="short", SecretString='{"key": "tiny-secret-value"}')["ARN"]
    seal_key.seal_key.cache_clear()
    with pytest.raises(ConfigurationError) as raised:
        seal_key.seal_key(arn)
    assert "tiny-secret-value" not in str(raised.value)
    missing = arn.replace("short", "gone")
    with pytest.raises(ConfigurationError, match="ResourceNotFoundException"):
        seal_key.seal_key(missing)
    seal_key.seal_key.cache_clear()


def test_without_a_seal_secret_nothing_is_sealed(monkeypatch: pytest.MonkeyPatch) -> None:
    from clickpipes.aws import seal_key

    monkeypatch.delenv("STATE_SEAL_SECRET_ARN", raising=False)
    assert seal_key.seals() is None
