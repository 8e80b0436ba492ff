"""Step CreateClickPipe (only with ``clickpipe`` in the input): the ClickPipe, over the ClickHouse Cloud API.

Idempotent by name: a pipe of that name in the service is reused (a differing configuration is named in
``warnings``, never overwritten). Waits, bounded, until the pipe leaves Provisioning/Setup; ``Failed`` is
ClickPipeFailedError. The pipe's name goes on the role (tag ``clickpipes:clickpipe``), so that offboarding
deletes only a pipe this tool created; its state on the DB (tag ``clickpipes:clickpipe-status``, which
RecordFailure sets to ``failed <error>`` when this step fails: the access stays recorded ready).

The table mappings: ``clickpipe.tables``, else the tables ConfigureCdcDatabase reported published
(``clickpipe_rules.table_mappings``)."""

from __future__ import annotations

import time
from collections.abc import Callable

from clickpipes import clickpipe_rules, rules
from clickpipes.errors import ClickPipeFailedError, ConfigurationError
from clickpipes.models import ClickPipeOutput, CreateClickPipeRequest, OnboardingOutput
from clickpipes.steps.ports import ClickHouseCloud, Iam, Rds


def create_clickpipe(
    request: CreateClickPipeRequest,
    *,
    clickhouse: ClickHouseCloud | None,
    iam: Iam,
    rds: Rds,
    poll_seconds: float,
    max_wait_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> ClickPipeOutput:
    target, output = request.target, request.output
    pipe, service = target.clickpipe, target.clickhouse_service_id
    if pipe is None or service is None:
        raise ConfigurationError(
            "CreateClickPipe runs only for an onboarding with clickpipe and clickhouse_service_id."
        )
    if clickhouse is None:
        raise ConfigurationError(
            "CreateClickPipe has no ClickHouse Cloud API settings (ClickHouseOrganizationId, "
            "ClickHouseApiKeySecretArn): check the stack parameters."
        )
    body = clickpipe_rules.pipe_body(pipe, target, output, request.cdc_database)
    existing = next((p for p in clickhouse.list_clickpipes(service) if p.get("name") == pipe.name), None)
    warnings, changes = list(output.warnings), list(output.changes)
    if existing is not None:
        found = clickpipe_rules.differences(existing, body)
        if found:
            warnings.append(
                f"ClickPipe {pipe.name!r} exists with another configuration, left as it is ({'; '.join(found)}): "
                "delete it in ClickHouse Cloud to have it created as asked."
            )
        created = existing
    elif output.plan_only:
        changes.append(f"ClickHouse Cloud: create ClickPipe {pipe.name!r} (IAM role {output.role_arn})")
        return _output(output, changes, warnings, pipe_id="", name=pipe.name, state="planned")
    else:
        created = clickhouse.create_clickpipe(service, body)
        changes.append(
            f"ClickHouse Cloud: created ClickPipe {pipe.name!r} ({created['id']}), IAM role {output.role_arn}"
        )
        iam.tag_role(
            rules.role_name(target.kind, target.db_identifier, target.region),
            {clickpipe_rules.PIPE_TAG: f"{service}/{created['id']}"},
        )
    state = _wait(
        clickhouse, service, created, poll_seconds=poll_seconds, max_wait_seconds=max_wait_seconds, sleep=sleep
    )
    rds.tag(target.arn, {clickpipe_rules.STATUS_TAG: state})
    if state in clickpipe_rules.STARTING:
        warnings.append(
            f"ClickPipe {pipe.name!r} is still {state} after {max_wait_seconds:.0f} s: see ClickHouse Cloud."
        )
    return _output(output, changes, warnings, pipe_id=str(created["id"]), name=pipe.name, state=state)


def _wait(
    clickhouse: ClickHouseCloud,
    service: str,
    pipe: dict[str, object],
    *,
    poll_seconds: float,
    max_wait_seconds: float,
    sleep: Callable[[float], None],
) -> str:
    state = str(pipe.get("state") or "Unknown")
    for _ in range(int(max_wait_seconds / max(poll_seconds, 0.5))):  # bounded, whatever the interval
        if state not in clickpipe_rules.STARTING:
            break
        sleep(poll_seconds)
        state = str(clickhouse.get_clickpipe(service, str(pipe["id"])).get("state") or "Unknown")
    if state in clickpipe_rules.FAILED:
        raise ClickPipeFailedError(
            f"ClickPipe {pipe.get('name')!r} ({pipe['id']}) is {state}: see its logs in ClickHouse Cloud "
            "(a table without a primary key, a missing grant, the network path to the DB), fix, then resync it."
        )
    return state


def _output(
    output: OnboardingOutput, changes: list[str], warnings: list[str], *, pipe_id: str, name: str, state: str
) -> ClickPipeOutput:
    return ClickPipeOutput(
        **output.model_dump() | {"changes": changes, "warnings": warnings},
        clickpipe_id=pipe_id,
        clickpipe_name=name,
        clickpipe_state=state,
    )
