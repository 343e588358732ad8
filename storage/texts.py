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
                "text_sha256 = ?, title = ?, pages = ?, page_offsets = ?, flags = ?, meta = ? WHERE sha256 = ?",
                [extraction.status, extraction.extractor, extraction.extractor_version, extraction.error, text_sha,
                 extraction.title, extraction.pages, _json(extraction.page_offsets), _json(extraction.flags),
                 _json(extraction.meta), blob_sha256],
            )
        return text_sha

    def text(self, text_sha256: str) -> str | None:
        row = self._one("SELECT text FROM texts WHERE sha256 = ?", [text_sha256])
        return row["text"] if row else None
