"""Pydantic models of the workflow's data, by seam: ``input`` (the execution input), ``steps`` (each step's
request and result, the execution's output), ``records`` (what the gateways read from AWS), ``events``
(the tag trigger's EventBridge event), on ``base`` (``Model``, field types, ``parse``).

Import from ``clickpipes.models``: every name is re-exported here."""

from __future__ import annotations

from clickpipes.models.base import (
    Account,
    DbArn,
    DbIdentifier,
    DbUserName,
    Hostname,
    Model,
    Partition,
    Region,
    ResourceId,
    RoleArn,
    SchemaName,
    SecretArn,
    TableName,
    parse,
)
from clickpipes.models.events import (
    TagEvent,
    TagTriggerResult,
)
from clickpipes.models.input import (
    ClickPipeRequest,
    OnboardingInput,
    OnboardingRequest,
    ResolveTargetRequest,
)
from clickpipes.models.records import (
    AdminCredentials,
    DbDescription,
    ExecutionView,
    RoleInfo,
)
from clickpipes.models.steps import (
    CdcDbRequest,
    CdcDbResult,
    CdcOptions,
    CdcParametersResult,
    CheckDbStatusRequest,
    DbFacts,
    DbStatusResult,
    DbUserResult,
    EnableIamAuthResult,
    FailureOutput,
    IamRoleResult,
    OnboardingOutput,
    RebootRequest,
    RebootResult,
    RecordFailureRequest,
    RecordResultRequest,
    StepError,
    StepResult,
    Target,
    TargetRequest,
)

__all__ = [
    "Account",
    "AdminCredentials",
    "CdcDbRequest",
    "CdcDbResult",
    "CdcOptions",
    "CdcParametersResult",
    "CheckDbStatusRequest",
    "ClickPipeRequest",
    "DbArn",
    "DbDescription",
    "DbFacts",
    "DbIdentifier",
    "DbStatusResult",
    "DbUserName",
    "DbUserResult",
    "EnableIamAuthResult",
    "ExecutionView",
    "FailureOutput",
    "Hostname",
    "IamRoleResult",
    "Model",
    "OnboardingInput",
    "OnboardingOutput",
    "OnboardingRequest",
    "Partition",
    "RebootRequest",
    "RebootResult",
    "RecordFailureRequest",
    "RecordResultRequest",
    "Region",
    "ResolveTargetRequest",
    "ResourceId",
    "RoleArn",
    "RoleInfo",
    "SchemaName",
    "SecretArn",
    "StepError",
    "StepResult",
    "TableName",
    "TagEvent",
    "TagTriggerResult",
    "Target",
    "TargetRequest",
    "parse",
]
