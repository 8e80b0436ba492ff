"""The base of every model (``Model``: unknown fields forbidden, frozen), the constrained field types, and
``parse``, which turns a validation failure into one precise InvalidInputError."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clickpipes import names
from clickpipes.errors import InvalidInputError

SchemaName = Annotated[str, Field(pattern=names.anchored(names.PG_NAME))]
TableName = Annotated[str, Field(pattern=names.anchored(names.PG_TABLE))]
SecretArn = Annotated[
    str,
    Field(
        pattern=r"^arn:(aws|aws-cn|aws-us-gov):secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$",
        max_length=2048,
    ),
]

# What a step accepts about a DB: exact values, never a wildcard (each step checks its own input).
DbIdentifier = Annotated[str, Field(pattern=names.anchored(names.DB_IDENTIFIER), max_length=63)]
_PARTITION = r"arn:(aws|aws-cn|aws-us-gov)"
DbArn = Annotated[
    str, Field(pattern="^" + _PARTITION + r":rds:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:(db|cluster):[a-z][a-z0-9-]*$")
]
Partition = Literal["aws", "aws-cn", "aws-us-gov"]
Region = Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$")]
Account = Annotated[str, Field(pattern=r"^[0-9]{12}$")]
ResourceId = Annotated[str, Field(pattern=r"^(db|cluster)-[A-Z0-9]{1,255}$")]
DbUserName = Annotated[str, Field(pattern=names.anchored(names.DB_USER))]
_IAM_NAME = r"[A-Za-z0-9_+=,.@-]"
RoleArn = Annotated[
    str, Field(pattern="^" + _PARTITION + rf":iam::[0-9]{{12}}:role/({_IAM_NAME}+/)*{_IAM_NAME}{{1,64}}$")
]
Hostname = Annotated[str, Field(pattern=r"^$|^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")]  # empty while RDS creates it


class Model(BaseModel):
    # defer_build: a model's validator is built when first used, not at import (most handlers use a few)
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False, defer_build=True)


def parse[M: BaseModel](model: type[M], event: object) -> M:
    """Validate an event against a model; every violation becomes one precise InvalidInputError."""
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'input'}: {err['msg']}" for err in exc.errors())
        raise InvalidInputError(f"Invalid input: {problems}.") from None
