"""Documents and versions: what a person would name, its distinct texts and where it was seen."""

from __future__ import annotations

import json
from typing import Any

from ._base import ArchiveBase, _json
from .cleantext import clean_line


class DocumentsMixin(ArchiveBase):
    """The `Archive` methods for this table family; see `storage.archive.Archive`."""

    def create_document(self, *, title: str | None, kind: str, footprint: str | None, generation: str | None,
                        draft: bool, seen_at: str, source: str | None, meta: dict | None = None) -> int:
        return self._insert(
            "documents",
            {"title": clean_line(title), "kind": kind, "footprint": footprint, "generation": generation, "draft": int(draft),
             "status": "live", "first_seen_at": seen_at, "last_seen_at": seen_at, "first_source": source,
             "meta": _json(meta or {})},
        )

    def update_document(self, document_id: int, **fields: Any) -> None:
        allowed = {"title", "kind", "footprint", "generation", "draft", "status", "first_seen_at", "last_seen_at",
                   "current_version_id", "meta"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"not document fields: {sorted(unknown)}")
        if "meta" in fields:
            fields["meta"] = _json(fields["meta"])
        if "title" in fields:
            fields["title"] = clean_line(fields["title"])
        if "draft" in fields:
            fields["draft"] = int(fields["draft"])
        # Column names come from the fixed `allowed` set above, never from input.
        assignments = ", ".join(f"{name} = ?" for name in fields)
        self.db.execute(f"UPDATE documents SET {assignments} WHERE id = ?", [*fields.values(), document_id])

    def document(self, document_id: int) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM documents WHERE id = ?", [document_id])
        if row:
            row["meta"] = json.loads(row["meta"])
            row["draft"] = bool(row["draft"])
        return row

    def documents(self, kind: str | None = None, footprint: str | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT d.*, (SELECT COUNT(*) FROM versions v WHERE v.document_id = d.id) AS version_count, "
            "(SELECT url FROM document_urls u WHERE u.document_id = d.id ORDER BY u.last_seen_at DESC LIMIT 1) AS url "
            "FROM documents d"
        )
        clauses, params = [], []
        if kind:
            clauses.append("d.kind = ?")
            params.append(kind)
        if footprint:
            clauses.append("d.footprint = ?")
            params.append(footprint)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        rows = self._rows(sql + " ORDER BY d.id", params)
        for row in rows:
            row["meta"] = json.loads(row["meta"])
            row["draft"] = bool(row["draft"])
        return rows

    def documents_at_url(self, url: str, source: str | None = None) -> list[int]:
        """Documents ever seen at `url` (in `source`), most recently seen first."""
        sql = "SELECT document_id FROM document_urls WHERE url = ?"
        params: list[Any] = [url]
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        return [r["document_id"] for r in self._rows(sql + " ORDER BY last_seen_at DESC", params)]

    def documents_with_text(self, text_sha256: str) -> list[int]:
        return [
            r["document_id"]
            for r in self._rows("SELECT DISTINCT document_id FROM versions WHERE text_sha256 = ? ORDER BY document_id",
                                [text_sha256])
        ]

    def add_document_url(self, document_id: int, source: str, url: str, seen_at: str) -> bool:
        """Note that `url` in `source` served this document at `seen_at`; True if the URL is new for it."""
        cursor = self.db.execute(
            "INSERT INTO document_urls (document_id, source, url, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(document_id, source, url) DO UPDATE SET last_seen_at = MAX(last_seen_at, excluded.last_seen_at)",
            [document_id, source, url, seen_at, seen_at],
        )
        return cursor.rowcount == 1 and self._one(
            "SELECT first_seen_at FROM document_urls WHERE document_id = ? AND source = ? AND url = ?",
            [document_id, source, url],
        )["first_seen_at"] == seen_at

    def document_urls(self, document_id: int) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT u.*, s.official FROM document_urls u LEFT JOIN sources s ON s.name = u.source "
            "WHERE u.document_id = ? ORDER BY u.first_seen_at, u.url",
            [document_id],
        )

    def document_urls_in_sources(self, sources: list[str]) -> list[dict[str, Any]]:
        """Every (document, source, url) ever seen in these sources: what a withdrawal check looks at."""
        if not sources:
            return []
        marks = ",".join("?" * len(sources))
        return self._rows(
            f"SELECT document_id, source, url, first_seen_at, last_seen_at FROM document_urls "
            f"WHERE source IN ({marks}) ORDER BY document_id, source, url",
            list(sources),
        )

    def add_version(self, document_id: int, *, text_sha256: str, blob_sha256: str | None, fetch_id: int | None,
                    crawl_id: int | None, seen_at: str) -> tuple[int, bool]:
        """The version of this document with this text, created if new; returns (version id, created)."""
        row = self._one("SELECT id FROM versions WHERE document_id = ? AND text_sha256 = ?", [document_id, text_sha256])
        if row:
            # MIN too: a capture backfilled from a web archive after live crawls can be the earliest sighting.
            self.db.execute("UPDATE versions SET last_seen_at = MAX(last_seen_at, ?), "
                            "first_seen_at = MIN(first_seen_at, ?) WHERE id = ?", [seen_at, seen_at, row["id"]])
            return row["id"], False
        version_id = self._insert(
            "versions",
            {"document_id": document_id, "text_sha256": text_sha256, "blob_sha256": blob_sha256,
             "first_fetch_id": fetch_id, "first_crawl_id": crawl_id, "first_seen_at": seen_at, "last_seen_at": seen_at},
        )
        return version_id, True

    def version(self, version_id: int) -> dict[str, Any] | None:
        return self._one(
            "SELECT v.*, d.title, d.kind AS document_kind, d.footprint, d.generation FROM versions v "
            "JOIN documents d ON d.id = v.document_id WHERE v.id = ?",
            [version_id],
        )

    def version_text(self, version_id: int) -> str | None:
        row = self._one("SELECT t.text FROM versions v JOIN texts t ON t.sha256 = v.text_sha256 WHERE v.id = ?",
                        [version_id])
        return row["text"] if row else None

    def versions_of(self, document_id: int) -> list[dict[str, Any]]:
        """Every version of a document, oldest first, with the URLs that served it."""
        rows = self._rows(
            "SELECT v.*, (SELECT length FROM texts t WHERE t.sha256 = v.text_sha256) AS text_length "
            "FROM versions v WHERE v.document_id = ? ORDER BY v.first_seen_at, v.id",
            [document_id],
        )
        for row in rows:
            row["urls"] = [
                r["url"]
                for r in self._rows(
                    "SELECT DISTINCT f.url FROM fetches f WHERE f.version_id = ? ORDER BY f.url", [row["id"]]
                )
            ]
        requests = self.preservations(version_ids=[row["id"] for row in rows]) if rows else []
        for row in rows:
            row["preservations"] = [p for p in reversed(requests) if p["version_id"] == row["id"]]
        return rows

    def sightings_of(self, document_id: int) -> list[dict[str, Any]]:
        """Every fetch that saw this document, in time order: the timeline of its versions and URLs."""
        return self._rows(
            "SELECT f.id AS fetch_id, f.crawl_id, f.source, f.url, f.final_url, f.fetched_at, f.status, "
            "f.not_modified, f.version_id FROM fetches f WHERE f.document_id = ? ORDER BY f.fetched_at, f.id",
            [document_id],
        )

    def prior_sightings(self, document_id: int, crawl_id: int, captured_before: str | None = None) -> list[dict[str, Any]]:
        """What was seen of the document before crawl `crawl_id` (or, with `captured_before`, fetched before that
        time, for backfilled history), as one row per (source, URL, version): the latest fetch of each, oldest
        first. Enough for every rule that looks back (the last version each source served, whether it served
        a version before, the URLs it used) without reading each re-fetch of a long history into memory."""
        sql = ("SELECT f.id AS fetch_id, f.crawl_id, f.source, f.url, max(f.fetched_at) AS fetched_at, f.status, "
               "f.not_modified, f.version_id FROM fetches f "
               "WHERE f.document_id = ? AND f.version_id IS NOT NULL AND f.crawl_id IS NOT ? AND ")
        if captured_before is not None:
            sql += "f.fetched_at < ?"
        else:
            sql += "coalesce(f.crawl_id, 0) < ?"
        sql += " GROUP BY f.source, f.url, f.version_id"
        rows = self._rows(
            sql,
            [document_id, crawl_id, captured_before if captured_before is not None else crawl_id],
        )
        rows.sort(key=lambda r: (r["fetched_at"] or "", r["fetch_id"]))
        return rows

    def seen_elsewhere_in_crawl(self, document_id: int, crawl_id: int, source: str, url: str) -> bool:
        """Whether this crawl saw the document at another URL of `source` (one indexed EXISTS)."""
        return bool(self.db.execute(
            "SELECT EXISTS (SELECT 1 FROM fetches WHERE document_id = ? AND crawl_id IS ? AND source = ? AND url <> ?)",
            [document_id, crawl_id, source, url],
        ).fetchone()[0])

    def text_fingerprint(self, text_sha256: str, method: str) -> bytes | None:
        """The stored fingerprint of a text, if one was made by `method` (what made it: a changed method's are
        made again)."""
        row = self.db.execute("SELECT shingles FROM text_fingerprints WHERE text_sha256 = ? AND method = ?",
                              [text_sha256, method]).fetchone()
        return row[0] if row else None

    def text_fingerprints(self, text_sha256s: list[str], method: str) -> dict[str, bytes]:
        """The stored fingerprints of these texts made by `method`, by text, in one query (texts without one are
        left out)."""
        if not text_sha256s:
            return {}
        rows = self.db.execute("SELECT text_sha256, shingles FROM text_fingerprints "
                               "WHERE text_sha256 IN (SELECT value FROM json_each(?)) AND method = ?",
                               [json.dumps(sorted(set(text_sha256s))), method]).fetchall()
        return {sha: shingles for sha, shingles in rows}

    def text_fingerprint_summaries(self, text_sha256s: list[str], method: str) -> dict[str, dict[str, Any]]:
        """What is stored beside these texts' fingerprints made by `method`, by text: words, hashes,
        sampled_hashes, sketch (each None in a row stored before they were); a text with no such fingerprint is
        left out. One query, without reading the fingerprints themselves."""
        if not text_sha256s:
            return {}
        rows = self._rows("SELECT text_sha256, words, hashes, sampled_hashes, sketch FROM text_fingerprints "
                          "WHERE text_sha256 IN (SELECT value FROM json_each(?)) AND method = ?",
                          [json.dumps(sorted(set(text_sha256s))), method])
        return {row.pop("text_sha256"): row for row in rows}

    def save_text_fingerprint(self, text_sha256: str, method: str, shingles: bytes, *, words: str | None = None,
                              hashes: int | None = None, sampled_hashes: int | None = None,
                              sketch: bytes | None = None) -> None:
        if self.readonly:
            return
        self.db.execute("INSERT OR REPLACE INTO text_fingerprints (text_sha256, method, shingles, words, hashes, "
                        "sampled_hashes, sketch) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [text_sha256, method, shingles, words, hashes, sampled_hashes, sketch])

    def plan_candidates(self, footprint: str | None, crawl_id: int | None, source: str, url: str,
                        generation: str | None = None) -> list[dict[str, Any]]:
        """The plans of a footprint (every plan without one) a new plan text may be a version of, in one query: id,
        generation, the current version's text and whether this crawl saw the plan at another URL of `source` (one
        indexed EXISTS each). With `generation`, only plans of that generation or of none known (a successor plan
        is never a version of its predecessor)."""
        sql = ("SELECT d.id, d.generation, v.text_sha256 AS current_text_sha256, EXISTS (SELECT 1 FROM fetches f "
               "WHERE f.document_id = d.id AND f.crawl_id IS :crawl AND f.source = :source AND f.url <> :url) "
               "AS seen_elsewhere FROM documents d LEFT JOIN versions v ON v.id = d.current_version_id "
               "WHERE d.kind = 'plan'")
        if footprint:
            sql += " AND d.footprint = :footprint"
        if generation not in (None, "unknown"):
            sql += " AND (d.generation IS NULL OR d.generation IN ('unknown', :generation))"
        sql += " ORDER BY d.id"
        return self._rows(sql, {"footprint": footprint, "crawl": crawl_id, "source": source, "url": url,
                                "generation": generation})
