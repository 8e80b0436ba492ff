"""Tests of the SAM template loader (no moto involved)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from .helpers import SAMPLE_TEMPLATE
from .template import AwsContext, TemplateError, environment_union, load_template


def write(root: Path, template: str, files: dict[str, str] | None = None) -> Path:
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    path = root / "template.yaml"
    path.write_text(textwrap.dedent(template))
    return path


MINIMAL_FILES = {"fn/app_mod.py": "def handler(e, c):\n    return e\n"}


def test_sample_app_is_resolved() -> None:
    app = load_template(SAMPLE_TEMPLATE)

    assert set(app.functions) == {"PrepareFunction", "DescribeFunction"}
    assert set(app.state_machines) == {"SampleStateMachine"}
    prepare = app.functions["PrepareFunction"]
    assert prepare.handler == "sample_prepare.handler"
    assert (prepare.module, prepare.attribute) == ("sample_prepare", "handler")
    assert prepare.code_uri == SAMPLE_TEMPLATE.parent / "functions" / "prepare"
    assert prepare.layer_dirs == (SAMPLE_TEMPLATE.parent / "functions" / "common",)
    assert prepare.code_dirs[0] == prepare.code_uri
    assert (prepare.timeout, prepare.memory_size, prepare.runtime) == (10, 256, "python3.13")
    assert app.functions["DescribeFunction"].timeout == 30  # from Globals
    assert prepare.environment["POWERTOOLS_SERVICE_NAME"] == "sample"  # Globals merged in
    assert "CLICKHOUSE_ROLE_ARN" not in prepare.environment  # AWS::NoValue
    assert app.parameters["Zones"] == ["a", "b", "c"]
    assert app.conditions == {"IsProd": False, "StrictTls": True, "HasClickHouseRole": False}


def test_parameter_overrides_and_conditions() -> None:
    app = load_template(
        SAMPLE_TEMPLATE,
        {
            "Stage": "prod",
            "DbTlsMode": "disable",
            "PollIntervalSeconds": 5,
            "ClickHouseRoleArn": "arn:aws:iam::999999999999:role/ch",
        },
    )
    env = app.functions["PrepareFunction"].environment
    assert env["LOG_LEVEL"] == "INFO"
    assert env["TLS_MODE"] == "require"
    assert env["REGION_LABEL"] == "us-east-1-prod"
    assert env["CLICKHOUSE_ROLE_ARN"] == "arn:aws:iam::999999999999:role/ch"
    assert json.loads(app.definition("SampleStateMachine"))["States"]["WaitForDb"]["Seconds"] == 5


def test_bad_overrides_are_rejected() -> None:
    with pytest.raises(TemplateError, match="AllowedValues"):
        load_template(SAMPLE_TEMPLATE, {"Stage": "staging"})
    with pytest.raises(TemplateError, match="undeclared parameters"):
        load_template(SAMPLE_TEMPLATE, {"Nope": "x"})


def test_context_decides_fake_arns() -> None:
    app = load_template(SAMPLE_TEMPLATE, context=AwsContext(account_id="111122223333", region="eu-west-1"))
    env = app.functions["PrepareFunction"].environment
    assert env["DESCRIBE_FUNCTION_ARN"] == "arn:aws:lambda:eu-west-1:111122223333:function:DescribeFunction"
    assert env["REGION_LABEL"] == "eu-west-1-test"


def test_definition_substitutions_with_explicit_arns() -> None:
    app = load_template(SAMPLE_TEMPLATE)
    definition = json.loads(app.definition("SampleStateMachine", {"PrepareFunction": "arn:custom"}))
    assert definition["States"]["Prepare"]["Arguments"]["FunctionName"] == "arn:custom"
    assert definition["States"]["Describe"]["Arguments"]["FunctionName"] == app.function_arn("DescribeFunction")
    assert "${" not in app.definition("SampleStateMachine")


def test_intrinsics(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Parameters:
          Env: {Type: String, Default: dev}
          Count: {Type: Number, Default: 3}
        Mappings:
          Sizes: {dev: {mem: 128}, prod: {mem: 1024}}
        Conditions:
          IsDev: !Equals [!Ref Env, dev]
          Both: !And [!Condition IsDev, !Not [!Equals [!Ref Count, 0]]]
          Either: !Or [!Equals [a, b], !Condition IsDev]
        Globals:
          Function:
            Runtime: python3.13
            Environment:
              Variables: {G: global, OVERRIDDEN: global}
        Resources:
          Queue: {Type: AWS::SQS::Queue}
          Secret: {Type: AWS::SecretsManager::Secret}
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: fn/
              Handler: app_mod.handler
              MemorySize: !FindInMap [Sizes, !Ref Env, mem]
              Environment:
                Variables:
                  OVERRIDDEN: local
                  SUB_VARS: !Sub ["${A}-${AWS::AccountId}", {A: !Ref Env}]
                  SUB_ATTR: !Sub "${Fn.Arn}|${Queue.Arn}"
                  SPLIT_SELECT: !Select [1, !Split [",", "x,y,z"]]
                  QUEUE_URL: !Ref Queue
                  SECRET_ARN: !Ref Secret
                  ROLE_ARN: !GetAtt FnRole.Arn
                  BOTH: !If [Both, "yes", "no"]
                  EITHER: !If [Either, 1, 0]
                  FLAG: true
                  NUMBER: !Ref Count
                  JSON: !ToJsonString {a: [1, 2]}
                  AZ: !Select [0, !GetAZs ""]
    """,
        MINIMAL_FILES,
    )
    fn = load_template(path).functions["Fn"]
    assert fn.memory_size == 128
    assert fn.environment == {
        "G": "global",
        "OVERRIDDEN": "local",
        "SUB_VARS": "dev-123456789012",
        "SUB_ATTR": "arn:aws:lambda:us-east-1:123456789012:function:Fn|arn:aws:sqs:us-east-1:123456789012:Queue",
        "SPLIT_SELECT": "y",
        "QUEUE_URL": fn.environment["QUEUE_URL"],
        "SECRET_ARN": fn.environment["SECRET_ARN"],
        "ROLE_ARN": fn.environment["ROLE_ARN"],
        "BOTH": "yes",
        "EITHER": "1",
        "FLAG": "true",
        "NUMBER": "3",
        "JSON": '{"a":[1,2]}',
        "AZ": "us-east-1a",
    }
    assert fn.environment["QUEUE_URL"].startswith("https://sqs.us-east-1.amazonaws.com/123456789012/local-Queue-")
    assert fn.environment["SECRET_ARN"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:local-Secret-")
    assert fn.environment["ROLE_ARN"].startswith("arn:aws:iam::123456789012:role/local-FnRole-")
    assert load_template(path).functions["Fn"].environment == fn.environment  # deterministic


def test_globals_lists_concatenate(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Globals:
          Function:
            Layers: [!Ref LayerA, "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3:1"]
        Resources:
          LayerA: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: la/}}
          LayerB: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: lb/}}
          Fn:
            Type: AWS::Serverless::Function
            Properties: {CodeUri: fn/, Handler: app_mod.handler, Layers: [!Ref LayerB]}
    """,
        {**MINIMAL_FILES, "la/pkg_a/__init__.py": "", "lb/pkg_b/__init__.py": ""},
    )
    fn = load_template(path).functions["Fn"]
    assert fn.layer_dirs == (tmp_path / "la", tmp_path / "lb")
    assert fn.external_layers == ("arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3:1",)


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("Handler: app_mod.handler\n      CodeUri: missing/", "does not exist"),
        ("Handler: nodot\n      CodeUri: fn/", "module.function"),
        (
            "Handler: app_mod.handler\n      CodeUri: fn/\n      Environment: {Variables: {X: !Ref Ghost}}",
            "unknown logical id 'Ghost'",
        ),
        (
            "Handler: app_mod.handler\n      CodeUri: fn/\n      Environment: {Variables: {X: !Ref NoDefault}}",
            "NoDefault has no Default",
        ),
        (
            "Handler: app_mod.handler\n      CodeUri: fn/\n      Environment: {Variables: {X: !Cidr [a, 1, 2]}}",
            "Fn::Cidr is not supported",
        ),
        (
            "Handler: app_mod.handler\n      CodeUri: fn/\n      Environment: {Variables: {X: [1, 2]}}",
            "expected a scalar",
        ),
    ],
)
def test_template_errors(tmp_path: Path, snippet: str, message: str) -> None:
    path = write(
        tmp_path,
        f"""
Parameters:
  NoDefault: {{Type: String}}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      {snippet}
""",
        MINIMAL_FILES,
    )
    with pytest.raises(TemplateError, match=message):
        load_template(path)


def test_parameter_without_default_is_fine_until_used(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Parameters:
          NoDefault: {Type: String}
        Resources:
          Fn: {Type: AWS::Serverless::Function, Properties: {CodeUri: fn/, Handler: app_mod.handler}}
    """,
        MINIMAL_FILES,
    )
    assert set(load_template(path).functions) == {"Fn"}


def test_leftover_definition_variable_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Resources:
          Machine:
            Type: AWS::Serverless::StateMachine
            Properties:
              DefinitionUri: sm.asl.json
              DefinitionSubstitutions: {Known: x}
    """,
        {
            "sm.asl.json": '{"StartAt": "P", "States": {"P": {"Type": "Pass", "Comment": "${Known} ${Unknown}", '
            '"End": true}}}'
        },
    )
    with pytest.raises(TemplateError, match=r"uses \$\{Unknown\}"):
        load_template(path)


def test_inline_definition_and_condition_on_resources(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Parameters:
          WithExtra: {Type: String, Default: "no", AllowedValues: ["yes", "no"]}
        Conditions:
          Extra: !Equals [!Ref WithExtra, "yes"]
        Resources:
          Machine:
            Type: AWS::Serverless::StateMachine
            Properties:
              Definition:
                StartAt: P
                States: {P: {Type: Wait, Seconds: "${Wait}", End: true}}
              DefinitionSubstitutions: {Wait: 7}
          ExtraFn:
            Type: AWS::Serverless::Function
            Condition: Extra
            Properties: {CodeUri: fn/, Handler: app_mod.handler}
    """,
        MINIMAL_FILES,
    )
    app = load_template(path)
    assert json.loads(app.definition("Machine"))["States"]["P"]["Seconds"] == "7"  # textual, like AWS
    assert app.functions == {}
    assert set(load_template(path, {"WithExtra": "yes"}).functions) == {"ExtraFn"}


def test_environment_union_conflicts() -> None:
    app = load_template(SAMPLE_TEMPLATE)
    union = environment_union(app.functions)
    assert union["DB_KIND_DEFAULT"] == "instance"
    assert union["TLS_MODE"] == "verify-full"
