"""Replay captured bodies into a real archive as crawls would record them, then analyse: for checks over real
document pairs and series where serving them over HTTP would add time and nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from storage import Archive, Event, Fetch
from tracker.analysis import analyse_crawl
from tracker.workers import ExtractionPool


@dataclass
class Capture:
    url: str
    body: bytes | None
    content_type: str = "application/pdf"
    status: int = 200
    kind: str = "document"
    fetched_at: str | None = None


class Replayer:
    """One source, crawled again and again with what each capture says it served."""

    def __init__(self, archive: Archive, source: str = "replay", *, official: bool = True, kind: str = "site",
                 footprint: str | None = "QKS", pool: ExtractionPool | None = None):
        self.archive = archive
        self.source = source
        self.pool = pool
        archive.upsert_source(source, footprint=footprint, kind=kind, official=official,
                              config={"start_urls": []})

    def crawl(self, captures: list[Capture]) -> list[Event]:
        """Record one crawl of these captures; return the events it raised (all kinds)."""
        crawl_id = self.archive.start_crawl([self.source])
        for capture in captures:
            fetch = Fetch(url=capture.url, source=self.source, crawl_id=crawl_id, status=capture.status,
                          headers={"Content-Type": capture.content_type} if capture.body is not None else {},
                          body=capture.body, kind=capture.kind,
                          error=None if capture.status < 400 else f"HTTP {capture.status}")
            if capture.fetched_at:
                fetch.fetched_at = capture.fetched_at
            self.archive.record_fetch(fetch)
        self.archive.finish_crawl(crawl_id, {})
        ok = any(c.status < 400 for c in captures)
        self.archive.note_source_result(self.source, crawl_id, ok, None if ok else "no answer")
        summary = analyse_crawl(self.archive, crawl_id, pool=self.pool)
        return [self.archive.event(event_id) for event_id in summary.events]
