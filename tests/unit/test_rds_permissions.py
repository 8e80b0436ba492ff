"""template.yaml grants the RDS calls each RDS step makes (moto does not check IAM, so nothing else would)."""

from pathlib import Path
from typing import Any

import pytest
import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no type hints
    """YAML with CloudFormation's short-form intrinsics (!Sub, !Ref, ...) read as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def actions(function: str) -> set[str]:
    template: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    granted: set[str] = set()
    for policy in template["Resources"][function]["Properties"].get("Policies", []):
        for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
            listed = statement["Action"]
            granted |= {listed} if isinstance(listed, str) else set(listed)
    return granted


@pytest.mark.parametrize(
    ("function", "needed"),
    [
        ("CheckDbStatusFunction", {"rds:DescribeDBInstances", "rds:DescribeDBClusters"}),
        (
            "ConfigureCdcParametersFunction",
            {
                "rds:DescribeDBEngineVersions",
                "rds:DescribeEngineDefaultParameters",
                "rds:DescribeEngineDefaultClusterParameters",
                "rds:DescribeDBParameters",
                "rds:DescribeDBClusterParameters",
                "rds:ModifyDBParameterGroup",
                "rds:ModifyDBClusterParameterGroup",
                "rds:ModifyDBInstance",
                "rds:ModifyDBCluster",
            },
        ),
        ("RebootDbFunction", {"rds:DescribeDBClusters", "rds:RebootDBInstance"}),
    ],
)
def test_rds_steps_may_make_their_calls(function: str, needed: set[str]) -> None:
    assert needed <= actions(function)
