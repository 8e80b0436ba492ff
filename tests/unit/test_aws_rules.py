"""The pure rules behind AWS fidelity: CDC parameters decided from the group's own answer, ApplyMethod from
ApplyType, AllowedValues, GTID left alone, reboot order per engine and version (see docs/aws-facts.md)."""

import pytest
from clickpipes import rules
from clickpipes.rules import ParameterInfo

DYNAMIC = ParameterInfo(value=None, modifiable=True, apply_type="dynamic")
STATIC = ParameterInfo(value=None, modifiable=True, apply_type="static")


def test_apply_method_follows_apply_type() -> None:
    assert rules.apply_method(DYNAMIC) == "immediate"
    assert rules.apply_method(STATIC) == "pending-reboot"
    assert rules.apply_method(ParameterInfo(None, True, "")) == "pending-reboot"  # unknown: never immediate


@pytest.mark.parametrize(
    ("allowed", "value", "ok"),
    [
        (None, "x", True),
        ("ROW,STATEMENT,MIXED", "row", True),
        ("ROW,STATEMENT,MIXED", "FULL", False),
        ("0-1", "1", True),
        ("0-1", "2", False),
    ],
)
def test_allowed_values(allowed: str | None, value: str, ok: bool) -> None:
    assert rules.value_allowed(ParameterInfo(None, True, "dynamic", allowed), value) is ok


def test_mysql_parameters_no_longer_include_gtid() -> None:
    for engine in ("mysql", "mariadb", "aurora-mysql"):
        names = {p.name for p in rules.CDC_PARAMETERS[engine]}
        assert names == {"binlog_format", "binlog_row_image", "binlog_row_metadata"}
        assert not {"gtid-mode", "enforce_gtid_consistency"} & set(rules.parameters_to_read(engine))


def test_plan_sets_what_the_group_has_with_its_apply_method() -> None:
    infos = {
        "binlog_format": STATIC._replace(value="OFF", allowed_values="ROW,STATEMENT,MIXED,OFF"),
        "binlog_row_image": DYNAMIC._replace(value="FULL"),
        "binlog_row_metadata": DYNAMIC,
    }
    plan = rules.plan_cdc_parameters("aurora-mysql", "aurora-mysql8.0", infos)
    assert plan.to_set == {"binlog_format": ("ROW", "pending-reboot"), "binlog_row_metadata": ("FULL", "immediate")}
    assert plan.warnings == []


def test_plan_names_what_the_family_lacks_or_cannot_modify() -> None:
    infos = {"binlog_format": STATIC, "binlog_row_image": DYNAMIC._replace(value="MINIMAL", modifiable=False)}
    plan = rules.plan_cdc_parameters("aurora-mysql", "aurora-mysql5.7", infos)
    assert plan.to_set == {"binlog_format": ("ROW", "pending-reboot")}
    assert any(
        "binlog_row_image is not modifiable in parameter group family aurora-mysql5.7" in w for w in plan.warnings
    )
    assert any("aurora-mysql5.7 has no binlog_row_metadata" in w for w in plan.warnings)


def test_plan_refuses_values_outside_allowed_values() -> None:
    plan = rules.plan_cdc_parameters("mysql", "mysql8.0", {"binlog_format": DYNAMIC._replace(allowed_values="MIXED")})
    assert "binlog_format" not in plan.to_set
    assert any("allows only MIXED for binlog_format" in w for w in plan.warnings)


def test_partial_json_is_named() -> None:
    infos = {"binlog_row_value_options": DYNAMIC._replace(value="PARTIAL_JSON")}
    plan = rules.plan_cdc_parameters("mysql", "mysql8.0", infos)
    assert any("binlog_row_value_options is PARTIAL_JSON" in w for w in plan.warnings)
    assert "binlog_row_value_options" not in plan.to_set
    assert not any("PARTIAL_JSON" in w for w in rules.plan_cdc_parameters("mysql", "mysql8.0", {}).warnings)


@pytest.mark.parametrize(
    ("version", "aurora"),
    [
        ("8.0.mysql_aurora.3.07.1", (3, 7)),
        ("5.7.mysql_aurora.2.10.2", (2, 10)),
        ("5.7.mysql_aurora.2.09.3", (2, 9)),
        ("5.7.12", (2, 0)),
        ("5.6.10a", (1, 0)),
        ("8.4.mysql_aurora.4.0.0", (4, 0)),
    ],
)
def test_aurora_mysql_version(version: str, aurora: tuple[int, int]) -> None:
    assert rules.aurora_mysql_version(version) == aurora


@pytest.mark.parametrize(
    ("engine", "version", "order"),
    [
        ("aurora-postgresql", "16.4", ["w"]),  # the CDC parameter is the writer's alone
        ("aurora-postgresql", "14.6", ["w"]),  # and before read availability the readers reboot with it anyway
        ("aurora-mysql", "5.7.mysql_aurora.2.09.3", ["w"]),  # readers reboot with the writer
        ("aurora-mysql", "5.7.mysql_aurora.2.10.2", ["w", "r1", "r2"]),  # read availability: each reader itself
        ("aurora-mysql", "8.0.mysql_aurora.3.07.1", ["w", "r1", "r2"]),
    ],
)
def test_reboot_order(engine: rules.Engine, version: str, order: list[str]) -> None:
    members = ["r1", "w", "r2"]
    assert rules.reboot_order(engine, version, "cluster", "c", writer="w", members=members) == order
    assert rules.reboot_order("postgres", "16.4", "instance", "db", writer=None, members=[]) == ["db"]
    assert rules.reboot_order(engine, version, "cluster", "c", writer=None, members=[]) == []


def test_family_guess_is_only_a_fallback_and_knows_8_4() -> None:
    assert rules.parameter_group_family("aurora-mysql", "8.4.mysql_aurora.4.0.0") == "aurora-mysql8.4"
    assert rules.parameter_group_family("postgres", "16.4") == "postgres16"


def test_reboot_order_skips_members_already_in_sync() -> None:
    members, version = ["w", "r1", "r2"], "8.0.mysql_aurora.3.07.1"
    status = {"w": "in-sync", "r1": "pending-reboot", "r2": "in-sync"}
    order = rules.reboot_order(
        "aurora-mysql", version, "cluster", "c", writer="w", members=members, parameter_status=status
    )
    assert order == ["r1"]  # a re-run after the writer's reboot resumes with what still waits
    all_in_sync = dict.fromkeys(members, "in-sync")  # the status may lag behind the change: the writer then
    assert rules.reboot_order(
        "aurora-mysql", version, "cluster", "c", writer="w", members=members, parameter_status=all_in_sync
    ) == ["w"]
    assert rules.cluster_members_pending_reboot(
        "aurora-mysql", version, writer="w", members=members, parameter_status=status
    ) == ["r1"]
    # Aurora PostgreSQL readers never need their own reboot for CDC: a pending reader is no reason to reboot
    assert (
        rules.cluster_members_pending_reboot(
            "aurora-postgresql", "16.4", writer="w", members=members, parameter_status=status
        )
        == []
    )
