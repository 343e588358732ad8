"""Commands for running stp-tracker as a service: `run` (the daemon), `status`, and `demo`."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.text import Text

from tracker.cli.common import SafeConsole, get_home

err = SafeConsole(stderr=True, soft_wrap=True)
out = SafeConsole(soft_wrap=True)


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
def status(
    show_all: bool = typer.Option(False, "--all", help="A row for every source, not only the failing ones."),
    failing: bool = typer.Option(False, "--failing", help="Every failing source (the summary shows the first few)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object: every source, as it always was."),
) -> None:
    """Is the daemon running; how many sources are healthy or failing, which fail; alerts waiting to be sent.

    One screen: the daemon's state, counts by health, the failing sources that fit, alerts queued. --all lists
    every source, --failing every failing one; tables fit the terminal (COLUMNS).

    Example: stp-tracker --home /var/lib/stp-tracker status --failing
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
    _print_status(report, "all" if show_all else "failing" if failing else "summary")


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
    """'2026-03-02T09:00:00.123+00:00' as '2026-03-02 09:00' (times are UTC)."""
    return value.replace("T", " ")[:16] if value else ""


SUMMARY_ROWS = 12  # failing sources shown by the one-screen summary


def _health(s: dict[str, Any], crawling: set[str]) -> str:
    if s["name"] in crawling:
        return "crawling"
    if not s.get("last_crawl_at"):
        return "never crawled"
    if s.get("failing_for_a_week"):
        return "failing 7d+"
    if s.get("consecutive_failures") or s.get("last_ok") is False:
        return "failing"
    return "ok"


def _print_status(report: dict[str, Any], mode: str = "summary") -> None:
    from tracker.cli.common import fitted_table

    beat = report.get("heartbeat") or {}
    state = report["state"]
    colour = "green" if state == "running" else "yellow" if report["running"] else "red"
    line = Text("daemon: ")
    line.append(state, style=colour)
    if report.get("pid"):
        line.append(f" (pid {report['pid']})")
    if beat.get("at"):
        line.append(f", last heartbeat {_when(beat['at'])} ({report['heartbeat_age_seconds']} s ago)")
    if beat.get("stopped_at"):
        line.append(f", stopped cleanly at {_when(beat['stopped_at'])}")
    crawling = set(beat.get("crawling") or []) if state == "running" else set()
    if crawling:
        line.append(f", crawling {len(crawling)} source{'s' if len(crawling) != 1 else ''}")
    out.print(line)
    sources = report["sources"]
    health = {s["name"]: _health(s, crawling) for s in sources}
    counts: dict[str, int] = {}
    for word in health.values():
        counts[word] = counts.get(word, 0) + 1
    order = ["ok", "crawling", "failing", "failing 7d+", "never crawled"]
    parts = [f"{counts[w]} {w}" for w in order if counts.get(w)]
    out.print(Text(f"sources: {len(sources)}" + (": " + ", ".join(parts) if parts else "")))
    queue = report.get("alerts")
    if queue and queue.get("pending"):
        out.print(Text(f"alerts: {queue['pending']} waiting to be sent ({queue['retrying']} being retried"
                       + (f", oldest from {_when(queue['oldest_pending'])}" if queue.get("oldest_pending") else "")
                       + ")"))
    elif queue is not None:
        out.print(Text("alerts: none waiting"))
    tools = report.get("tools") or []
    if tools:
        # Scanned PDFs are recorded unread without tesseract: say so where the operator looks, with the fix.
        missing = [t for t in tools if not t["installed"]]
        have = [t["tool"] for t in tools if t["installed"]]
        out.print(Text("tools: " + "; ".join([*(f"{t['tool']} not installed ({t['for']})" for t in missing),
                                               *([", ".join(have) + " installed"] if have else [])])))
    failing = sorted((s for s in sources if health[s["name"]].startswith("failing")),
                     key=lambda s: (s.get("failing_since") or s.get("last_crawl_at") or "", s["name"]))
    if mode == "all":
        table = fitted_table(out, columns=[
            ("source", {"ratio": 3, "min_width": 30}), ("health", {}), ("last crawl", {"no_wrap": True}),
            ("next due", {"no_wrap": True}), ("fails", {"justify": "right"}),
            ("last error", {"ratio": 2, "min_width": 20, "overflow": "ellipsis"}),
        ], drop_first=["next due", "last crawl"])
        for s in sources:
            word = health[s["name"]]
            table.add_row(s["name"], Text(word, style="red" if word.startswith("failing") else ""),
                          _when(s["last_crawl_at"]) or "never", _when(s["next_due"]),
                          str(s["consecutive_failures"] or ""), s["last_error"] or "")
        if sources:
            out.print(table)
        return
    if not failing:
        out.print(Text("no source is failing" if sources else "no source crawled yet"))
        return
    shown = failing if mode == "failing" else failing[:SUMMARY_ROWS]
    table = fitted_table(out, title=f"failing sources ({len(failing)}, longest first)", columns=[
        ("source", {"ratio": 3, "min_width": 30}), ("failing since", {"no_wrap": True}),
        ("fails", {"justify": "right"}),
        ("last error", {"ratio": 2, "min_width": 24, "overflow": "fold" if mode == "failing" else "ellipsis"}),
    ], drop_first=["failing since"])
    for s in shown:
        table.add_row(s["name"], _when(s.get("failing_since") or s.get("last_crawl_at")),
                      str(s["consecutive_failures"] or ""), s["last_error"] or "")
    out.print(table)
    if len(shown) < len(failing):
        out.print(Text(f"... and {len(failing) - len(shown)} more: stp-tracker status --failing"))
