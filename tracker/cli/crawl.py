"""Commands that fetch: init (an empty archive) and crawl (the sources in a file, once)."""

from __future__ import annotations

from pathlib import Path

import typer

from tracker.cli.common import err, fail, get_home, open_archive

app = typer.Typer()


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

    Ends with how many sources answered and why the others did not. Exit code: 0 every source answered, 1 some
    did not, 2 could not run (a wrong file or setting, the daemon holds the archive), 3 none answered (is the
    network up?), 130 stopped with Ctrl-C.

    Example: stp-tracker crawl --sources examples/sources.toml
    """
    from crawler import CrawlError
    from tracker.cli.crawl_run import crawl_and_analyse, exit_code, load_sources_or_exit
    from tracker import ConfigError
    from tracker.daemon import DaemonBusy, DaemonError, DaemonLock
    from tracker.webarchives import PreserveConfig, preserve_round

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
            except (ConfigError, CrawlError) as exc:
                fail(str(exc), 2)
            except KeyboardInterrupt:
                err.print("crawl stopped: what was fetched is recorded, and the crawl is marked abandoned",
                          highlight=False)
                raise typer.Exit(130) from None
            if preserving.enabled:  # ask now; `stp-tracker preserve` (or the daemon) follows the jobs up
                report = preserve_round(archive, preserving)
                err.print(f"Save Page Now: {report.requested} captures requested"
                          + (f", {len(report.errors)} failed (retried later)" if report.errors else ""),
                          highlight=False)
    finally:
        lock.release()
    written = [r.error for r in result.crawl.sources.values() if getattr(r, "cause", None) == "archive"]
    if written:
        # What could be written is recorded (fetches are written in batches, then one by one when a batch fails);
        # a disk that refused the rest ends the command with one line, as any other disk error does.
        fail(f"cannot write the archive in {get_home()}: {written[0]}", 2)
    raise typer.Exit(exit_code(len(result.crawl.sources), result.crawl.reachable))
