"""A crawl's analysis: extract new bodies (in the worker pool), file every fetch, then decide the events."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from time import monotonic
from typing import Callable

from storage import Archive, Extraction

from tracker.meaning import TEXT_STATUSES, Fingerprints, file_fetch
from tracker.workers import ExtractionPool, shared_pool

log = logging.getLogger("stp_tracker.analyse")



@dataclass
class AnalysisSummary:
    crawl_id: int
    fetches: int = 0
    extracted: int = 0
    extraction_failures: dict[str, int] = field(default_factory=dict)
    new_documents: int = 0
    new_versions: int = 0
    events: list[int] = field(default_factory=list)
    seconds: float = 0.0


def analyse_crawl(archive: Archive, crawl_id: int, *, pool: ExtractionPool | None = None,
                  on_progress: Callable[[str, int, int], None] | None = None,
                  decide_events: bool = True) -> AnalysisSummary:
    """Extract, file and (once the whole run is in) decide the events of one crawl. Safe to re-run after a crash."""
    from tracker.meaning import classify

    started = monotonic()
    summary = AnalysisSummary(crawl_id=crawl_id)
    copy_footprint_names(archive)
    fetches = archive.unanalysed_fetches(crawl_id)
    summary.fetches = len(fetches)
    sources = {s["name"]: s for s in archive.sources()}

    # 1. Extract each body once (a blob seen at many URLs, or in many crawls, is extracted once).
    jobs: dict[str, tuple[str, str | None, str | None, str | None]] = {}
    todo = set(archive.unextracted_blobs(f["blob_sha256"] for f in fetches if f["blob_sha256"]))
    for fetch in fetches:
        sha = fetch["blob_sha256"]
        if sha in todo and sha not in jobs:
            selector = (sources.get(fetch["source"]) or {}).get("config", {}).get("css_selector")
            jobs[sha] = (sha, fetch["content_type"], fetch["final_url"] or fetch["url"], selector)
    if jobs:
        done = 0

        def record(sha: str, extraction: Extraction) -> None:
            nonlocal done
            done += 1
            archive.record_extraction(sha, extraction)
            if extraction.status not in TEXT_STATUSES:
                summary.extraction_failures[extraction.status] = summary.extraction_failures.get(extraction.status, 0) + 1
            if on_progress:
                on_progress("extract", done, len(jobs))

        (pool or shared_pool()).run(list(jobs.values()), str(archive.blobs.root), on_done=record)
        summary.extracted = len(jobs)

    # 2. File each fetch, in the order it happened.
    prints = Fingerprints(archive)
    for index, fetch in enumerate(fetches, start=1):
        with archive.transaction():
            created_doc, created_version = file_fetch(archive, fetch, sources, prints, classify)
        summary.new_documents += int(created_doc)
        summary.new_versions += int(created_version)
        if on_progress:
            on_progress("file", index, len(fetches))

    # 3. Decide what the run means, all at once (sightings in one run are simultaneous).
    if decide_events:
        from tracker.meaning import decide_events as decide

        crawl = archive.crawl(crawl_id)
        if crawl and crawl["status"] != "running" and not crawl["analysed_at"]:
            summary.events = decide(archive, crawl_id)
    summary.seconds = monotonic() - started
    return summary


def copy_footprint_names(archive: Archive) -> None:
    """Keep the archive's footprints table equal to the registry's names (event JSON and researchers read it)."""
    from tracker.meaning import footprint_names

    archive.set_footprint_names(footprint_names())
