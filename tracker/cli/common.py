"""What every command shares: the data home, the two consoles, JSON output and one-line errors."""

from __future__ import annotations

import json
import logging
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
    """A table that fits the console's width (80 columns stay readable, never one word per line).

    `columns` are (header, options): rich `add_column` options, plus `ratio` for a text column that takes a share
    of the room left (a column without one is as wide as its widest cell, up to `max_width`), `min_width` below which
    a text column is not squeezed, and `overflow` ("fold" by default: wrap inside the cell; "ellipsis" keeps each
    row on one line). When even the minimum widths do not fit, the columns named in `drop` go first, in that order.
    Cells are plain text (fetched titles and URLs print as written); pass a `rich.text.Text` for a styled cell.
    """

    GAP = 3  # between two columns: padding either side of a blank separator (box.SIMPLE_HEAD)

    def __init__(self, console: Console, columns: list[tuple[str, dict[str, Any]]], *, drop: list[str] | tuple = (),
                 title: str | None = None):
        self.width = max(20, console.width)
        self.title = title
        self.options = {name: dict(opts) for name, opts in columns}
        self.headers = [name for name, _ in columns]
        self.drop = list(drop)
        self.rows: list[list[Text]] = []

    def add_row(self, *values: Any) -> None:
        self.rows.append([_cell(v) for v in values])

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def _longest(self, index: int) -> int:
        cells = [Text(self.headers[index])] + [row[index] for row in self.rows if index < len(row)]
        return max((len(line) for cell in cells for line in cell.plain.splitlines() or [""]), default=0)

    def widths(self) -> dict[str, int]:
        """Each kept column's width, in the order shown (dropped columns are absent)."""
        longest = {name: self._longest(i) for i, name in enumerate(self.headers)}
        keep = list(self.headers)

        def fixed(name: str) -> int:
            opts = self.options[name]
            return min(longest[name], opts.get("max_width") or longest[name])

        def floor(name: str) -> int:
            opts = self.options[name]
            if not opts.get("ratio"):
                return fixed(name)
            return min(longest[name], max(opts.get("min_width") or 0, len(name)))

        def needed(names: list[str]) -> int:
            return sum(floor(n) for n in names) + self.GAP * (len(names) - 1)

        for name in self.drop:
            if needed(keep) <= self.width:
                break
            if name in keep:
                keep.remove(name)
        widths = {n: floor(n) for n in keep}
        flexible = [n for n in keep if self.options[n].get("ratio")]
        room = self.width - needed(keep)
        # Share the room by ratio, never past a column's widest cell; what one cannot use goes to the others.
        while room > 0 and flexible:
            wanting = [n for n in flexible if widths[n] < longest[n]]
            if not wanting:
                break
            total = sum(self.options[n]["ratio"] for n in wanting)
            given = 0
            for n in wanting:
                share = max(1, room * self.options[n]["ratio"] // total)
                add = min(share, longest[n] - widths[n], room - given)
                widths[n] += add
                given += add
            if not given:
                break
            room -= given
        return widths

    def __rich__(self) -> Table:
        widths = self.widths()
        table = Table(title=self.title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                      header_style="bold", expand=False)
        for name, width in widths.items():
            opts = {k: v for k, v in self.options[name].items() if k not in ("ratio", "min_width", "max_width")}
            opts.setdefault("overflow", "fold")
            table.add_column(name, width=width, no_wrap=opts.pop("no_wrap", opts["overflow"] == "ellipsis"),
                             **opts)
        index = {name: i for i, name in enumerate(self.headers)}
        for row in self.rows:
            table.add_row(*(row[index[name]] if index[name] < len(row) else Text("") for name in widths))
        return table


def _cell(value: Any) -> Text:
    if isinstance(value, Text):
        return value
    return Text("" if value is None else str(value))


def table_console() -> Console:
    """Where a listing's table goes (stdout): the terminal's width, or COLUMNS; piped with no COLUMNS, wide (240),
    so that each row stays on one line for grep."""
    wide = not sys.stdout.isatty() and not (os.environ.get("COLUMNS") or "").isdigit()
    return SafeConsole(highlight=False, markup=False, soft_wrap=False, width=240 if wide else None)


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


# -- help text as written -------------------------------------------------------------------------------------

_TYPE_WORDS = {str: "TEXT", int: "INTEGER", float: "NUMBER", bool: "yes|no"}
_PATH_WORDS = {"file": "FILE", "dir": "FOLDER", "path": "PATH"}


def _type_in_words(param: Any, ctx: Any = None) -> str | None:
    """How --help names an option's value: TEXT, INTEGER, NUMBER, FILE, PATH, a|b|c; nothing for a flag (a
    repeatable option's help says so in words).

    typer 0.29 shows Python types (`<bool>` for a flag, `<list[str]>`); the help says what to type instead."""
    from typing import get_args

    if getattr(param, "metavar", None) is not None:
        return param.metavar
    if getattr(param, "is_flag", False):
        return None
    desc = param.type_descriptor
    annotation = desc.annotation
    repeatable = desc.is_list
    if repeatable:
        annotation = (get_args(annotation) or (str,))[0]
    if desc.is_choice and desc.choices is not None:
        word = "|".join(str(getattr(c, "value", c)) for c in desc.choices)
    elif desc.is_path:
        word = _PATH_WORDS.get(desc.path_type, "PATH")
    elif desc.is_datetime:
        word = "DATE"
    else:
        word = _TYPE_WORDS.get(annotation, getattr(annotation, "__name__", "VALUE").upper())
    if getattr(param, "nargs", 1) != 1:
        return f"{word}..."
    return word


def plain_help_text() -> None:
    """--help prints help as written: `[preserve]` and `[crawl.scrapy]` stay (typer renders help as rich markup,
    which drops any `[word]` as an unknown tag), and values are named in words, not Python types."""
    import typer.core

    # typer.rich_utils (rich's Markdown, markdown-it, pygments: ~40 ms) is imported only when help is rendered, so
    # the patch waits for the first help page: a command that runs pays nothing for it.
    for cls in (typer.core.TyperCommand, typer.core.TyperGroup):
        if not getattr(cls.format_help, "as_written", False):
            cls.format_help = _help_as_written(cls.format_help)  # type: ignore[method-assign]
    typer.core.TyperOption.display_type_rich = _type_in_words  # type: ignore[method-assign]
    typer.core.TyperArgument.display_type_rich = _type_in_words  # type: ignore[method-assign]


def _help_as_written(format_help: Any) -> Any:
    def format_help_as_written(self: Any, ctx: Any, formatter: Any) -> Any:
        _escape_rich_help()
        return format_help(self, ctx, formatter)

    format_help_as_written.as_written = True  # type: ignore[attr-defined]
    return format_help_as_written


def _escape_rich_help() -> None:
    import typer.rich_utils

    make = typer.rich_utils._make_rich_text
    if getattr(make, "as_written", False):
        return

    def as_written(*, text: str, style: str = "", markup_mode: Any) -> Any:
        if markup_mode == "rich":
            text = escape(text)
        return make(text=text, style=style, markup_mode=markup_mode)

    as_written.as_written = True  # type: ignore[attr-defined]
    typer.rich_utils._make_rich_text = as_written


class HeldLogs(logging.Handler):
    """Log records of one logger held back while a command runs, then let through unless the command printed the
    same error itself (a library logs a failure for the daemon's log; the command reports it once, as its error)."""

    def __init__(self, name: str):
        super().__init__()
        self.logger = logging.getLogger(name)
        self.records: list[logging.LogRecord] = []
        self.reported: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def report(self, message: str) -> str:
        """The command prints `message` itself: a held record saying the same is dropped."""
        self.reported.append(message)
        return message

    def __enter__(self) -> HeldLogs:
        self._propagate = self.logger.propagate
        self.logger.addHandler(self)
        self.logger.propagate = False
        return self

    def __exit__(self, *_: Any) -> None:
        self.logger.removeHandler(self)
        self.logger.propagate = self._propagate
        for record in self.records:
            text = record.getMessage()
            if not any(message and message in text for message in self.reported):
                self.logger.handle(record)


def light_option_values() -> None:
    """Plain `str` and `Path` option values are converted without Pydantic, and no option left unset builds a
    converter at all: Typer 0.29 coerces every value through a Pydantic TypeAdapter, and importing Pydantic is
    ~90 ms of every command's start-up (`status` is run by hand and by monitoring). Every other type, and a value
    of any type once given, goes through Typer's own converter exactly as before; a Typer without these internals
    keeps its own coercion (correct, only slower)."""
    try:
        from dataclasses import dataclass, field

        from typer import core
        from typer._coercion import RuntimeParam, build_runtime_param
        from typer._param_types import coerce_cli_path, routes_to_path
    except ImportError:
        return
    original = getattr(core._TyperParameter, "get_runtime_param", None)
    if original is None or getattr(original, "light", False):
        return

    @dataclass(frozen=True)
    class LightParam(RuntimeParam):  # type: ignore[misc]
        descriptor: Any = None
        typer_param: list[Any] = field(default_factory=list)

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            info, annotation = self.parameter_info, self.annotation
            if getattr(info, "parser", None) is None:
                if annotation is str and isinstance(value, str):
                    return value
                if annotation is Path and routes_to_path(annotation, info) and isinstance(value, (str, Path)):
                    # Typer's own path checks (exists, file_okay, readable...), given a Path so it needs no adapter
                    return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
            if not self.typer_param:
                self.typer_param.append(build_runtime_param(self.descriptor))
            return self.typer_param[0]._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self: Any) -> Any:
        desc = self.type_descriptor
        if self._runtime_param is None and desc.file_annotation is None:
            self._runtime_param = LightParam(parameter_info=desc.parameter_info, annotation=desc.annotation,
                                             descriptor=desc)
        return original(self)

    get_runtime_param.light = True  # type: ignore[attr-defined]
    core._TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]
