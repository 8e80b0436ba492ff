"""The docs as a test: every shell command the docs show is checked, and the README's tables match the code.

Docs: README.md, CONTRIBUTING.md (if there is one) and tests/*/README.md. Every fenced ``sh`` block (also ``bash``,
``shell``, ``console``) is either

* marked, on the line right before its fence, ``<!-- docs: needs an AWS account: <reason> -->`` (a non-empty
  reason): then only the paths it names must exist; or
* checked, command by command (``&&``/``;``/``|`` split, ``\\`` continuations joined, comments and heredoc bodies
  dropped). A command counts as checked when one of these holds:

  1. it is, token for token, a command of a runner script that the suite runs: ``tests/run-all.sh`` (= ``make test``,
     what CI runs) or ``tests/sam_local/sam-local.sh`` (= ``make sam-local``, run by
     ``tests/sam_local/test_make_sam_local.py`` in the container suite, which ``tests/run-all.sh`` runs); that the
     runners are run so is checked here too (:func:`test_the_runner_scripts_are_run_by_the_suite`);
  2. ``make TARGET…``: ``make -n TARGET…`` succeeds here (the target exists and its recipe resolves);
  3. ``[bash] SCRIPT.sh [SUBCOMMAND]``: the script exists, parses (``bash -n``) and dispatches that subcommand (a
     label of its ``case $1`` dispatch; a script without one takes no argument);
  4. ``eval "$(COMMAND)"``: COMMAND is checked;
  5. ``.venv/bin/pytest ARGS…``: ``pytest --collect-only ARGS…`` succeeds here.

  Anything else (``sam …``, ``cd``, ``curl``, …) must be a runner's command (rule 1). On top of that, every relative
  path a command names must exist, and a ``sam local invoke`` must name a function of template.yaml, an existing
  event and an env-vars file whose functions and variables template.yaml declares.

A block that is neither marked nor checked fails, naming the file, the line and the command.

Tables (README.md): the error table = every error class of clickpipes.errors (both ways; the API-only ones are
listed in API_ONLY_ERRORS), the execution input table = the fields of OnboardingInput (OnboardingRequest's and
``requested_by``), the output list = OnboardingOutput's fields, the stack parameters table = template.yaml's
Parameters with their defaults, the stack outputs = template.yaml's Outputs, and every test the fault table's
"proven by" column names exists.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from clickpipes import errors
from clickpipes.models import OnboardingInput, OnboardingOutput

from tests.harness.template import _read_yaml, load_template

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
TEMPLATE = ROOT / "template.yaml"
RUNNERS = {  # runner script -> the make target that runs it
    "tests/run-all.sh": "test",
    "tests/sam_local/sam-local.sh": "sam-local",
}
MAKE_SAM_LOCAL_TEST = ROOT / "tests" / "sam_local" / "test_make_sam_local.py"
# Error classes that are no execution's error, so not in the README's error table.
API_ONLY_ERRORS = {"OnboardingNotFoundError": "the API's 404 for an unknown onboarding id"}
# template.yaml Parameters the README's stack parameter table leaves out on purpose (none).
INTERNAL_PARAMETERS: set[str] = set()

SHELL_LANGS = {"sh", "bash", "shell", "console"}
AWS_MARKER = re.compile(r"^<!--\s*docs:\s*needs an AWS account:\s*(?P<reason>.*?)\s*-->$")
ANY_MARKER = re.compile(r"^<!--\s*docs:")
SEPARATORS = {"&&", "||", ";", "|", "&", ";;"}
REDIRECTS = {">", ">>", "<", ">&", "<&", "&>", ">|"}
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)['\"]?")
PATHLIKE = re.compile(r"^[\w.-]+(/[\w.-]*)+$|^[\w.-]+\.(json|sh|py|ya?ml|md|toml)$")
SAM_ARG_OPTIONS = {  # `sam local invoke` options that take a value
    "-e", "--event", "--env-vars", "-n", "-t", "--template", "--template-file", "-l", "--log-file",
    "--parameter-overrides", "--region", "--profile", "--config-file", "--config-env", "--docker-network",
    "--layer-cache-basedir", "--container-host", "--container-host-interface", "-d", "--debug-port",
}  # fmt: skip


# ------------------------------------------------------------------------------------------------ parsing
def doc_files() -> list[Path]:
    files = [README, *([ROOT / "CONTRIBUTING.md"] if (ROOT / "CONTRIBUTING.md").exists() else [])]
    return files + sorted((ROOT / "tests").glob("*/README.md"))


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence
    text: str
    aws_reason: str | None  # the reason of a `needs an AWS account` marker

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def shell_blocks(path: Path) -> list[Block]:
    """The fenced shell blocks of PATH, with the marker on the line before each (a malformed marker fails)."""
    lines = path.read_text().splitlines()
    blocks, n = [], 0
    while n < len(lines):
        fence = re.match(r"^```(\S*)\s*$", lines[n])
        if not fence:
            n += 1
            continue
        end = next(i for i in range(n + 1, len(lines)) if lines[i].startswith("```"))
        if fence.group(1) in SHELL_LANGS:
            before = lines[n - 1].strip() if n else ""
            marker = AWS_MARKER.match(before)
            where = f"{path.relative_to(ROOT)}:{n}"
            assert marker or not ANY_MARKER.match(before), f"{where}: unknown docs marker {before!r}"
            assert not marker or marker["reason"], f"{where}: `needs an AWS account` without a reason"
            blocks.append(Block(path, n + 1, "\n".join(lines[n + 1 : end]), marker["reason"] if marker else None))
        n = end + 1
    return blocks


def commands(text: str) -> list[tuple[str, ...]]:
    """The simple commands of a shell text: continuations joined, comments and heredoc bodies dropped, split at
    `&&`, `||`, `;`, `|`, `&`; redirections dropped. A line shlex cannot split is kept as one raw token."""
    logical: list[str] = []
    lines = iter(text.splitlines())
    for raw in lines:
        line = raw
        while line.endswith("\\"):
            line = line[:-1] + " " + next(lines, "")
        logical.append(line)
        if heredoc := HEREDOC.search(line):
            for body in lines:
                if body.strip() == heredoc.group(1):
                    break
    return [cmd for line in logical for cmd in _split(line)]


def _split(line: str) -> list[tuple[str, ...]]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:
        return [(line.strip(),)]
    result: list[tuple[str, ...]] = []
    current: list[str] = []
    skip_next = False
    for token in [*tokens, ";"]:
        if skip_next:
            skip_next = False
        elif token in REDIRECTS or re.fullmatch(r"\d?[<>]&?\d*", token):
            skip_next = not re.fullmatch(r"\d?[<>]&\d+", token)  # `2>&1` has no target word
        elif token in SEPARATORS:
            if current:
                result.append(tuple(current))
            current = []
        else:
            current.append(token)
    return result


@functools.cache
def runner_commands() -> frozenset[tuple[str, ...]]:
    return frozenset(cmd for script in RUNNERS for cmd in commands((ROOT / script).read_text()))


# ------------------------------------------------------------------------------------------------ checks
def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}


@functools.cache
def make_dry_run(args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-n", "--no-print-directory", *args], cwd=ROOT, env=_env(), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


@functools.cache
def pytest_collect(args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT,
        env=_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def script_subcommands(script: Path) -> set[str] | None:
    """The labels of the script's `case $1` dispatch (the last one), or None when it has none."""
    text = script.read_text()
    dispatches = list(re.finditer(r"^case \"?\$\{?1(:-)?\}?\"? in$(?P<body>.*?)^esac$", text, re.M | re.S))
    if not dispatches:
        return None
    labels = re.findall(r"^\s+([\w|-]+)\)", dispatches[-1]["body"], re.M)
    return {label for group in labels for label in group.split("|")}


def missing_paths(cmd: tuple[str, ...]) -> list[str]:
    names = [t.split("::", 1)[0] for t in cmd if PATHLIKE.match(t.split("::", 1)[0]) and not t.startswith("-")]
    return [f"{name} does not exist" for name in names if not (ROOT / name).exists()]


@functools.cache
def template_functions() -> dict[str, set[str]]:
    """Function logical id -> the environment variables it declares (Globals included)."""
    return {name: set(fn.environment) for name, fn in load_template(TEMPLATE).functions.items()}


def env_vars_problems(path: Path) -> list[str]:
    """An env.json for `sam local invoke --env-vars`: only functions and variables template.yaml declares."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return [f"{path.name}: {exc}"]
    functions = template_functions()
    declared = set().union(*functions.values())
    problems = []
    for section, variables in data.items():
        allowed = declared if section == "Parameters" else functions.get(section)
        if allowed is None:
            problems.append(f"{path.name}: {section} is not a function of template.yaml")
            continue
        problems += [f"{path.name}: {section} does not declare {v}" for v in sorted(set(variables) - allowed)]
    return problems


def sam_problems(cmd: tuple[str, ...]) -> list[str]:
    if cmd[:3] != ("sam", "local", "invoke"):
        return []
    options: dict[str, str] = {}
    positional: list[str] = []
    args = iter(cmd[3:])
    for arg in args:
        if arg in SAM_ARG_OPTIONS:
            options[arg] = next(args, "")
        elif not arg.startswith("-"):
            positional.append(arg)
    problems = [f"{fn} is not a function of template.yaml" for fn in positional if fn not in template_functions()]
    if len(positional) != 1:
        problems.append(f"names {len(positional)} functions, not one")
    for option in ("-e", "--event"):
        if option in options and not (ROOT / options[option]).is_file():
            problems.append(f"no event {options[option]}")
    if "--env-vars" in options:
        problems += env_vars_problems(ROOT / options["--env-vars"])
    return problems


def unchecked(cmd: tuple[str, ...]) -> str | None:
    """Why CMD is not checked, or None when it is (the rules of the module docstring)."""
    if problems := missing_paths(cmd) + sam_problems(cmd):
        return "; ".join(problems)
    if cmd in runner_commands():
        return None  # rule 1
    words = list(cmd)
    while words and ASSIGNMENT.match(words[0]):
        words.pop(0)
    if not words:
        return "only assignments"
    if words[0] == "make":  # rule 2
        made = make_dry_run(tuple(words[1:]))
        return None if made.returncode == 0 else f"`make -n {' '.join(words[1:])}` failed: {made.stderr.strip()}"
    if words[0] == "eval" and len(words) == 2 and words[1].startswith("$(") and words[1].endswith(")"):  # rule 4
        inner = commands(words[1][2:-1])
        reasons = [reason for c in inner if (reason := unchecked(c))]
        return "; ".join(reasons) or None
    script_words = words[1:] if words[0] == "bash" else words
    if script_words and script_words[0].endswith(".sh"):  # rule 3
        script = ROOT / script_words[0]
        if subprocess.run(["bash", "-n", str(script)], capture_output=True, check=False).returncode != 0:
            return f"{script_words[0]} does not parse (bash -n)"
        subcommands = script_subcommands(script)
        given = script_words[1:2]
        if subcommands is None:
            return f"{script_words[0]} takes no subcommand" if given else None
        if not given or given[0] not in subcommands:
            return f"{script_words[0]} has no subcommand {given[0] if given else '(none)'}: {sorted(subcommands)}"
        return None
    if words[0] == ".venv/bin/pytest":  # rule 5
        collected = pytest_collect(tuple(words[1:]))
        return None if collected.returncode == 0 else f"pytest --collect-only failed: {collected.stdout[-1500:]}"
    return (
        "not checked by the suite: make it a command of a runner script the suite runs "
        f"({', '.join(RUNNERS)}), or mark the block <!-- docs: needs an AWS account: <reason> -->"
    )


ALL_BLOCKS = [block for path in doc_files() for block in shell_blocks(path)]


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=str)
def test_every_shell_block_is_checked_or_needs_an_aws_account(block: Block) -> None:
    cmds = commands(block.text)
    assert cmds, f"{block}: an empty shell block"
    if block.aws_reason is not None:  # needs an AWS account: the paths it names must still exist
        problems = [f"`{shlex.join(cmd)}`: {'; '.join(p)}" for cmd in cmds if (p := missing_paths(cmd))]
    else:
        problems = [f"`{shlex.join(cmd)}`: {reason}" for cmd in cmds if (reason := unchecked(cmd))]
    assert not problems, f"{block}: " + "\n  ".join(problems)


def test_the_docs_have_shell_blocks_of_both_kinds() -> None:
    """The parser still finds the blocks (a changed fence style would make the test above vacuous)."""
    readme = [b for b in ALL_BLOCKS if b.path == README]
    assert any(b.aws_reason for b in readme), "no block marked `needs an AWS account` in README.md"
    assert any(("make", "sam-local") in commands(b.text) for b in readme), "README.md does not show `make sam-local`"


def test_the_runner_scripts_are_run_by_the_suite() -> None:
    """Rule 1 counts only if the runners run: `make test` runs tests/run-all.sh, which runs the container suite;
    there tests/sam_local/test_make_sam_local.py runs `make sam-local`, which runs tests/sam_local/sam-local.sh."""
    for script, target in RUNNERS.items():
        made = make_dry_run((target,))
        assert made.returncode == 0, made.stderr
        assert f"bash {script}" in made.stdout.splitlines(), f"`make {target}` does not run {script}: {made.stdout}"
    run_all = commands((ROOT / "tests/run-all.sh").read_text())
    assert any(cmd[0] == ".venv/bin/pytest" and "tests/sam_local" in cmd for cmd in run_all), run_all
    tree = ast.parse(MAKE_SAM_LOCAL_TEST.read_text())
    calls = [
        [e.value for e in node.elts if isinstance(e, ast.Constant)]
        for node in ast.walk(tree)
        if isinstance(node, ast.List)
    ]
    assert any(call[:1] == ["make"] and "sam-local" in call for call in calls), f"{MAKE_SAM_LOCAL_TEST} runs no make"


def test_sam_local_runs_the_readme_block_as_it_is() -> None:
    """The README's `sam local invoke` block = the lines between the markers of tests/sam_local/sam-local.sh."""
    script = (ROOT / "tests/sam_local/sam-local.sh").read_text()
    between = re.search(r"^# README commands: begin\n(.*?)^# README commands: end$", script, re.M | re.S)
    assert between, "tests/sam_local/sam-local.sh has no README commands markers"
    section = markdown_section(README.read_text(), "## `sam local invoke`")
    assert f"```sh\n{between[1]}```" in section, "the README's sam local block is not what make sam-local runs"


def test_env_json_sets_every_variable_the_functions_read() -> None:
    """env.json: every variable each function declares is set (Parameters or the function's own entry), with the
    values the container suite passes (SamLocal.stack_parameters) and the stack defaults."""
    from tests.sam_local import samlocal as sam_local

    env = json.loads((ROOT / "env.json").read_text())
    assert not env_vars_problems(ROOT / "env.json")
    for function, declared in template_functions().items():
        missing = declared - set(env["Parameters"]) - set(env.get(function, {}))
        assert not missing, f"env.json sets no {sorted(missing)} for {function}"
    parameters = env["Parameters"]
    assert parameters["ALLOWED_CLICKHOUSE_PRINCIPALS"] == sam_local.ALLOWED_ACCOUNT
    assert env["CreateIamRoleFunction"]["PERMISSIONS_BOUNDARY_ARN"] == sam_local.BOUNDARY_ARN
    machine = json.loads((ROOT / "events/resolve_target.json").read_text())["state_machine_arn"]
    assert env["ApiFunction"]["STATE_MACHINE_ARN"] == env["TagTriggerFunction"]["STATE_MACHINE_ARN"] == machine
    defaults = {name: str(p.get("Default", "")) for name, p in _read_yaml(TEMPLATE)["Parameters"].items()}
    for function in ("CreateDbUserFunction", "ConfigureCdcDatabaseFunction", "DropDbUserFunction"):
        assert env[function] == {"DB_TLS_MODE": defaults["DbTlsMode"], "DB_CA_BUNDLE": defaults["DbCaBundle"]}
    assert parameters["POWERTOOLS_LOG_LEVEL"] == defaults["LogLevel"]
    assert parameters["CLICKHOUSE_ROLE_ARN"] == defaults["ClickHouseRoleArn"]


# ------------------------------------------------------------------------------------------------ tables
def markdown_section(text: str, heading: str) -> str:
    """From HEADING (a whole line) to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    start = text.index(f"\n{heading}\n") + 1
    following = re.search(rf"^#{{1,{level}}} ", text[start + len(heading) :], re.M)
    return text[start : start + len(heading) + following.start()] if following else text[start:]


def table_after(text: str, anchor: str) -> list[dict[str, str]]:
    """The first markdown table after the line starting with ANCHOR, as rows keyed by the header cells."""
    lines = text.splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith(anchor))
    while not lines[n].startswith("|"):
        n += 1
    rows = []
    while n < len(lines) and lines[n].startswith("|"):
        # split at the pipes outside backticks
        rows.append([c.strip() for c in re.split(r"\|(?=(?:[^`]*`[^`]*`)*[^`]*$)", lines[n].strip()[1:-1])])
        n += 1
    header, _rule, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


def ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


@functools.cache
def readme() -> str:
    return README.read_text()


def test_error_table_names_every_error_class() -> None:
    classes = {
        name
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, Exception) and cls.__module__ == errors.__name__ and cls is not errors.OnboardingError
    }
    rows = table_after(markdown_section(readme(), "## Errors"), "| error")
    table = [name for row in rows for name in ticked(row["error"])]
    assert len(table) == len(set(table)), f"listed twice: {table}"
    assert set(table) - classes == set(), "the README's error table names errors clickpipes.errors does not have"
    assert classes - set(API_ONLY_ERRORS) - set(table) == set(), "error classes missing from the README's error table"
    assert set(API_ONLY_ERRORS) <= classes, "API_ONLY_ERRORS names a class clickpipes.errors does not have"
    assert not set(API_ONLY_ERRORS) & set(table), "an API-only error is in the table: drop it from API_ONLY_ERRORS"


def test_execution_input_table_is_the_onboarding_input() -> None:
    rows = table_after(readme(), "Execution input:")
    table = [ticked(row["field"])[0] for row in rows]
    assert table == list(dict.fromkeys(table)), f"listed twice: {table}"
    assert set(table) == set(OnboardingInput.model_fields), (
        f"not in the README: {sorted(set(OnboardingInput.model_fields) - set(table))}; "
        f"not in OnboardingInput: {sorted(set(table) - set(OnboardingInput.model_fields))}"
    )


def test_output_list_is_the_onboarding_output() -> None:
    paragraph = re.search(r"^Output: (.*?)\n\n", readme(), re.M | re.S)
    assert paragraph, "no `Output: …` paragraph in the README"
    listed = ticked(re.sub(r"\([^)]*\)", "", paragraph[1]))  # not the names inside the explanations
    fields = list(OnboardingOutput.model_fields)
    assert set(listed) == set(fields), (
        f"not in the README: {sorted(set(fields) - set(listed))}; "
        f"not in OnboardingOutput: {sorted(set(listed) - set(fields))}"
    )
    assert listed == fields, f"the README lists the output fields in another order than OnboardingOutput: {fields}"


def test_stack_parameter_table_is_the_template_parameters_with_their_defaults() -> None:
    parameters = _read_yaml(TEMPLATE)["Parameters"]
    documented: dict[str, str] = {}
    for row in table_after(readme(), "Stack parameters:"):
        names = ticked(row["parameter"])
        defaults = [d.strip().strip("`") for d in row["default"].split(" / ")]
        defaults = defaults if len(defaults) == len(names) else defaults * len(names)
        documented |= {name: "" if d == "(empty)" else d for name, d in zip(names, defaults, strict=True)}
    assert set(documented) == set(parameters) - INTERNAL_PARAMETERS, (
        f"not in the README: {sorted(set(parameters) - INTERNAL_PARAMETERS - set(documented))}; "
        f"not in template.yaml: {sorted(set(documented) - set(parameters))}"
    )
    wrong = {n: (d, str(parameters[n].get("Default", ""))) for n, d in documented.items()}
    assert {n: v for n, v in wrong.items() if v[0] != v[1]} == {}, "README default != template.yaml Default"


def test_stack_outputs_are_the_template_outputs() -> None:
    line = re.search(r"^Outputs: (.*)$", readme(), re.M)
    assert line, "no `Outputs: …` line in the README"
    assert ticked(line[1]) == list(_read_yaml(TEMPLATE)["Outputs"])


def fault_references() -> list[tuple[str, str, str | None]]:
    """(the reference as written, the test file, the test function or None) for each one of the "proven by" column.

    A full path (`tests/…/test_x.py`, `::test_y` optional) names a file; a bare `test_x.py` is in the directory of the
    cell's previous file, else the last full path with that name before it in the table; a bare `::test_y` is in the
    cell's previous file."""
    refs: list[tuple[str, str, str | None]] = []
    seen: dict[str, str] = {}  # file name -> the last full path with that name
    for row in table_after(markdown_section(readme(), "## Faults and how they are handled"), "| fault"):
        previous: str | None = None
        for ref in ticked(row["proven by"]):
            match = re.fullmatch(r"(?P<file>[\w/.-]*\.py)?(?:::(?P<test>\w+)(?:\[.*\])?)?", ref)
            assert match, f"not a test reference: `{ref}`"
            assert match["file"] or match["test"], f"not a test reference: `{ref}`"
            file = match["file"]
            if file is None:
                assert previous, f"`{ref}` continues no file"
                file = previous
            elif "/" not in file:
                same_dir = f"{previous.rsplit('/', 1)[0]}/{file}" if previous else None
                file = same_dir if same_dir and (ROOT / same_dir).exists() else seen.get(file, file)
            seen[file.rsplit("/", 1)[-1]] = file
            previous = file
            refs.append((ref, file, match["test"]))
    return refs


def test_fault_table_names_tests_that_exist() -> None:
    refs = fault_references()
    assert len(refs) > 20, refs
    problems = []
    for ref, file, test in refs:
        path = ROOT / file
        if not path.is_file():
            problems.append(f"`{ref}`: no file {file}")
            continue
        names = {
            n.name
            for n in ast.walk(ast.parse(path.read_text()))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if test and test not in names:
            problems.append(f"`{ref}`: {file} has no {test}")
    assert not problems, "the README's fault table names tests that do not exist:\n" + "\n".join(problems)


def test_the_tables_are_found() -> None:
    """Sanity of the parser itself: the tables it reads are not empty."""
    tables: list[Any] = [
        table_after(markdown_section(readme(), "## Errors"), "| error"),
        table_after(readme(), "Execution input:"),
        table_after(readme(), "Stack parameters:"),
    ]
    assert all(len(t) >= 5 for t in tables)
