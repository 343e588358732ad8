"""What every table family's methods share: the connection, row helpers and transactions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .blobs import BlobStore

if TYPE_CHECKING:  # sqlite-utils costs ~70 ms to import: only an opened Archive needs it (archive.py)
    import sqlite_utils


class ArchiveError(Exception):
    """The archive cannot be opened, read or written: says which file and why."""


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


class RowsBase:
    """Rows as dicts and atomic transactions over one sqlite-utils database: what the archive and the outbox
    (subscribers.db) both need."""

    db: sqlite_utils.Database

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several writes so that a crash keeps all of them or none."""
        with self.db.atomic():
            yield

    def _rows(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        cursor = self.db.execute(sql, params)
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]

    def _one(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None


class ArchiveBase(RowsBase):
    """The state and helpers the table-family mixins of `Archive` use (all SQL stays in `storage/`)."""

    home: Path
    db_path: Path
    db: sqlite_utils.Database
    blobs: BlobStore
    readonly: bool

    def _insert(self, table: str, record: dict[str, Any]) -> int:
        # One plain INSERT. Table and column names come from this module's own literals, never from input;
        # values are always parameters. (sqlite-utils' generic insert inspects the table each time: ~16
        # statements a row, which dominated a crawl's archive writes.)
        columns = ", ".join(record)
        marks = ", ".join("?" * len(record))
        cursor = self.db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(record.values()))
        return cursor.lastrowid

    def _has_table(self, name: str) -> bool:
        return self._one("SELECT 1 AS yes FROM sqlite_master WHERE type = 'table' AND name = ?", [name]) is not None
