"""Backfill from web archives: list a source's archived captures, import them in capture-time order as historical crawls."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from storage import Archive, Fetch

from tracker import analyse_crawl
from tracker import ExtractionPool
from tracker.webarchives.wayback import (ALL_TYPES, DOCUMENT_TYPES, BackfillConfig, Capture, PoliteClient, WaybackError, cdx_page,
                      content_type_of, describe, fetch_capture, timemap_captures, timestamp_iso)

log = logging.getLogger("stp_tracker.backfill")

DEFAULT_YEARS = (2016, 2022)
DOCUMENT_MIMES = frozenset(DOCUMENT_TYPES)


@dataclass(frozen=True)
class Query:
    """One listing to ask an archive for: a URL (exact) or a whole site (prefix), with the kinds of file wanted."""

    archive: str  # wayback, ukgwa
    url: str
    match: str  # exact, prefix
    mimetypes: tuple[str, ...]

    def key(self, years: tuple[int, int]) -> str:
        return f"{self.archive}|{self.match}|{self.url}|{years[0]}-{years[1]}|{','.join(self.mimetypes)}"


@dataclass
class BackfillSummary:
    listed: int = 0  # captures newly listed
    imported: int = 0
    failed: int = 0
    crawls: list[int] = field(default_factory=list)
    events: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # listings that failed (their cursor is kept)
    pending: int = 0  # listed, not yet imported (--limit stopped the run)


def _host_of(url: str) -> str:
    from crawler import host_of

    return host_of(url)


def queries_for(source: Any, known_documents: list[str], archives: list[str]) -> list[Query]:
    """What to ask the archives about one source: its documents site-wide, its start pages, its known documents."""
    queries: list[Query] = []
    domains = list(dict.fromkeys([*source.allowed_domains, *source.document_hosts]))
    if "wayback" in archives:
        for domain in domains:
            queries.append(Query("wayback", f"{domain}/", "prefix", DOCUMENT_TYPES))
    for url in source.start_urls:
        for archive in archives:
            queries.append(Query(archive, url, "exact", ALL_TYPES))
    for url in known_documents:
        if "wayback" in archives and not any(_host_of(url) == d for d in domains):
            queries.append(Query("wayback", url, "exact", DOCUMENT_TYPES))
        if "ukgwa" in archives:
            queries.append(Query("ukgwa", url, "exact", DOCUMENT_TYPES))
    return list(dict.fromkeys(queries))


def _rows(source: Any, query: Query, captures: list[Capture]) -> list[dict[str, Any]]:
    rows = []
    for c in captures:
        in_scope = source.in_scope(c.url) or source.on_document_host(c.url)
        if not in_scope:
            continue
        is_start = c.url in source.start_urls
        kind = "document" if (c.mimetype in DOCUMENT_MIMES or (not is_start and query.match == "prefix")) else "page"
        rows.append({"source": source.name, "archive": c.archive, "url": c.url, "timestamp": c.timestamp,
                     "raw_url": c.raw_url, "mimetype": c.mimetype, "digest": c.digest, "kind": kind})
    return rows


def list_captures(archive: Archive, client: PoliteClient, source: Any, query: Query,
                  years: tuple[int, int]) -> int:
    """Ask one archive for one query's captures, page by page from the saved cursor; returns how many were new.
    A finished listing is not asked again; a failed one keeps its cursor and raises WaybackError."""
    key = query.key(years)
    cursor = archive.backfill_cursor(source.name, key) or {}
    if cursor.get("complete"):
        return 0
    new = 0
    if query.archive == "ukgwa":
        captures = timemap_captures(client, query.url, years)
        new += archive.add_backfill_captures(_rows(source, query, captures))
        archive.set_backfill_cursor(source.name, key, resume_key=None, complete=True, pages=1)
        return new
    resume, pages = cursor.get("resume_key"), int(cursor.get("pages") or 0)
    while True:
        captures, resume = cdx_page(client, query.url, match=query.match, years=years, mimetypes=query.mimetypes,
                                    resume_key=resume)
        pages += 1
        with archive.transaction():
            new += archive.add_backfill_captures(_rows(source, query, captures))
            archive.set_backfill_cursor(source.name, key, resume_key=resume, complete=resume is None, pages=pages)
        if resume is None:
            return new


def import_captures(archive: Archive, client: PoliteClient, names: list[str], *, limit: int | None = None,
                    pool: ExtractionPool | None = None,
                    on_progress: Callable[[str], None] | None = None) -> BackfillSummary:
    """Import pending captures oldest first: one backfill crawl per source and capture day, each analysed at once
    (so events follow capture time). `limit` stops after about that many captures (a day is never split)."""
    summary = BackfillSummary()
    pending = archive.pending_backfill_captures(names)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for capture in pending:
        groups.setdefault((capture["timestamp"][:8], capture["source"]), []).append(capture)
    done = 0
    for (day, source), captures in sorted(groups.items()):
        if limit is not None and done >= limit:
            summary.pending += len(captures)
            continue
        crawl_id = archive.start_backfill_crawl([source], timestamp_iso(captures[0]["timestamp"]))
        summary.crawls.append(crawl_id)
        ok = failed = 0
        for capture in captures:
            response = fetch_capture(client, capture["raw_url"])
            origin = f"{capture['archive']}:{capture['timestamp']}"
            good = response.status == 200 and not response.error
            if good:
                fetch = Fetch(url=capture["url"], source=source, crawl_id=crawl_id, final_url=capture["url"],
                              status=200, body=response.body, fetched_at=timestamp_iso(capture["timestamp"]),
                              headers={"Content-Type": content_type_of(response, capture["mimetype"]) or ""},
                              kind=capture["kind"], origin=origin)
            else:
                # The archive's failure says nothing about the original site: no status, so it never counts
                # towards a withdrawal.
                fetch = Fetch(url=capture["url"], source=source, crawl_id=crawl_id, final_url=capture["url"],
                              status=None, fetched_at=timestamp_iso(capture["timestamp"]), kind=capture["kind"],
                              origin=origin,
                              error=f"{capture['archive']} capture {capture['timestamp']} unavailable: "
                                    f"{describe(response)} ({capture['raw_url']})")
            with archive.transaction():
                fetch_id = archive.record_fetch(fetch)
                archive.finish_backfill_capture(capture, status="imported" if good else "failed", crawl_id=crawl_id,
                                                fetch_id=fetch_id, error=None if good else fetch.error)
            ok += int(good)
            failed += int(not good)
            done += 1
            if on_progress:
                on_progress(f"{source} {capture['timestamp']} {capture['url']}: "
                            f"{'ok' if good else fetch.error}")
        archive.finish_crawl(crawl_id, {"backfill": True, "captures": len(captures), "imported": ok,
                                        "failed": failed, "day": day})
        summary.imported += ok
        summary.failed += failed
        analysis = analyse_crawl(archive, crawl_id, pool=pool)
        summary.events.extend(analysis.events)
    return summary


def backfill(archive: Archive, sources: list[Any], config: BackfillConfig, *, years: tuple[int, int] = DEFAULT_YEARS,
             limit: int | None = None, user_agent: str | None = None, pool: ExtractionPool | None = None,
             on_progress: Callable[[str], None] | None = None) -> BackfillSummary:
    """List every source's captures (resuming saved cursors), then import the pending ones in capture order.
    Running it again imports nothing twice; after an interruption it carries on where it stopped."""
    from crawler import user_agent as default_agent

    client = PoliteClient(config, user_agent or default_agent())
    listed = 0
    errors: list[str] = []
    for source in sources:
        archive.upsert_source(source.name, footprint=source.footprint, kind=source.kind, official=source.official,
                              config=source.config())
        known = [u.url for u in archive.known_urls(source.name, kind="document")]
        for query in queries_for(source, known, config.archives):
            try:
                count = list_captures(archive, client, source, query, years)
            except WaybackError as exc:
                errors.append(str(exc))
                log.warning("%s", exc)
                continue
            listed += count
            if on_progress:
                on_progress(f"{source.name}: {query.archive} {query.match} {query.url}: {count} new captures")
    summary = import_captures(archive, client, [s.name for s in sources], limit=limit, pool=pool,
                              on_progress=on_progress)
    summary.listed = listed
    summary.errors = errors
    return summary
