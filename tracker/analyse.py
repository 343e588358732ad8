"""After a crawl: extract new bodies (in a process pool), then file every fetch under a document and a version."""

from __future__ import annotations

import logging
import multiprocessing
import os
import select
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
import time
from time import monotonic
from typing import Any, Callable

from storage import Archive, BlobStore, Extraction

from . import identity

log = logging.getLogger("stp_tracker.analyse")

EXTRACT_TIMEOUT = float(os.environ.get("STP_TRACKER_EXTRACT_TIMEOUT", "120"))  # seconds per document
EXTRACT_MEMORY_MB = int(os.environ.get("STP_TRACKER_EXTRACT_MEMORY_MB", "2048"))  # address space per worker; 0: none
TEXT_STATUSES = ("ok", "truncated")  # extractions whose text can make a version
RESEMBLES = 0.2  # containment above which a non-plan text at a plan's URL is still taken as that plan


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


# -- extraction in worker processes ------------------------------------------------------------------


def _extract_blob(blob_root: str, sha256: str, content_type: str | None, url: str | None,
                  css_selector: str | None) -> Extraction:
    """Runs in a worker process: read one blob and extract its text (PDFium is not thread-safe: never threads)."""
    from .extract import extract

    data = BlobStore(blob_root).get(sha256)
    return extract(data, content_type, url, css_selector=css_selector)


def _init_worker(megabytes: int, owner: int) -> None:
    """Worker initializer: leave when the process that owns the pool is gone, and cap the address space."""
    _exit_with_owner(owner)
    _cap_memory(megabytes)


def _exit_with_owner(owner: int) -> None:
    # An idle worker never sees its owner die: it holds both ends of its own call pipe, and the forkserver
    # lives as long as any worker does. After a SIGKILLed daemon, 2-4 processes (~200 MB) idled forever
    # (found by tests/test_crash.py). A pidfd turns readable when the owner exits, reaped or not.
    def watch() -> None:
        try:
            handle = os.pidfd_open(owner)
        except (AttributeError, OSError):  # not Linux >= 5.3, or the owner already gone
            handle = None
        if handle is not None:
            select.select([handle], [], [])
        else:
            while os.getppid() != 1 and _alive(owner):
                time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="stp-owner-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cap_memory(megabytes: int) -> None:
    """Cap the address space, so a parser that runs away gets MemoryError (recorded as "too_large") or dies
    alone, instead of the kernel's OOM killer choosing a victim on the whole machine."""
    if megabytes <= 0:
        return
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


class ExtractionPool:
    """A process pool for extraction that survives a hung or crashed worker (it is replaced, not waited for).

    Each worker's address space is capped at `memory_mb` (env STP_TRACKER_EXTRACT_MEMORY_MB, default 2048;
    0 for no cap). `task` is what a worker runs per job (a top-level function, for tests that need a job
    that hangs or dies)."""

    def __init__(self, workers: int | None = None, memory_mb: int | None = None,
                 task: Callable[..., Extraction] = _extract_blob):
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self.memory_mb = EXTRACT_MEMORY_MB if memory_mb is None else memory_mb
        self.task = task
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # forkserver: children do not inherit the reactor, open sockets or SQLite handles;
                # max_tasks_per_child bounds what a leaky parser can hold on to.
                context = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context, max_tasks_per_child=25,
                                                 initializer=_init_worker, initargs=(self.memory_mb, os.getpid()))
            return self._pool

    def _reset(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._reset()

    def _crash_reason(self, exc: BaseException) -> str:
        if isinstance(exc, BrokenProcessPool):
            cap = f"{self.memory_mb} MB" if self.memory_mb > 0 else "no cap"
            return (f"extractor crashed: its worker process died (a parser crash, or killed for using too much "
                    f"memory; memory cap {cap}, STP_TRACKER_EXTRACT_MEMORY_MB)")
        return f"extractor crashed: {type(exc).__name__}: {exc}"

    def run(self, jobs: list[tuple[str, str | None, str | None, str | None]], blob_root: str,
            timeout: float = EXTRACT_TIMEOUT,
            on_done: Callable[[str, Extraction], None] | None = None) -> dict[str, Extraction]:
        """Extract every (sha256, content_type, url, css_selector) job; a job that hangs or kills its worker
        is answered with a "broken" extraction naming the cause, one that runs out of memory with "too_large".

        A dead worker fails every job in flight, so when several were, they are re-run one at a time: only
        the job that kills a worker on its own is recorded as crashed."""
        results: dict[str, Extraction] = {}
        pending = list(jobs)
        suspects: set[str] = set()  # jobs in flight when a worker died: re-run alone
        while pending:
            pool = self._get()
            futures: dict[Future, tuple] = {}
            started: dict[Future, float] = {}
            queue = sorted(pending, key=lambda job: job[0] not in suspects)
            pending = []
            restart = False
            # Keep at most `workers` jobs in flight so that each one's clock starts when it really starts.
            while (queue or futures) and not restart:
                alone = any(j[0] in suspects for j in queue + list(futures.values()))
                limit = 1 if alone else self.workers
                while queue and len(futures) < limit:
                    try:
                        future = pool.submit(self.task, blob_root, *queue[0])
                    except BrokenProcessPool:  # a worker died since the last wait: its futures say which
                        restart = not futures
                        break
                    futures[future] = queue.pop(0)
                    started[future] = monotonic()
                done, _ = wait(list(futures), timeout=1.0, return_when=FIRST_COMPLETED)
                in_flight = len(futures)
                for future in done:
                    job = futures.pop(future)
                    try:
                        extraction = future.result()
                    except MemoryError as exc:  # raised in the worker outside extract(), which handles its own
                        extraction = Extraction(status="too_large", extractor="none", extractor_version="0",
                                                error=f"ran out of memory (worker cap {self.memory_mb} MB, "
                                                      f"STP_TRACKER_EXTRACT_MEMORY_MB): {exc}")
                    except Exception as exc:  # a worker that died (segfault, OOM) breaks the whole pool
                        restart = True
                        if isinstance(exc, BrokenProcessPool) and in_flight > 1 and job[0] not in suspects:
                            suspects.add(job[0])
                            pending.append(job)
                            continue
                        extraction = _failed(self._crash_reason(exc))
                    results[job[0]] = extraction
                    if on_done:
                        on_done(job[0], extraction)
                now = monotonic()
                for future, job in list(futures.items()):
                    if now - started[future] > timeout:
                        futures.pop(future)
                        extraction = _failed(f"extraction timed out after {timeout:.0f} s")
                        results[job[0]] = extraction
                        if on_done:
                            on_done(job[0], extraction)
                        restart = True
            if restart:
                # The jobs still in flight or queued go round again in a fresh pool.
                pending += [job for job in list(futures.values()) + queue if job[0] not in results]
                self._reset()
        return results


def _failed(reason: str) -> Extraction:
    return Extraction(status="broken", extractor="none", extractor_version="0", error=reason)


_shared_pool: ExtractionPool | None = None


def shared_pool() -> ExtractionPool:
    global _shared_pool
    if _shared_pool is None:
        _shared_pool = ExtractionPool()
    return _shared_pool


# -- filing fetches under documents and versions -----------------------------------------------------


class _Fingerprints:
    """Fingerprints of known plan texts, computed once per analysis."""

    def __init__(self, archive: Archive):
        self.archive = archive
        self.cache: dict[str, frozenset[int]] = {}

    def of(self, text_sha: str, text: str | None = None) -> frozenset[int]:
        if text_sha not in self.cache:
            self.cache[text_sha] = identity.fingerprint(text if text is not None else self.archive.text(text_sha) or "")
        return self.cache[text_sha]


def analyse_crawl(archive: Archive, crawl_id: int, *, pool: ExtractionPool | None = None,
                  on_progress: Callable[[str, int, int], None] | None = None,
                  decide_events: bool = True) -> AnalysisSummary:
    """Extract, file and (once the whole run is in) decide the events of one crawl. Safe to re-run after a crash."""
    from .classify import classify

    started = monotonic()
    summary = AnalysisSummary(crawl_id=crawl_id)
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
    prints = _Fingerprints(archive)
    for index, fetch in enumerate(fetches, start=1):
        with archive.transaction():
            created_doc, created_version = _file_fetch(archive, fetch, sources, prints, classify)
        summary.new_documents += int(created_doc)
        summary.new_versions += int(created_version)
        if on_progress:
            on_progress("file", index, len(fetches))

    # 3. Decide what the run means, all at once (sightings in one run are simultaneous).
    if decide_events:
        from .events import decide_events as decide

        crawl = archive.crawl(crawl_id)
        if crawl and crawl["status"] != "running" and not crawl["analysed_at"]:
            summary.events = decide(archive, crawl_id)
    summary.seconds = monotonic() - started
    return summary


def _file_fetch(archive: Archive, fetch: dict[str, Any], sources: dict[str, dict], prints: _Fingerprints,
                classify: Callable[..., Any]) -> tuple[bool, bool]:
    """Attach one fetch to its document and version; returns (document created, version created)."""
    sha = fetch["blob_sha256"]
    status = fetch["status"]
    served = sha is not None and status is not None and (200 <= status < 300 or fetch["not_modified"])
    if not served:
        archive.mark_fetch_analysed(fetch["id"])
        return False, False
    blob = archive.blob_info(sha) or {}
    source = sources.get(fetch["source"]) or {}
    url = fetch["url"]
    seen_at = fetch["fetched_at"]
    text_sha = blob.get("text_sha256")
    if blob.get("extraction_status") not in TEXT_STATUSES or not text_sha:
        # Unreadable (encrypted, scanned, broken): known by its URL, with no version until text can be had.
        documents = archive.documents_at_url(url, fetch["source"])
        if documents:
            archive.add_document_url(documents[0], fetch["source"], url, seen_at)
            archive.mark_fetch_analysed(fetch["id"], documents[0])
        else:
            archive.mark_fetch_analysed(fetch["id"])
        return False, False

    text = archive.text(text_sha) or ""
    verdict = _Verdict(classify, text, blob, fetch, source)
    document_id = _find_document(archive, fetch, text_sha, text, source, prints, verdict)
    created_doc = document_id is None
    if created_doc:
        verdict = verdict.get()
        kind = "page" if source.get("kind") == "page" else ("plan" if verdict.is_plan else "other")
        document_id = archive.create_document(
            title=_title(blob, fetch, url), kind=kind, footprint=verdict.footprint or source.get("footprint"),
            generation=verdict.generation if verdict.is_plan else None, draft=verdict.draft, seen_at=seen_at,
            source=fetch["source"], meta={"classification": verdict.to_json()},
        )
    if "truncated" in (blob.get("flags") or []) or blob.get("extraction_status") == "truncated":
        # A truncated file is evidence the document is still there, not that its text shrank.
        current = (archive.document(document_id) or {}).get("current_version_id")
        if current and not created_doc:
            archive.add_document_url(document_id, fetch["source"], url, seen_at)
            archive.mark_fetch_analysed(fetch["id"], document_id, current)
            return False, False
    version_id, created_version = archive.add_version(
        document_id, text_sha256=text_sha, blob_sha256=sha, fetch_id=fetch["id"], crawl_id=fetch["crawl_id"],
        seen_at=seen_at,
    )
    archive.add_document_url(document_id, fetch["source"], url, seen_at)
    document = archive.document(document_id) or {}
    if created_doc or seen_at >= (document.get("last_seen_at") or ""):
        archive.update_document(document_id, last_seen_at=seen_at, current_version_id=version_id)
    elif seen_at < (document.get("first_seen_at") or seen_at):
        # History backfilled after live crawls: an older capture dates the document earlier, and never becomes
        # its current text.
        archive.update_document(document_id, first_seen_at=seen_at)
    archive.mark_fetch_analysed(fetch["id"], document_id, version_id)
    return created_doc, created_version


def _resembles(archive: Archive, prints: _Fingerprints, mine: frozenset[int], document: dict) -> bool:
    """Whether a text shares enough of a document's current text to be a version of it (a heavy revision passes;
    an error page does not)."""
    current = document.get("current_version_id")
    version = archive.version(current) if current else None
    if not version:
        return False
    return identity.containment(mine, prints.of(version["text_sha256"])) >= RESEMBLES


def _title(blob: dict, fetch: dict, url: str) -> str:
    for candidate in (blob.get("title"), fetch.get("link_text")):
        if candidate and candidate.strip():
            return candidate.strip()[:300]
    return url.rstrip("/").rsplit("/", 1)[-1] or url


class _Verdict:
    """The classification of one fetched text, made at most once and only when a decision needs it."""

    def __init__(self, classify: Callable[..., Any], text: str, blob: dict, fetch: dict, source: dict):
        self._args = (classify, text, blob, fetch, source)
        self._value: Any = None

    def get(self) -> Any:
        if self._value is None:
            classify, text, blob, fetch, source = self._args
            self._value = classify(text, title=blob.get("title") or fetch.get("link_text"), url=fetch["url"],
                                   link_text=fetch.get("link_text"), source_footprint=source.get("footprint"))
        return self._value


def _find_document(archive: Archive, fetch: dict, text_sha: str, text: str, source: dict,
                   prints: _Fingerprints, lazy_verdict: _Verdict) -> int | None:
    """The document this text belongs to: same text anywhere, else same URL in this source, else a known plan
    it closely resembles (a leaked draft and its published version, a revision posted at a new URL)."""
    same_text = archive.documents_with_text(text_sha)
    if same_text:
        return same_text[0]
    at_url = archive.documents_at_url(fetch["url"], fetch["source"])
    if at_url:
        known = archive.document(at_url[0]) or {}
        # A watched page is whatever its URL serves, and so is any document that is not a plan.
        if source.get("kind") == "page" or known.get("kind") != "plan":
            return at_url[0]
        if lazy_verdict.get().is_plan or _resembles(archive, prints, prints.of(text_sha, text), known):
            return at_url[0]
        # A plan's URL now serves something that is neither a plan nor like it (a 200 "Page not found", a
        # holding page): other content, which counts towards the plan's withdrawal, never a revision of it.
        log.info("%s no longer serves document %s: new content is not that plan", fetch["url"], at_url[0])
        return None
    if source.get("kind") == "page":
        return None
    verdict = lazy_verdict.get()
    if not verdict.is_plan:
        return None
    mine = prints.of(text_sha, text)
    footprint = verdict.footprint or source.get("footprint")
    best, best_score = None, 0.0
    for candidate in archive.documents(kind="plan", footprint=footprint):
        if verdict.generation not in (None, "unknown") and candidate["generation"] not in (None, "unknown", verdict.generation):
            continue  # a successor plan is a new document, never a revision of its predecessor
        if any(s["crawl_id"] == fetch["crawl_id"] and s["source"] == fetch["source"] and s["url"] != fetch["url"]
               for s in archive.sightings_of(candidate["id"])):
            continue  # served at another URL of this source in this very crawl: two documents, however alike
        current = candidate["current_version_id"]
        version = archive.version(current) if current else None
        if not version:
            continue
        score = identity.containment(mine, prints.of(version["text_sha256"]))
        if score > best_score:
            best, best_score = candidate["id"], score
    if best is not None and best_score >= identity.SAME_PLAN:
        log.info("matched %s to document %s (containment %.2f)", fetch["url"], best, best_score)
        return best
    return None
