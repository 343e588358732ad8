"""Running crawls: `run_crawl` inside a running asyncio reactor (daemon), `crawl_once` for a one-off command."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from .pipelines import ProgressCallback, SourceStats
from .settings import crawl_settings
from .sources import Source
from .reactor import ASYNCIO_REACTOR, install_resolver
from .spiders import failure_cause, is_network_error, quiet_robots_errors, spider_class

STOP_GRACE_SECONDS = 4.0  # on a stop, how long Scrapy may take to close its spiders before the crawl is left


class CrawlError(RuntimeError):
    """A crawl could not be run at all (wrong reactor, called twice, no sources): says what to do instead."""


@dataclass
class SourceResult:
    """How one source did in one crawl."""

    name: str
    kind: str
    ok: bool  # at least one real HTTP answer below 400 (a 304 counts)
    error: str | None
    counts: dict[str, int]
    error_counts: dict[str, int] = field(default_factory=dict)  # error text -> how many fetches ended with it
    cause: str | None = None  # why it failed, as a class: DNS, refused, timeout, TLS, HTTP 4xx, HTTP 5xx, ...
    note: str | None = None  # what cut the crawl short, even if it answered (its time budget ran out)

    # The counters as attributes: result.pages, result.documents, result.not_modified, result.errors, ...
    def __getattr__(self, name: str) -> int:
        counts = self.__dict__.get("counts") or {}
        if name in counts:
            return counts[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")


@dataclass
class CrawlSummary:
    """What a crawl did: its id in the archive, per-source results, totals, and how long it took."""

    crawl_id: int
    sources: dict[str, SourceResult]
    totals: dict[str, int]
    seconds: float
    status: str = "finished"  # or "abandoned": stopped (a signal) before every source was done

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.sources.values())

    @property
    def reachable(self) -> int:
        return sum(r.ok for r in self.sources.values())

    def causes(self) -> dict[str, int]:
        """How many sources failed for each cause class, most first."""
        counts: dict[str, int] = {}
        for r in self.sources.values():
            if not r.ok:
                counts[r.cause or "other"] = counts.get(r.cause or "other", 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def verdict(self) -> str:
        """One line: '0 of 308 sources reachable: 308 DNS failures: is the network up?'."""
        return crawl_verdict(len(self.sources), self.reachable, self.causes(), abandoned=self.status == "abandoned")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_CAUSE_WORDS = {  # cause class -> (one, several)
    "DNS": ("DNS failure", "DNS failures"), "refused": ("connection refused", "connections refused"),
    "timeout": ("timeout", "timeouts"), "TLS": ("TLS error", "TLS errors"),
    "HTTP 4xx": ("HTTP 4xx answer", "HTTP 4xx answers"), "HTTP 5xx": ("HTTP 5xx answer", "HTTP 5xx answers"),
    "connection lost": ("connection lost", "connections lost"), "no route": ("no route", "no route"),
    "robots.txt": ("forbidden by robots.txt", "forbidden by robots.txt"), "too large": ("too large", "too large"),
    "redirects": ("redirect loop", "redirect loops"), "budget": ("out of time", "out of time"),
    "stopped": ("stopped", "stopped"), "crawl failed": ("crawl failure", "crawl failures"),
    "archive": ("archive write failure", "archive write failures"),
    "nothing fetched": ("nothing fetched", "nothing fetched"),
    "led nowhere": ("answered but led nowhere", "answered but led nowhere"), "other": ("other failure", "other failures"),
}


def _plural(n: int, cause: str) -> str:
    one, several = _CAUSE_WORDS.get(cause, (cause, cause))
    return f"{n} {one if n == 1 else several}"


def crawl_verdict(total: int, reachable: int, causes: dict[str, int], *, abandoned: bool = False) -> str:
    """'12 of 14 sources reachable: 1 DNS failure, 1 timeout' (plus a hint when nothing could be reached)."""
    line = f"{reachable} of {total} source{'s' if total != 1 else ''} reachable"
    if causes:
        line += ": " + ", ".join(_plural(n, c) for c, n in causes.items())
    if abandoned:
        line += " (stopped before the end)"
    elif total and not reachable:
        network = {"DNS", "refused", "timeout", "no route", "connection lost"}
        if set(causes) <= {"DNS"}:
            line += ": is the network up? (no name could be resolved)"
        elif set(causes) <= network:
            line += ": is the network up, or is a proxy or firewall in the way?"
    return line


def _source_cause(stats: SourceStats) -> str:
    if stats.error_counts:
        return failure_cause(stats.error_counts.most_common(1)[0][0])
    if stats.http_errors:
        status = (stats.first_http_error or "").split(" ", 1)[0]
        return failure_cause(None, int(status) if status.isdigit() else 400)
    return "nothing fetched"


def _source_error(stats: SourceStats) -> str | None:
    """Why a source counts as failed in this crawl, in one line; None if it answered."""
    if stats.good_responses:
        return stats.problem
    early = f" ({stats.stopped_early})" if stats.stopped_early else ""
    if stats.error_counts:
        error, _ = stats.error_counts.most_common(1)[0]
        return (f"unreachable: {error}" if is_network_error(error) else f"no response: {error}") + early
    if stats.http_errors:
        return f"every request was answered with an HTTP error (first: {stats.first_http_error}){early}"
    return "nothing was fetched (no request was made)"


def _check_reactor() -> None:
    from scrapy.utils.reactor import is_asyncio_reactor_installed, is_reactor_installed

    running = False
    if is_reactor_installed() and is_asyncio_reactor_installed():
        from twisted.internet import reactor

        running = bool(reactor.running)  # type: ignore[attr-defined]
    if not running:
        raise CrawlError("run_crawl needs Twisted's asyncio reactor, installed and running: call crawl_once() from a "
                         f"script, or install_reactor({ASYNCIO_REACTOR!r}) before starting the reactor")


async def run_crawl(sources: list[Source], archive: Any, *, settings: dict[str, Any] | None = None,
                    on_progress: ProgressCallback | None = None) -> CrawlSummary:
    """Crawl `sources` concurrently as one crawl recorded in `archive`; needs the asyncio reactor running.

    `settings` are Scrapy settings overriding `crawl_settings()`. `on_progress(event)` is called on the reactor
    thread after each fetch is recorded. Each source's health is noted in the archive; a source that cannot be
    reached ends with its error in the summary, never an exception.
    """
    from scrapy.crawler import AsyncCrawlerRunner

    if not sources:
        raise CrawlError("no sources to crawl: add [[source]] tables to a sources file")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise CrawlError(f"two sources share a name in {names}: every source needs its own name")
    _check_reactor()
    try:
        spiders = {s.name: spider_class(s.kind) for s in sources}
    except KeyError as exc:
        raise CrawlError(exc.args[0]) from None
    chosen = crawl_settings(**(settings or {}))
    install_resolver(chosen)  # DNS_TIMEOUT and the resolver apply (AsyncCrawlerRunner installs no resolver)
    quiet_robots_errors()
    started = time.monotonic()
    crawl_id = archive.start_crawl(names)
    for s in sources:
        archive.upsert_source(s.name, footprint=s.footprint, kind=s.kind, official=s.official, config=s.config())
    runner = AsyncCrawlerRunner(chosen)
    budget = float(chosen.get("CLOSESPIDER_TIMEOUT") or 0)
    stats = {s.name: SourceStats(s.name, on_progress) for s in sources}
    tasks = [
        runner.crawl(spiders[s.name], source=s, archive=archive, crawl_id=crawl_id, source_stats=stats[s.name])
        for s in sources
    ]
    status = "finished"
    failures: dict[str, str] = {}
    try:
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        for s, outcome in zip(sources, outcomes):
            if isinstance(outcome, BaseException):
                failures[s.name] = f"crawl failed: {type(outcome).__name__}: {outcome}"
    except asyncio.CancelledError:
        # Stopped (SIGTERM, Ctrl-C): let Scrapy close the spiders for a moment, then leave the rest. A download
        # still waiting (a hung DNS lookup, a site that stalls) must not hold the stop past the service's timeout.
        status = "abandoned"
        try:
            await asyncio.wait_for(runner.stop(), STOP_GRACE_SECONDS)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001 (a stop that fails still ends the crawl)
            for crawler in list(runner.crawlers):
                if crawler.spider is not None:
                    crawler.spider.abandoned = True  # what still arrives is not recorded: the crawl is closed
        raise
    finally:
        results: dict[str, SourceResult] = {}
        for s in sources:
            st = stats[s.name]
            error = failures.get(s.name) or st.archive_error or _source_error(st)
            cause = None
            if error is not None:
                cause = ("crawl failed" if s.name in failures else "archive" if st.archive_error
                         else "led nowhere" if st.good_responses else _source_cause(st))
            note = None
            if st.closed_reason == "closespider_timeout":
                note = f"cut short: its time budget ran out ({budget:g} s, CLOSESPIDER_TIMEOUT)"
                if error and not st.fetches:
                    error, cause = note, "budget"
            if status == "abandoned" and error:
                error, cause = "crawl stopped before an answer arrived", "stopped"
            results[s.name] = SourceResult(s.name, s.kind, error is None, error, st.counts(), dict(st.error_counts),
                                           cause, note)
            archive.note_source_result(s.name, crawl_id, error is None, error)
        totals: dict[str, int] = {}
        for result in results.values():
            for key, value in result.counts.items():
                totals[key] = totals.get(key, 0) + value
        totals["sources_failed"] = sum(not r.ok for r in results.values())
        seconds = round(time.monotonic() - started, 3)
        archive.finish_crawl(crawl_id, {
            "seconds": seconds, "totals": totals,
            "sources": {name: {"ok": r.ok, "error": r.error, "cause": r.cause, "note": r.note, **r.counts}
                        for name, r in results.items()},
        }, status=status)
    return CrawlSummary(crawl_id, results, totals, seconds, status)




def crawl_once(sources: list[Source], archive: Any, *, settings: dict[str, Any] | None = None,
               on_progress: ProgressCallback | None = None) -> CrawlSummary:
    """Run one crawl to completion in this process (installs and runs the asyncio reactor); for the command line.

    Twisted's reactor cannot be restarted, so this may be called ONCE per process: a second call raises
    CrawlError. Long-running processes (the daemon) start the reactor themselves and `await run_crawl(...)`.
    Ctrl-C stops the spiders and lets run_crawl record the crawl as abandoned, then raises KeyboardInterrupt.
    Scrapy's logging is left alone: it installs no root handler, so the application's logging stays as it is.
    """
    from .reactor import ReactorError, run_on_reactor

    try:
        return run_on_reactor(lambda: run_crawl(sources, archive, settings=settings, on_progress=on_progress),
                              stop_on_signals=True)
    except ReactorError as exc:
        raise CrawlError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    """`python -m crawler.runner --home DIR --sources FILE [--settings JSON]`: one crawl, summary as JSON."""
    import argparse
    import json
    import logging
    import sys

    from storage import Archive

    from .sources import SourceError, load_sources

    parser = argparse.ArgumentParser(prog="python -m crawler.runner", description=main.__doc__)
    parser.add_argument("--home", required=True, help="data home (archive.db and blobs/)")
    parser.add_argument("--sources", required=True, help="TOML file of [[source]] tables")
    parser.add_argument("--only", action="append", default=[], help="crawl only this source (repeatable)")
    parser.add_argument("--settings", default="{}", help="JSON object of Scrapy settings overriding the defaults")
    parser.add_argument("--verbose", action="store_true", help="show Scrapy's own warnings and errors")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        # Every failure is recorded in the archive and the summary; Scrapy's tracebacks would only repeat them.
        logging.getLogger("scrapy").setLevel(logging.CRITICAL)
    try:
        sources = load_sources(args.sources)
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        sources = [s for s in sources if s.name in args.only]
    with Archive(args.home) as archive:
        try:
            summary = crawl_once(sources, archive, settings=json.loads(args.settings))
        except KeyboardInterrupt:
            print("crawl stopped: what was fetched is recorded, and the crawl is marked abandoned", file=sys.stderr)
            return 130
    print(json.dumps(summary.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
