"""What every command shares: the data home, the two consoles, JSON output and one-line errors."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from storage import Archive, ArchiveError, unknown_choice

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


def fail_plainly(message: str) -> None:
    """An error outside any command's own handling: one line on stderr, exit 2."""
    error_line(message)
    sys.exit(2)


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
