"""Blobs and their text: extractions per body, the normalised text they made."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ._base import ArchiveBase, _json
from .blobs import sha256_of
from .models import Extraction


class TextsMixin(ArchiveBase):
    """The `Archive` methods for this table family; see `storage.archive.Archive`."""

    def blob(self, sha256: str) -> bytes:
        return self.blobs.get(sha256)

    def blob_info(self, sha256: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM blobs WHERE sha256 = ?", [sha256])
        if row:
            for key in ("page_offsets", "flags", "meta"):
                row[key] = json.loads(row[key]) if row[key] else ([] if key != "meta" else {})
            row["structure"] = json.loads(row["structure"]) if row.get("structure") else None
        return row

    def unextracted_blobs(self, shas: Iterable[str]) -> list[str]:
        wanted = sorted(set(shas))
        if not wanted:
            return []
        found: list[str] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found += [
                r["sha256"]
                for r in self._rows(
                    f"SELECT sha256 FROM blobs WHERE extraction_status IS NULL AND sha256 IN ({marks})", chunk
                )
            ]
        return found

    def record_extraction(self, blob_sha256: str, extraction: Extraction) -> str | None:
        """Store what extraction made of a blob; return the sha256 of its normalised text (None if no text)."""
        text_sha = None
        with self.db.atomic():
            if extraction.status == "ok" and extraction.text:
                text_sha = sha256_of(extraction.text.encode("utf-8"))
                self.db.execute(
                    "INSERT OR IGNORE INTO texts (sha256, text, length) VALUES (?, ?, ?)",
                    [text_sha, extraction.text, len(extraction.text)],
                )
            self.db.execute(
                "UPDATE blobs SET extraction_status = ?, extractor = ?, extractor_version = ?, extraction_error = ?, "
                "text_sha256 = ?, title = ?, pages = ?, page_offsets = ?, flags = ?, meta = ?, structure = ? "
                "WHERE sha256 = ?",
                [extraction.status, extraction.extractor, extraction.extractor_version, extraction.error, text_sha,
                 extraction.title, extraction.pages, _json(extraction.page_offsets), _json(extraction.flags),
                 _json(extraction.meta), _json(extraction.structure) if extraction.structure else None,
                 blob_sha256],
            )
        return text_sha

    def store_text(self, text: str) -> str:
        """Store a text made from part of a blob's text (a plan inside a board pack); returns its sha256."""
        text_sha = sha256_of(text.encode("utf-8"))
        with self.db.atomic():
            self.db.execute("INSERT OR IGNORE INTO texts (sha256, text, length) VALUES (?, ?, ?)",
                            [text_sha, text, len(text)])
        return text_sha

    def text(self, text_sha256: str) -> str | None:
        row = self._one("SELECT text FROM texts WHERE sha256 = ?", [text_sha256])
        return row["text"] if row else None

    def text_structure(self, text_sha256: str) -> dict[str, Any] | None:
        """The structure stored with an extraction that made this text (the newest), or None."""
        row = self._one(
            "SELECT structure, meta FROM blobs WHERE text_sha256 = ? AND structure IS NOT NULL "
            "ORDER BY first_seen_at DESC LIMIT 1",
            [text_sha256],
        )
        return json.loads(row["structure"]) if row else None

    def version_structure(self, version_id: int) -> dict[str, Any] | None:
        """A version's document structure for the diff and the web app: ``{"version": 1, "source": "pdf",
        "pages": N, "blocks": [{"type": "heading" | "paragraph" | "list" | "table", "page": 1, "text": ...
        | "items": [...] | "rows": [[cell, ...], ...], "header_rows": n}]}`` (blocks read by OCR also carry
        ``"ocr": true, "confidence": 0-100``); None when the extraction recorded none (older archives)."""
        row = self._one("SELECT text_sha256 FROM versions WHERE id = ?", [version_id])
        return self.text_structure(row["text_sha256"]) if row else None
