"""Web archives: `stp-tracker backfill` imports 2016-2022 history from the Wayback Machine and the UK Government Web
Archive; `stp-tracker preserve` asks Save Page Now to capture new finds."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from storage import Archive, ArchiveError
from tracker.cli.common import SafeConsole, get_home

err = SafeConsole(stderr=True)


def select_sources(home: Path, sources_file: Path | None, names: list[str], footprint: str | None) -> list:
    """The sources to backfill: from FILE or the registry plus <home>/sources.toml, narrowed by name and footprint."""
    from crawler import load_sources
    from tracker.cli.sources import all_sources

    chosen = load_sources(sources_file) if sources_file else all_sources(home)[0]
    if names:
        unknown = sorted(set(names) - {s.name for s in chosen})
        if unknown:
            raise ValueError(f"no source named {', '.join(unknown)}"
                             f"{' in ' + str(sources_file) if sources_file else ''}: see `stp-tracker sources list`")
        chosen = [s for s in chosen if s.name in names]
    if footprint:
        from crawler.registry import resolve_footprint

        code = resolve_footprint(footprint).code  # a code or any name; UnknownFootprint is a ValueError
        chosen = [s for s in chosen if (s.footprint or "").upper() == code
                  or code in [str(f).upper() for f in (s.options or {}).get("footprints", [])]]
    return chosen


app = typer.Typer()


@app.command()
def backfill(
    footprint: Optional[str] = typer.Option(None, "--footprint", help="Only sources of this footprint (ODS code, e.g. QF7)."),
    source: list[str] = typer.Option([], "--source", help="Only the source(s) with this name (repeatable)."),
    sources_file: Optional[Path] = typer.Option(None, "--sources", help="A sources TOML file instead of the registry plus <home>/sources.toml."),
    year_from: int = typer.Option(2016, "--from", help="First year of captures."),
    year_to: int = typer.Option(2022, "--to", help="Last year of captures."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Import about N captures, then stop (run again to carry on)."),
    retry_blocked: bool = typer.Option(False, "--retry-blocked", help="Ask again for listings the archive blocked before (\"Blocked Site Error\")."),
) -> None:
    """Import archived copies (Wayback Machine, UK Government Web Archive) of the chosen sources' plans and
    pages, and of the documents their archived pages link to (any host), as historical crawls, oldest capture
    first. Says how long it will take before it starts. Events from them are historical: listed by
    `events --historical`, never alerted. Safe to interrupt and run again.

    Example: stp-tracker backfill --footprint QF7 --from 2016 --to 2019
    """
    from crawler import SourceError
    from tracker.cli.common import fail
    from tracker import ConfigError
    from tracker.daemon import DaemonError, DaemonLock
    from tracker.webarchives import backfill as run_backfill
    from tracker.webarchives import BackfillConfig
    from tracker import ExtractionPool

    home = get_home()
    if not (footprint or source or sources_file):
        fail("choose what to backfill: --footprint CODE, --source NAME or --sources FILE "
             "(the whole registry at once would be thousands of requests to the archives)", 2)
    if year_from > year_to or year_from < 1996:
        fail(f"--from {year_from} --to {year_to}: not a range of years from 1996 on", 2)
    if limit is not None and limit < 1:
        fail("--limit must be at least 1", 2)
    try:
        config = BackfillConfig.load(home)
        chosen = select_sources(home, sources_file, source, footprint)
    except (ConfigError, SourceError, ValueError) as exc:
        fail(str(exc), 2)
    except OSError as exc:
        fail(f"cannot read {sources_file}: {exc.strerror}", 2)
    if not chosen:
        fail("no source matches: see `stp-tracker sources list`", 2)
    try:
        lock = DaemonLock(home).acquire()
    except DaemonError as exc:
        fail(str(exc), 2)
    pool = ExtractionPool()
    try:
        try:
            archive = Archive(home)
        except ArchiveError as exc:
            fail(str(exc), 2)
        with archive:
            summary = run_backfill(archive, chosen, config, years=(year_from, year_to), limit=limit, pool=pool,
                                   retry_blocked=retry_blocked,
                                   on_progress=lambda line: err.print(line, highlight=False, markup=False, soft_wrap=True))
    finally:
        pool.close()
        lock.release()
    err.print(f"backfill: {summary.listed} captures newly listed, {summary.imported} imported, "
              f"{summary.failed} failed, {len(summary.crawls)} historical crawls, {len(summary.events)} events"
              + (f", {summary.linked} captures listed through links on archived pages" if summary.linked else "")
              + (f", {len(summary.skipped)} CDX rows skipped (no capture)" if summary.skipped else "")
              + (f", {summary.pending} captures left for the next run" if summary.pending else ""),
              highlight=False, markup=False, soft_wrap=True)
    for row in summary.skipped[:20]:
        err.print(f"skipped: {escape(row)}", highlight=False)
    if len(summary.skipped) > 20:
        err.print(f"skipped: ... and {len(summary.skipped) - 20} more", highlight=False, markup=False)
    for problem in summary.blocked:  # the archive's own words; not asked again until --retry-blocked
        err.print(f"[yellow]blocked:[/yellow] {escape(problem)} (not asked again; --retry-blocked to ask)",
                  highlight=False)
    for problem in summary.errors:
        err.print(f"[yellow]warning:[/yellow] {escape(problem)} (run again to resume)", highlight=False)
    raise typer.Exit(1 if summary.errors else 0)


@app.command()
def preserve(
    wait: float = typer.Option(0.0, "--wait", help="Keep asking until every request is captured or has failed, "
                                                   "for at most this many seconds."),
    list_only: bool = typer.Option(False, "--list", help="Only list the requests; ask the archive nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array of requests, newest first."),
) -> None:
    """Ask the Internet Archive's Save Page Now to capture new finds (events with a new version), follow up
    earlier requests, and list them with their capture URLs. The daemon does this by itself after each crawl;
    this is for a home without a daemon, or to see where things stand. Needs [preserve] enabled.

    Example: stp-tracker preserve --wait 600
    """
    import time

    from tracker.cli.common import fail, print_json
    from tracker import ConfigError
    from tracker.daemon import DaemonError, DaemonLock
    from tracker.research import preservation_json
    from tracker.webarchives import PreserveConfig, preserve_round

    home = get_home()
    try:
        config = PreserveConfig.load(home)
    except ConfigError as exc:
        fail(str(exc), 2)
    if not list_only and not config.enabled:
        fail("Save Page Now is off: set `enabled = true` and the keys under [preserve] in "
             f"{home / 'config.toml'} (see the README, \"Preserving new finds\")", 2)
    lock = None
    if not list_only:
        try:
            lock = DaemonLock(home).acquire()  # a running daemon preserves by itself
        except DaemonError as exc:
            fail(str(exc), 2)
    try:
        try:
            archive = Archive(home, readonly=list_only)
        except ArchiveError as exc:
            fail(str(exc), 2)
        with archive:
            deadline = time.monotonic() + max(0.0, wait)
            while not list_only:
                report = preserve_round(archive, config)
                err.print(f"preservation: {report.queued} queued, {report.requested} requested, "
                          f"{report.captured} captured, {report.waiting} waiting, {report.retrying} to retry, "
                          f"{report.failed} failed", highlight=False, markup=False)
                for problem in report.errors:  # the archive's own words: no markup in them
                    err.print(f"[yellow]warning:[/yellow] {escape(problem)}", highlight=False)
                open_rows = archive.preservations(status="requested") + archive.preservations(status="pending")
                if not open_rows or time.monotonic() >= deadline:
                    break
                time.sleep(max(0.2, min(config.poll_every, deadline - time.monotonic())))
            rows = archive.preservations()
    finally:
        if lock is not None:
            lock.release()
    if as_json:
        print_json([preservation_json(r) for r in rows])
        return
    table = Table("version", "status", "url", "capture or last error")
    for r in rows:
        table.add_row(str(r["version_id"]), r["status"], r["url"], r["capture_url"] or r["error"] or "")
    SafeConsole(markup=False).print(table)

