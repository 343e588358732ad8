"""Researchers' commands: `export` (CSV, JSON, WARC) and `serve` (the web app)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from storage import Archive, ArchiveError
from tracker.cli.common import SafeConsole, fail, get_home

err = SafeConsole(stderr=True)


app = typer.Typer()


def open_readonly() -> Archive:
    try:
        return Archive(get_home(), readonly=True)
    except ArchiveError as exc:
        fail(str(exc), 2)


@app.command()
def export(
    csv_dir: Optional[Path] = typer.Option(None, "--csv", help="Write one CSV file per table into this folder."),
    json_dir: Optional[Path] = typer.Option(None, "--json", help="Write one JSON array file per table into this folder."),
    warc_file: Optional[Path] = typer.Option(None, "--warc", help="Write every fetched body to this WARC 1.1 file (.warc.gz: gzipped)."),
) -> None:
    """Export the archive for research: footprints, documents, versions, URLs, events and fetches as CSV or
    JSON, and the original responses as a WARC file that pywb can replay.

    Example: stp-tracker export --csv out/ --warc out/stp.warc.gz
    """
    from tracker.research import ExportError
    from tracker.research import export as export_tables
    from tracker.research import WarcExportError, export_warc

    if not (csv_dir or json_dir or warc_file):
        err.print("[red]error:[/red] nothing to export: give --csv DIR, --json DIR and/or --warc FILE")
        raise typer.Exit(2)
    with open_readonly() as archive:
        try:
            for fmt, target in (("csv", csv_dir), ("json", json_dir)):
                if target is not None:
                    counts = export_tables(archive, target, fmt)
                    err.print(f"{fmt}: " + ", ".join(f"{name} {n}" for name, n in counts.items()) + f" -> {target}",
                              highlight=False, markup=False)
            if warc_file is not None:
                stats = export_warc(archive, warc_file)
                err.print(f"warc: {stats.responses} responses, {stats.revisits} revisits, {stats.requests} requests "
                          f"-> {warc_file} ({stats.skipped_no_body} fetches without a body left out)",
                          highlight=False, markup=False)
                for problem in stats.missing_blobs:
                    err.print(f"[yellow]warning:[/yellow] left out {problem}", highlight=False)
        except (ExportError, WarcExportError) as exc:
            fail(str(exc), 1)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1: this machine only)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    subscriptions: bool = typer.Option(False, "--subscriptions", help="Offer the email subscribe form and the "
                                       "confirm/unsubscribe pages (the only pages that write)."),
    trusted_proxy: Optional[list[str]] = typer.Option(None, "--trusted-proxy", help="Address of a reverse proxy in front of "
                                            "the app (repeatable): only its X-Forwarded-For names the client that "
                                            "the subscribe limits count."),
) -> None:
    """Serve the archive as a web app: footprints, document timelines, versions, diffs, search, events,
    and a JSON API under /api. Read-only unless --subscriptions.

    Example: stp-tracker serve --port 8000
    """
    from tracker.web import serve as run

    try:
        run(get_home(), host=host, port=port, subscriptions=subscriptions, trusted_proxies=trusted_proxy or ())
    except ArchiveError as exc:
        fail(str(exc), 2)
