"""Backfill from web archives: list a source's archived captures, import them in capture-time order as historical crawls.

Three steps, each safe to interrupt and run again: (1) list captures (CDX and TimeMaps, resuming saved cursors;
a blocked listing keeps the archive's words and is not asked again); (2) read the archived pages of each source
(its start pages, its old domains' home pages) and list the captures of the documents they link to, on any
host, one hop; (3) import every pending capture oldest first, one historical crawl per source and capture day.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from posixpath import splitext
from typing import Any

from storage import Archive, Fetch

from tracker import analyse_crawl
from tracker import ExtractionPool
from tracker.webarchives.wayback import (ALL_TYPES, DOCUMENT_TYPES, BackfillConfig, BlockedSiteError, Capture,
                                         Chain, CdxError, Memento, MementoError, PoliteClient, RateLimitError,
                                         WaybackError, cdx_page, content_type_of, fetch_chain, host_key,
                                         junk_original, plain_original, surt, timemap_captures, timestamp_iso)

log = logging.getLogger("stp_tracker.backfill")

DEFAULT_YEARS = (2016, 2022)
DOCUMENT_MIMES = frozenset(DOCUMENT_TYPES)
LINKED_EXTENSIONS = frozenset({".pdf", ".docx", ".xlsx", ".doc", ".xls"})
EXACT_STATUSES = "(200|301|302|303|307|308|404|410)"  # what a start page or a known document was, as archived
MAX_LINKS_PER_PAGE = 500
PAGE_CACHE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Query:
    """One listing to ask an archive for: a URL (exact) or a whole site (prefix), with the kinds of file wanted."""

    archive: str  # wayback, ukgwa
    url: str
    match: str  # exact, prefix
    mimetypes: tuple[str, ...]  # () for any
    via: str | None = None  # the archived page that linked to it (a linked document)

    def key(self, years: tuple[int, int]) -> str:
        return f"{self.archive}|{self.match}|{self.url}|{years[0]}-{years[1]}|{','.join(self.mimetypes)}"


@dataclass
class BackfillSummary:
    listed: int = 0  # captures newly listed
    linked: int = 0  # of them, documents linked from archived pages
    imported: int = 0
    failed: int = 0
    redirects: int = 0  # captures of redirects (imported, the target imported under its own URL)
    crawls: list[int] = field(default_factory=list)
    events: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # listings or imports to run again for (cursors are kept)
    blocked: list[str] = field(default_factory=list)  # listings the archive refuses, in its words
    skipped: list[str] = field(default_factory=list)  # CDX rows that are no captures, with the reason
    pending: int = 0  # listed, not yet imported (--limit stopped the run, or the archive refused)


@dataclass
class Estimate:
    """How long a backfill will take at the configured pace (the archive's published limits by default)."""

    listings: int  # listings still to ask (each at least one request)
    captures: int  # captures listed and still to import
    pages: int  # archived pages still to read for links
    seconds: float

    def describe(self, config: BackfillConfig) -> str:
        return (f"{self.listings} listings to ask, {self.pages} archived pages to read for links, "
                f"{self.captures} captures to import: at least {duration(self.seconds)} at "
                f"{_rate(config.cdx_per_minute)} listing and {_rate(config.memento_per_minute)} capture requests "
                f"a minute")


def _rate(per_minute: float) -> str:
    return f"{per_minute:g}" if per_minute > 0 else "unlimited"


def duration(seconds: float) -> str:
    if 0 < seconds < 1:
        return "under 1 s"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def history_domains(source: Any) -> list[str]:
    """The source's old domains (the registry's `options.history_domains`): listed like its own."""
    value = (getattr(source, "options", None) or {}).get("history_domains") or []
    if isinstance(value, str):
        value = [value]
    return [str(d).strip().lower().rstrip("/") for d in value if str(d).strip()]


def site_wide(source: Any) -> bool:
    """Whether a source's own domains are listed whole. Not for a page watched on its own (kind "page"), nor
    for a national or regional source serving many footprints (footprint None, options.footprints: NHS England):
    what such a source holds for one footprint is what its pages link to, not every file on its site."""
    footprints = (getattr(source, "options", None) or {}).get("footprints") or []
    return source.kind != "page" and not (source.footprint is None and len(footprints) > 1)


def _domains(source: Any) -> list[str]:
    return list(dict.fromkeys([*source.allowed_domains, *source.document_hosts, *history_domains(source)]))


def _pages(source: Any) -> list[str]:
    """The pages whose captures are read: the start pages, and each old domain's home page."""
    return list(dict.fromkeys([*source.start_urls, *(f"http://{d}/" for d in history_domains(source))]))


def in_scope(source: Any, url: str) -> bool:
    """On one of the source's domains (its own, its document hosts, its old ones), compared as SURT does:
    `http://archive.org:80/` is on `www.archive.org`."""
    try:
        host = host_key(urllib.parse.urlsplit(url).netloc)
    except ValueError:
        return False
    return bool(host) and any(host == d or host.endswith("." + d) for d in (host_key(x) for x in _domains(source)))


def queries_for(source: Any, known_documents: list[str], archives: list[str]) -> list[Query]:
    """What to ask the archives about one source: its documents site-wide (old domains too), its pages, its
    known documents."""
    queries: list[Query] = []
    # A "page" source watches one page (NHS England's list of STPs, say): its documents are the ones it links to
    # (read from its captures), not everything on its host. A site scoped to some paths (options.path_prefixes,
    # as the registry scopes NHS England's very large site) is listed under those paths only. Its old domains
    # are listed whole.
    prefixes = [str(p) for p in (getattr(source, "options", None) or {}).get("path_prefixes") or []
                if str(p).startswith("/")] or ["/"]
    own = list(dict.fromkeys([*source.allowed_domains, *source.document_hosts])) if site_wide(source) else []
    listed = [f"{d}{prefix}" for d in own for prefix in prefixes]
    listed += [f"{d}/" for d in history_domains(source) if d not in own]
    if "wayback" in archives:
        for where in dict.fromkeys(listed):
            queries.append(Query("wayback", where, "prefix", DOCUMENT_TYPES))
    for url in _pages(source):
        for archive in archives:
            queries.append(Query(archive, url, "exact", ALL_TYPES))
    for url in known_documents:
        if "wayback" in archives and not in_scope(source, url):
            queries.append(Query("wayback", url, "exact", DOCUMENT_TYPES))
        if "ukgwa" in archives:
            queries.append(Query("ukgwa", url, "exact", DOCUMENT_TYPES))
    return list(dict.fromkeys(queries))


def _rows(source: Any, query: Query, captures: list[Capture], canonical: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    pages = {surt(u) for u in _pages(source)}
    for c in captures:
        key = surt(c.url)
        url = canonical.get(key) or plain_original(c.url)
        if query.via is None and not in_scope(source, url):
            continue
        is_page = key in pages
        if query.via is not None:
            kind = "document"
        else:
            kind = "document" if (c.mimetype in DOCUMENT_MIMES or (not is_page and query.match == "prefix")) else "page"
        rows.append({"source": source.name, "archive": c.archive, "url": url, "timestamp": c.timestamp,
                     "raw_url": c.raw_url, "mimetype": c.mimetype, "digest": c.digest, "kind": kind,
                     "via": query.via})
    return rows


def _canonical(source: Any, known: list[str]) -> dict[str, str]:
    """SURT key -> the URL we store it under: the start page or known document it is the same as."""
    out: dict[str, str] = {}
    for url in [*known, *_pages(source)]:
        out[surt(url)] = url
    return out


def list_captures(archive: Archive, client: PoliteClient, source: Any, query: Query, years: tuple[int, int], *,
                  canonical: dict[str, str] | None = None, retry_blocked: bool = False,
                  summary: BackfillSummary | None = None) -> int:
    """Ask one archive for one query's captures, page by page from the saved cursor; returns how many were new.
    A finished listing is not asked again, nor a blocked one (unless `retry_blocked`); a failed one keeps its
    cursor and raises CdxError; a blocked one raises BlockedSiteError (its words are kept)."""
    key = query.key(years)
    canonical = canonical if canonical is not None else _canonical(source, [])
    cursor = archive.backfill_cursor(source.name, key) or {}
    if cursor.get("complete"):
        return 0
    if cursor.get("blocked") and not retry_blocked:
        raise BlockedSiteError(f"{query.url}: blocked by the archive ({cursor['blocked']}); not asked again "
                               f"(--retry-blocked)", cursor["blocked"])
    new = 0
    if query.archive == "ukgwa":
        captures = timemap_captures(client, query.url, years)
        new += archive.add_backfill_captures(_rows(source, query, captures, canonical))
        archive.set_backfill_cursor(source.name, key, resume_key=None, complete=True, pages=1)
        return new
    resume, pages = cursor.get("resume_key"), int(cursor.get("pages") or 0)
    statuses = EXACT_STATUSES if query.match == "exact" else "200"
    while True:
        try:
            page = cdx_page(client, query.url, match=query.match, years=years, mimetypes=query.mimetypes,
                            resume_key=resume, statuses=statuses)
        except BlockedSiteError as exc:
            archive.block_backfill_listing(source.name, key, exc.words)
            raise
        pages += 1
        with archive.transaction():
            new += archive.add_backfill_captures(_rows(source, query, page.captures, canonical))
            archive.set_backfill_cursor(source.name, key, resume_key=page.resume_key,
                                        complete=page.resume_key is None, pages=pages, skipped=len(page.skipped))
        if summary is not None:
            summary.skipped.extend(f"{query.url}: {s}" for s in page.skipped)
        for reason in page.skipped:
            log.info("CDX row skipped (%s): %s", query.url, reason)
        if page.resume_key is None:
            return new
        resume = page.resume_key


# -- documents linked from archived pages -------------------------------------------------------------------

_ARCHIVED_LINK = re.compile(r"^(?:https?://[^/]+)?/(?:web|ukgwa)/\d{1,14}[a-z_]*/(https?:/?/.+)$", re.I)


def document_links(body: bytes, base: str) -> list[str]:
    """Absolute URLs of the documents (PDF, Word, Excel) an archived page links to, on any host, each once.
    Links the archive rewrote into its own address space are taken back to their original URL."""
    import lxml.html

    try:
        tree = lxml.html.document_fromstring(body[:20 * 1024 * 1024])
    except (ValueError, lxml.etree.ParserError):  # type: ignore[attr-defined]
        return []
    bases = tree.xpath("//base/@href")
    here = urllib.parse.urljoin(base, str(bases[0]).strip()) if bases else base
    found: list[str] = []
    for href in tree.xpath("//a/@href|//area/@href"):
        href = str(href).strip()
        if not href or href.startswith(("#", "mailto:", "javascript:", "data:", "tel:")):
            continue
        url = urllib.parse.urljoin(here, href)
        archived = _ARCHIVED_LINK.match(url)
        if archived:
            url = re.sub(r"^(https?):/(?!/)", r"\1://", archived.group(1))
        url, _ = urllib.parse.urldefrag(url)
        try:
            extension = splitext(urllib.parse.unquote(urllib.parse.urlsplit(url).path))[1].lower()
        except ValueError:
            continue
        if extension in LINKED_EXTENSIONS and junk_original(url) is None and url not in found:
            found.append(url)
        if len(found) >= MAX_LINKS_PER_PAGE:
            break
    return found


class _PageCache:
    """Archived pages read for links, kept (up to a size) so the import does not ask the archive twice."""

    def __init__(self, limit: int = PAGE_CACHE_BYTES):
        self.limit = limit
        self.size = 0
        self.chains: dict[str, Chain] = {}

    def put(self, raw_url: str, chain: Chain) -> None:
        size = sum(len(m.body) for m in chain.mementos)
        if self.size + size <= self.limit:
            self.chains[raw_url] = chain
            self.size += size

    def take(self, raw_url: str) -> Chain | None:
        return self.chains.pop(raw_url, None)


def _is_html(memento: Memento) -> bool:
    ctype = (content_type_of(memento, None) or "").split(";")[0].strip().lower()
    return 200 <= memento.status < 300 and (ctype in ("text/html", "application/xhtml+xml") or
                                           (not ctype and memento.body.lstrip()[:1] == b"<"))


def list_linked_documents(archive: Archive, client: PoliteClient, sources: list[Any], config: BackfillConfig,
                          years: tuple[int, int], summary: BackfillSummary, cache: _PageCache,
                          on_progress: Callable[[str], None] | None = None) -> int:
    """Read each source's archived pages not read before; list the captures of the documents they link to."""
    new = 0
    by_name = {s.name: s for s in sources}
    for capture in archive.backfill_pages_to_scan(list(by_name)):
        source = by_name[capture["source"]]
        try:
            chain = fetch_chain(client, capture["raw_url"], expected=capture["url"])
        except (MementoError, BlockedSiteError) as exc:  # no capture to read: the import records why
            archive.mark_backfill_links_listed(capture)
            log.info("no links from %s: %s", capture["raw_url"], exc)
            continue
        except WaybackError as exc:  # the archive or the network failed: read it on the next run
            summary.errors.append(str(exc))
            return new
        cache.put(capture["raw_url"], chain)
        links: list[str] = []
        for memento in chain.mementos:
            if _is_html(memento):
                links.extend(u for u in document_links(memento.body, memento.url) if u not in links)
        asked = archive.backfill_listings(source.name)
        for url in links:
            for name in config.archives:
                query = Query(name, url, "exact", () if name == "wayback" else DOCUMENT_TYPES, via=capture["url"])
                if query.key(years) in asked:
                    continue
                try:
                    count = list_captures(archive, client, source, query, years, canonical={surt(url): url},
                                          summary=summary)
                except BlockedSiteError as exc:
                    summary.blocked.append(f"{url}: {exc.words}")
                    continue
                except CdxError as exc:
                    summary.errors.append(str(exc))
                    return new  # the page stays unread: its links are listed on the next run
                new += count
                if count and on_progress:
                    on_progress(f"{source.name}: {name} {url} (linked from {capture['url']} at "
                                f"{capture['timestamp']}): {count} new captures")
        archive.mark_backfill_links_listed(capture)
    return new


# -- importing captures --------------------------------------------------------------------------------------


def _fetch_of(memento: Memento, capture: dict[str, Any], url: str, source: str, crawl_id: int) -> Fetch:
    """A capture as a fetch: what the original server answered then, dated by the capture served."""
    origin = f"{capture['archive']}:{memento.timestamp}"
    headers = {"Content-Type": content_type_of(memento, capture.get("mimetype")) or ""}
    ok = 200 <= memento.status < 300
    error = None
    if memento.status >= 400:
        error = f"HTTP {memento.status} (as archived at {timestamp_iso(memento.timestamp)})"
    return Fetch(url=url, source=source, crawl_id=crawl_id, final_url=memento.location or url,
                 status=memento.status, body=memento.body if ok else None, headers=headers,
                 fetched_at=timestamp_iso(memento.timestamp), kind=capture["kind"], origin=origin, error=error,
                 referer=capture.get("via"))


def _failed_fetch(capture: dict[str, Any], source: str, crawl_id: int, reason: str) -> Fetch:
    # The archive's failure says nothing about the original site: no status, so it never counts towards a
    # withdrawal.
    return Fetch(url=capture["url"], source=source, crawl_id=crawl_id, final_url=capture["url"], status=None,
                 fetched_at=timestamp_iso(capture["timestamp"]), kind=capture["kind"],
                 origin=f"{capture['archive']}:{capture['timestamp']}", referer=capture.get("via"),
                 error=f"{capture['archive']} capture {capture['timestamp']} unavailable: {reason} "
                       f"({capture['raw_url']})")


def import_captures(archive: Archive, client: PoliteClient, names: list[str], *, limit: int | None = None,
                    pool: ExtractionPool | None = None, cache: _PageCache | None = None,
                    on_progress: Callable[[str], None] | None = None) -> BackfillSummary:
    """Import pending captures oldest first: one backfill crawl per source and capture day, each analysed at once
    (so events follow capture time). `limit` stops after about that many captures (a day is never split).
    When the archive itself keeps refusing (live 429/5xx, network), the run stops and the rest stays pending."""
    summary = BackfillSummary()
    cache = cache or _PageCache(0)
    pending = archive.pending_backfill_captures(names)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for capture in pending:
        groups.setdefault((capture["timestamp"][:8], capture["source"]), []).append(capture)
    done = 0
    stopped = False
    for (day, source), captures in sorted(groups.items()):
        if stopped or (limit is not None and done >= limit):
            summary.pending += len(captures)
            continue
        crawl_id: int | None = None
        ok = failed = 0
        for index, capture in enumerate(captures):
            reason = junk_original(capture["url"])
            if reason:
                archive.finish_backfill_capture(capture, status="skipped", crawl_id=None, fetch_id=None,
                                                error=f"not imported: {reason}")
                summary.skipped.append(f"{capture['url'][:120]}: {reason}")
                continue
            try:
                chain = cache.take(capture["raw_url"]) or fetch_chain(client, capture["raw_url"],
                                                                      expected=capture["url"])
                problem = None
            except RateLimitError as exc:
                summary.errors.append(str(exc))
                summary.pending += len(captures) - index
                stopped = True
                break
            except WaybackError as exc:
                if isinstance(exc, MementoError) or isinstance(exc, BlockedSiteError):
                    chain, problem = None, f"{type(exc).__name__}: {exc}"
                else:  # the network or the archive failed us: try this capture again on a later run
                    summary.errors.append(str(exc))
                    summary.pending += len(captures) - index
                    stopped = True
                    break
            if crawl_id is None:
                crawl_id = archive.start_backfill_crawl([source], timestamp_iso(capture["timestamp"]))
                summary.crawls.append(crawl_id)
            if chain is None:
                fetch = _failed_fetch(capture, source, crawl_id, problem or "")
                with archive.transaction():
                    fetch_id = archive.record_fetch(fetch)
                    archive.finish_backfill_capture(capture, status="failed", crawl_id=crawl_id, fetch_id=fetch_id,
                                                    error=fetch.error)
                failed += 1
                done += 1
                if on_progress:
                    on_progress(f"{source} {capture['timestamp']} {capture['url']}: {fetch.error}")
                continue
            first = chain.mementos[0]
            with archive.transaction():
                fetch_id = archive.record_fetch(_fetch_of(first, capture, capture["url"], source, crawl_id))
                archive.finish_backfill_capture(capture, status="imported", crawl_id=crawl_id, fetch_id=fetch_id)
                for hop in chain.mementos[1:]:
                    # The page a capture of a redirect led to: its own URL and time, never the first URL's.
                    row = {"source": source, "archive": capture["archive"], "url": hop.url,
                           "timestamp": hop.timestamp, "raw_url": hop.raw_url, "kind": capture["kind"],
                           "mimetype": None, "digest": None, "via": capture.get("via")}
                    claimed = archive.claim_backfill_capture(row)
                    if claimed is None:
                        continue
                    hop_id = archive.record_fetch(_fetch_of(hop, {**claimed, "via": capture.get("via")}, hop.url,
                                                            source, crawl_id))
                    archive.finish_backfill_capture(claimed, status="imported", crawl_id=crawl_id, fetch_id=hop_id)
            summary.redirects += sum(1 for m in chain.mementos if m.is_redirect)
            ok += 1
            done += 1
            if on_progress:
                line = " -> ".join(f"{m.status} {m.url} at {m.timestamp}" for m in chain.mementos)
                on_progress(f"{source} {capture['timestamp']} {capture['url']}: {line}"
                            + (f" (stopped: {chain.stopped})" if chain.stopped else ""))
        if crawl_id is None:
            continue
        archive.finish_crawl(crawl_id, {"backfill": True, "captures": ok + failed, "imported": ok,
                                        "failed": failed, "day": day})
        summary.imported += ok
        summary.failed += failed
        analysis = analyse_crawl(archive, crawl_id, pool=pool)
        summary.events.extend(analysis.events)
    return summary


def _known(archive: Archive, source: Any) -> list[str]:
    return [u.url for u in archive.known_urls(source.name, kind="document")]


def estimate(archive: Archive, sources: list[Any], config: BackfillConfig, years: tuple[int, int]) -> Estimate:
    """What is left to do, and how long it takes at the configured pace: each listing at least one request at
    the listing rate, each page to read and each capture one request at the capture rate."""
    listings = 0
    for source in sources:
        for query in queries_for(source, _known(archive, source), config.archives):
            cursor = archive.backfill_cursor(source.name, query.key(years)) or {}
            listings += int(not cursor.get("complete") and not cursor.get("blocked"))
    names = [s.name for s in sources]
    captures = len(archive.pending_backfill_captures(names))
    pages = len(archive.backfill_pages_to_scan(names)) if config.follow_links else 0
    seconds = listings * config.interval("listing") + (captures + pages) * config.interval("memento")
    return Estimate(listings, captures, pages, seconds)


def backfill(archive: Archive, sources: list[Any], config: BackfillConfig, *, years: tuple[int, int] = DEFAULT_YEARS,
             limit: int | None = None, user_agent: str | None = None, pool: ExtractionPool | None = None,
             retry_blocked: bool = False, on_progress: Callable[[str], None] | None = None,
             client: PoliteClient | None = None) -> BackfillSummary:
    """List every source's captures (resuming saved cursors), read the archived pages for linked documents, then
    import the pending captures in capture order. Running it again imports nothing twice; after an interruption
    it carries on where it stopped."""
    from crawler import user_agent as default_agent

    client = client or PoliteClient(config, user_agent or default_agent())
    summary = BackfillSummary()
    for source in sources:
        archive.upsert_source(source.name, footprint=source.footprint, kind=source.kind, official=source.official,
                              config=source.config())
    if on_progress:
        on_progress("plan: " + estimate(archive, sources, config, years).describe(config))
    listed = 0
    for source in sources:
        known = _known(archive, source)
        canonical = _canonical(source, known)
        for query in queries_for(source, known, config.archives):
            try:
                count = list_captures(archive, client, source, query, years, canonical=canonical,
                                      retry_blocked=retry_blocked, summary=summary)
            except BlockedSiteError as exc:
                summary.blocked.append(f"{source.name}: {query.archive} {query.match} {query.url}: {exc.words}")
                log.warning("%s", exc)
                continue
            except WaybackError as exc:
                summary.errors.append(str(exc))
                log.warning("%s", exc)
                continue
            listed += count
            if on_progress:
                on_progress(f"{source.name}: {query.archive} {query.match} {query.url}: {count} new captures")
    cache = _PageCache()
    linked = 0
    if config.follow_links:
        linked = list_linked_documents(archive, client, sources, config, years, summary, cache, on_progress)
    if on_progress:
        left = estimate(archive, sources, config, years)
        on_progress(f"plan: {left.captures} captures to import: "
                    f"{duration(left.captures * config.interval('memento'))} at "
                    f"{_rate(config.memento_per_minute)} capture requests a minute")
    imported = import_captures(archive, client, [s.name for s in sources], limit=limit, pool=pool, cache=cache,
                               on_progress=on_progress)
    imported.listed = listed + linked
    imported.linked = linked
    imported.errors = summary.errors + imported.errors
    imported.blocked = summary.blocked
    imported.skipped = summary.skipped + imported.skipped
    return imported


__all__ = ["BackfillSummary", "Estimate", "Query", "backfill", "document_links", "duration", "estimate",
           "history_domains", "import_captures", "in_scope", "list_captures", "queries_for", "site_wide"]
