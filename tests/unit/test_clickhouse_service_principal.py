"""clickhouse_service_id: ResolveTarget reads the service's iamRole; CreateIamRole reads it again and trusts it
without AllowedClickHousePrincipals (the operator's own organization); every refusal is named, changes nothing."""

from typing import Any

import pytest
import resolve_target as resolve_handler  # noqa: F401  (imported at collection: its tracer opens a socket)
from clickpipes.errors import ClickHouseApiError, ConfigurationError, InvalidInputError, PrincipalNotAllowedError
from clickpipes.models import OnboardingInput, Target
from clickpipes.settings import ResolveSettings, RoleSettings
from clickpipes.steps.create_iam_role import create_iam_role
from clickpipes.steps.resolve_target import resolve_target

from tests.fakes import FakeClickHouseCloud
from tests.unit.conftest import PRINCIPAL, FakeContext, resolve

SERVICE = "5f1e2d3c-1b2a-4c3d-8e9f-001122334455"
OUTSIDER = "arn:aws:iam::999988887777:role/CH-S3-steel-xx-18-ue1-29-Role"  # not in the allowlist


def test_the_service_role_is_the_principal(make_db: Any, rds: Any) -> None:
    make_db("orders-pg")
    api = FakeClickHouseCloud({SERVICE: OUTSIDER})
    target = resolve_target(
        OnboardingInput(db_identifier="orders-pg", clickhouse_service_id=SERVICE),
        rds=_rds(),
        settings=ResolveSettings.from_env(),
        clickhouse=lambda: api,
    )
    assert (target.clickhouse_role_arn, target.clickhouse_service_id, api.reads) == (OUTSIDER, SERVICE, [SERVICE])


def test_both_principals_are_refused(make_db: Any, context: FakeContext) -> None:
    make_db("orders-pg")
    event = {"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL, "clickhouse_service_id": SERVICE}
    with pytest.raises(InvalidInputError, match="not both"):
        resolve(event, context)


def test_a_stack_without_the_api_refuses_service_id_and_clickpipe(make_db: Any, context: FakeContext) -> None:
    make_db("orders-pg")
    with pytest.raises(InvalidInputError, match="ClickHouseOrganizationId"):
        resolve({"db_identifier": "orders-pg", "clickhouse_service_id": SERVICE}, context)
    pipe = {"name": "orders", "destination_database": "orders"}
    with pytest.raises(InvalidInputError, match="clickhouse_service_id needs the ClickHouse Cloud API"):
        resolve({"db_identifier": "orders-pg", "clickhouse_service_id": SERVICE, "clickpipe": pipe}, context)
    with pytest.raises(InvalidInputError, match="clickpipe needs clickhouse_service_id"):
        resolve({"db_identifier": "orders-pg", "clickhouse_role_arn": PRINCIPAL, "clickpipe": pipe}, context)


def test_cdc_pipe_without_cdc_setup_is_refused(make_db: Any) -> None:
    make_db("orders-pg")
    request = OnboardingInput.model_validate(
        {
            "db_identifier": "orders-pg",
            "clickhouse_service_id": SERVICE,
            "cdc": False,
            "clickpipe": {"name": "orders", "destination_database": "orders", "replication_mode": "cdc"},
        }
    )
    with pytest.raises(InvalidInputError, match="cdc: false"):
        resolve_target(request, rds=_rds(), settings=ResolveSettings.from_env(), clickhouse=_api)


def test_unknown_service_is_a_named_error(make_db: Any) -> None:
    make_db("orders-pg")
    with pytest.raises(ClickHouseApiError, match="404"):
        resolve_target(
            OnboardingInput(db_identifier="orders-pg", clickhouse_service_id=SERVICE),
            rds=_rds(),
            settings=ResolveSettings.from_env(),
            clickhouse=lambda: FakeClickHouseCloud({}),
        )


def test_create_iam_role_trusts_the_service_role_it_reads_again(moto_target: Any, iam: Any) -> None:
    target = Target.model_validate(moto_target() | {"clickhouse_role_arn": OUTSIDER, "clickhouse_service_id": SERVICE})
    api = FakeClickHouseCloud({SERVICE: OUTSIDER})
    result = create_iam_role(target, iam=_iam(), rds=_rds(), settings=RoleSettings.from_env(), clickhouse=lambda: api)
    assert result.created
    assert api.reads == [SERVICE]
    assert OUTSIDER in str(iam.get_role(RoleName=result.role_name)["Role"]["AssumeRolePolicyDocument"])


@pytest.mark.parametrize("roles", [{SERVICE: "arn:aws:iam::999988887777:role/another"}, None])
def test_create_iam_role_refuses_a_claimed_service_role(moto_target: Any, iam: Any, roles: Any) -> None:
    target = Target.model_validate(moto_target() | {"clickhouse_role_arn": OUTSIDER, "clickhouse_service_id": SERVICE})
    api = None if roles is None else FakeClickHouseCloud(roles)
    error = ConfigurationError if roles is None else PrincipalNotAllowedError
    with pytest.raises(error):
        create_iam_role(target, iam=_iam(), rds=_rds(), settings=RoleSettings.from_env(), clickhouse=lambda: api)
    assert iam.list_roles(PathPrefix="/clickpipes/")["Roles"] == []


def _rds() -> Any:
    from clickpipes.aws.rds import RdsGateway

    return RdsGateway()


def _iam() -> Any:
    from clickpipes.aws.iam import IamGateway

    return IamGateway()


def _api() -> FakeClickHouseCloud:
    return FakeClickHouseCloud({SERVICE: OUTSIDER})
