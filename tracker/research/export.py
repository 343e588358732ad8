"""Exports for researchers: the archive's tables as CSV or JSON files, streamed so any size fits in memory."""

from __future__ import annotations

import csv
import dataclasses
import errno
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from storage import Archive

from storage import event_json

# Columns holding JSON text in the archive: decoded in JSON exports, kept as text in CSV.
JSON_COLUMNS = {
    "documents": ("meta",),
    "events": ("changes",),
    "fetches": ("headers",),
}
BOOL_COLUMNS = {
    "documents": ("draft",),
    "fetches": ("not_modified", "analysed"),
}
DATASETS = ("footprints", "documents", "versions", "document_urls", "events", "fetches")
FORMATS = ("csv", "json")


class ExportError(Exception):
    """An export cannot be written: names the file and the fix."""


# -- the JSON shapes shared by the command line (`--json`) and the web app's /api ---------------------


def document_json(row: dict[str, Any]) -> dict[str, Any]:
    """One row of `Archive.documents()` as `stp-tracker documents --json` prints it."""
    return {
        "id": row["id"], "title": row["title"], "kind": row["kind"], "footprint": row["footprint"],
        "generation": row["generation"], "draft": row["draft"], "status": row["status"], "url": row.get("url"),
        "versions": row.get("version_count"), "first_seen": row["first_seen_at"], "last_seen": row["last_seen_at"],
    }


def version_json(document_id: int, row: dict[str, Any]) -> dict[str, Any]:
    """One row of `Archive.versions_of()` as `stp-tracker history --json` prints it."""
    return {
        "version_id": row["id"], "document_id": document_id, "text_sha256": row["text_sha256"],
        "blob_sha256": row["blob_sha256"], "first_seen": row["first_seen_at"], "last_seen": row["last_seen_at"],
        "urls": row.get("urls", []), "characters": row.get("text_length"),
        "preservations": [preservation_json(p) for p in row.get("preservations", [])],
    }


def preservation_json(row: dict[str, Any]) -> dict[str, Any]:
    """One Save Page Now request (`preserve --json`, and with its version in `history --json`)."""
    return {"version_id": row["version_id"], "event_id": row["event_id"], "url": row["url"], "status": row["status"],
            "capture_url": row["capture_url"], "captured_at": row["captured_at"], "requested_at": row["requested_at"],
            "attempts": row["attempts"], "error": row["error"]}


def footprint_rows() -> list[dict[str, Any]]:
    """The built-in registry's footprints as flat dicts."""
    from crawler.registry import footprints

    return [dataclasses.asdict(fp) for fp in footprints().values()]


# -- streaming ----------------------------------------------------------------------------------------


def _rows(archive: Archive, dataset: str, for_json: bool, batch: int) -> Iterator[dict[str, Any]]:
    if dataset == "footprints":
        yield from footprint_rows()
        return
    if dataset == "events" and for_json:
        # THE JSON of an event (as `events --json`, feeds and webhooks show it), every event included.
        for event in archive.iter_events(batch=batch):
            yield event_json(archive, event)
        return
    json_columns = JSON_COLUMNS.get(dataset, ())
    bool_columns = BOOL_COLUMNS.get(dataset, ())
    for row in archive.iter_table(dataset, batch=batch):
        if for_json:
            for column in json_columns:
                if isinstance(row.get(column), str):
                    try:
                        row[column] = json.loads(row[column])
                    except ValueError:
                        pass  # kept as the text it is
            for column in bool_columns:
                if row.get(column) is not None:
                    row[column] = bool(row[column])
        yield row


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...), @SUM, +cmd|...): such a
# text cell is written with a leading apostrophe, which spreadsheets show as text (OWASP's CSV injection advice).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def open_new(path: Path, binary: bool = False) -> Any:
    """A new file at `path` for writing; never through a symbolic link (a link planted there is refused)."""
    if path.is_symlink():
        raise ExportError(f"refused: {path} is a symbolic link; remove it (exports never write through links)")
    if path.exists():
        path.unlink()  # a .part left by an interrupted export
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EEXIST):
            raise ExportError(f"refused: {path} appeared while exporting (a link or another writer)") from None
        raise
    return os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")


def write_csv(rows: Iterable[dict[str, Any]], fh: TextIO) -> int:
    """Write dict rows as CSV with a header from the first row; lists and dicts become JSON text."""
    writer = None
    count = 0
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(fh, fieldnames=list(row), extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
        writer.writerow({k: _cell(v) for k, v in row.items()})
        count += 1
    return count


def write_json_array(rows: Iterable[dict[str, Any]], fh: TextIO) -> int:
    """Write dict rows as one JSON array, one element at a time (never the whole list in memory)."""
    count = 0
    fh.write("[")
    for row in rows:
        fh.write(",\n" if count else "\n")
        fh.write(json.dumps(row, ensure_ascii=False, default=str))
        count += 1
    fh.write("\n]\n" if count else "]\n")
    return count


def export(archive: Archive, directory: str | Path, fmt: str, datasets: Iterable[str] = DATASETS,
           batch: int = 1000) -> dict[str, int]:
    """Write one file per dataset (`documents.csv`, `events.json`, ...) into `directory`; return row counts."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    target = Path(directory)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the export folder {target}: {exc.strerror}") from None
    counts: dict[str, int] = {}
    for dataset in datasets:
        if dataset not in DATASETS:
            raise ExportError(f"unknown dataset {dataset!r}: choose from {', '.join(DATASETS)}")
        path = target / f"{dataset}.{fmt}"
        tmp = path.with_name(path.name + ".part")
        if path.is_symlink():
            raise ExportError(f"refused: {path} is a symbolic link; remove it (exports never write through links)")
        try:
            with open_new(tmp) as fh:
                rows = _rows(archive, dataset, fmt == "json", batch)
                counts[dataset] = write_csv(rows, fh) if fmt == "csv" else write_json_array(rows, fh)
            tmp.replace(path)  # a reader never sees half a file under the real name
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ExportError(f"cannot write {path}: {exc.strerror}") from None
    return counts
