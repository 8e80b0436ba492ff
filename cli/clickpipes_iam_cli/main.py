"""`clickpipes-iam`: start and follow onboardings, offboardings, audits and fleets of a deployed stack.

Exit codes: 0 done (an audit: clean), 1 the workflow failed (an audit: drift found; a fleet: a DB failed), 2 bad
usage or input refused (the API's 4xx message), 3 cannot reach AWS or the stack. An audit is clean when no DB
drifted, is gone or could not be checked (its output's drifted, gone, failed counts). Adding a subcommand is one
entry in COMMANDS.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console

from clickpipes_iam_cli import render
from clickpipes_iam_cli.stack import REFUSED, Stack, StackError

DEFAULT_STACK = "sam-app"  # the name `sam deploy --guided` suggests
DONE, FAILED, USAGE, UNREACHABLE = 0, 1, 2, 3


@click.group()
@click.option("--stack", default=DEFAULT_STACK, show_default=True, envvar="CLICKPIPES_IAM_STACK", help="Stack name.")
@click.option("--profile", default=None, help="AWS profile (else the standard credential chain).")
@click.option("--region", default=None, help="AWS region (else the profile's or AWS_REGION).")
@click.option("--endpoint-url", default=None, help="Custom AWS endpoint (CloudFormation, Step Functions).")
@click.option("--api-url", default=None, help="The stack's API URL (default: its ApiUrl output).")
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def cli(
    ctx: click.Context,
    stack: str,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    api_url: str | None,
    output: str,
) -> None:
    """Onboard RDS/Aurora databases to ClickHouse ClickPipes with IAM database authentication."""
    ctx.obj = (Stack(stack, profile=profile, region=region, endpoint_url=endpoint_url, api_url=api_url), output)


def _ctx() -> tuple[Stack, str]:
    obj: tuple[Stack, str] = click.get_current_context().obj
    return obj


def _call(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    stack, output = _ctx()
    try:
        status, payload = stack.request(method, path, body)
    except StackError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(UNREACHABLE)
    if status in REFUSED:
        if output == "json":
            click.echo(json.dumps(payload))
        click.echo(f"refused ({status} {payload.get('error')}): {payload.get('message')}", err=True)
        sys.exit(USAGE)
    if status >= 400:
        click.echo(f"error: the API answered {status}: {payload}", err=True)
        sys.exit(UNREACHABLE)
    return payload


def _follow(kind: str, accepted: dict[str, Any], poll_interval: float) -> dict[str, Any]:
    """Poll GET {kind}/{id} until the workflow stops, showing the current step, time in it and its polls."""
    console = Console(stderr=True)
    progress = render.Progress(console)
    with progress:
        while True:
            view = _call("GET", f"{kind}/{accepted['id']}")
            progress.update(view.get("current_step"), view["status"])
            if view["status"] != "RUNNING":
                return view
            time.sleep(poll_interval)


def _finish(view: dict[str, Any], show: Callable[[Console, dict[str, Any]], None] = render.result) -> None:
    _, output = _ctx()
    if output == "json":
        click.echo(json.dumps(view))
    else:
        show(Console(), view)
    output_ = view.get("output") or {}
    found = any(output_.get(count) for count in ("drifted", "gone", "failed"))  # an audit's or a fleet's
    sys.exit(DONE if view["status"] in ("SUCCEEDED", "RUNNING") and not found else FAILED)


def _wait_options(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """--wait and --poll-interval, as every starting command has them."""

    def add(command: Callable[..., None]) -> Callable[..., None]:
        command = click.option(
            "--poll-interval", default=5.0, show_default=True, help="Seconds between status calls with --wait."
        )(command)
        return click.option("--wait", is_flag=True, help=f"Follow the {what} to its end.")(command)

    return add


@click.command()
@click.argument("db")
@click.option("--role-arn", default=None, help="The ClickHouse service's IAM role ARN (default: the stack's).")
@click.option("--service-id", default=None, help="The ClickHouse Cloud service id: its IAM role, looked up.")
@click.option("--user", default=None, help="DB user to create (default clickpipes_iam_user).")
@click.option("--no-cdc", is_flag=True, help="Initial load only: skip the CDC setup.")
@click.option("--allow-reboot", is_flag=True, help="The DB may be rebooted (CDC parameters, backups).")
@click.option("--plan", is_flag=True, help="Dry run: list every change, make none.")
@_wait_options("onboarding")
def onboard(
    db: str,
    role_arn: str | None,
    service_id: str | None,
    user: str | None,
    no_cdc: bool,
    allow_reboot: bool,
    plan: bool,
    wait: bool,
    poll_interval: float,
) -> None:
    """Start an onboarding of DB (instance or cluster identifier, or ARN)."""
    body: dict[str, Any] = {"db_identifier": db, "cdc": not no_cdc, "allow_reboot": allow_reboot, "plan_only": plan}
    named = (("clickhouse_role_arn", role_arn), ("clickhouse_service_id", service_id), ("db_user", user))
    body |= {k: v for k, v in named if v is not None}
    accepted = _call("POST", "onboardings", body)
    _finish(_follow("onboardings", accepted, poll_interval) if wait else accepted)


@click.command()
@click.argument("db")
@click.option("--plan", is_flag=True, help="Dry run: list every change, make none.")
@_wait_options("offboarding")
def offboard(db: str, plan: bool, wait: bool, poll_interval: float) -> None:
    """Start an offboarding of DB: take its ClickPipes access away."""
    accepted = _call("POST", "offboardings", {"db_identifier": db, "plan_only": plan})
    _finish(_follow("offboardings", accepted, poll_interval) if wait else accepted)


def _listed(_: click.Context, __: click.Parameter, values: tuple[str, ...]) -> list[str] | None:
    """A repeatable option whose values may also be comma-separated: `--accounts 111,222 --accounts 333`."""
    items = [item.strip() for value in values for item in value.split(",") if item.strip()]
    return items or None


def _where(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """--accounts and --regions (the names `aws cloudformation create-stack-instances` uses): where DBs are listed."""

    def add(command: Callable[..., None]) -> Callable[..., None]:
        command = click.option(
            "--regions",
            multiple=True,
            callback=_listed,
            metavar="REGION[,REGION]",
            help=f"Only {what} in these regions (default: the stack's AuditRegions / its own region).",
        )(command)
        return click.option(
            "--accounts",
            multiple=True,
            callback=_listed,
            metavar="ID[,ID]",
            help=f"Only {what} in these accounts (default: the stack's and its MemberAccounts).",
        )(command)

    return add


@click.command()
@click.argument("dbs", nargs=-1)
@click.option("--repair", is_flag=True, help="Put repairable drift back (the idempotent onboarding).")
@click.option("--delete-orphans", is_flag=True, help="With --repair: delete the roles of DBs that are gone.")
@_where("DBs")
@_wait_options("audit")
def audit(
    dbs: tuple[str, ...],
    repair: bool,
    delete_orphans: bool,
    accounts: list[str] | None,
    regions: list[str] | None,
    wait: bool,
    poll_interval: float,
) -> None:
    """Audit DBs (default: every onboarded one): a table of each DB's status and findings; exit 1 on drift."""
    body: dict[str, Any] = {"repair": repair, "delete_orphans": delete_orphans}
    named = (("db_identifiers", list(dbs) or None), ("accounts", accounts), ("regions", regions))
    body |= {k: v for k, v in named if v is not None}
    accepted = _call("POST", "audits", body)
    _finish(_follow("audits", accepted, poll_interval) if wait else accepted, render.audit)


def _tag(_: click.Context, __: click.Parameter, value: str | None) -> dict[str, str] | None:
    if value is None:
        return None
    key, sep, tag_value = value.partition("=")
    if not sep or not key:
        raise click.BadParameter("KEY=VALUE, e.g. team=analytics")
    return {"key": key, "value": tag_value}


@click.command()
@click.argument("dbs", nargs=-1)
@click.option("--tag", default=None, callback=_tag, metavar="KEY=VALUE", help="Every DB with this tag.")
@click.option("--engine", "engines", multiple=True, help="Only DBs of this engine (repeatable).")
@_where("DBs")
@click.option("--role-arn", default=None, help="The ClickHouse service's IAM role ARN (default: the stack's).")
@click.option("--user", default=None, help="DB user to create on each DB (default clickpipes_iam_user).")
@click.option("--no-cdc", is_flag=True, help="Initial load only: skip the CDC setup.")
@click.option("--allow-reboot", is_flag=True, help="The DBs may be rebooted (CDC parameters, backups).")
@click.option("--plan", is_flag=True, help="Dry run: list every change of every DB, make none.")
@click.option("--max-concurrency", type=int, default=None, help="DBs at once (default: the stack's).")
@click.option("--tolerated-failure-percentage", type=float, default=None, help="Failures before it stops.")
@_wait_options("fleet")
def fleet(
    dbs: tuple[str, ...],
    tag: dict[str, str] | None,
    engines: tuple[str, ...],
    accounts: list[str] | None,
    regions: list[str] | None,
    role_arn: str | None,
    user: str | None,
    no_cdc: bool,
    allow_reboot: bool,
    plan: bool,
    max_concurrency: int | None,
    tolerated_failure_percentage: float | None,
    wait: bool,
    poll_interval: float,
) -> None:
    """Onboard a fleet: the DBs named, or every DB with --tag; a table of each DB's result; exit 1 if one failed."""
    body: dict[str, Any] = {"cdc": not no_cdc, "allow_reboot": allow_reboot, "plan_only": plan}
    named = (
        ("db_identifiers", list(dbs) or None),
        ("tag", tag),
        ("engines", list(engines) or None),
        ("accounts", accounts),
        ("regions", regions),
        ("clickhouse_role_arn", role_arn),
        ("db_user", user),
        ("max_concurrency", max_concurrency),
        ("tolerated_failure_percentage", tolerated_failure_percentage),
    )
    body |= {k: v for k, v in named if v is not None}
    accepted = _call("POST", "fleet-onboardings", body)
    _finish(_follow("fleet-onboardings", accepted, poll_interval) if wait else accepted, render.fleet)


@click.command()
@click.argument("execution_id")
@click.option("--offboarding", "kind", flag_value="offboardings", help="ID is an offboarding's.")
@click.option("--audit", "kind", flag_value="audits", help="ID is an audit's.")
@click.option("--fleet", "kind", flag_value="fleet-onboardings", help="ID is a fleet onboarding's.")
def status(execution_id: str, kind: str | None) -> None:
    """Status of an onboarding (or offboarding, audit, fleet) by its id."""
    show = {"audits": render.audit, "fleet-onboardings": render.fleet}.get(kind or "", render.result)
    _finish(_call("GET", f"{kind or 'onboardings'}/{execution_id}"), show)


@click.command(name="list")
@click.option("--running", is_flag=True, help="Only the running ones.")
def list_(running: bool) -> None:
    """The onboardings, offboardings and audits of the stack, newest first."""
    stack, output = _ctx()
    try:
        rows = stack.executions(running=running)
    except StackError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(UNREACHABLE)
    if output == "json":
        click.echo(json.dumps(rows))
    else:
        render.executions(Console(), rows)


COMMANDS: tuple[click.Command, ...] = (onboard, status, list_, offboard, audit, fleet)
for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="clickpipes-iam")
