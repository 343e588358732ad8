"""What every command shares: the data home, the two consoles, JSON output and one-line errors."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from collections.abc import Callable
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from storage import Archive, ArchiveError, strip_controls, unknown_choice


class SafeConsole(Console):
    """A rich Console that never writes a control character it was given as text: fetched titles holding
    `ESC[2J`, OSC 8 links or OSC 52 clipboard writes print without them (rich's own styling is untouched)."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment if segment.control else Segment(strip_controls(segment.text), segment.style, segment.control)
            for segment in buffer)


# Markup off for data: titles, URLs and summaries come from fetched pages, and "[/]" or "[link=...]" in one
# must print as written, never crash the command or become a terminal link.
out = SafeConsole(soft_wrap=True, markup=False)  # data: stdout
err = SafeConsole(stderr=True)  # progress, summaries and errors: stderr, so `--json` output stays clean
_C1 = re.compile("[\x7f-\x9f]")  # json.dumps escapes C0 but writes DEL and C1 (CSI is U+009B) as they are

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
    text = json.dumps(rows, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write(_C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")


def error_line(message: str) -> None:
    """An error as one line on stderr (a log or a script greps it); fetched text in it prints as written."""
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True, highlight=False)


def fail(message: str, code: int = 1) -> None:
    error_line(message)
    raise typer.Exit(code)


def fail_plainly(message: str) -> None:
    """An error outside any command's own handling: one line on stderr, exit 2."""
    error_line(message)
    sys.exit(2)


class FittedTable:
    """A table that fits the terminal (80 columns stay readable): when the columns cannot all fit at their minimum
    widths, those named in `drop` go first, in that order; text columns then fold rather than cut. Cells are plain
    text (fetched titles and URLs print as written); pass a `rich.text.Text` for a styled cell.

    `columns` are (header, options) with rich `Table.add_column` options; `min_width` defaults to the header's.
    """

    def __init__(self, console: Console, columns: list[tuple[str, dict[str, Any]]], *, drop: list[str] | tuple = (),
                 title: str | None = None):
        self.width = console.width
        options = dict(columns)
        keep = [name for name, _ in columns]

        def needed(names: list[str]) -> int:
            return sum(max(options[n].get("min_width") or 0, len(n)) + 3 for n in names)

        for name in drop:
            if needed(keep) <= self.width:
                break
            if name in keep:
                keep.remove(name)
        self.columns = keep
        self.dropped = [name for name, _ in columns if name not in keep]
        self.table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                           show_edge=False, header_style="bold")
        for name in keep:
            opts = dict(options[name])
            opts.setdefault("min_width", len(name))
            opts.setdefault("overflow", "fold")
            self.table.add_column(name, **opts)
        self.headers = [name for name, _ in columns]

    def add_row(self, *values: Any) -> None:
        cells = dict(zip(self.headers, values))
        self.table.add_row(*(_cell(cells.get(name)) for name in self.columns))

    @property
    def row_count(self) -> int:
        return self.table.row_count

    def __rich__(self) -> Table:
        return self.table


def _cell(value: Any) -> Text:
    if isinstance(value, Text):
        return value
    return Text("" if value is None else str(value))


def fitted_table(console: Console, *, columns: list[tuple[str, dict[str, Any]]], drop_first: list[str] | tuple = (),
                 title: str | None = None) -> FittedTable:
    """A `FittedTable` for `console`'s width (COLUMNS, or the terminal's)."""
    return FittedTable(console, columns, drop=drop_first, title=title)


def one_of(name: str, valid: tuple[str, ...]) -> Callable[[Any], Any]:
    """An option callback: the value (each value of a repeatable option) lower-cased if it is one of `valid`, else
    one error line that lists them, exit 2 (`--generation 2019-fiveyear` must not quietly match nothing)."""

    def check(value: Any) -> Any:
        message = unknown_choice(name, value, valid)
        if message:
            fail(message, 2)
        if value is None:
            return None
        return value.strip().lower() if isinstance(value, str) else [v.strip().lower() for v in value]

    return check


def footprint_code(value: str | None) -> str | None:
    """A `--footprint` value (a code or any name the registry knows: STP, ICB, brand, council, place) as its code;
    an unknown one ends the command (exit 2) with the nearest names."""
    if value is None:
        return None
    from crawler.registry import UnknownFootprint, resolve_footprint

    try:
        return resolve_footprint(value).code
    except UnknownFootprint as exc:
        fail(str(exc), 2)
    return None  # pragma: no cover - fail() raises


def footprint_codes(values: list[str] | None) -> list[str] | None:
    """Several `--footprint` values, each resolved as `footprint_code` does (order kept, duplicates dropped)."""
    if not values:
        return values
    return list(dict.fromkeys(code for code in (footprint_code(v) for v in values) if code))


def subscription_footprints(values: list[str] | None) -> list[str] | None:
    """`subscribe --footprint` values as stored: each resolved code, and for a footprint that no longer exists (a
    2022 ICB merged in April 2026) also the footprints of today that took it over, so the subscription follows the
    successor (alerts match event footprints against this stored list)."""
    from crawler.registry import current_footprints

    codes = footprint_codes(values)
    if not codes:
        return codes
    return list(dict.fromkeys(c for code in codes for c in (code, *current_footprints(code))))
