"""Commands for running stp-tracker as a service: `run` (the daemon), `status`, and `demo`."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from tracker.cli.common import get_home

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _fail(message: str, code: int = 2) -> None:
    from tracker.cli.common import fail

    fail(message, code)


app = typer.Typer()


@app.command()
def run(
    sources: Optional[Path] = typer.Option(None, "--sources", "-s",
                                           help="Crawl only the sources in this TOML file. Default: the built-in "
                                                "registry plus <home>/sources.toml."),
    once: bool = typer.Option(False, "--once", help="Crawl what is due now (everything on a first run), then exit."),
    log_format: str = typer.Option("text", "--log-format", help="text or json (one object per line)."),
) -> None:
    """The daemon: crawl every source on its schedule, analyse, send alerts; stop with SIGTERM or Ctrl-C.

    Example: stp-tracker --home /var/lib/stp-tracker run --log-format json
    """
    from tracker.daemon import ScheduleError
    from tracker.daemon import (
        DaemonError,
        DaemonSettings,
        configure_logging,
        load_daemon_sources,
        run_daemon,
    )

    verbose = logging.getLogger().level <= logging.INFO  # the global --verbose
    try:
        configure_logging(log_format, verbose=verbose)
        home = get_home()
        settings = DaemonSettings.from_home(home)
        chosen = load_daemon_sources(home, sources)
        if not chosen:
            _fail(f"no sources to crawl in {sources or 'the registry'}: add [[source]] tables")
        code = run_daemon(home, chosen, settings, once=once)
    except (DaemonError, ScheduleError) as exc:
        _fail(str(exc))
    raise typer.Exit(code)


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Is the daemon running; each source's last and next crawl, failures; alerts waiting to be sent.

    Example: stp-tracker --home /var/lib/stp-tracker status --json
    """
    from storage import ArchiveError
    from tracker.daemon import daemon_status

    try:
        report = daemon_status(get_home())
    except ArchiveError as exc:
        _fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    _print_status(report)


@app.command()
def demo(
    home: Optional[Path] = typer.Option(None, "--home", help="Keep the demo's archive here (default: a temporary "
                                                              "folder, removed afterwards)."),
    pause: float = typer.Option(0.0, "--pause", help="Seconds to wait between the story's steps."),
) -> None:
    """A plan's life on a small local web (no network): leaked, published, revised, replaced; writes a feed.

    Example: stp-tracker demo --home /tmp/stp-demo
    """
    from tracker.demo import run_demo

    raise typer.Exit(run_demo(home, pause=pause, console=out))


def _when(value: str | None) -> str:
    """'2026-03-02T09:00:00+00:00' as '2026-03-02 09:00:00' (times are UTC)."""
    return value.replace("T", " ").removesuffix("+00:00") if value else ""


def _print_status(report: dict[str, Any]) -> None:
    beat = report.get("heartbeat") or {}
    state = report["state"]
    colour = "green" if state == "running" else "yellow" if report["running"] else "red"
    line = f"daemon: [{colour}]{state}[/{colour}]"
    if report.get("pid"):
        line += f" (pid {report['pid']})"
    if beat.get("at"):
        line += f", last heartbeat {beat['at']} ({report['heartbeat_age_seconds']} s ago)"
    if beat.get("stopped_at"):
        line += f", stopped cleanly at {beat['stopped_at']}"
    out.print(line, highlight=False)
    if beat.get("crawling"):
        out.print("crawling now: " + ", ".join(beat["crawling"]), highlight=False, markup=False)
    table = Table("source", "schedule", "last crawl (UTC)", "ok", "next due (UTC)", "failures", "last error")
    flagged = []
    for s in report["sources"]:
        ok = "" if s["last_ok"] is None else ("yes" if s["last_ok"] else "[red]no[/red]")
        if s["failing_for_a_week"]:
            flagged.append(s["name"])
        table.add_row(s["name"], s["schedule"] or "", _when(s["last_crawl_at"]) or "never", ok, _when(s["next_due"]),
                      str(s["consecutive_failures"] or ""), (s["last_error"] or "")[:80])
    if report["sources"]:
        out.print(table)
    if flagged:
        out.print(f"[red]failing for over a week:[/red] {', '.join(flagged)}", highlight=False)
    queue = report.get("alerts")
    if queue:
        out.print(f"alerts waiting: {queue['pending']} ({queue['retrying']} being retried"
                  + (f", oldest from {queue['oldest_pending']}" if queue.get("oldest_pending") else "") + ")",
                  highlight=False)
