"""The models of the workflow's data, by seam: ``input`` (the execution input), ``steps`` (each step's
request and result, the execution's output), ``records`` (what the gateways read from AWS), ``events``
(the tag trigger's EventBridge event), on ``base`` (``Model``, field types, ``parse``).

Import from ``clickpipes.models``: every name is re-exported here, lazily (PEP 562): a name's module is imported
when the name is first used, so a handler loads only the models it uses (cold starts)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        ClickPipeOutput,
        CreateClickPipeRequest,
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
        ResolvedTarget,
        StepError,
        StepResult,
        Target,
        TargetRequest,
    )

_MODULE_OF = {
    "Account": "base",
    "AdminCredentials": "records",
    "CdcDbRequest": "steps",
    "CdcDbResult": "steps",
    "CdcOptions": "steps",
    "CdcParametersResult": "steps",
    "CheckDbStatusRequest": "steps",
    "ClickPipeOutput": "steps",
    "ClickPipeRequest": "input",
    "CreateClickPipeRequest": "steps",
    "DbArn": "base",
    "DbDescription": "records",
    "DbFacts": "steps",
    "DbIdentifier": "base",
    "DbStatusResult": "steps",
    "DbUserName": "base",
    "DbUserResult": "steps",
    "EnableIamAuthResult": "steps",
    "ExecutionView": "records",
    "FailureOutput": "steps",
    "Hostname": "base",
    "IamRoleResult": "steps",
    "Model": "base",
    "OnboardingInput": "input",
    "OnboardingOutput": "steps",
    "OnboardingRequest": "input",
    "Partition": "base",
    "RebootRequest": "steps",
    "RebootResult": "steps",
    "RecordFailureRequest": "steps",
    "RecordResultRequest": "steps",
    "Region": "base",
    "ResolveTargetRequest": "input",
    "ResolvedTarget": "steps",
    "ResourceId": "base",
    "RoleArn": "base",
    "RoleInfo": "records",
    "SchemaName": "base",
    "SecretArn": "base",
    "StepError": "steps",
    "StepResult": "steps",
    "TableName": "base",
    "TagEvent": "events",
    "TagTriggerResult": "events",
    "Target": "steps",
    "TargetRequest": "steps",
    "parse": "base",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Account",
    "AdminCredentials",
    "CdcDbRequest",
    "CdcDbResult",
    "CdcOptions",
    "CdcParametersResult",
    "CheckDbStatusRequest",
    "ClickPipeOutput",
    "ClickPipeRequest",
    "CreateClickPipeRequest",
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
    "ResolvedTarget",
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
