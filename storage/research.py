"""Read-only bulk access for researchers: exports, WARC, counts (table names from a fixed map)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._base import ArchiveBase


class ResearchMixin(ArchiveBase):
    """The `Archive` methods for this table family; see `storage.archive.Archive`."""

    _EXPORT_SQL = {
        "documents": "SELECT rowid AS _rowid, * FROM documents WHERE rowid > ? ORDER BY rowid LIMIT ?",
        "versions": "SELECT rowid AS _rowid, * FROM versions WHERE rowid > ? ORDER BY rowid LIMIT ?",
        "document_urls": "SELECT rowid AS _rowid, * FROM document_urls WHERE rowid > ? ORDER BY rowid LIMIT ?",
        "events": "SELECT rowid AS _rowid, * FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?",
        "fetches": "SELECT rowid AS _rowid, * FROM fetches WHERE rowid > ? ORDER BY rowid LIMIT ?",
        "sources": "SELECT rowid AS _rowid, * FROM sources WHERE rowid > ? ORDER BY rowid LIMIT ?",
        "crawls": "SELECT rowid AS _rowid, * FROM crawls WHERE rowid > ? ORDER BY rowid LIMIT ?",
        "blobs": "SELECT rowid AS _rowid, * FROM blobs WHERE rowid > ? ORDER BY rowid LIMIT ?",
    }

    _COUNT_SQL = {
        "documents": "SELECT COUNT(*) FROM documents",
        "versions": "SELECT COUNT(*) FROM versions",
        "fetches": "SELECT COUNT(*) FROM fetches",
        "events": "SELECT COUNT(*) FROM events",
        "blobs": "SELECT COUNT(*) FROM blobs",
    }

    def iter_table(self, table: str, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every row of one archive table in rowid order, read in batches (JSON columns left as text)."""
        sql = self._EXPORT_SQL.get(table)
        if sql is None:
            raise ValueError(f"cannot export table {table!r}: choose one of {sorted(self._EXPORT_SQL)}")
        last = 0
        while True:
            rows = self._rows(sql, [last, batch])
            if not rows:
                return
            last = rows[-1]["_rowid"]
            for row in rows:
                del row["_rowid"]
                yield row

    def counts(self) -> dict[str, int]:
        """How many documents, versions, fetches, events and blobs the archive holds."""
        return {name: self.db.execute(sql).fetchone()[0] for name, sql in self._COUNT_SQL.items()}
