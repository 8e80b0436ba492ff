"""What a person sees: live progress (rich on a TTY, plain lines otherwise) and the final tables."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text


class Progress:
    """The current step, the time in it, and how often the wait loop polled (the step's entries)."""

    def __init__(self, console: Console) -> None:
        self.console, self.step, self.since = console, "", time.monotonic()
        self.entries: dict[str, int] = {}
        self.t0 = self.since
        self.live = Live(console=console, transient=True) if console.is_terminal else None

    def __enter__(self) -> Progress:
        if self.live:
            self.live.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self.live:
            self.live.__exit__(et, e, tb)

    def update(self, step: str | None, status: str) -> None:
        now = time.monotonic()
        if step and step != self.step:
            self.step, self.since = step, now
            self.entries[step] = self.entries.get(step, 0) + 1
            if not self.live:
                self.console.print(f"[{now - self.t0:6.1f}s] {step} (poll {self.entries[step]})", highlight=False)
        if self.live:
            if not self.step:  # not in a state yet (Step Functions has recorded none)
                self.live.update(f"{status} · starting · {now - self.t0:.0f}s")
                return
            line = f"{status} · {self.step} · {now - self.since:.0f}s in step · poll {self.entries[self.step]}"
            self.live.update(line)


def result(console: Console, view: dict[str, Any]) -> None:
    """The ClickPipes settings to paste, the changes and the warnings; or the error and its cause."""
    output = view.get("output") or {}
    if view.get("status") == "FAILED" or view.get("error"):
        console.print(f"FAILED: {view.get('error')}: {view.get('cause')}", highlight=False)
        return
    if not output:
        console.print(f"{view.get('id')}: {view.get('status')}", highlight=False)
        return
    if "endpoint" in output and not output.get("plan_only"):
        settings = Table(title="ClickPipes settings (authentication: IAM role)")
        settings.add_column("field")
        settings.add_column("value")
        for field, key in (("Host", "endpoint"), ("Port", "port"), ("User", "db_user"), ("IAM Role ARN", "role_arn")):
            settings.add_row(field, str(output.get(key)))
        settings.add_row("Pipe types", ", ".join(output.get("pipe_modes") or []))
        console.print(settings)
    title = "Plan (nothing changed)" if output.get("plan_only") else "Changes"
    _items(console, title, output.get("changes"))
    _items(console, "Warnings", output.get("warnings"))


def _items(console: Console, title: str, items: list[Any] | None) -> None:
    console.print(f"{title}:" if items else f"{title}: none", highlight=False)
    for item in items or []:
        console.print(f"  - {item}", highlight=False, markup=False)


def executions(console: Console, rows: list[dict[str, Any]]) -> None:
    table = Table()
    for column in ("id", "workflow", "status", "started_at", "stopped_at"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c] or "") for c in ("id", "workflow", "status", "started_at", "stopped_at")))
    console.print(table)


def audit(console: Console, view: dict[str, Any]) -> None:
    """Each audited DB's status and findings (check, expected, actual), then the counts; or the error."""
    output = view.get("output")
    if view.get("status") == "FAILED" or view.get("error") or not output:
        result(console, view)
        return
    table = Table(title="Audit")
    databases = output.get("databases") or []
    # a DB's identifier and its check in full on one line; AWS's words fold (never an ellipsis)
    table.add_column("db", min_width=max((len(db["db_identifier"]) for db in databases), default=2), no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("check", no_wrap=True)
    for column in ("expected", "actual", "repairable"):
        table.add_column(column, overflow="fold")
    for db in databases:
        findings = db.get("findings") or [{}]
        if db.get("error"):  # the audit of this DB failed (the others went on)
            findings = [*db.get("findings", []), {"check": "audit", "actual": f"{db['error']}: {db.get('cause')}"}]
        for i, found in enumerate(findings):
            cells = (db["db_identifier"], db["status"]) if i == 0 else ("", "")
            repairable = "" if "repairable" not in found else ("yes" if found["repairable"] else "no")
            texts = (*cells, *(str(found.get(k, "")) for k in ("check", "expected", "actual")), repairable)
            table.add_row(*(Text(t) for t in texts))  # AWS's words, never rich markup
    console.print(table)
    audited = len(databases)
    summary = f"{audited} audited, {output.get('drifted', 0)} drifted, {output.get('gone', 0)} gone"
    if output.get("failed"):
        summary += f", {output['failed']} not checked (error)"
    if output.get("repaired") is not None:
        summary += f", repaired: {', '.join(output['repaired']) or 'none'}"
    console.print(summary, highlight=False, markup=False)


def fleet(console: Console, view: dict[str, Any]) -> None:
    """Each DB of the fleet: its onboarding's status, role ARN and pipe modes, or its error; then the counts."""
    output = view.get("output")
    progress = view.get("progress")
    if not output:
        result(console, view)
        if progress:
            console.print(", ".join(f"{k} {v}" for k, v in progress.items()), highlight=False, markup=False)
        return
    table = Table(title="Fleet onboarding")
    for column in ("db", "status", "role_arn", "pipe_modes", "error"):
        table.add_column(column, overflow="fold")
    for db in output.get("databases") or []:
        error = f"{db['error']}: {db.get('cause')}" if db.get("error") else ""
        cells = (
            db["db_identifier"],
            db["status"],
            db.get("role_arn") or "",
            " ".join(db.get("pipe_modes") or []),
            error,
        )
        table.add_row(*(Text(c) for c in cells))
    console.print(table)
    counts = ("total", "succeeded", "failed", "running", "not_started")
    console.print(", ".join(f"{output.get(k, 0)} {k.replace('_', ' ')}" for k in counts), highlight=False, markup=False)
    if view.get("error"):
        console.print(f"{view['error']}: {view.get('cause')}", highlight=False, markup=False)
