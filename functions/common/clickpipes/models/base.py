"""The base of every model (``Model``: unknown fields forbidden, frozen, checked whenever it is made), the
constrained field types, and ``parse``, which turns a validation failure into one precise InvalidInputError.

The models are msgspec Structs, not pydantic models: importing msgspec costs a few milliseconds where pydantic
costs about 0.4 of a bare ``import boto3``, and every step is a Lambda that starts cold (issue 14, part 6). The
names a reader knows from pydantic are kept (``model_validate``, ``model_dump``, ``model_copy``, ``model_fields``,
``SecretStr``), with pydantic's meaning, so the call sites read as they did:

- a model is validated when it is made, whichever way: ``parse``/``model_validate`` (from data), the constructor
  and ``model_copy`` (from Python values) all check every constraint and the model's own ``model_check``, and convert
  as pydantic did (a str given for a ``SecretStr``, a list for a tuple);
- ``model_dump(mode="json")`` gives JSON values (a ``SecretStr`` as ``**********``); ``exclude_unset`` keeps only
  the fields the data gave (a model made from data) or those that do not hold their default (one made in Python)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any, ClassVar, Literal, Self

import msgspec
import msgspec.json
from msgspec import Meta, Struct, ValidationError

from clickpipes import names
from clickpipes.errors import InvalidInputError

__all__ = ["Meta", "Model", "SecretStr", "Struct", "ValidationError", "field", "parse"]

field = msgspec.field  # a field's default_factory, or (settings) the environment variable it is read from


class SecretStr:
    """A string that never prints (a password): ``get_secret_value()`` is the only way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _decode(kind: type, value: object) -> object:
    if kind is SecretStr:
        if isinstance(value, SecretStr):
            return value
        if isinstance(value, str):
            return SecretStr(value)
        raise ValidationError("Expected `str`")
    raise NotImplementedError


def _encode(value: object) -> object:
    if isinstance(value, SecretStr):
        return "**********"
    raise NotImplementedError


def _reveal(value: object) -> object:  # only on the way back into the model that holds it (``Base.__post_init__``)
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    raise NotImplementedError


_checking = threading.local()  # set while a model is being converted: the nested models are checked by it


@contextmanager
def _converting() -> Iterator[None]:
    outer = getattr(_checking, "on", False)
    _checking.on = True
    try:
        yield
    finally:
        _checking.on = outer


_GIVEN = "fields_given"  # in a model's __dict__: the fields the data it was made from gave


def convert[T](data: object, kind: type[T], *, strict: bool = True) -> T:
    """msgspec's convert with this module's types (SecretStr); raises msgspec.ValidationError. A model made from a
    mapping remembers which of its fields the mapping gave (``model_dump(exclude_unset=True)``)."""
    with _converting():
        made = msgspec.convert(data, kind, strict=strict, dec_hook=_decode)
    if isinstance(made, Base) and isinstance(data, Mapping):
        given = zip(made.__struct_encode_fields__, made.__struct_fields__, strict=True)
        made.__dict__[_GIVEN] = frozenset(name for key, name in given if key in data)
    return made


class Base(Struct, frozen=True, kw_only=True, dict=True):
    """What models and settings share: checked when made, pydantic's names for the usual operations. ``dict=True``:
    an instance has a ``__dict__`` (never dumped, never compared) for what ``convert`` remembers."""

    def model_check(self) -> None:
        """A model's rules across its fields (raise ValueError): run whenever it is made."""

    def __post_init__(self) -> None:
        if not getattr(_checking, "on", False):
            # made from Python values (the constructor, model_copy): checked as if it came as data, and holding
            # what that data converts to (pydantic's coercions: a str for a SecretStr, a list for a tuple)
            data = msgspec.to_builtins(self, enc_hook=_reveal)
            checked = convert(data, type(self))
            for name in self.__struct_fields__:
                msgspec.structs.force_setattr(self, name, getattr(checked, name))
        self.model_check()

    @classmethod
    def model_validate(cls, data: object) -> Self:
        return convert(data, cls)

    @classmethod
    def model_validate_json(cls, text: str | bytes) -> Self:
        with _converting():
            return msgspec.json.decode(text, type=cls, dec_hook=_decode)

    model_fields: ClassVar[_Fields]  # set below: the class's fields by name, as pydantic's model_fields

    def model_dump(self, *, mode: Literal["python", "json"] = "python", exclude_unset: bool = False) -> dict[str, Any]:
        """The model as a dict of JSON values (both modes: pydantic's python mode kept nested models as dicts too).
        ``exclude_unset``: only the fields the data gave, for a model made from data (``parse``, ``model_validate``);
        for one made by its constructor or ``model_copy``, without the fields that hold their default."""
        dumped: dict[str, Any] = msgspec.to_builtins(self, enc_hook=_encode)
        if not exclude_unset:
            return dumped
        given = self.__dict__.get(_GIVEN)
        if given is not None:
            return {name: value for name, value in dumped.items() if name in given}
        return {
            name: dumped[name]
            for name, info in self.model_fields.items()
            if name in dumped and not _holds_default(info, getattr(self, info.name))
        }

    def model_dump_json(self) -> str:
        return msgspec.json.encode(self, enc_hook=_encode).decode()

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Self:
        return msgspec.structs.replace(self, **(update or {}))

    @classmethod
    def model_json_schema(cls) -> dict[str, Any]:
        """The class's JSON Schema, the models it uses in ``$defs``."""
        _, defs = msgspec.json.schema_components([cls], ref_template="#/$defs/{name}")
        return dict(defs[cls.__name__]) | {"$defs": defs}


class _Fields:
    """``Model.model_fields``: ``{name: msgspec FieldInfo}`` of the class it is read on."""

    def __get__(self, instance: object, owner: type[Struct]) -> dict[str, msgspec.structs.FieldInfo]:
        return {info.name: info for info in msgspec.structs.fields(owner)}


Base.model_fields = _Fields()


def _holds_default(info: msgspec.structs.FieldInfo, value: object) -> bool:
    if info.default is not msgspec.NODEFAULT:
        return bool(value == info.default)
    factory: Callable[[], object] | Any = info.default_factory
    return factory is not msgspec.NODEFAULT and bool(value == factory())


class Model(Base, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every model of the workflow's data: unknown fields are an error (a typo is not a silent default)."""


class Lenient(Base, frozen=True, kw_only=True):
    """A model of what another service sends (an EventBridge event, a Catch's error): unknown fields ignored."""


_ABOUT_A_FIELD = (
    (re.compile(r"Object missing required field `(.+)`"), "Field required"),
    (re.compile(r"Object contains unknown field `(.+)`"), "Extra inputs are not permitted"),
)


def problems(exc: ValidationError) -> str:
    """msgspec's ``Expected `int`, got `str` - at `$.target.port``` as ``target.port: Expected `int`, got `str```;
    a missing or unknown field is named in the path (``target.port: Field required``)."""
    message, _, where = str(exc).partition(" - at `")
    path = where.rstrip("`").removeprefix("$").lstrip(".")
    for pattern, said in _ABOUT_A_FIELD:
        if match := pattern.fullmatch(message):
            path, message = ".".join(filter(None, (path, match[1]))), said
    return f"{path or 'input'}: {message}"


def parse[M: Base](model: type[M], event: object) -> M:
    """Validate an event against a model; a violation becomes one precise InvalidInputError."""
    try:
        return convert(event, model)
    except ValidationError as exc:
        raise InvalidInputError(f"Invalid input: {problems(exc)}.") from None


def _pattern(regex: str, **more: Any) -> Meta:
    return Meta(pattern=regex, **more)


SchemaName = Annotated[str, _pattern(names.anchored(names.PG_NAME))]
TableName = Annotated[str, _pattern(names.anchored(names.PG_TABLE))]
SecretArn = Annotated[
    str,
    _pattern(
        r"^arn:(aws|aws-cn|aws-us-gov):secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$",
        max_length=2048,
    ),
]

# What a step accepts about a DB: exact values, never a wildcard (each step checks its own input).
DbIdentifier = Annotated[str, _pattern(names.anchored(names.DB_IDENTIFIER), max_length=63)]
_PARTITION = r"arn:(aws|aws-cn|aws-us-gov)"
DbArn = Annotated[
    str, _pattern("^" + _PARTITION + r":rds:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:(db|cluster):[a-z][a-z0-9-]*$")
]
Partition = Literal["aws", "aws-cn", "aws-us-gov"]
Region = Annotated[str, _pattern(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")]
Account = Annotated[str, _pattern(r"^[0-9]{12}$")]
ResourceId = Annotated[str, _pattern(r"^(db|cluster)-[A-Z0-9]{1,255}$")]
DbUserName = Annotated[str, _pattern(names.anchored(names.DB_USER))]
_IAM_NAME = r"[A-Za-z0-9_+=,.@-]"
RoleArn = Annotated[str, _pattern("^" + _PARTITION + rf":iam::[0-9]{{12}}:role/({_IAM_NAME}+/)*{_IAM_NAME}{{1,64}}$")]
Hostname = Annotated[str, _pattern(r"^$|^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")]  # empty while RDS creates it
Port = Annotated[int, Meta(ge=1, le=65535)]
NonEmpty = Annotated[str, Meta(min_length=1)]
