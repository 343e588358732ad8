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
                            pages: int, skipped: int = 0) -> None:
        """Where a listing stands; `skipped` rows (no captures) are added to its count; a blocked mark is lifted."""
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO backfill_cursors (source, query, resume_key, complete, pages, skipped, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(source, query) DO UPDATE SET "
                "resume_key = excluded.resume_key, complete = excluded.complete, pages = excluded.pages, "
                "skipped = backfill_cursors.skipped + excluded.skipped, blocked = NULL, blocked_at = NULL, "
                "updated_at = excluded.updated_at",
                [source, query, resume_key, int(complete), pages, skipped, utcnow()],
            )

    def block_backfill_listing(self, source: str, query: str, words: str) -> None:
        """The archive refuses this listing: keep its words; not asked again until the mark is lifted."""
        now = utcnow()
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO backfill_cursors (source, query, complete, pages, blocked, blocked_at, updated_at) "
                "VALUES (?, ?, 0, 0, ?, ?, ?) ON CONFLICT(source, query) DO UPDATE SET blocked = excluded.blocked, "
                "blocked_at = excluded.blocked_at, updated_at = excluded.updated_at",
                [source, query, words, now, now],
            )

    def blocked_backfill_listings(self, sources: list[str]) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM backfill_cursors WHERE blocked IS NOT NULL AND source IN "
                          "(SELECT value FROM json_each(?)) ORDER BY source, query", [_json(sorted(set(sources)))])

    def backfill_listings(self, source: str) -> set[str]:
        """The keys of every listing of a source that was asked for (complete, under way or blocked)."""
        return {r["query"] for r in self._rows("SELECT query FROM backfill_cursors WHERE source = ?", [source])}

    def add_backfill_captures(self, captures: list[dict[str, Any]]) -> int:
        """Remember captures listed by an archive (each once); returns how many were new."""
        added = 0
        now = utcnow()
        with self.db.atomic():
            for c in captures:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO backfill_captures (source, archive, url, timestamp, raw_url, mimetype, "
                    "digest, kind, via, listed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [c["source"], c["archive"], c["url"], c["timestamp"], c["raw_url"], c.get("mimetype"),
                     c.get("digest"), c.get("kind") or "document", c.get("via"), now],
                )
                added += cursor.rowcount or 0
        return added

    def pending_backfill_captures(self, sources: list[str]) -> list[dict[str, Any]]:
        """Captures listed but not yet imported, oldest capture first."""
        wanted = set(sources)
        rows = self._rows("SELECT * FROM backfill_captures WHERE status = 'pending' "
                          "ORDER BY timestamp, source, archive, url")
        return [r for r in rows if r["source"] in wanted]

    def claim_backfill_capture(self, capture: dict[str, Any]) -> dict[str, Any] | None:
        """A capture reached by an archived redirect: listed now if new; returned if it is still to import (the
        caller imports it), None if it was imported (or given up) before."""
        self.add_backfill_captures([capture])
        row = self._one("SELECT * FROM backfill_captures WHERE source = ? AND archive = ? AND url = ? AND timestamp = ?",
                        [capture["source"], capture["archive"], capture["url"], capture["timestamp"]])
        return row if row and row["status"] == "pending" else None

    def backfill_pages_to_scan(self, sources: list[str]) -> list[dict[str, Any]]:
        """Page captures (listed or imported) whose links to documents were not listed yet, oldest first."""
        return self._rows("SELECT * FROM backfill_captures WHERE kind = 'page' AND links_listed = 0 "
                          "AND status IN ('pending', 'imported') AND source IN (SELECT value FROM json_each(?)) "
                          "ORDER BY timestamp, source, archive, url", [_json(sorted(set(sources)))])

    def mark_backfill_links_listed(self, capture: dict[str, Any]) -> None:
        self.db.execute("UPDATE backfill_captures SET links_listed = 1 WHERE source = ? AND archive = ? AND url = ? "
                        "AND timestamp = ?", [capture["source"], capture["archive"], capture["url"],
                                              capture["timestamp"]])

    def backfill_listing_stats(self, sources: list[str]) -> dict[str, int]:
        """How many listings are done, under way and blocked, and how many CDX rows were skipped."""
        row = self._one("SELECT COUNT(*) AS listings, COALESCE(SUM(complete), 0) AS complete, "
                        "COALESCE(SUM(blocked IS NOT NULL), 0) AS blocked, COALESCE(SUM(skipped), 0) AS skipped "
                        "FROM backfill_cursors WHERE source IN (SELECT value FROM json_each(?))",
                        [_json(sorted(set(sources)))])
        return {k: int(row[k] or 0) for k in ("listings", "complete", "blocked", "skipped")} if row else {}

    def finish_backfill_capture(self, capture: dict[str, Any], *, status: str, crawl_id: int | None,
                                fetch_id: int | None, error: str | None = None) -> None:
        self.db.execute(
            "UPDATE backfill_captures SET status = ?, crawl_id = ?, fetch_id = ?, error = ?, imported_at = ? "
            "WHERE source = ? AND archive = ? AND url = ? AND timestamp = ?",
            [status, crawl_id, fetch_id, error, utcnow(), capture["source"], capture["archive"], capture["url"],
             capture["timestamp"]],
        )
