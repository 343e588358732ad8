"""Fetches: every response (or failure) recorded, and the URLs a source has served."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ._base import ArchiveBase, _header, _json
from .cleantext import clean_line
from .models import KEPT_HEADERS, Fetch, KnownUrl


# The row for `urls` after a fetch, by what the fetch was: a new body (the validators change), a 304 (seen again),
# or a failure or empty answer (the conditional-request validators of the last good body stay).
_URL_UPSERT = (
    "INSERT INTO urls (source, url, kind, first_seen_at, last_seen_at, last_fetch_id, last_status, etag, "
    "last_modified, blob_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, url) DO UPDATE SET "
)
_URL_UPSERTS = {
    "body": _URL_UPSERT + "last_seen_at = excluded.last_seen_at, last_fetch_id = excluded.last_fetch_id, "
            "last_status = excluded.last_status, etag = excluded.etag, last_modified = excluded.last_modified, "
            "blob_sha256 = excluded.blob_sha256, kind = excluded.kind",
    "304": _URL_UPSERT + "last_seen_at = excluded.last_seen_at, last_fetch_id = excluded.last_fetch_id, "
           "last_status = 304",
    "other": _URL_UPSERT + "last_fetch_id = excluded.last_fetch_id, last_status = excluded.last_status",
}


class FetchesMixin(ArchiveBase):
    """The `Archive` methods for this table family; see `storage.archive.Archive`."""

    def record_fetch(self, fetch: Fetch, blob_sha256: str | None = None) -> int:
        """Record one response or failure, storing its body once; return the fetch id.

        `blob_sha256`: the caller already stored the body in `self.blobs` (the crawl does it in a worker thread)."""
        return self.record_fetches([(fetch, blob_sha256)])[0]

    def record_fetches(self, items: list[tuple[Fetch, str | None]]) -> list[int]:
        """Record several fetches in one transaction (all or none); return their ids in order.

        Each item is a Fetch and, if its body is already in the blob store, its sha256 (else the body is stored
        here, before the rows: a crash in between leaves an unreferenced blob, never a row pointing at nothing)."""
        prepared = []
        for fetch, blob_sha in items:
            if fetch.body is not None and not fetch.not_modified:
                if blob_sha is None:
                    blob_sha, _ = self.blobs.put(fetch.body)
                prepared.append((fetch, blob_sha, len(fetch.body)))
            else:
                prepared.append((fetch, None, None))
        with self.db.atomic():
            return [self._write_fetch(fetch, blob_sha, size) for fetch, blob_sha, size in prepared]

    def _write_fetch(self, fetch: Fetch, blob_sha: str | None, body_size: int | None) -> int:
        """The rows of one fetch (inside the caller's transaction): 2 or 3 statements."""
        headers = {k.lower(): v for k, v in fetch.headers.items() if k.lower() in KEPT_HEADERS}
        now = fetch.fetched_at
        content_type = _header(headers, "content-type")
        etag, last_modified = _header(headers, "etag"), _header(headers, "last-modified")
        if blob_sha is not None:
            self.db.execute(
                "INSERT OR IGNORE INTO blobs (sha256, size, content_type, first_seen_at) VALUES (?, ?, ?, ?)",
                [blob_sha, body_size, content_type, now],
            )
        length = _header(headers, "content-length")
        # A 304 points at the body the URL last served (the urls row, read inside the same INSERT).
        cursor = self.db.execute(
            "INSERT INTO fetches (crawl_id, source, url, final_url, fetched_at, status, error, content_type, "
            "content_length, etag, last_modified, headers, blob_sha256, body_size, not_modified, duration_ms, kind, "
            "depth, referer, link_text, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "COALESCE(?, CASE WHEN ? THEN (SELECT blob_sha256 FROM urls WHERE source = ? AND url = ?) END), "
            "?, ?, ?, ?, ?, ?, ?, ?) RETURNING id, blob_sha256",
            [fetch.crawl_id, fetch.source, fetch.url, fetch.final_url or fetch.url, now, fetch.status, fetch.error,
             content_type, int(length) if length and length.isdigit() else body_size, etag, last_modified,
             _json(headers), blob_sha, int(fetch.not_modified), fetch.source, fetch.url, body_size,
             int(fetch.not_modified), fetch.duration_ms, fetch.kind, fetch.depth, fetch.referer, clean_line(fetch.link_text),
             fetch.origin],
        )
        fetch_id, blob_sha = cursor.fetchall()[0]
        served = blob_sha is not None and fetch.status is not None and (200 <= fetch.status < 300 or fetch.not_modified)
        case = "304" if fetch.not_modified else "body" if served else "other"
        # A URL seen for the first time takes the validators only from a good body (a 304 of an unknown URL has none).
        sql = _URL_UPSERTS[case]
        self.db.execute(
            sql,
            [fetch.source, fetch.url, fetch.kind, now, now, fetch_id, fetch.status,
             etag if served else None, last_modified if served else None, blob_sha if served else None],
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
