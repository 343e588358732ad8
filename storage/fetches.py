"""Fetches: every response (or failure) recorded, and the URLs a source has served."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ._base import ArchiveBase, _header, _json
from .cleantext import clean_line
from .models import KEPT_HEADERS, Fetch, KnownUrl


class FetchesMixin(ArchiveBase):
    """The `Archive` methods for this table family; see `storage.archive.Archive`."""

    def record_fetch(self, fetch: Fetch) -> int:
        """Record one response or failure, storing its body once; return the fetch id."""
        headers = {k.lower(): v for k, v in fetch.headers.items() if k.lower() in KEPT_HEADERS}
        blob_sha = None
        body_size = None
        if fetch.body is not None and not fetch.not_modified:
            # The blob is written before its row: a crash in between leaves an unreferenced blob, never a
            # row pointing at nothing.
            blob_sha, _ = self.blobs.put(fetch.body)
            body_size = len(fetch.body)
        now = fetch.fetched_at
        with self.db.atomic():
            known = self._one("SELECT * FROM urls WHERE source = ? AND url = ?", [fetch.source, fetch.url])
            if fetch.not_modified and known:
                blob_sha = known["blob_sha256"]
            if blob_sha is not None and body_size is not None:
                self.db.execute(
                    "INSERT OR IGNORE INTO blobs (sha256, size, content_type, first_seen_at) VALUES (?, ?, ?, ?)",
                    [blob_sha, body_size, _header(headers, "content-type"), now],
                )
            length = _header(headers, "content-length")
            fetch_id = self._insert(
                "fetches",
                {
                    "crawl_id": fetch.crawl_id,
                    "source": fetch.source,
                    "url": fetch.url,
                    "final_url": fetch.final_url or fetch.url,
                    "fetched_at": now,
                    "status": fetch.status,
                    "error": fetch.error,
                    "content_type": _header(headers, "content-type"),
                    "content_length": int(length) if length and length.isdigit() else body_size,
                    "etag": _header(headers, "etag"),
                    "last_modified": _header(headers, "last-modified"),
                    "headers": _json(headers),
                    "blob_sha256": blob_sha,
                    "body_size": body_size,
                    "not_modified": int(fetch.not_modified),
                    "duration_ms": fetch.duration_ms,
                    "kind": fetch.kind,
                    "depth": fetch.depth,
                    "referer": fetch.referer,
                    "link_text": clean_line(fetch.link_text),
                    "origin": fetch.origin,
                },
            )
            served = blob_sha is not None and fetch.status is not None and (200 <= fetch.status < 300 or fetch.not_modified)
            if known is None:
                self._insert(
                    "urls",
                    {
                        "source": fetch.source,
                        "url": fetch.url,
                        "kind": fetch.kind,
                        "first_seen_at": now,
                        "last_seen_at": now,
                        "last_fetch_id": fetch_id,
                        "last_status": fetch.status,
                        "etag": _header(headers, "etag") if served else None,
                        "last_modified": _header(headers, "last-modified") if served else None,
                        "blob_sha256": blob_sha if served else None,
                    },
                )
            elif served and not fetch.not_modified:
                self.db.execute(
                    "UPDATE urls SET last_seen_at = ?, last_fetch_id = ?, last_status = ?, etag = ?, "
                    "last_modified = ?, blob_sha256 = ?, kind = ? WHERE source = ? AND url = ?",
                    [now, fetch_id, fetch.status, _header(headers, "etag"), _header(headers, "last-modified"),
                     blob_sha, fetch.kind, fetch.source, fetch.url],
                )
            elif fetch.not_modified:
                self.db.execute(
                    "UPDATE urls SET last_seen_at = ?, last_fetch_id = ?, last_status = 304 WHERE source = ? AND url = ?",
                    [now, fetch_id, fetch.source, fetch.url],
                )
            else:
                # A failure or an empty answer: the conditional-request validators of the last good body stay.
                self.db.execute(
                    "UPDATE urls SET last_fetch_id = ?, last_status = ? WHERE source = ? AND url = ?",
                    [fetch_id, fetch.status, fetch.source, fetch.url],
                )
        return fetch_id

    def known_urls(self, source: str, kind: str | None = None) -> list[KnownUrl]:
        """Every URL this source has served (or tried), with the validators for a conditional request."""
        sql = "SELECT * FROM urls WHERE source = ?"
        params: list[Any] = [source]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        return [
            KnownUrl(
                url=r["url"], source=r["source"], kind=r["kind"], etag=r["etag"],
                last_modified=r["last_modified"], blob_sha256=r["blob_sha256"], last_status=r["last_status"],
            )
            for r in self._rows(sql + " ORDER BY url", params)
        ]

    def fetch(self, fetch_id: int) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM fetches WHERE id = ?", [fetch_id])
        if row:
            row["headers"] = json.loads(row["headers"])
        return row

    def fetches(self, crawl_id: int | None = None, source: str | None = None, url: str | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        clauses, params = [], []
        for column, value in (("crawl_id", crawl_id), ("source", source), ("url", url)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT * FROM fetches"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY id"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self._rows(sql, params)
        for row in rows:
            row["headers"] = json.loads(row["headers"])
        return rows

    def iter_fetches(self, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every fetch in id order, in batches (for exports of large archives)."""
        last = 0
        while True:
            rows = self._rows("SELECT * FROM fetches WHERE id > ? ORDER BY id LIMIT ?", [last, batch])
            if not rows:
                return
            for row in rows:
                row["headers"] = json.loads(row["headers"])
                yield row
            last = rows[-1]["id"]

    def unanalysed_fetches(self, crawl_id: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM fetches WHERE analysed = 0"
        params: list[Any] = []
        if crawl_id is not None:
            sql += " AND crawl_id = ?"
            params.append(crawl_id)
        rows = self._rows(sql + " ORDER BY id", params)
        for row in rows:
            row["headers"] = json.loads(row["headers"])
        return rows

    def mark_fetch_analysed(self, fetch_id: int, document_id: int | None = None, version_id: int | None = None) -> None:
        self.db.execute(
            "UPDATE fetches SET analysed = 1, document_id = ?, version_id = ? WHERE id = ?",
            [document_id, version_id, fetch_id],
        )

    def fetches_of_version(self, version_id: int, limit: int = 500) -> list[dict[str, Any]]:
        """The fetches that saw this version (when and where it was fetched), oldest first."""
        rows = self._rows(
            "SELECT f.*, s.official FROM fetches f LEFT JOIN sources s ON s.name = f.source "
            "WHERE f.version_id = ? ORDER BY f.fetched_at, f.id LIMIT ?",
            [version_id, limit],
        )
        for row in rows:
            row["headers"] = json.loads(row["headers"])
        return rows
