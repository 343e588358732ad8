"""The `stp-tracker` command line: crawl, inspect the archive, and test one step at a time."""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from storage import Archive, ArchiveError

app = typer.Typer(
    name="stp-tracker",
    help="Watch NHS England's plans (STPs, five-year plans, Joint Forward Plans): archive every version, say what changed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Markup off for data: titles, URLs and summaries come from fetched pages, and "[/]" or "[link=...]" in one
# must print as written, never crash the command or become a terminal link.
out = Console(soft_wrap=True, markup=False)  # data: stdout
err = Console(stderr=True)  # progress, summaries and errors: stderr, so `--json` output stays clean

_state: dict[str, Any] = {"home": None}


def get_home() -> Path:
    """The data home: --home, else STP_TRACKER_HOME, else ./stp-data."""
    return Path(_state["home"] or os.environ.get("STP_TRACKER_HOME") or "stp-data")


def open_archive(readonly: bool = False) -> Archive:
    try:
        return Archive(get_home(), readonly=readonly)
    except ArchiveError as exc:
        fail(str(exc), 2)


def print_json(rows: list[Any]) -> None:
    """`--json` prints one JSON array and nothing else on stdout."""
    sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2, default=str) + "\n")


def error_line(message: str) -> None:
    """An error as one line on stderr (a log or a script greps it); fetched text in it prints as written."""
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True, highlight=False)


def fail(message: str, code: int = 1) -> None:
    error_line(message)
    raise typer.Exit(code)


@app.callback()
def main_options(
    home: Optional[Path] = typer.Option(None, "--home", help="Data home (archive.db and blobs/). Default: $STP_TRACKER_HOME or ./stp-data."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each step to stderr."),
) -> None:
    """stp-tracker: crawl, archive, diff and classify NHS plans; alert people when they change."""
    _state["home"] = home
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:
        # Every failed fetch is recorded with its reason and shown in the summary; Scrapy's and Twisted's own
        # log lines (tracebacks for a failed DNS lookup) would only bury that. --verbose shows them.
        for name in ("scrapy", "twisted", "py.warnings"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


# -- crawling ---------------------------------------------------------------------------------------


@app.command()
def init() -> None:
    """Create the data home and an empty archive.

    Example: stp-tracker --home /srv/stp-data init
    """
    with open_archive() as archive:
        err.print(f"archive ready: {archive.db_path} (schema version {archive.schema_version})")


@app.command()
def crawl(
    sources: Path = typer.Option(..., "--sources", "-s", help="A sources TOML file ([[source]] tables)."),
    only: list[str] = typer.Option([], "--only", help="Crawl only the sources with these names."),
) -> None:
    """Crawl the sources in a TOML file once, archive every response, then analyse what changed.

    Example: stp-tracker crawl --sources examples/sources.toml
    """
    from .config import ConfigError
    from .daemon import DaemonBusy, DaemonError, DaemonLock
    from .pipeline import crawl_and_analyse, load_sources_or_exit
    from .preserve import PreserveConfig, preserve_round

    chosen = load_sources_or_exit(sources, only, err)
    try:
        preserving = PreserveConfig.load(get_home())
    except ConfigError as exc:
        fail(str(exc), 2)
    try:
        # One writer of schedules and crawls per archive: a running daemon owns it.
        lock = DaemonLock(get_home()).acquire()
    except DaemonError as exc:
        busy = isinstance(exc, DaemonBusy)
        fail(f"{exc} (stop the daemon, or let it crawl: `stp-tracker run --once`)" if busy else str(exc), 2)
    try:
        with open_archive() as archive:
            try:
                result = crawl_and_analyse(archive, chosen, console=err)
            except ConfigError as exc:
                fail(str(exc), 2)
            if preserving.enabled:  # ask now; `stp-tracker preserve` (or the daemon) follows the jobs up
                report = preserve_round(archive, preserving)
                err.print(f"Save Page Now: {report.requested} captures requested"
                          + (f", {len(report.errors)} failed (retried later)" if report.errors else ""),
                          highlight=False)
    finally:
        lock.release()
    failed = [name for name, s in result.crawl.sources.items() if s.error]
    raise typer.Exit(0 if len(failed) < len(chosen) or not chosen else 1)


# -- the archive ------------------------------------------------------------------------------------


@app.command()
def documents(
    kind: Optional[str] = typer.Option(None, "--kind", help="plan, page or other."),
    footprint: Optional[str] = typer.Option(None, "--footprint", help="ODS code, e.g. QF7."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array."),
) -> None:
    """List the documents in the archive.

    Example: stp-tracker documents --kind plan --json
    """
    with open_archive(readonly=True) as archive:
        rows = archive.documents(kind=kind, footprint=footprint)
    if as_json:
        print_json([
            {"id": r["id"], "title": r["title"], "kind": r["kind"], "footprint": r["footprint"],
             "generation": r["generation"], "draft": r["draft"], "status": r["status"], "url": r["url"],
             "versions": r["version_count"], "first_seen": r["first_seen_at"], "last_seen": r["last_seen_at"]}
            for r in rows
        ])
        return
    table = Table("id", "kind", "footprint", "generation", "versions", "status", "title", "url")
    for r in rows:
        table.add_row(str(r["id"]), r["kind"], r["footprint"] or "", r["generation"] or "", str(r["version_count"]),
                      r["status"], (r["title"] or "")[:60], r["url"] or "")
    out.print(table)
    err.print(f"{len(rows)} documents")


def _resolve_document(archive: Archive, url_or_id: str) -> dict:
    if url_or_id.isdigit():
        doc = archive.document(int(url_or_id)) if len(url_or_id) < 19 else None  # past SQLite's integers
    else:
        ids = archive.documents_at_url(url_or_id)
        doc = archive.document(ids[0]) if ids else None
    if doc is None:
        fail(f"no document {url_or_id!r} in the archive (see `stp-tracker documents`)")
    return doc


@app.command()
def history(
    url_or_doc_id: str = typer.Argument(..., help="A document id, or a URL the document was seen at."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array: one object per version, oldest first."),
) -> None:
    """A document's versions, oldest first, with when and where each was seen, and its events.

    Example: stp-tracker history 12
    """
    from .export import version_json

    with open_archive(readonly=True) as archive:
        doc = _resolve_document(archive, url_or_doc_id)
        versions = archive.versions_of(doc["id"])
        urls = archive.document_urls(doc["id"])
        events = archive.events(document_id=doc["id"], include_all=True)
    if as_json:
        print_json([version_json(doc["id"], v) for v in versions])
        return
    out.print(f"[bold]{escape(doc['title'] or '')}[/bold]  (document {doc['id']}, {doc['kind']}, "
              f"{doc['footprint'] or 'no footprint'}, {doc['generation'] or 'generation unknown'}, {doc['status']})",
              markup=True, highlight=False)
    table = Table("version", "first seen", "last seen", "chars", "urls")
    for v in versions:
        captures = [f"independent copy: {p['capture_url']}" for p in v["preservations"] if p["capture_url"]]
        table.add_row(str(v["id"]), v["first_seen_at"], v["last_seen_at"], str(v["text_length"]),
                      "\n".join([*v["urls"], *captures]))
    out.print(table)
    if urls:
        where = Table("source", "official", "url", "first seen", "last seen")
        for u in urls:
            where.add_row(u["source"], "yes" if u["official"] else "no", u["url"], u["first_seen_at"], u["last_seen_at"])
        out.print(where)
    for e in events:
        out.print(f"{e.detected_at}  {e.kind:<10} {e.summary}", markup=False, highlight=False)


@app.command()
def diff(
    a: int = typer.Argument(..., help="A version id (or, alone, a document id: its last two versions)."),
    b: Optional[int] = typer.Argument(None, help="A second version id."),
    fmt: str = typer.Option("text", "--format", "-f", help="text, html or json."),
    side_by_side: bool = typer.Option(False, "--side-by-side", help="With --format html: two columns."),
) -> None:
    """Compare two versions (or a document's last two versions).

    Example: stp-tracker diff 41 57 --format html > diff.html
    """
    from .diff import DIFF_CSS, diff_texts

    with open_archive(readonly=True) as archive:
        if b is None:
            doc = archive.document(a)
            if doc is None:
                fail(f"no document {a} in the archive")
            versions = archive.versions_of(a)
            if len(versions) < 2:
                fail(f"document {a} has {len(versions)} version(s): nothing to compare")
            before, after = versions[-2]["id"], versions[-1]["id"]
        else:
            before, after = a, b
        texts = []
        for vid in (before, after):
            text = archive.version_text(vid)
            if text is None:
                fail(f"no version {vid} in the archive (see `stp-tracker history DOCUMENT`)")
            texts.append(text)
    change = diff_texts(texts[0], texts[1])
    if fmt == "json":
        sys.stdout.write(json.dumps({"before": before, "after": after, **change.to_json()}, ensure_ascii=False) + "\n")
    elif fmt == "html":
        sys.stdout.write(
            "<!doctype html><meta charset=utf-8><title>stp-tracker diff</title>"
            f"<style>{DIFF_CSS}</style><p>Version {before} → {after}</p>"
            + change.to_html(side_by_side=side_by_side, css=False)
        )
    elif fmt == "text":
        out.print(f"version {before} -> {after}: {change.summary}", markup=False, highlight=False)
        if change.timed_out:
            err.print("[yellow]warning:[/yellow] the diff hit its time limit: it may mark more than really changed")
        out.print(change.to_text(), markup=False, highlight=False)
    else:
        fail(f"unknown format {fmt!r}: use text, html or json")


@app.command()
def search(
    query: str = typer.Argument(..., help='FTS5 query: words, "a phrase", AND/OR/NOT, prefix*.'),
    limit: int = typer.Option(20, "--limit", "-n"),
    kind: Optional[str] = typer.Option(None, "--kind", help="plan, page or other."),
    footprint: Optional[str] = typer.Option(None, "--footprint", help="ODS code, e.g. QF7."),
    generation: Optional[str] = typer.Option(None, "--generation", help="2016-stp, 2017-partnership, 2019-five-year, 2022-joint-forward-plan, 2025-strategic-commissioning."),
    seen_from: Optional[str] = typer.Option(None, "--from", help="Versions first seen on or after this date (YYYY-MM-DD)."),
    seen_to: Optional[str] = typer.Option(None, "--to", help="Versions first seen on or before this date (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array."),
) -> None:
    """Full-text search over every archived version, ranked, with snippets.

    Example: stp-tracker search '"maternity unit" AND close*' --footprint QF7 --from 2016-01-01
    """
    with open_archive(readonly=True) as archive:
        rows = archive.search_filtered(query, limit=limit, document_kind=kind, footprint=footprint,
                                       generation=generation, seen_from=seen_from, seen_to=seen_to)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        out.print(f"[bold]{escape(r['title'] or '')}[/bold] (document {r['document_id']}, version {r['version_id']}, "
                  f"{r['first_seen_at'][:10]})", markup=True, highlight=False)
        out.print("   " + r["snippet"].replace("\n", " "), markup=False, highlight=False)
    err.print(f"{len(rows)} results")


@app.command()
def events(
    since: Optional[str] = typer.Option(None, "--since", help="ISO date or time, e.g. 2026-11-01."),
    kind: Optional[str] = typer.Option(None, "--kind", help="leaked, published, revised, replaced, withdrawn, reinstated (moved, baseline with --all)."),
    footprint: Optional[str] = typer.Option(None, "--footprint", help="ODS code, e.g. QF7."),
    include_all: bool = typer.Option(False, "--all", help="Also events that raise no alert (baseline, moved)."),
    historical: bool = typer.Option(False, "--historical", help="Events computed from backfilled web-archive captures instead of live crawls."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array."),
) -> None:
    """What changed: events decided from the archive, oldest first (live crawls; --historical for backfilled).

    Example: stp-tracker events --footprint QF7 --since 2026-01-01 --json
    """
    from .eventjson import event_json

    with open_archive(readonly=True) as archive:
        rows = archive.events(since=since, kind=kind, footprint=footprint, historical=historical,
                              include_all=include_all or kind in ("moved", "baseline"))
        data = [event_json(archive, e) for e in rows]
    if as_json:
        print_json(data)
        return
    table = Table("id", "when", "kind", "footprint", "document", "summary")
    for e in data:
        table.add_row(str(e["id"]), e["detected_at"], e["kind"], (e["footprint"] or {}).get("code") or "",
                      str(e["document"]["id"]), e["summary"])
    out.print(table)
    err.print(f"{len(data)} events")


@app.command()
def show(
    version_id: int = typer.Argument(..., help="A version id."),
    text: bool = typer.Option(False, "--text", help="The extracted, normalised text (the default)."),
    raw: bool = typer.Option(False, "--raw", help="The original bytes exactly as fetched (checked against their hash)."),
) -> None:
    """Print a version's extracted text, or with --raw its original bytes.

    Example: stp-tracker show 57 --raw > plan.pdf
    """
    if text and raw:
        fail("choose --text or --raw, not both", 2)
    with open_archive(readonly=True) as archive:
        version = archive.version(version_id)
        if version is None:
            fail(f"no version {version_id} in the archive")
        if raw:
            sys.stdout.buffer.write(archive.blob(version["blob_sha256"]))
            return
        sys.stdout.write((archive.version_text(version_id) or "") + "\n")


# -- one step at a time -----------------------------------------------------------------------------


def _read_input(file_or_url: str) -> tuple[bytes, str | None, str]:
    from .pipeline import fetch_one

    if file_or_url.startswith(("http://", "https://")):
        try:
            return fetch_one(file_or_url)
        except Exception as exc:  # network errors of every kind end here with their reason
            fail(f"cannot fetch {file_or_url}: {exc}")
    path = Path(file_or_url)
    if not path.is_file():
        fail(f"no such file: {file_or_url}")
    return path.read_bytes(), None, path.name


@app.command("test-extract")
def test_extract(
    file_or_url: str = typer.Argument(..., help="A local file or an http(s) URL."),
    css_selector: Optional[str] = typer.Option(None, "--selector", help="Take only this element's text (HTML)."),
    full: bool = typer.Option(False, "--full", help="Print all the text, not the first 3,000 characters."),
) -> None:
    """Extract and normalise one file or URL, as the archive would, and print the result.

    Example: stp-tracker test-extract plan.pdf
    """
    from .extract import extract

    data, content_type, name = _read_input(file_or_url)
    result = extract(data, content_type, name, css_selector=css_selector)
    err.print(f"status: {result.status}  extractor: {result.extractor} {result.extractor_version}  "
              f"pages: {result.pages}  characters: {len(result.text)}  flags: {', '.join(result.flags) or '-'}",
              highlight=False, markup=False)
    if result.title:
        err.print(f"title: {result.title}", highlight=False, markup=False)
    if result.error:
        err.print(f"reason: {result.error}", highlight=False, markup=False)
    text = result.text if full else result.text[:3000]
    sys.stdout.write(text + ("\n" if text else ""))
    if not full and len(result.text) > 3000:
        err.print(f"... {len(result.text) - 3000} more characters (use --full)")
    raise typer.Exit(0 if result.status in ("ok", "empty") else 1)


@app.command("test-diff")
def test_diff(
    file_a: str = typer.Argument(..., help="The older file (or URL)."),
    file_b: str = typer.Argument(..., help="The newer file (or URL)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text, html or json."),
) -> None:
    """Extract, normalise and diff two files as the archive would; say whether it would be an event.

    Example: stp-tracker test-diff plan-v1.pdf plan-v2.pdf
    """
    from .diff import DIFF_CSS, diff_texts
    from .extract import extract
    from .figures import significance

    texts = []
    for item in (file_a, file_b):
        data, content_type, name = _read_input(item)
        result = extract(data, content_type, name)
        if result.status not in ("ok", "truncated"):
            fail(f"{item}: no text ({result.status}: {result.error or 'no reason given'})")
        texts.append(result.text)
    change = diff_texts(texts[0], texts[1])
    significant, reason = significance(change)
    if fmt == "json":
        sys.stdout.write(json.dumps({**change.to_json(), "significant": significant, "reason": reason}) + "\n")
        return
    if fmt == "html":
        sys.stdout.write(f"<!doctype html><meta charset=utf-8><style>{DIFF_CSS}</style>" + change.to_html(css=False))
        return
    out.print(change.to_text(), markup=False, highlight=False)
    err.print(f"summary: {change.summary}", markup=False, highlight=False)
    err.print(f"would raise an event: {'yes' if significant else 'no'}{' (' + reason + ')' if reason else ''}",
              markup=False, highlight=False)


def _register_optional() -> None:
    """Commands from other areas register themselves here (alerts, sources, daemon, web)."""
    import importlib

    for module in ("tracker.cli_alerts", "tracker.cli_sources", "tracker.cli_daemon", "tracker.cli_research",
                   "tracker.cli_backfill"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        mod.register(app, get_home)


_register_optional()


_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def main() -> None:
    """The command line; a full disk or a read-only data home met anywhere ends as one line, exit 2."""
    import sqlite3

    from storage.archive import disk_hint, is_disk_error

    try:
        app()
    except ArchiveError as exc:
        fail_plainly(str(exc))
    except sqlite3.OperationalError as exc:
        if not is_disk_error(exc):
            raise
        fail_plainly(f"cannot write the archive in {get_home()}: {exc}: {disk_hint(get_home())}")
    except OSError as exc:
        if exc.errno not in _DISK_ERRNOS:
            raise
        where = exc.filename or get_home()
        fail_plainly(f"cannot write {where}: {exc.strerror}: {disk_hint(get_home())}")


def fail_plainly(message: str) -> None:
    """An error outside any command's own handling: one line on stderr, exit 2."""
    error_line(message)
    sys.exit(2)


if __name__ == "__main__":
    main()
