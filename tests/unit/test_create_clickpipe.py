"""CreateClickPipe over the ClickHouseCloud port (tests/fakes.py): the body, the refusals, idempotency, the wait."""

from __future__ import annotations

import re
from typing import Any

import pytest
from clickpipes import clickpipe_rules
from clickpipes.errors import ClickPipeFailedError, ClickPipeRefusedError, InvalidInputError
from clickpipes.models import CdcDbResult, CdcOptions, CreateClickPipeRequest, OnboardingOutput, Target
from clickpipes.steps.create_clickpipe import create_clickpipe
from clickpipes.steps.offboard_delete_role import delete_clickpipe

from tests.fakes import FakeClickHouseCloud, FakeRds
from tests.unit.conftest import load_event

SERVICE = "5f1e2d3c-1b2a-4c3d-8e9f-001122334455"
ROLE = "arn:aws:iam::123456789012:role/clickpipes/clickpipes-orders-pg-1a2b3c4d"


class Tags:
    def __init__(self) -> None:
        self.tags: dict[str, dict[str, str]] = {}

    def tag_role(self, role: str, tags: dict[str, str]) -> None:
        self.tags.setdefault(role, {}).update(tags)


def request(
    engine: str = "postgres",
    modes: tuple[str, ...] = ("initial_load", "cdc"),
    published: CdcDbResult | None = None,
    **pipe: Any,
) -> Any:
    target: dict[str, Any] = load_event("create_iam_role.json")["target"]
    target |= {
        "engine": engine,
        "clickhouse_service_id": SERVICE,
        "clickpipe": {"name": "orders", "destination_database": "analytics", "tables": ["public.orders"]} | pipe,
    }
    output = OnboardingOutput(
        **{
            k: target[k]
            for k in ("db_identifier", "kind", "engine", "engine_version", "resource_id", "endpoint", "port")
        },
        db_user="clickpipes_iam_user",
        dbuser_arn="arn:aws:rds-db:us-east-1:123456789012:dbuser:db-X/clickpipes_iam_user",
        role_arn=ROLE,
        pipe_modes=list(modes),
        changes=[],
        warnings=[],
        plan_only=target.get("plan_only", False),
        requested_by=None,
    )
    return CreateClickPipeRequest(target=Target.model_validate(target), output=output, cdc_database=published)


def published(*tables: str, count: int | None = None, unpublished: tuple[str, ...] = ()) -> CdcDbResult:
    return CdcDbResult(
        changes=[],
        published_tables=list(tables),
        published_count=len(tables) if count is None else count,
        unpublished=list(unpublished),
    )


def run(req: Any, api: FakeClickHouseCloud, rds: FakeRds | None = None, **options: Any) -> Any:
    return create_clickpipe(
        req,
        clickhouse=api,
        iam=Tags(),
        rds=rds or FakeRds(),
        poll_seconds=1,
        max_wait_seconds=5,
        sleep=lambda _: None,
        **options,
    )


@pytest.mark.parametrize("engine", list(clickpipe_rules.SOURCE_TYPES))
def test_body_per_engine(engine: Any) -> None:
    api = FakeClickHouseCloud({})
    result = run(request(engine), api)
    [body] = api.created
    kind = "postgres" if "postgres" in engine else "mysql"
    source = body["source"][kind]
    assert (source["type"], source["authentication"], source["iamRole"]) == (
        clickpipe_rules.SOURCE_TYPES[engine],
        "IAM_ROLE",
        ROLE,
    )
    assert source["tableMappings"] == [
        {"sourceSchemaName": "public", "sourceTable": "orders", "targetTable": "public_orders"}
    ]
    assert ("database" in source) is (kind == "postgres")
    assert (result.clickpipe_state, result.clickpipe_id) == ("Running", next(iter(api.pipes[SERVICE])))


def test_cdc_without_cdc_in_pipe_modes_is_refused_with_the_reason() -> None:
    api = FakeClickHouseCloud({})
    with pytest.raises(ClickPipeRefusedError, match="reboot"):
        run(request(modes=("initial_load",)), api)
    assert api.created == []


def test_without_clickpipe_tables_the_published_tables_are_mapped_and_the_db_tagged() -> None:
    api, rds = FakeClickHouseCloud({}), FakeRds()
    req = request(tables=None, published=published("public.items", "sales.orders"))
    result = run(req, api, rds)
    [body] = api.created
    assert [
        (m["sourceSchemaName"], m["sourceTable"], m["targetTable"]) for m in body["source"]["postgres"]["tableMappings"]
    ] == [
        ("public", "items", "public_items"),
        ("sales", "orders", "sales_orders"),
    ]
    assert rds.tag_values[req.target.arn] == {clickpipe_rules.STATUS_TAG: result.clickpipe_state}


@pytest.mark.parametrize(
    ("reported", "fragment"),
    [
        (None, "reported no published tables"),
        (published(), "no table is published"),
        (published(*(f"public.t{i}" for i in range(3)), count=501), "501 tables are published, more than the 500"),
    ],
)
def test_no_usable_published_tables_is_refused(reported: CdcDbResult | None, fragment: str) -> None:
    api = FakeClickHouseCloud({})
    with pytest.raises(ClickPipeRefusedError, match=fragment):
        run(request(tables=None, published=reported), api)
    assert api.created == []


def test_clickpipe_tables_not_published_are_refused_by_name() -> None:
    api = FakeClickHouseCloud({})
    reported = published("public.orders", unpublished=("public.nokey",))
    with pytest.raises(ClickPipeRefusedError, match="public.nokey are not published"):
        run(request(tables=["public.orders", "public.nokey"], published=reported), api)
    assert api.created == []


def test_published_report_is_sorted_bounded_and_names_the_unpublished() -> None:
    found = [f"s.t{i:04d}" for i in range(600)][::-1]
    report = clickpipe_rules.published_report(found, ["s.t0001", "s.zzz"])
    assert report["published_count"] == 600
    assert report["published_tables"] == sorted(found)[: clickpipe_rules.MAX_PUBLISHED_TABLES]
    assert report["unpublished"] == ["s.zzz"]


@pytest.mark.parametrize(
    ("tables", "fragment"),
    [([], "schemas ['public']"), (["public.orders"], "tables ['public.orders']")],
)
def test_clickpipe_tables_outside_the_onboarding_are_refused_up_front(tables: list[str], fragment: str) -> None:
    pipe = request(tables=["public.orders", "other.x"]).target.clickpipe
    cdc = CdcOptions(
        enabled=True,
        schemas=["public"],
        tables=tables,
        publication="clickpipes",
        binlog_retention_hours=None,
        allow_reboot=False,
    )
    with pytest.raises(InvalidInputError, match=f"other.x are not in the onboarding's {re.escape(fragment)}"):
        clickpipe_rules.check_tables(pipe, cdc)
    clickpipe_rules.check_tables(pipe.model_copy(update={"tables": ["public.orders"]}), cdc)


def test_existing_pipe_is_reused_and_a_difference_reported() -> None:
    api = FakeClickHouseCloud({})
    first = run(request(), api)
    again = run(request(destination_database="elsewhere"), api)
    assert again.clickpipe_id == first.clickpipe_id
    assert len(api.created) == 1
    assert any("destination.database" in w for w in again.warnings)
    other = run(request(tables=["public.orders", "public.items"]), api)
    assert other.clickpipe_id == first.clickpipe_id
    assert any("tableMappings: lacks public.items" in w for w in other.warnings)


def test_a_pipe_that_fails_is_named_and_one_still_starting_is_a_warning() -> None:
    with pytest.raises(ClickPipeFailedError, match="Failed"):
        run(request(), FakeClickHouseCloud({}, states=("Provisioning", "Failed")))
    slow = run(request(), FakeClickHouseCloud({}, states=("Provisioning",) * 20))
    assert slow.clickpipe_state == "Provisioning"
    assert any("still Provisioning" in w for w in slow.warnings)


def test_offboarding_without_the_api_warns_and_plan_only_deletes_nothing() -> None:
    tag = f"{SERVICE}/00000000-0000-4000-8000-000000000001"
    assert "console" in delete_clickpipe(tag, False, lambda: None)[1][0]
    api = FakeClickHouseCloud({})
    api.create_clickpipe(SERVICE, {"name": "orders"})
    assert delete_clickpipe(tag, True, lambda: api)[0]
    assert api.pipes[SERVICE]
    assert delete_clickpipe(tag, False, lambda: api) == (
        [f"ClickHouse Cloud: delete ClickPipe {tag.split('/')[1]} of service {SERVICE}"],
        [],
    )
    assert "already deleted" in delete_clickpipe(tag, False, lambda: api)[1][0]


def test_plan_only_lists_the_pipe_and_creates_nothing() -> None:
    req = request()
    planned = CreateClickPipeRequest(
        target=req.target.model_copy(update={"plan_only": True}),
        output=req.output.model_copy(update={"plan_only": True}),
    )
    api, rds = FakeClickHouseCloud({}), FakeRds()
    result = run(planned, api, rds)
    assert (result.clickpipe_state, api.created, rds.calls) == ("planned", [], [])
    assert any("create ClickPipe 'orders'" in c for c in result.changes)


def test_plan_only_before_the_publication_exists_does_not_refuse_for_want_of_tables() -> None:
    req = request(tables=None, published=CdcDbResult(changes=["CREATE PUBLICATION clickpipes FOR TABLE public.x"]))
    planned = req.model_copy(
        update={
            "target": req.target.model_copy(update={"plan_only": True}),
            "output": req.output.model_copy(update={"plan_only": True}),
        }
    )
    assert run(planned, FakeClickHouseCloud({})).clickpipe_state == "planned"
