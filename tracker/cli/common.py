"""What every command shares: the data home, the two consoles, JSON output and one-line errors."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.segment import Segment

from storage import Archive, ArchiveError, strip_controls


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
