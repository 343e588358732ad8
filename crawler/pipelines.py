"""The item pipeline: every Fetch goes into the archive, and per-source counters say how the crawl is going."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from storage import Fetch

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[dict[str, Any]], None]


@dataclass
class SourceStats:
    """Counters for one source in one crawl; `on_progress` (if any) hears about every fetch."""

    source: str
    on_progress: ProgressCallback | None = None
    fetches: int = 0
    pages: int = 0
    documents: int = 0
    not_modified: int = 0
    http_errors: int = 0  # responses with status >= 400
    errors: int = 0  # no response at all (timeout, DNS, too large, robots.txt, ...)
    bytes: int = 0
    new_blobs: int = 0
    good_responses: int = 0  # status < 400, 304 included
    error_counts: Counter = field(default_factory=Counter)
    first_http_error: str | None = None
    archive_error: str | None = None  # a fetch could not be recorded (disk full, read-only home): the source stopped
    problem: str | None = None  # the spider's own verdict when answers came but led nowhere ("no meetings found: ...")
    stopped_early: str | None = None  # every answer was a 5xx or none: the spider stopped (crawler/spiders/base.py)

    def add(self, fetch: Fetch, new_blob: bool) -> None:
        self.fetches += 1
        if fetch.status is None:
            self.errors += 1
            self.error_counts[fetch.error or "unknown error"] += 1
        else:
            if fetch.not_modified:
                self.not_modified += 1
            if fetch.status >= 400:
                self.http_errors += 1
                self.first_http_error = self.first_http_error or f"{fetch.status} for {fetch.url}"
            else:
                self.good_responses += 1
            if fetch.kind == "document":
                self.documents += 1
            else:
                self.pages += 1
        self.bytes += len(fetch.body or b"")
        self.new_blobs += int(new_blob)
        if self.on_progress is not None:
            event = {
                "source": self.source, "url": fetch.url, "status": fetch.status, "kind": fetch.kind,
                "error": fetch.error, "not_modified": fetch.not_modified, "bytes": len(fetch.body or b""),
                "new_blob": new_blob, "counts": self.counts(),
            }
            try:
                self.on_progress(event)
            except Exception:  # a broken progress display must not stop the crawl; the fetch is recorded
                logger.exception("on_progress failed for %s", fetch.url)

    def counts(self) -> dict[str, int]:
        return {
            "fetches": self.fetches, "pages": self.pages, "documents": self.documents,
            "not_modified": self.not_modified, "http_errors": self.http_errors, "errors": self.errors,
            "bytes": self.bytes, "new_blobs": self.new_blobs,
        }


class ArchivePipeline:
    """Records each Fetch with `archive.record_fetch`; the spider carries the archive and its `source_stats`."""

    def __init__(self, crawler: Any):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchivePipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, Fetch):
            return item
        spider = self.crawler.spider
        archive = spider.archive
        stats: SourceStats | None = getattr(spider, "source_stats", None)
        if stats is None:
            stats = spider.source_stats = SourceStats(spider.source.name)
        new_blob = False
        if item.body is not None and not item.not_modified:
            # Compressing and fsyncing the body happens in a worker thread (the blob store writes each blob by
            # temporary file and rename, so this is safe), keeping the reactor free; record_fetch below then finds
            # the blob stored and only writes the rows (SQLite stays on the reactor thread that owns it).
            try:
                _, new_blob = await asyncio.to_thread(archive.blobs.put, item.body)
            except OSError as exc:
                # Disk full, permissions: the fetch is still recorded, with why its body is missing.
                item.error = f"body not stored: {exc.strerror or exc}"
                item.body = None
        try:
            archive.record_fetch(item)
        except Exception as exc:  # disk full, read-only or damaged archive: stop this source, say why, lose nothing
            if stats.archive_error is None:
                stats.archive_error = f"archive write failed ({exc}): is the disk full or the data home read-only?"
                self._closing = asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="archive_error"))
            raise
        stats.add(item, new_blob)
        item.body = None  # stored: do not keep large bodies alive in Scrapy's queues
        return item
