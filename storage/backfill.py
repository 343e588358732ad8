"""Captures imported from web archives: the capture list, listing cursors, historical crawls."""

from __future__ import annotations

from typing import Any

from ._base import ArchiveBase, _json
from .models import utcnow


class BackfillMixin(ArchiveBase):
    """The `Archive` methods for this table family; see `storage.archive.Archive`."""

    def start_backfill_crawl(self, sources: list[str], started_at: str) -> int:
        """A crawl made of archived captures (kind 'backfill'), dated at its first capture."""
        with self.db.atomic():
            return self._insert("crawls", {"started_at": started_at, "sources": _json(sources), "status": "running",
                                           "kind": "backfill"})

    def is_backfill_crawl(self, crawl_id: int) -> bool:
        row = self._one("SELECT kind FROM crawls WHERE id = ?", [crawl_id])
        return bool(row) and row["kind"] == "backfill"

    def backfill_cursor(self, source: str, query: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM backfill_cursors WHERE source = ? AND query = ?", [source, query])

    def set_backfill_cursor(self, source: str, query: str, *, resume_key: str | None, complete: bool,
                            pages: int) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO backfill_cursors (source, query, resume_key, complete, pages, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(source, query) DO UPDATE SET resume_key = excluded.resume_key, "
                "complete = excluded.complete, pages = excluded.pages, updated_at = excluded.updated_at",
                [source, query, resume_key, int(complete), pages, utcnow()],
            )

    def add_backfill_captures(self, captures: list[dict[str, Any]]) -> int:
        """Remember captures listed by an archive (each once); returns how many were new."""
        added = 0
        now = utcnow()
        with self.db.atomic():
            for c in captures:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO backfill_captures (source, archive, url, timestamp, raw_url, mimetype, "
                    "digest, kind, listed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [c["source"], c["archive"], c["url"], c["timestamp"], c["raw_url"], c.get("mimetype"),
                     c.get("digest"), c.get("kind") or "document", now],
                )
                added += cursor.rowcount or 0
        return added

    def pending_backfill_captures(self, sources: list[str]) -> list[dict[str, Any]]:
        """Captures listed but not yet imported, oldest capture first."""
        wanted = set(sources)
        rows = self._rows("SELECT * FROM backfill_captures WHERE status = 'pending' "
                          "ORDER BY timestamp, source, archive, url")
        return [r for r in rows if r["source"] in wanted]

    def finish_backfill_capture(self, capture: dict[str, Any], *, status: str, crawl_id: int | None,
                                fetch_id: int | None, error: str | None = None) -> None:
        self.db.execute(
            "UPDATE backfill_captures SET status = ?, crawl_id = ?, fetch_id = ?, error = ?, imported_at = ? "
            "WHERE source = ? AND archive = ? AND url = ? AND timestamp = ?",
            [status, crawl_id, fetch_id, error, utcnow(), capture["source"], capture["archive"], capture["url"],
             capture["timestamp"]],
        )
