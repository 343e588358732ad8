"""The root `stp-tracker` app: global options, the command groups joined into one app, and `main()`."""

from __future__ import annotations

import errno
import logging
import sys
from pathlib import Path
from typing import Optional

import typer

from storage import ArchiveError
from tracker.cli import (
    alerts,
    archive,
    crawl,
    daemon,
    research,
    sources,
    steps,
    webarchives,
)
from tracker.cli.common import _state, fail_plainly, get_home, light_option_values, plain_help_text

plain_help_text()  # brackets in help stay as written; option values named in words
light_option_values()  # no Pydantic for plain str and Path options (start-up)
app = typer.Typer(
    name="stp-tracker",
    help="Watch NHS England's plans (STPs, five-year plans, Joint Forward Plans): archive every version, say what changed.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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


# One app, one module per command group (each a Typer app whose commands join the root).
for group in (crawl, archive, steps, alerts, sources, daemon, research, webarchives):
    app.add_typer(group.app)

_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def main() -> None:
    """The command line; a full disk or a read-only data home met anywhere ends as one line, exit 2."""
    import sqlite3

    from storage import disk_hint, is_disk_error

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


if __name__ == "__main__":
    main()
