"""Local AWS test harness: moto (patched, in-process) + the SAM app's handlers.

Public API (see local_aws.py for the moto adaptations, template.py for template loading):

    from tests.harness import LocalWorld, load_template
"""

from .execution import ExecutionResult, Step, StepError
from .lambda_local import Invocation, LambdaContext
from .local_aws import (
    PATCHES,
    Deployed,
    ExecutionTimeoutError,
    HarnessError,
    LambdaResponse,
    LocalWorld,
    MotoPatch,
    Progress,
    RunningExecution,
    WaitRecord,
    fake_dbi_resource_id,
)
from .template import AwsContext, SamApp, SamFunction, SamStateMachine, TemplateError, load_template

__all__ = [
    "PATCHES",
    "AwsContext",
    "Deployed",
    "ExecutionResult",
    "ExecutionTimeoutError",
    "HarnessError",
    "Invocation",
    "LambdaContext",
    "LambdaResponse",
    "LocalWorld",
    "MotoPatch",
    "Progress",
    "RunningExecution",
    "SamApp",
    "SamFunction",
    "SamStateMachine",
    "Step",
    "StepError",
    "TemplateError",
    "WaitRecord",
    "fake_dbi_resource_id",
    "load_template",
]
