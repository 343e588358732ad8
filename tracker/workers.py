"""The extraction worker pool: bytes to text in capped, disposable processes (PDFium is not thread-safe)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import select
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from time import monotonic
from typing import Callable

from storage import BlobStore, Extraction

log = logging.getLogger("stp_tracker.analyse")

EXTRACT_TIMEOUT = float(os.environ.get("STP_TRACKER_EXTRACT_TIMEOUT", "120"))  # seconds per document
EXTRACT_MEMORY_MB = int(os.environ.get("STP_TRACKER_EXTRACT_MEMORY_MB", "2048"))  # address space per worker; 0: none

def _extract_blob(blob_root: str, sha256: str, content_type: str | None, url: str | None,
                  css_selector: str | None) -> Extraction:
    """Runs in a worker process: read one blob and extract its text (PDFium is not thread-safe: never threads)."""
    from tracker.meaning import extract

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
