"""The error contract: the exception names of clickpipes.errors and the state machines' Retry/Catch blocks.

* every name an ``ErrorEquals`` lists is a Step Functions name (``States.*``, ``Lambda.*``, ``Sandbox.*``) or
  a class of ``clickpipes.errors`` (a misspelt name would never match: the error would not be retried);
* every class of ``clickpipes.errors`` is retried or caught somewhere, or is documented as API-only;
* Task states of one kind share identical Retry and Catch blocks (they were copied by hand); the DB steps'
  extras (``IamAuthNotActiveError``, timeouts) are the only differences, and they are listed here.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from clickpipes import errors
from clickpipes.steps import record_failure

from tests.harness.template import SamApp, load_template

ROOT = Path(__file__).resolve().parents[2]
SERVICE_PREFIXES = ("States.", "Lambda.", "Sandbox.")
DB_LAYER = ROOT / "functions" / "db"

# What a DB step (a function with the DB layer) retries beyond what every Task retries.
DB_STEP_EXTRA_RETRIES: tuple[frozenset[str], ...] = (
    frozenset({"IamAuthNotActiveError"}),  # MySQL 1524: the IAM plugin is not loaded yet (README: retried first)
    frozenset({"Sandbox.Timedout", "States.Timeout"}),  # a DB that stalls the connection
)

ERROR_CLASSES: dict[str, type[BaseException]] = {
    name: cls
    for name, cls in vars(errors).items()
    if inspect.isclass(cls) and issubclass(cls, BaseException) and cls.__module__ == errors.__name__
}
BASE_CLASSES = {"OnboardingError"}  # never raised itself: its subclasses are


@pytest.fixture(scope="module")
def app() -> SamApp:
    return load_template(ROOT / "template.yaml")


def _arns(app: SamApp) -> dict[str, str]:
    return {name: f"arn:aws:lambda:us-east-1:123456789012:function:{name}" for name in app.functions}


def definitions(app: SamApp) -> dict[str, dict[str, Any]]:
    """Every state machine of the template, as deployed (DefinitionSubstitutions resolved)."""
    return {name: json.loads(app.definition(name, _arns(app))) for name in app.state_machines}


def all_states(states: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, nested ones (Parallel branches, Map processors) included."""
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from all_states(branch["States"])
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from all_states(state[key]["States"])


def error_names(definition: Mapping[str, Any], block: str) -> set[str]:
    return {
        name
        for _, state in all_states(definition["States"])
        for rule in state.get(block, [])
        for name in rule["ErrorEquals"]
    }


def test_every_error_equals_name_is_a_service_name_or_an_error_class(app: SamApp) -> None:
    for machine, definition in definitions(app).items():
        for block in ("Retry", "Catch"):
            unknown = {
                name
                for name in error_names(definition, block)
                if not name.startswith(SERVICE_PREFIXES) and name not in ERROR_CLASSES
            }
            assert not unknown, f"{machine}: {block} names {sorted(unknown)}, which clickpipes.errors does not define"


def test_every_error_class_is_retried_caught_or_api_only(app: SamApp) -> None:
    retried: set[str] = set()
    caught: set[str] = set()
    for definition in definitions(app).values():
        retried |= error_names(definition, "Retry")
        caught |= error_names(definition, "Catch")
        tasks = [state for _, state in all_states(definition["States"]) if state["Type"] == "Task"]
        # States.ALL in every Task's Catch: any error class not retried ends on the failure path
        assert all(any("States.ALL" in rule["ErrorEquals"] for rule in task.get("Catch", [])) for task in tasks)
    api_only = {cls.__name__ for cls in errors.API_ONLY_ERRORS}
    for name in ERROR_CLASSES.keys() - BASE_CLASSES:
        if name in api_only:
            assert name not in retried | caught, f"{name} is documented API-only but a state machine names it"
        else:
            assert name in retried or name in caught or "States.ALL" in caught, f"{name} is never retried or caught"


def test_only_transient_and_documented_errors_are_retried(app: SamApp) -> None:
    retried_classes = {
        name for definition in definitions(app).values() for name in error_names(definition, "Retry")
    } & ERROR_CLASSES.keys()
    assert retried_classes == {"TransientError", "IamAuthNotActiveError"}  # never ConfigurationError


def test_every_error_class_is_raised_or_used(app: SamApp) -> None:
    """No dead name: each class is raised (or handled, for the API-only ones) somewhere in functions/."""
    sources = "\n".join(path.read_text() for path in (ROOT / "functions").rglob("*.py") if path.name != "errors.py")
    for name in ERROR_CLASSES.keys() - BASE_CLASSES:
        assert f"{name}(" in sources, f"{name} is defined in errors.py but nothing raises it"


def _function_of(task: Mapping[str, Any]) -> str:
    arn = str(task.get("Arguments", {}).get("FunctionName", task.get("Resource", "")))
    return arn.rsplit(":", 1)[-1]


def _kind(app: SamApp, name: str, task: Mapping[str, Any], catch_targets: set[str]) -> str:
    if name in catch_targets:
        return "failure path"
    function = app.functions.get(_function_of(task))
    if function is not None and DB_LAYER in function.layer_dirs:
        return "db step"
    return "aws step"


def scoped_states(states: Mapping[str, Any], scope: str = "") -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every state with the Map it runs in ("" at the top): a Map's iterations catch per item, into their own
    states, so their Tasks form kinds of their own."""
    for name, state in states.items():
        yield scope, name, state
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from scoped_states(state[key]["States"], f" in {name}")


def tasks_by_kind(app: SamApp) -> dict[tuple[str, str], list[tuple[str, dict[str, Any]]]]:
    groups: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
    for machine, definition in definitions(app).items():
        states = list(scoped_states(definition["States"]))
        catch_targets = {rule["Next"] for _, _, state in states for rule in state.get("Catch", [])}
        for scope, name, state in states:
            if state["Type"] == "Task":
                kind = _kind(app, name, state, catch_targets) + scope
                groups.setdefault((machine, kind), []).append((name, state))
    return groups


def _same_targets(rules: Any, states: Mapping[str, Any]) -> Any:
    """A Catch's Next as what its target does: a Map's iterations cannot reach the machine's states, so a Task in a
    Map catches into its own copy of the failure state (a Fail with the same Error and Cause)."""
    if not rules:
        return rules
    out = []
    for rule in rules:
        target = states.get(rule.get("Next", ""), {})
        same = (target.get("Type"), target.get("Error"), target.get("Cause")) if target.get("Type") == "Fail" else None
        out.append({**rule, "Next": same or rule.get("Next")})
    return out


def test_tasks_of_one_kind_share_retry_and_catch(app: SamApp) -> None:
    groups = tasks_by_kind(app)
    assert {kind for _, kind in groups} >= {"aws step", "db step", "failure path", "aws step in AuditDatabases"}
    states = {machine: dict(all_states(definition["States"])) for machine, definition in definitions(app).items()}
    for (machine, kind), tasks in groups.items():
        first_name, first = tasks[0]
        for name, task in tasks[1:]:
            for block in ("Retry", "Catch"):
                assert _same_targets(task.get(block), states[machine]) == _same_targets(
                    first.get(block), states[machine]
                ), f"{machine}: {name}'s {block} differs from {first_name}'s"
        assert first.get("Retry"), f"{machine}: {kind} {first_name} retries nothing"


def test_db_steps_retry_what_aws_steps_retry_plus_the_documented_extras(app: SamApp) -> None:
    groups = tasks_by_kind(app)
    for (machine, kind), tasks in groups.items():
        scope = kind.removeprefix("db step")
        if not kind.startswith("db step") or (machine, "aws step" + scope) not in groups:
            continue
        aws_step = groups[machine, "aws step" + scope][0][1]
        db_retry = tasks[0][1]["Retry"]
        assert db_retry[: len(aws_step["Retry"])] == aws_step["Retry"]
        extras = tuple(frozenset(rule["ErrorEquals"]) for rule in db_retry[len(aws_step["Retry"]) :])
        assert extras == DB_STEP_EXTRA_RETRIES
        assert tasks[0][1]["Catch"] == aws_step["Catch"]


def test_the_failure_path_retries_like_every_step(app: SamApp) -> None:
    groups = tasks_by_kind(app)
    for (machine, kind), tasks in groups.items():
        if kind == "failure path" and (machine, "aws step") in groups:
            assert tasks[0][1]["Retry"] == groups[machine, "aws step"][0][1]["Retry"]


def test_untagged_errors_are_error_classes() -> None:
    assert all(cls.__name__ in ERROR_CLASSES for cls in record_failure.UNTAGGED_ERRORS)
