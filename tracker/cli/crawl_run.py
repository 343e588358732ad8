"""One crawl, start to finish, for the command line: fetch with progress, analyse, and a one-screen summary."""

from __future__ import annotations

import logging
import urllib.request
from contextlib import contextmanager
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from storage import Archive
from tracker import AnalysisSummary, analyse_crawl
from tracker import crawl_overrides

MAX_TEST_FETCH = 200 * 1024 * 1024

# Exit codes of `crawl` and `run --once` (README, "Exit codes").
EXIT_OK, EXIT_SOME_FAILED, EXIT_COULD_NOT_RUN, EXIT_NOTHING_REACHABLE = 0, 1, 2, 3


def exit_code(total: int, reachable: int) -> int:
    """0 every source answered, 1 some did not, 3 none did (2, could not run at all, is decided before)."""
    if total and not reachable:
        return EXIT_NOTHING_REACHABLE
    return EXIT_OK if reachable == total else EXIT_SOME_FAILED


@dataclass
class RunResult:
    crawl: Any  # crawler.runner.CrawlSummary
    analysis: AnalysisSummary


def load_sources_or_exit(path: Path, only: list[str], console: Console) -> list[Any]:
    """Sources from a TOML file; a clear message and exit code 2 when the file is wrong."""
    from crawler import SourceError, load_sources

    try:
        sources = load_sources(path)
    except SourceError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        console.print(f"[red]error:[/red] {escape(f'cannot read {path}: {exc.strerror}')}", highlight=False)
        raise typer.Exit(2) from None
    if only:
        unknown = sorted(set(only) - {s.name for s in sources})
        if unknown:
            names = ", ".join(unknown)
            console.print(f"[red]error:[/red] {escape(f'no source named {names} in {path}')}")
            raise typer.Exit(2)
        sources = [s for s in sources if s.name in only]
    return sources


class _CrawlProgress:
    """Counts what the crawler reports and shows it as a live line (kept alive: Scrapy signals are weak refs)."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.task = progress.add_task("crawling", total=None)
        self.counts = {"pages": 0, "documents": 0, "not_modified": 0, "errors": 0}

    def __call__(self, item: dict[str, Any]) -> None:
        if item.get("error") or (item.get("status") or 0) >= 400 or item.get("status") is None:
            self.counts["errors"] += 1
        elif item.get("not_modified"):
            self.counts["not_modified"] += 1
        elif item.get("kind") == "document":
            self.counts["documents"] += 1
        else:
            self.counts["pages"] += 1
        c = self.counts
        self.progress.update(
            self.task, advance=1,
            description=(f"crawling: {c['pages']} pages, {c['documents']} documents, "
                         f"{c['not_modified']} unchanged (304), {c['errors']} errors"),
        )


class _ConsoleLines(logging.Handler):
    """Log records as plain lines above the live progress display (markup off: URLs and errors print as written)."""

    def __init__(self, console: Console):
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.print(record.getMessage(), markup=False, highlight=False, soft_wrap=True)
        except Exception:
            self.handleError(record)


@contextmanager
def fetch_lines_on(console: Console) -> Iterator[None]:
    """While crawling: each failed fetch's one line (logger stp_tracker.fetch) printed through `console`."""
    logger = logging.getLogger("stp_tracker.fetch")
    handler = _ConsoleLines(console)
    handler.setLevel(logging.INFO)  # HTTP 4xx/5xx answers are INFO lines, network failures WARNING: both shown
    before, level = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = before
        logger.setLevel(level)


def crawl_and_analyse(archive: Archive, sources: list[Any], console: Console) -> RunResult:
    """Crawl once (Scrapy, in this process), analyse the run, print a summary; returns both summaries."""
    from crawler import crawl_once

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress, fetch_lines_on(progress.console):
        watcher = _CrawlProgress(progress)
        summary = crawl_once(sources, archive, settings=crawl_overrides(archive.home), on_progress=watcher)
        progress.update(watcher.task, total=progress.tasks[watcher.task].completed)
        tasks: dict[str, Any] = {}

        def on_analysis(step: str, done: int, total: int) -> None:
            label = {"extract": "extracting text", "file": "filing versions"}.get(step, step)
            if step not in tasks:
                tasks[step] = progress.add_task(label, total=total)
            progress.update(tasks[step], completed=done, total=total)

        analysis = analyse_crawl(archive, summary.crawl_id, on_progress=on_analysis)
    print_summary(archive, summary, analysis, console)
    return RunResult(summary, analysis)


def print_summary(archive: Archive, summary: Any, analysis: AnalysisSummary, console: Console) -> None:
    from tracker.cli.common import fitted_table

    table = fitted_table(console, title=f"crawl {summary.crawl_id}", columns=[
        ("source", {"ratio": 2, "min_width": 8, "overflow": "fold"}), ("pages", {"justify": "right"}),
        ("docs", {"justify": "right"}), ("304", {"justify": "right"}), ("errors", {"justify": "right"}),
        ("verdict", {"ratio": 3, "min_width": 12, "overflow": "fold"}),
    ], drop_first=["304", "docs"])
    for name, s in summary.sources.items():
        if s.error:
            verdict = Text(f"{s.cause}: {s.error}" if s.cause and not s.error.startswith(s.cause) else s.error,
                           style="red")
        else:
            verdict = Text("ok" + (f" ({s.note})" if s.note else ""))
        table.add_row(name, str(s.pages), str(s.documents), str(s.not_modified), str(s.errors + s.http_errors),
                      verdict)
    console.print(table)
    reachable = summary.reachable
    style = "green" if reachable == len(summary.sources) else "red" if not reachable else "yellow"
    console.print(Text(summary.verdict(), style=style))
    failures = ", ".join(f"{n} {k}" for k, n in sorted(analysis.extraction_failures.items()))
    console.print(
        f"{analysis.new_documents} new documents, {analysis.new_versions} new versions, "
        f"{len(analysis.events)} events" + (f"; unreadable: {failures}" if failures else ""),
        highlight=False,
    )
    for event_id in analysis.events[:15]:
        event = archive.event(event_id)
        if event and event.alert:
            console.print(f"  {event.kind:<10} {event.summary}", markup=False, highlight=False)
    if len(analysis.events) > 15:
        console.print(f"  ... and {len(analysis.events) - 15} more (stp-tracker events)")


def fetch_one(url: str, timeout: float = 30.0) -> tuple[bytes, str | None, str]:
    """GET one URL for the test-* commands (size-capped); returns (body, content type, final URL)."""
    from crawler import user_agent

    request = urllib.request.Request(url, headers={"User-Agent": user_agent()})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http/https checked by caller)
        body = response.read(MAX_TEST_FETCH + 1)
        if len(body) > MAX_TEST_FETCH:
            raise ValueError(f"larger than {MAX_TEST_FETCH} bytes")
        return body, response.headers.get("Content-Type"), response.geturl()
