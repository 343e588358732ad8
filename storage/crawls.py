"""Crawls and sources: each crawl run, the sources crawled and their health."""

from __future__ import annotations

import json
from typing import Any

from ._base import ArchiveBase, _json
from .models import utcnow


class CrawlsMixin(ArchiveBase):
    """The `Archive` methods for this table family; see `storage.archive.Archive`."""

    def start_crawl(self, sources: list[str]) -> int:
        with self.db.atomic():
            return self._insert("crawls", {"started_at": utcnow(), "sources": _json(sources), "status": "running"})

    def finish_crawl(self, crawl_id: int, stats: dict[str, Any], status: str = "finished") -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE crawls SET finished_at = ?, status = ?, stats = ? WHERE id = ?",
                [utcnow(), status, _json(stats), crawl_id],
            )

    def mark_crawl_analysed(self, crawl_id: int) -> None:
        with self.db.atomic():
            self.db.execute("UPDATE crawls SET analysed_at = ? WHERE id = ?", [utcnow(), crawl_id])

    def abandon_running_crawls(self) -> list[int]:
        """Crawls left 'running' by a process that died: mark them abandoned, keep what they fetched."""
        with self.db.atomic():
            ids = [r["id"] for r in self._rows("SELECT id FROM crawls WHERE status = 'running'")]
            self.db.execute(
                "UPDATE crawls SET status = 'abandoned', finished_at = ? WHERE status = 'running'", [utcnow()]
            )
        return ids

    def crawl(self, crawl_id: int) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM crawls WHERE id = ?", [crawl_id])
        if row:
            row["sources"] = json.loads(row["sources"])
            row["stats"] = json.loads(row["stats"])
        return row

    def crawls(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM crawls ORDER BY id DESC LIMIT ?", [limit])
        for row in rows:
            row["sources"] = json.loads(row["sources"])
            row["stats"] = json.loads(row["stats"])
        return rows

    def unanalysed_crawls(self) -> list[int]:
        """Crawls that ended (finished or abandoned) but were never analysed, oldest first."""
        return [
            r["id"]
            for r in self._rows("SELECT id FROM crawls WHERE status != 'running' AND analysed_at IS NULL ORDER BY id")
        ]

    def upsert_source(self, name: str, *, footprint: str | None, kind: str, official: bool, config: dict) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO sources (name, footprint, kind, official, config) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET footprint = excluded.footprint, kind = excluded.kind, "
                "official = excluded.official, config = excluded.config",
                [name, footprint, kind, int(official), _json(config)],
            )

    def note_source_result(self, name: str, crawl_id: int, ok: bool, error: str | None = None) -> None:
        """After a source's crawl: its health (last success, consecutive failures, last error)."""
        now = utcnow()
        with self.db.atomic():
            if ok:
                self.db.execute(
                    "UPDATE sources SET last_crawl_id = ?, last_crawl_at = ?, last_success_at = ?, "
                    "consecutive_failures = 0, last_error = NULL, first_crawl_id = COALESCE(first_crawl_id, ?) "
                    "WHERE name = ?",
                    [crawl_id, now, now, crawl_id, name],
                )
            else:
                self.db.execute(
                    "UPDATE sources SET last_crawl_id = ?, last_crawl_at = ?, "
                    "consecutive_failures = consecutive_failures + 1, last_error = ? WHERE name = ?",
                    [crawl_id, now, error, name],
                )

    def source(self, name: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM sources WHERE name = ?", [name])
        if row:
            row["config"] = json.loads(row["config"])
            row["official"] = bool(row["official"])
        return row

    def sources(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM sources ORDER BY name")
        for row in rows:
            row["config"] = json.loads(row["config"])
            row["official"] = bool(row["official"])
        return rows

    def source_url_counts(self) -> dict[str, dict[str, Any]]:
        """Per source: documents and pages it has served with a body, URLs tried, when it was first tried."""
        rows = self._rows(
            "SELECT source, COUNT(*) AS urls, "
            "SUM(CASE WHEN kind = 'document' AND blob_sha256 IS NOT NULL THEN 1 ELSE 0 END) AS documents, "
            "SUM(CASE WHEN kind != 'document' AND blob_sha256 IS NOT NULL THEN 1 ELSE 0 END) AS pages, "
            "MIN(first_seen_at) AS first_seen_at, "
            "MAX(CASE WHEN kind = 'document' AND blob_sha256 IS NOT NULL THEN last_seen_at END) AS last_document_at "
            "FROM urls GROUP BY source"
        )
        return {row.pop("source"): row for row in rows}

    def latest_fetches(self, source: str, limit: int = 20) -> list[dict[str, Any]]:
        """The source's most recent fetches, newest first (without headers or bodies)."""
        return self._rows(
            "SELECT id, crawl_id, url, fetched_at, status, error, kind, not_modified, link_text FROM fetches "
            "WHERE source = ? ORDER BY id DESC LIMIT ?",
            [source, max(1, min(int(limit), 1000))],
        )

    def crawl_last_fetched_at(self, crawl_id: int) -> str | None:
        """The time of the crawl's latest fetch (for a backfill crawl: its latest capture time)."""
        row = self._one("SELECT MAX(fetched_at) AS at FROM fetches WHERE crawl_id = ?", [crawl_id])
        return row["at"] if row else None
