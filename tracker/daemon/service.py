"""The daemon (`stp-tracker run`): Scrapy and APScheduler on one asyncio reactor; crawl, analyse, deliver, repeat."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import logging
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage import Archive, ArchiveError
from tracker import copy_footprint_names
from tracker import ConfigError, check_config
from tracker.daemon.errors import HEARTBEAT_KEY, STATE_PREFIX, DaemonError, T
from tracker.daemon.lock import DaemonLock
from tracker.daemon.logs import note
from tracker.daemon.schedule import Schedule, SourceState, first_due, iso, schedule_for
from tracker.daemon.settings import DaemonSettings

log = logging.getLogger("stp_tracker.daemon")

class _Stopping(Exception):
    """Raised inside an analysis when the daemon stops: what is done stays, the rest waits for the next start."""


@dataclass
class BatchResult:
    """One crawl run and what came of it (the analysis is filled in once it is done)."""

    names: list[str]
    crawl_id: int | None = None
    summary: Any = None  # crawler.runner.CrawlSummary
    error: str | None = None
    analysis: Any = None  # tracker.analysis.AnalysisSummary
    events: list[int] = field(default_factory=list)


class Daemon:
    """Schedules each source, crawls on the reactor, analyses in one worker thread, delivers alerts after."""

    def __init__(self, home: Path, sources: list[Any], settings: DaemonSettings | None = None, *,
                 pool: Any = None, mode: str = "daemon"):
        self.home = Path(home)
        self.settings = settings or DaemonSettings()
        self.mode = mode
        self.sources = {s.name: s for s in sources}
        self.schedules: dict[str, Schedule] = {s.name: schedule_for(s) for s in sources}  # ScheduleError early
        self.states: dict[str, SourceState] = {}
        self.archive: Archive | None = None  # used on the reactor thread only
        self._worker_archive: Archive | None = None  # used in the analysis thread only
        self._analysis = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="stp-analysis")
        self._analysis_jobs: set[concurrent.futures.Future] = set()
        self._pool = pool
        self._lock = DaemonLock(self.home)
        self.scheduler: Any = None
        self.busy: set[str] = set()
        self._pending: list[tuple[str, asyncio.Future]] = []
        self._job_waits: set[asyncio.Future] = set()  # what each running APScheduler job awaits
        self._gather: asyncio.TimerHandle | None = None
        self._crawls: set[asyncio.Task] = set()
        self._tasks: set[asyncio.Task] = set()
        self._slots: asyncio.Semaphore | None = None
        self._stop: asyncio.Event | None = None
        self._heartbeat: asyncio.Task | None = None
        self.stopping = False
        self.started_at = iso(dt.datetime.now(dt.timezone.utc))
        self.force_exit = False
        self._alerts: tuple[Any, Any] | None = None
        self._preserve: Any = None  # tracker.webarchives.preserve.PreserveConfig when [preserve] is enabled
        self._alerts_checked = False
        self._delivery_queued = False
        self.crawls_run = 0
        self._last_analysis = 0.0  # time.monotonic() of the last analysis, for letting idle workers go

    # -- start and stop ---------------------------------------------------------------------------

    async def start(self, *, schedule: bool = True) -> None:
        """Lock the home, open the archive, recover from a crash, and (daemon mode) schedule every source."""
        try:
            check_config(self.home)  # every table: a bad value in any of them refuses to start, in one line
        except ConfigError as exc:
            raise DaemonError(str(exc)) from None
        self._stop = asyncio.Event()
        self._slots = asyncio.Semaphore(self.settings.max_parallel_crawls)
        self._lock.acquire()
        try:
            self.archive = Archive(self.home)
            copy_footprint_names(self.archive)
            self.archive.use_immediate_transactions()  # two connections in this process: see the method
        except ArchiveError as exc:  # a full disk, a read-only home: one clear line, no traceback
            self._lock.release()
            raise DaemonError(str(exc)) from None
        except Exception:
            self._lock.release()
            raise
        self._load_alerts()
        self._load_preserve()
        from tracker.daemon.checks import startup_warnings

        startup_warnings(self._alerts[2] if self._alerts else None)
        abandoned = self.archive.abandon_running_crawls()
        if abandoned:
            note("crawls left running by a stopped process marked abandoned", logging.WARNING, crawls=abandoned)
        self._load_states()
        leftover = self.archive.unanalysed_crawls()
        if leftover:
            note("analysing crawls left unanalysed", crawls=leftover)
            self._submit_analysis(leftover)
        self._submit_delivery()  # whatever an earlier run left pending
        if schedule:
            self._schedule_all()
        self._write_heartbeat()
        self._heartbeat = asyncio.ensure_future(self._heartbeat_loop())
        note("started", mode=self.mode, pid=os.getpid(), home=str(self.home), sources=len(self.sources))

    def request_stop(self, signame: str = "signal") -> None:
        """SIGTERM / Ctrl-C: stop taking work; a second signal exits at once (the archive survives a kill)."""
        if self.stopping:
            note("second stop signal: exiting now", logging.WARNING, signal=signame)
            logging.shutdown()
            os._exit(1)
        note("stop requested", signal=signame)
        self.stopping = True
        if self._stop is not None:
            self._stop.set()

    async def shutdown(self) -> None:
        """Finish or cleanly abandon what is in flight, close the extraction pool and the archive, drop the lock."""
        self.stopping = True
        loop = asyncio.get_running_loop()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if self._gather is not None:
            self._gather.cancel()
            self._gather = None
        for name, future in self._pending:
            self.busy.discard(name)
        self._pending.clear()
        # Every APScheduler job waiting on a crawl ends now, normally: shutting the scheduler down cancels jobs
        # still running, and it logs each cancellation as a job error with a traceback (a stop is not an error).
        for future in list(self._job_waits):
            if not future.done():
                future.set_result(None)
        await asyncio.sleep(0)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for task in list(self._crawls):
            task.cancel()  # run_crawl stops its spiders (a few seconds at most) and records the crawl as abandoned
        deadline = loop.time() + self.settings.stop_timeout_seconds
        busy = [t for t in self._crawls | self._tasks if not t.done() and t is not asyncio.current_task()]
        if busy:
            await asyncio.wait(busy, timeout=self.settings.stop_timeout_seconds)
        for job in list(self._analysis_jobs):
            job.cancel()  # not started yet: left for the next start (unanalysed_crawls)
        closing = self._analysis.submit(self._close_worker)
        self._analysis.shutdown(wait=False)
        try:
            await asyncio.wait_for(asyncio.wrap_future(closing), timeout=max(1.0, deadline - loop.time()))
        except (asyncio.TimeoutError, concurrent.futures.CancelledError):
            note("analysis still running at the stop timeout: left for the next start", logging.WARNING)
            self.force_exit = True
        if self._pool is not None and not self.force_exit:
            self._pool.close()
        if self.archive is not None:
            try:
                self._write_heartbeat(stopped=True)
                self._save_states(list(self.states))
            finally:
                self.archive.close()
                self.archive = None
        self._lock.release()
        note("stopped", crawls=self.crawls_run)

    # -- the three ways to run ---------------------------------------------------------------------

    async def run_forever(self) -> None:
        await self.start()
        try:
            assert self._stop is not None
            await self._stop.wait()
        finally:
            await self.shutdown()

    async def run_once(self) -> list[BatchResult]:
        """Crawl every source due now (all of them on a first run), analyse, deliver, and return.

        A stop signal cuts it short as it does the daemon: running crawls end as abandoned, the rest is not started.
        """
        await self.start(schedule=False)
        work: asyncio.Future | None = None
        try:
            now = dt.datetime.now(dt.timezone.utc)
            due = [name for name in self.sources
                   if first_due(self.schedules[name], name, self.states.get(name), now, 0)[1] != "scheduled"]
            note("running what is due", due=len(due), sources=len(self.sources))
            size = self.settings.max_batch
            # At most max_parallel_crawls runs at once, as when scheduled: 308 built-in sources started together
            # saturated the reactor (stale heartbeat, a slow stop).
            gate = asyncio.Semaphore(max(1, self.settings.max_parallel_crawls))

            async def gated(names: list[str]) -> BatchResult:
                async with gate:
                    if self._stop is not None and self._stop.is_set():
                        return BatchResult(names=names, error="not started: stopping")
                    return await self.crawl_now(names)

            work = asyncio.ensure_future(asyncio.gather(*(gated(due[i:i + size]) for i in range(0, len(due), size))))
            assert self._stop is not None
            stop = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if work.done():
                await self.drain()
                return list(work.result())
        finally:
            await self.shutdown()  # on a stop: cancels the running crawls (recorded abandoned)
        try:  # the batches end at once now that their crawls are cancelled
            return list(await asyncio.wait_for(work, timeout=5))
        except (asyncio.TimeoutError, asyncio.CancelledError):
            return []

    async def crawl_now(self, names: list[str]) -> BatchResult:
        """Crawl these sources as one run now, and wait for its analysis (the demo and `--once` use this)."""
        for name in names:
            self.busy.add(name)
        try:
            result, job = await self._run_batch(names)
        finally:
            self.busy.difference_update(names)
        if job is not None:
            try:
                analyses = await asyncio.wrap_future(job)
            except (_Stopping, concurrent.futures.CancelledError):
                analyses = []
            for analysis in analyses or []:
                result.analysis = analysis
                result.events.extend(analysis.events)
        return result

    async def drain(self) -> None:
        """Wait for every queued analysis and a final delivery."""
        self._submit_delivery(force=True)
        while self._analysis_jobs:
            await asyncio.wait([asyncio.wrap_future(j) for j in list(self._analysis_jobs)])

    # -- scheduling -------------------------------------------------------------------------------

    def _schedule_all(self) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self.scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1,
                                                        "misfire_grace_time": None})
        now = dt.datetime.now(dt.timezone.utc)
        reasons: dict[str, int] = {}
        for name, schedule in self.schedules.items():
            state = self.states.setdefault(name, SourceState())
            due, why = first_due(schedule, name, state, now, self.settings.startup_spread_seconds)
            reasons[why] = reasons.get(why, 0) + 1
            self.scheduler.add_job(self._due, schedule.trigger(self.settings.cron_jitter_seconds), args=[name],
                                   id=f"source:{name}", name=name, next_run_time=due)
            state.schedule = schedule.text
            state.next_due = iso(due)
        if self.settings.delivery_every_seconds > 0:
            self.scheduler.add_job(self._deliver_job, "interval", seconds=self.settings.delivery_every_seconds,
                                   id="deliver", name="deliver")
        self._save_states(list(self.schedules))
        self.scheduler.start()
        upcoming = sorted((s.next_due or "", n) for n, s in self.states.items() if n in self.sources)[:1]
        note("scheduled", sources=len(self.schedules), **reasons,
             first=f"{upcoming[0][1]} at {upcoming[0][0]}" if upcoming else None)

    async def _due(self, name: str) -> None:
        """APScheduler job: this source is due. Sources due within a short window share a crawl run."""
        if self.stopping:
            return
        if name in self.busy:
            note("still crawling: this run skipped", logging.WARNING, source=name)
            return
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.busy.add(name)
        self._pending.append((name, future))
        self._job_waits.add(future)
        if self._gather is None:
            self._gather = loop.call_later(self.settings.gather_seconds, self._launch)
        try:
            await future
        except asyncio.CancelledError:
            return  # the scheduler is shutting down (a stop): not an error
        finally:
            self._job_waits.discard(future)

    def _launch(self) -> None:
        self._gather = None
        while self._pending and not self.stopping:
            chunk = self._pending[:self.settings.max_batch]
            del self._pending[:self.settings.max_batch]
            self._spawn(self._scheduled_batch(chunk))

    async def _scheduled_batch(self, chunk: list[tuple[str, asyncio.Future]]) -> None:
        names = [name for name, _ in chunk]
        try:
            await self._run_batch(names)
        except Exception:
            log.exception("crawl run failed", extra={"fields": {"sources": names}})
        finally:
            self.busy.difference_update(names)
            for _, future in chunk:
                if not future.done():
                    future.set_result(None)

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- one crawl run ------------------------------------------------------------------------------

    async def _run_batch(self, names: list[str]) -> tuple[BatchResult, concurrent.futures.Future | None]:
        from crawler import run_crawl

        result = BatchResult(names=list(names))
        assert self._slots is not None and self.archive is not None
        async with self._slots:
            if self.stopping:
                result.error = "stopping"
                return result, None
            now = dt.datetime.now(dt.timezone.utc)
            for name in names:
                state = self.states.setdefault(name, SourceState())
                state.schedule = self.schedules[name].text
                state.last_started = iso(now)
                state.in_flight = True
                job = self.scheduler.get_job(f"source:{name}") if self.scheduler is not None else None
                upcoming = job.next_run_time if job is not None and job.next_run_time else None
                state.next_due = iso(upcoming or self.schedules[name].next_after(now))
            self._save_states(names)
            note("crawl started", sources=names)
            task = asyncio.ensure_future(run_crawl([self.sources[n] for n in names], self.archive,
                                                   settings=self.settings.scrapy))
            self._crawls.add(task)
            try:
                summary = await task
            except asyncio.CancelledError:
                # Stopped by SIGTERM: the crawl is recorded as stopped; the sources stay in flight, so the
                # next start runs them again soon.
                note("crawl stopped", logging.WARNING, sources=names)
                result.error = "stopped"
                return result, None
            except Exception as exc:  # a crawl that could not run at all: every source failed this time
                result.error = f"{type(exc).__name__}: {exc}"
                log.exception("crawl failed", extra={"fields": {"sources": names}})
                self._note_results(names, None, result.error)
                return result, None
            finally:
                self._crawls.discard(task)
        self.crawls_run += 1
        result.summary = summary
        result.crawl_id = summary.crawl_id
        self._note_results(names, summary, None)
        failed = [n for n, r in summary.sources.items() if r.error]
        t = summary.totals
        note("crawl finished", logging.WARNING if failed else logging.INFO, crawl=summary.crawl_id,
             status=summary.status, seconds=summary.seconds, sources=len(names), fetches=t.get("fetches"),
             pages=t.get("pages"), documents=t.get("documents"), not_modified=t.get("not_modified"),
             errors=t.get("errors", 0) + t.get("http_errors", 0), new_blobs=t.get("new_blobs"),
             verdict=summary.verdict(), failed=failed or None)
        if summary.status == "abandoned" or self.stopping:
            return result, None
        return result, self._submit_analysis([summary.crawl_id])

    def _note_results(self, names: list[str], summary: Any, error: str | None) -> None:
        now = iso(dt.datetime.now(dt.timezone.utc))
        for name in names:
            state = self.states.setdefault(name, SourceState())
            outcome = summary.sources.get(name) if summary is not None else None
            reason = outcome.error if outcome is not None else error
            state.in_flight = summary is not None and summary.status == "abandoned"
            state.last_finished = now
            state.runs += 1
            state.last_crawl_id = summary.crawl_id if summary is not None else state.last_crawl_id
            state.last_ok = reason is None
            state.last_error = reason
            state.failing_since = None if reason is None else (state.failing_since or now)
        self._save_states(names)

    # -- analysis and delivery, in the analysis thread ---------------------------------------------

    def _submit_analysis(self, crawl_ids: list[int]) -> concurrent.futures.Future:
        job = self._analysis.submit(self._analyse, list(crawl_ids))
        self._analysis_jobs.add(job)
        job.add_done_callback(self._analysis_jobs.discard)
        return job

    def _thread_archive(self) -> Archive:
        if self._worker_archive is None:
            self._worker_archive = Archive(self.home)  # its sqlite connection belongs to this thread
            self._worker_archive.use_immediate_transactions()
        return self._worker_archive

    def _close_worker(self) -> None:
        if self._worker_archive is not None:
            self._worker_archive.close()
            self._worker_archive = None

    def _check_stop(self, *_: Any) -> None:
        if self.stopping:
            raise _Stopping()

    def _analyse(self, crawl_ids: list[int]) -> list[Any]:
        from tracker import analyse_crawl
        from tracker import shared_pool

        if self._pool is None:
            self._pool = shared_pool()
        archive = self._thread_archive()
        done = []
        for crawl_id in crawl_ids:
            self._check_stop()
            try:
                summary = analyse_crawl(archive, crawl_id, pool=self._pool, on_progress=self._check_stop)
            except _Stopping:
                note("analysis interrupted by stop: resumes on the next start", logging.WARNING, crawl=crawl_id)
                raise
            except Exception:
                log.exception("analysis failed", extra={"fields": {"crawl": crawl_id}})
                continue
            done.append(summary)
            failures = ", ".join(f"{n} {k}" for k, n in sorted(summary.extraction_failures.items()))
            note("analysis done", crawl=crawl_id, fetches=summary.fetches, extracted=summary.extracted,
                 new_documents=summary.new_documents, new_versions=summary.new_versions,
                 events=len(summary.events), unreadable=failures or None, seconds=round(summary.seconds, 2))
            for event_id in summary.events:
                event = archive.event(event_id)
                if event is not None:
                    note("event", logging.INFO, id=event.id, kind=event.kind, alert=event.alert,
                         document=event.document_id, footprint=event.footprint, source=event.source,
                         url=event.url, summary=event.summary)
        self._deliver(archive)
        self._last_analysis = time.monotonic()
        return done

    def _release_idle_pool(self) -> None:
        """In the analysis thread (so never during an analysis): stop extraction workers unused for a while."""
        if self._pool is not None and self._last_analysis and not self.stopping \
                and time.monotonic() - self._last_analysis > self.settings.pool_idle_seconds:
            self._pool.close()  # the next analysis starts fresh workers
            self._last_analysis = 0.0
            note("extraction workers stopped while idle")

    def _load_alerts(self) -> None:
        """alerts.enqueue_new_events / deliver_pending with the [alerts] settings (checked before the start)."""
        import alerts

        from tracker import alert_settings

        self._alerts = (alerts.enqueue_new_events, alerts.deliver_pending, alert_settings(self.home))

    def _load_preserve(self) -> None:
        from tracker.webarchives import PreserveConfig

        config = PreserveConfig.load(self.home)  # checked before the start
        self._preserve = config if config.enabled else None

    def _preserve_round(self, archive: Archive) -> None:
        """Ask Save Page Now to capture new finds, and follow up earlier requests (a short, bounded round)."""
        if self._preserve is None or self.stopping:
            return
        from tracker.webarchives import preserve_round

        try:
            report = preserve_round(archive, self._preserve)
        except Exception:
            log.exception("preservation round failed (tried again on the next round)")
            return
        if report.queued or report.requested or report.captured or report.failed or report.retrying:
            note("preservation", logging.WARNING if report.failed else logging.INFO, queued=report.queued,
                 requested=report.requested, captured=report.captured, waiting=report.waiting,
                 retrying=report.retrying, failed=report.failed, errors="; ".join(report.errors[:3]) or None)

    def _deliver(self, archive: Archive) -> None:
        """Alerts first (they are what people wait for), then a round of preservation."""
        self._send_alerts(archive)
        self._preserve_round(archive)

    def _send_alerts(self, archive: Archive) -> None:
        if self._alerts is None or self.stopping:
            return
        enqueue, deliver, settings = self._alerts
        try:
            queued = enqueue(archive)
            report = deliver(archive, settings)
        except Exception:
            log.exception("alert delivery failed (retried on the next round)")
            return
        fields = _report_fields(report)
        fields.pop("ok", None)
        fields.pop("enqueued", None)
        if queued or any(fields.values()):
            note("alerts", logging.WARNING if fields.get("failures") else logging.INFO, queued=queued, **fields)

    def _submit_delivery(self, force: bool = False) -> None:
        if (self._alerts is None and self._preserve is None) or (self._delivery_queued and not force):
            return
        self._delivery_queued = True

        def job() -> None:
            self._delivery_queued = False
            self._deliver(self._thread_archive())

        future = self._analysis.submit(job)
        self._analysis_jobs.add(future)
        future.add_done_callback(self._analysis_jobs.discard)

    async def _deliver_job(self) -> None:
        if not self.stopping:
            self._submit_delivery()

    # -- state: schedule and heartbeat in the archive -----------------------------------------------

    def _load_states(self) -> None:
        assert self.archive is not None
        stored = self.archive.state_items(STATE_PREFIX)
        known = {row["name"]: row for row in self.archive.sources()}
        for name in self.sources:
            state = SourceState.from_json(stored.get(STATE_PREFIX + name))
            if not state.last_started and (known.get(name) or {}).get("last_crawl_at"):
                state.last_started = known[name]["last_crawl_at"]  # crawled before by `stp-tracker crawl`
            self.states[name] = state

    def _save_states(self, names: list[str]) -> None:
        if self.archive is not None:
            self.archive.set_states({STATE_PREFIX + n: self.states[n].to_json() for n in names if n in self.states})

    def _write_heartbeat(self, stopped: bool = False) -> None:
        if self.archive is None:
            return
        now = iso(dt.datetime.now(dt.timezone.utc))
        self.archive.set_state(HEARTBEAT_KEY, {
            "pid": os.getpid(), "host": socket.gethostname(), "mode": self.mode, "started_at": self.started_at,
            "at": now, "stopped_at": now if stopped else None, "interval": self.settings.heartbeat_seconds,
            "sources": len(self.sources), "crawling": sorted(self.busy), "crawls": self.crawls_run,
            "analyses_queued": len(self._analysis_jobs),
        })

    async def _heartbeat_loop(self) -> None:
        while not self.stopping:
            try:
                self._write_heartbeat()
            except Exception:
                log.exception("cannot write the heartbeat")
            if (self._last_analysis and not self._analysis_jobs
                    and time.monotonic() - self._last_analysis > self.settings.pool_idle_seconds):
                job = self._analysis.submit(self._release_idle_pool)
                self._analysis_jobs.add(job)
                job.add_done_callback(self._analysis_jobs.discard)
            await asyncio.sleep(self.settings.heartbeat_seconds)


def _report_fields(report: Any) -> dict[str, Any]:
    if report is None:
        return {}
    if isinstance(report, dict):
        data = report
    elif hasattr(report, "as_dict"):
        data = report.as_dict()
    elif hasattr(report, "__dataclass_fields__"):
        from dataclasses import asdict

        data = asdict(report)
    else:
        return {"report": str(report)}
    return {k: (len(v) if isinstance(v, (list, tuple, set)) else v) for k, v in data.items()
            if isinstance(v, (int, float, str, list, tuple, set)) or v is None}




def run_on_reactor(main: Callable[[], Awaitable[T]]) -> T:
    """Run `main()` on Twisted's asyncio reactor (crawler.reactor, the one way crawls start); the daemon handles
    its own signals (`install_stop_signals`)."""
    from crawler import ReactorError
    from crawler import run_on_reactor as run

    try:
        return run(main)
    except ReactorError as exc:
        raise DaemonError(f"{exc} (was APScheduler's TwistedScheduler imported?)") from None


def install_stop_signals(daemon: Daemon) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, daemon.request_stop, sig.name)


EXIT_OK, EXIT_SOME_FAILED, EXIT_COULD_NOT_RUN, EXIT_NOTHING_REACHABLE = 0, 1, 2, 3


def once_outcome(results: list[BatchResult], stopped: bool) -> tuple[int, str]:
    """`run --once`'s exit code and closing line: 0 all ok, 1 some sources failed, 3 nothing reachable; a run cut
    short by a stop signal exits 0, as the daemon does (the operator asked for it)."""
    from crawler import crawl_verdict

    total = reachable = 0
    causes: dict[str, int] = {}
    for r in results:
        if r.summary is not None:
            total += len(r.summary.sources)
            reachable += r.summary.reachable
            for cause, n in r.summary.causes().items():
                causes[cause] = causes.get(cause, 0) + n
        elif not (r.error or "").startswith(("not started", "stopped", "stopping")):
            total += len(r.names)
            causes["crawl failed"] = causes.get("crawl failed", 0) + len(r.names)
    causes = dict(sorted(causes.items(), key=lambda kv: (-kv[1], kv[0])))
    if stopped:
        return EXIT_OK, crawl_verdict(total, reachable, causes, abandoned=True)
    if not total:
        return EXIT_OK, "nothing was due"
    line = crawl_verdict(total, reachable, causes)
    return (EXIT_NOTHING_REACHABLE if not reachable else EXIT_OK if reachable == total else EXIT_SOME_FAILED), line


def run_daemon(home: Path, sources: list[Any], settings: DaemonSettings | None = None, *, once: bool = False) -> int:
    """`stp-tracker run`: until SIGTERM / Ctrl-C (exit 0), or with `once` until what is due is done (exit codes
    of `once_outcome`)."""
    daemon = Daemon(home, sources, settings, mode="once" if once else "daemon")

    async def main() -> int:
        install_stop_signals(daemon)
        if once:
            results = await daemon.run_once()
            stopped = daemon._stop is not None and daemon._stop.is_set()
            code, line = once_outcome(results, stopped)
            note(f"run finished: {line}", logging.INFO if code == EXIT_OK else logging.WARNING, exit=code)
            return code
        await daemon.run_forever()
        return EXIT_OK

    code = run_on_reactor(main)
    if daemon.force_exit:
        logging.shutdown()
        os._exit(code)  # the analysis thread is mid-document: the next start resumes it (nothing half-written)
    return code
