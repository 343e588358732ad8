"""The item pipeline: every Fetch goes into the archive, and per-source counters say how the crawl is going."""

from __future__ import annotations

import asyncio
import logging
import weakref
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
    closed_reason: str | None = None  # why Scrapy closed the source's spider (closespider_timeout: out of budget)
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


class FetchWriter:
    """Writes one archive's fetches several to a transaction, on the reactor thread that owns the connection.

    `record` returns once its fetch is committed, so a fetch counts as scraped only when it is on disk. A batch is
    written when it holds `max_batch` fetches or `max_delay` seconds after its first: a crash loses at most the
    fetches of the batch not yet written, which were never reported as recorded (the next crawl fetches them
    again). One failing row fails only itself: the batch is then written again one fetch a transaction."""

    def __init__(self, archive: Any, max_batch: int = 64, max_delay: float = 0.05):
        self.archive = archive
        self.max_batch = max_batch
        self.max_delay = max_delay
        self._pending: list[tuple[Fetch, str | None, asyncio.Future]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._batched = hasattr(archive, "record_fetches")

    async def record(self, fetch: Fetch, blob_sha256: str | None) -> int:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._pending.append((fetch, blob_sha256, done))
        if len(self._pending) >= self.max_batch:
            self.flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.max_delay, self.flush)
        return await done

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            ids = self.archive.record_fetches([(f, sha) for f, sha, _ in batch]) if self._batched else None
        except Exception:  # noqa: BLE001 - written again one by one below, so that the error lands on its fetch
            ids = None
        if ids is not None:
            for (_, _, done), fetch_id in zip(batch, ids):
                if not done.done():
                    done.set_result(fetch_id)
            return
        for fetch, sha, done in batch:
            try:
                fetch_id = self.archive.record_fetch(fetch, sha) if sha is not None else self.archive.record_fetch(fetch)
            except Exception as exc:
                if not done.done():
                    done.set_exception(exc)
            else:
                if not done.done():
                    done.set_result(fetch_id)


_writers: weakref.WeakKeyDictionary[Any, FetchWriter] = weakref.WeakKeyDictionary()


def fetch_writer(archive: Any) -> FetchWriter:
    """The one writer of this archive (every source of a crawl shares it, so batches span sources)."""
    try:
        return _writers[archive]
    except KeyError:
        writer = _writers[archive] = FetchWriter(archive)
        return writer


class ArchivePipeline:
    """Records each Fetch in the archive (in batches, `FetchWriter`); the spider carries the archive and its
    `source_stats`."""

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
        blob_sha: str | None = None
        if item.body is not None and not item.not_modified:
            # Hashing, compressing and fsyncing the body happen in a worker thread (the blob store writes each blob
            # by temporary file and rename, so this is safe), keeping the reactor free; the rows are then written
            # with the blob's name (SQLite stays on the reactor thread that owns it).
            try:
                blob_sha, new_blob = await asyncio.to_thread(archive.blobs.put, item.body)
            except OSError as exc:
                # Disk full, permissions: the fetch is still recorded, with why its body is missing.
                item.error = f"body not stored: {exc.strerror or exc}"
                item.body = None
        try:
            await fetch_writer(archive).record(item, blob_sha or None)
        except Exception as exc:  # disk full, read-only or damaged archive: stop this source, say why, lose nothing
            if stats.archive_error is None:
                stats.archive_error = f"archive write failed ({exc}): is the disk full or the data home read-only?"
                self._closing = asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="archive_error"))
            raise
        stats.add(item, new_blob)
        item.body = None  # stored: do not keep large bodies alive in Scrapy's queues
        return item
