"""Load a SAM template the way the local world needs it: no CloudFormation, no SAM CLI.

What this resolves
------------------
* YAML short-form tags (``!Ref``, ``!Sub``, ``!GetAtt``, ``!If``, ``!Join``, ``!Equals``, ``!Not``,
  ``!And``, ``!Or``, ``!Select``, ``!Split``, ``!FindInMap``, ``!Condition``, ...) -> long form.
* ``Parameters`` (Default, overridable; ``AllowedValues`` checked), ``Conditions``, ``Mappings``,
  pseudo parameters (``AWS::Region``, ``AWS::AccountId``, ``AWS::StackName``, ``AWS::Partition``,
  ``AWS::URLSuffix``, ``AWS::NoValue``).
* ``Globals.Function`` merged into every ``AWS::Serverless::Function`` the way SAM does it
  (maps merge key by key with the function winning, lists concatenate, scalars: function wins).
* ``Ref``/``GetAtt`` of resources have no real value here; they resolve to a deterministic fake
  (an ARN, name or URL of the right shape, see ``_fake_ref``). Functions and state machines resolve to
  exactly the ARNs the local world gives them (moto resources are named by logical id).
* ``DefinitionSubstitutions`` are substituted textually into the ``DefinitionUri`` file, like
  Step Functions does; a leftover ``${Name}`` is an error (it would be a bug in the template).

Everything is resolved eagerly in ``load_template`` so template mistakes fail at load time, except
a ``Ref`` to a parameter without Default, which fails only when something actually uses it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_REGION",
    "AwsContext",
    "SamApp",
    "SamFunction",
    "SamStateMachine",
    "TemplateError",
    "environment_union",
    "load_template",
]

DEFAULT_ACCOUNT_ID: Final = "123456789012"  # moto's default account
DEFAULT_REGION: Final = "us-east-1"


class TemplateError(Exception):
    """The template cannot be loaded or resolved (what CloudFormation/SAM would also reject)."""


# --------------------------------------------------------------------------------------------------
# YAML with CloudFormation short-form tags
# --------------------------------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no type hints
    """SafeLoader that turns ``!Tag value`` into the long form ``{"Fn::Tag": value}``."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise TemplateError(f"unsupported YAML node for !{tag_suffix}")
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: not a template (top level is not a mapping)")
    return data


# --------------------------------------------------------------------------------------------------
# Loaded model
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwsContext:
    """Where the fake stack lives; decides every fake ARN."""

    account_id: str = DEFAULT_ACCOUNT_ID
    region: str = DEFAULT_REGION
    stack_name: str = "local"
    partition: str = "aws"

    def function_arn(self, name: str) -> str:
        return f"arn:{self.partition}:lambda:{self.region}:{self.account_id}:function:{name}"

    def state_machine_arn(self, name: str) -> str:
        return f"arn:{self.partition}:states:{self.region}:{self.account_id}:stateMachine:{name}"


@dataclass(frozen=True)
class SamFunction:
    """One ``AWS::Serverless::Function`` with Globals applied and every value resolved."""

    logical_id: str
    handler: str  # "<module>.<attribute>", e.g. "enable_iam.handler"
    runtime: str
    code_uri: Path  # absolute directory
    layer_dirs: tuple[Path, ...]  # absolute ContentUri dirs of the template's own layers, in order
    environment: Mapping[str, str]  # Globals + function variables, resolved to strings
    timeout: int  # seconds
    memory_size: int  # MB
    external_layers: tuple[str, ...] = ()  # layer ARNs that are not in this template (ignored locally)
    properties: Mapping[str, Any] = field(default_factory=dict, repr=False)  # merged, unresolved

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    @property
    def code_dirs(self) -> tuple[Path, ...]:
        """What goes on ``sys.path`` to import the handler: the function's code, then its layers."""
        return (self.code_uri, *self.layer_dirs)


@dataclass(frozen=True)
class SamStateMachine:
    logical_id: str
    definition_template: str  # DefinitionUri text (or inline Definition as JSON), unsubstituted
    definition_source: Path | None
    substitutions: Mapping[str, Any] = field(repr=False)  # DefinitionSubstitutions, unresolved nodes


@dataclass(frozen=True)
class SamApp:
    """A loaded template. ``functions``/``state_machines``/``layers`` are keyed by logical id."""

    template_path: Path
    context: AwsContext
    parameters: Mapping[str, str | list[str]]
    conditions: Mapping[str, bool]
    functions: Mapping[str, SamFunction]
    layers: Mapping[str, Path]
    state_machines: Mapping[str, SamStateMachine]
    resources: Mapping[str, Mapping[str, Any]] = field(repr=False)
    _template: Mapping[str, Any] = field(repr=False)
    _raw_parameters: Mapping[str, str | list[str] | None] = field(repr=False)

    @property
    def root(self) -> Path:
        return self.template_path.parent

    def function_arn(self, logical_id: str) -> str:
        return self.context.function_arn(logical_id)

    def state_machine_arn(self, logical_id: str) -> str:
        return self.context.state_machine_arn(logical_id)

    def resources_of(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        """The resources of that type CloudFormation would create: those without a Condition or whose holds."""
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == resource_type and self.conditions.get(resource.get("Condition", ""), True)
        }

    def resolve(self, node: Any, arns: Mapping[str, str] | None = None) -> Any:
        """Resolve any template fragment (intrinsics included) against this app's parameters."""
        return _Resolver(self._template, self._raw_parameters, self.context, arns or {}).resolve(node)

    def output(self, name: str) -> Any:
        """The stack output ``name`` as CloudFormation resolves it (e.g. ``MemberCallerRoleArns``)."""
        return self.resolve(self._template["Outputs"][name]["Value"])

    def definition(self, logical_id: str, arns: Mapping[str, str] | None = None) -> str:
        """The state machine definition with ``DefinitionSubstitutions`` applied.

        ``arns`` maps logical ids to the ARN to use for ``Ref``/``GetAtt .Arn`` of that resource
        (defaults: the deterministic fakes, which are also what ``LocalWorld.deploy`` creates).
        """
        try:
            machine = self.state_machines[logical_id]
        except KeyError:
            raise TemplateError(f"no state machine {logical_id!r}; have {sorted(self.state_machines)}") from None
        values = {
            key: _to_substitution_text(key, self.resolve(node, arns)) for key, node in machine.substitutions.items()
        }

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise TemplateError(
                    f"{logical_id}: definition uses ${{{name}}} but DefinitionSubstitutions has no {name!r}"
                )
            return values[name]

        text = re.sub(r"\$\{([A-Za-z0-9_.:-]+)\}", substitute, machine.definition_template)
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise TemplateError(f"{logical_id}: definition is not valid JSON after substitution: {exc}") from exc
        return text


def environment_union(functions: Mapping[str, SamFunction] | list[SamFunction]) -> dict[str, str]:
    """Union of all functions' environment variables; conflicting values are an error.

    The local world runs every handler in one process, so it can only have one ``os.environ``.
    """
    items = functions.values() if isinstance(functions, Mapping) else functions
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for function in items:
        for key, value in function.environment.items():
            if key in merged and merged[key] != value:
                raise TemplateError(
                    f"environment variable {key} differs between functions: {owner[key]}={merged[key]!r}, "
                    f"{function.logical_id}={value!r}. Handlers run in one process locally, so they share "
                    f"one environment: give the variables distinct names or move them to Globals."
                )
            merged[key] = value
            owner.setdefault(key, function.logical_id)
    return merged


# --------------------------------------------------------------------------------------------------
# Intrinsic function resolution
# --------------------------------------------------------------------------------------------------


class _NoValue:
    """``AWS::NoValue``: the enclosing key/list item disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Final = _NoValue()

_SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]*)\}")


class _Resolver:
    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, str | list[str] | None],
        context: AwsContext,
        arns: Mapping[str, str],
    ) -> None:
        self.template = template
        self.resources: Mapping[str, Any] = template.get("Resources") or {}
        self.parameters = parameters
        self.context = context
        self.arns = arns
        self._conditions: dict[str, bool] = {}

    # -- conditions ---------------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    # -- generic walk -------------------------------------------------------------------------
    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(str(arg))
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self.function(key[4:], arg)
        out = {}
        for key, value in node.items():
            resolved = self.resolve(value)
            if resolved is not NO_VALUE:
                out[key] = resolved
        return out

    def function(self, name: str, arg: Any) -> Any:  # noqa: PLR0912 - a dispatch table
        if name == "GetAtt":
            if isinstance(arg, str):
                arg = arg.split(".", 1)
            logical_id, attribute = self.resolve(arg)
            return self.get_att(str(logical_id), str(attribute))
        if name == "Sub":
            return self.sub(arg)
        if name == "If":
            condition, if_true, if_false = arg
            return self.resolve(if_true if self.condition(condition) else if_false)
        if name == "Equals":
            left, right = (self.resolve(x) for x in arg)
            return _scalar_text(left) == _scalar_text(right)
        if name == "Not":
            (value,) = arg
            return not self.resolve(value)
        if name == "And":
            return all(self.resolve(x) for x in arg)
        if name == "Or":
            return any(self.resolve(x) for x in arg)
        if name == "Join":
            delimiter, values = arg
            return str(delimiter).join(_scalar_text(v) for v in self._as_list(values))
        if name == "Select":
            index, values = arg
            return self._as_list(values)[int(self.resolve(index))]
        if name == "Split":
            delimiter, value = arg
            return str(self.resolve(value)).split(str(delimiter))
        if name == "FindInMap":
            map_name, top, second = (self.resolve(x) for x in arg)
            try:
                return self.template["Mappings"][map_name][top][second]
            except KeyError:
                raise TemplateError(f"Fn::FindInMap: no {map_name}/{top}/{second}") from None
        if name == "GetAZs":
            return [f"{self.context.region}{zone}" for zone in "abc"]
        if name == "ImportValue":
            return f"imported:{self.resolve(arg)}"
        if name == "Base64":
            return base64.b64encode(str(self.resolve(arg)).encode()).decode()
        if name == "ToJsonString":
            return json.dumps(self.resolve(arg), separators=(",", ":"))
        if name == "Length":
            return len(self._as_list(arg))
        raise TemplateError(f"intrinsic Fn::{name} is not supported by the local template loader")

    def _as_list(self, node: Any) -> list[Any]:
        value = self.resolve(node)
        if not isinstance(value, list):
            raise TemplateError(f"expected a list, got {value!r}")
        return value

    # -- Ref / GetAtt / Sub ---------------------------------------------------------------------
    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.context.region,
            "AWS::AccountId": self.context.account_id,
            "AWS::StackName": self.context.stack_name,
            "AWS::StackId": f"arn:{self.context.partition}:cloudformation:{self.context.region}:"
            f"{self.context.account_id}:stack/{self.context.stack_name}/local",
            "AWS::Partition": self.context.partition,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            value = self.parameters[name]
            if value is None:
                raise TemplateError(f"parameter {name} has no Default: pass it in parameter_overrides")
            return value
        if name in self.arns and self._type_of(name) in _REF_IS_ARN:
            return self.arns[name]
        return self._fake_ref(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn" and logical_id in self.arns:
            return self.arns[logical_id]
        rtype = self._type_of(logical_id)
        c = self.context
        if rtype in ("AWS::Serverless::Function", "AWS::Lambda::Function") and attribute == "Arn":
            return c.function_arn(logical_id)
        if rtype in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            return c.state_machine_arn(logical_id) if attribute == "Arn" else logical_id
        if rtype == "AWS::IAM::Role" and attribute == "Arn":
            return f"arn:{c.partition}:iam::{c.account_id}:role/{self._fake_ref(logical_id)}"
        if rtype == "AWS::IAM::Role" and attribute == "RoleId":
            return "AROA" + _fake_token(logical_id, 17)
        if attribute == "Arn":
            service = _ARN_SERVICE.get(rtype, "cloudformation")
            return f"arn:{c.partition}:{service}:{c.region}:{c.account_id}:{logical_id}"
        return f"{logical_id}.{attribute}"

    def _type_of(self, logical_id: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is not None:
            return str(resource.get("Type", ""))
        # SAM's implicit resources, e.g. "<Function>Role" / "<StateMachine>Role".
        if logical_id.endswith("Role") and logical_id[: -len("Role")] in self.resources:
            return "AWS::IAM::Role"
        raise TemplateError(f"unknown logical id {logical_id!r} (not a parameter, resource or pseudo parameter)")

    def _fake_ref(self, logical_id: str) -> str:
        """What ``Ref`` returns for a resource, faked deterministically with the right shape."""
        rtype = self._type_of(logical_id)
        c = self.context
        physical = f"{c.stack_name}-{logical_id}-{_fake_token(logical_id, 12)}"
        if rtype in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            return c.state_machine_arn(logical_id)
        if rtype in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            return logical_id  # the local world names moto functions by logical id
        if rtype in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
            return f"arn:{c.partition}:lambda:{c.region}:{c.account_id}:layer:{logical_id}:1"
        if rtype == "AWS::IAM::ManagedPolicy":  # IAM is global: no region; Path and ManagedPolicyName as given
            props = self.resources[logical_id].get("Properties") or {}
            name = self.resolve(props.get("ManagedPolicyName")) if "ManagedPolicyName" in props else physical
            path = self.resolve(props.get("Path")) if "Path" in props else "/"
            return f"arn:{c.partition}:iam::{c.account_id}:policy{path}{name}"
        if rtype == "AWS::SecretsManager::Secret":  # arn:...:secret:<name> (a partial ARN: what moto finds it by)
            return f"arn:{c.partition}:secretsmanager:{c.region}:{c.account_id}:secret:{physical}"
        if rtype == "AWS::SNS::Topic":
            service = _ARN_SERVICE[rtype]
            return f"arn:{c.partition}:{service}:{c.region}:{c.account_id}:{physical}"
        if rtype == "AWS::SQS::Queue":
            return f"https://sqs.{c.region}.amazonaws.com/{c.account_id}/{physical}"
        return physical

    def sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg
            local = {k: self.resolve(v) for k, v in (variables or {}).items()}
        else:
            text, local = arg, {}

        def replace(match: re.Match[str]) -> str:
            literal, name = match.groups()
            if literal:
                return "${" + name + "}"
            if name in local:
                return _scalar_text(local[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return _scalar_text(self.ref(name))

        return _SUB_VARIABLE.sub(replace, str(text))


_REF_IS_ARN: Final = {
    "AWS::Serverless::StateMachine",
    "AWS::StepFunctions::StateMachine",
    "AWS::SNS::Topic",
    "AWS::SecretsManager::Secret",
}
_ARN_SERVICE: Final = {
    "AWS::SNS::Topic": "sns",
    "AWS::SQS::Queue": "sqs",
    "AWS::SecretsManager::Secret": "secretsmanager",
    "AWS::IAM::ManagedPolicy": "iam",
    "AWS::Events::Rule": "events",
    "AWS::Logs::LogGroup": "logs",
    "AWS::DynamoDB::Table": "dynamodb",
    "AWS::KMS::Key": "kms",
    "AWS::S3::Bucket": "s3",
}


def _fake_token(seed: str, length: int) -> str:
    digest = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode()
    return digest[:length]


def _scalar_text(value: Any) -> str:
    """CloudFormation's stringification of a scalar (``true``, ``30``, ...)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    raise TemplateError(f"expected a scalar, got {value!r}")


def _to_substitution_text(key: str, value: Any) -> str:
    try:
        return _scalar_text(value)
    except TemplateError as exc:
        raise TemplateError(f"DefinitionSubstitutions.{key}: {exc}") from None


# --------------------------------------------------------------------------------------------------
# load_template
# --------------------------------------------------------------------------------------------------

_FUNCTION_TYPES: Final = ("AWS::Serverless::Function",)
_LAYER_TYPES: Final = ("AWS::Serverless::LayerVersion",)
_STATE_MACHINE_TYPES: Final = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")


def load_template(
    path: str | Path,
    parameter_overrides: Mapping[str, object] | None = None,
    *,
    context: AwsContext | None = None,
) -> SamApp:
    """Parse and resolve a SAM template. ``parameter_overrides`` values may be str/int/bool."""
    template_path = Path(path).resolve()
    template = _read_yaml(template_path)
    context = context or AwsContext()
    parameters = _parameters(template, parameter_overrides or {})
    resolver = _Resolver(template, parameters, context, {})
    resources: dict[str, Any] = template.get("Resources") or {}
    root = template_path.parent

    conditions = {name: resolver.condition(name) for name in template.get("Conditions") or {}}

    def enabled(resource: Mapping[str, Any]) -> bool:
        condition = resource.get("Condition")
        return condition is None or resolver.condition(str(condition))

    layers: dict[str, Path] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") in _LAYER_TYPES and enabled(resource):
            content_uri = resolver.resolve(resource.get("Properties", {}).get("ContentUri"))
            if not isinstance(content_uri, str):
                raise TemplateError(f"{logical_id}: ContentUri must be a local directory, got {content_uri!r}")
            layers[logical_id] = _existing_dir(root / content_uri, f"{logical_id}.ContentUri")

    globals_function = (template.get("Globals") or {}).get("Function") or {}
    functions: dict[str, SamFunction] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") in _FUNCTION_TYPES and enabled(resource):
            properties = _merge_globals(globals_function, resource.get("Properties") or {})
            functions[logical_id] = _function(logical_id, properties, resolver, layers, root)

    state_machines: dict[str, SamStateMachine] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") in _STATE_MACHINE_TYPES and enabled(resource):
            state_machines[logical_id] = _state_machine(logical_id, resource.get("Properties") or {}, resolver, root)

    app = SamApp(
        template_path=template_path,
        context=context,
        parameters={k: v for k, v in parameters.items() if v is not None},
        conditions=conditions,
        functions=functions,
        layers=layers,
        state_machines=state_machines,
        resources=resources,
        _template=template,
        _raw_parameters=parameters,
    )
    for logical_id in state_machines:  # fail at load time on a broken definition
        app.definition(logical_id)
    return app


def _parameters(template: Mapping[str, Any], overrides: Mapping[str, object]) -> dict[str, str | list[str] | None]:
    declared: Mapping[str, Any] = template.get("Parameters") or {}
    unknown = set(overrides) - set(declared)
    if unknown:
        raise TemplateError(f"parameter_overrides for undeclared parameters: {sorted(unknown)}")
    values: dict[str, str | list[str] | None] = {}
    for name, spec in declared.items():
        raw = overrides[name] if name in overrides else spec.get("Default")
        if raw is None:
            values[name] = None
            continue
        text = _scalar_text(raw)
        allowed = spec.get("AllowedValues")
        if allowed is not None and text not in [_scalar_text(a) for a in allowed]:
            raise TemplateError(f"parameter {name}={text!r} is not one of AllowedValues {allowed}")
        ptype = str(spec.get("Type", "String"))
        if ptype == "CommaDelimitedList" or ptype.startswith("List<"):
            values[name] = [item.strip() for item in text.split(",")] if text else []
        else:
            values[name] = text
    return values


def _merge_globals(global_props: Mapping[str, Any], props: Mapping[str, Any]) -> dict[str, Any]:
    """SAM Globals semantics: maps merge (resource wins), lists concatenate, scalars: resource wins."""
    merged: dict[str, Any] = dict(global_props)
    for key, value in props.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict) and not _is_intrinsic(value):
            merged[key] = _merge_globals(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            merged[key] = current + value
        else:
            merged[key] = value
    return merged


def _is_intrinsic(node: Mapping[str, Any]) -> bool:
    return (len(node) == 1 and next(iter(node)) in ("Ref", "Condition")) or any(k.startswith("Fn::") for k in node)


def _function(
    logical_id: str, props: Mapping[str, Any], resolver: _Resolver, layers: Mapping[str, Path], root: Path
) -> SamFunction:
    code_uri = resolver.resolve(props.get("CodeUri"))
    if not isinstance(code_uri, str):
        raise TemplateError(f"{logical_id}: CodeUri must be a local directory, got {code_uri!r}")
    handler = resolver.resolve(props.get("Handler"))
    if not isinstance(handler, str) or "." not in handler:
        raise TemplateError(f"{logical_id}: Handler must look like 'module.function', got {handler!r}")

    layer_dirs: list[Path] = []
    external: list[str] = []
    for layer in props.get("Layers") or []:
        if isinstance(layer, dict) and set(layer) == {"Ref"} and layer["Ref"] in layers:
            layer_dirs.append(layers[layer["Ref"]])
        else:
            resolved = resolver.resolve(layer)
            if resolved is not NO_VALUE:
                external.append(str(resolved))

    variables = resolver.resolve((props.get("Environment") or {}).get("Variables") or {})
    if not isinstance(variables, dict):
        raise TemplateError(f"{logical_id}: Environment.Variables must be a mapping")
    environment = {}
    for key, value in variables.items():
        try:
            environment[str(key)] = _scalar_text(value)
        except TemplateError as exc:
            raise TemplateError(f"{logical_id}: Environment.Variables.{key}: {exc}") from None

    return SamFunction(
        logical_id=logical_id,
        handler=handler,
        runtime=str(resolver.resolve(props.get("Runtime", "python3.13"))),
        code_uri=_existing_dir(root / code_uri, f"{logical_id}.CodeUri"),
        layer_dirs=tuple(layer_dirs),
        environment=environment,
        timeout=int(resolver.resolve(props.get("Timeout", 3))),
        memory_size=int(resolver.resolve(props.get("MemorySize", 128))),
        external_layers=tuple(external),
        properties=dict(props),
    )


def _state_machine(logical_id: str, props: Mapping[str, Any], resolver: _Resolver, root: Path) -> SamStateMachine:
    source: Path | None = None
    if "DefinitionUri" in props:
        uri = resolver.resolve(props["DefinitionUri"])
        if not isinstance(uri, str):
            raise TemplateError(f"{logical_id}: DefinitionUri must be a local file, got {uri!r}")
        source = (root / uri).resolve()
        if not source.is_file():
            raise TemplateError(f"{logical_id}: DefinitionUri {source} does not exist")
        text = source.read_text(encoding="utf-8")
    elif "Definition" in props:
        text = json.dumps(props["Definition"], indent=2)
    elif "DefinitionString" in props:
        text = str(resolver.resolve(props["DefinitionString"]))
    else:
        raise TemplateError(f"{logical_id}: no DefinitionUri/Definition/DefinitionString")
    substitutions = props.get("DefinitionSubstitutions") or {}
    return SamStateMachine(
        logical_id=logical_id, definition_template=text, definition_source=source, substitutions=dict(substitutions)
    )


def _existing_dir(path: Path, what: str) -> Path:
    resolved = path.resolve()
    if not resolved.is_dir():
        raise TemplateError(f"{what}: directory {resolved} does not exist")
    return resolved
