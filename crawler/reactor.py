"""The one way to run code on Twisted's asyncio reactor: `crawl` (one crawl) and `run` (the daemon) both use it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
BOUNDED_RESOLVER = "crawler.resolver.BoundedResolver"
T = TypeVar("T")


class ReactorError(Exception):
    """The reactor cannot run what was asked (another reactor installed, already running, or already run)."""


_used = False
_resolver_key: tuple | None = None


def install_asyncio_reactor() -> None:
    """Install Scrapy's asyncio reactor before anything imports another; refuse if another one is in."""
    from scrapy.utils.reactor import install_reactor, is_asyncio_reactor_installed, is_reactor_installed

    if not is_reactor_installed():
        install_reactor(ASYNCIO_REACTOR)
    elif not is_asyncio_reactor_installed():
        raise ReactorError("another Twisted reactor is installed: crawls need the asyncio reactor "
                           "(was something like APScheduler's TwistedScheduler imported first?)")


def install_resolver(settings: Any) -> None:
    """What Scrapy's CrawlerProcess does when it starts the reactor, and AsyncCrawlerRunner does not: install the
    DNS resolver named by TWISTED_DNS_RESOLVER (or the older DNS_RESOLVER, if set on its own), built from these
    settings so that DNS_TIMEOUT and DNSCACHE_* apply, and size the reactor's thread pool
    (REACTOR_THREADPOOL_MAXSIZE). Without it every lookup goes to Twisted's default resolver, with no timeout.

    `settings` is a Scrapy `Settings` (or a dict of them). Installed again only when these settings change, so that
    crawls running side by side share one resolver and what it has learnt.
    """
    global _resolver_key
    from scrapy.settings import Settings
    from scrapy.utils.misc import build_from_crawler, load_object
    from twisted.internet import reactor

    raw = dict(settings) if not isinstance(settings, Settings) else {}
    older = raw.pop("DNS_RESOLVER", None)  # read from the dict: Scrapy warns on every read of the old name
    if not isinstance(settings, Settings):
        settings = Settings(raw)
    path = settings.get("TWISTED_DNS_RESOLVER")
    defaults = {"scrapy.resolver.CachingThreadedResolver", BOUNDED_RESOLVER}
    if older and older not in defaults and (not path or path in defaults):
        path = older  # set on its own in [crawl.scrapy]: the operator means it
    key = (path, *(str(settings.get(name)) for name in
                   ("DNS_TIMEOUT", "DNSCACHE_ENABLED", "DNSCACHE_SIZE", "DNS_FAILURE_TTL")))
    if key == _resolver_key:
        return
    holder = type("ResolverSettings", (), {"settings": settings})()  # all a resolver's from_crawler reads
    resolver = build_from_crawler(load_object(path), holder, reactor=reactor)  # type: ignore[arg-type]
    resolver.install_on_reactor()
    reactor.getThreadPool().adjustPoolsize(maxthreads=settings.getint("REACTOR_THREADPOOL_MAXSIZE", 10))  # type: ignore[attr-defined]
    _resolver_key = key


def run_on_reactor(main: Callable[[], Awaitable[T]], *, stop_on_signals: bool = False) -> T:
    """Install the asyncio reactor, run `main()` on it to the end, and return its result (or raise its error).

    Twisted's reactor cannot restart, so a process runs this once. With `stop_on_signals`, Twisted's own
    SIGINT/SIGTERM handlers stop the reactor, and `main()` is cancelled first and waited for, so that what it
    was writing is closed properly (a cancelled `main()` raises KeyboardInterrupt here). Without it, `main()`
    installs its own handlers (the daemon's orderly stop).
    """
    global _used
    install_asyncio_reactor()
    from twisted.internet import defer, reactor
    from twisted.internet.error import ReactorNotRunning

    if _used or reactor.running:  # type: ignore[attr-defined]
        raise ReactorError("the reactor runs once per process and has already run (Twisted's reactor cannot restart): "
                           "run several sources in one call, or await run_crawl() inside the running reactor")
    _used = True
    outcome: dict[str, Any] = {}

    def start() -> None:
        # Inside the running loop (callLater, not callWhenRunning: before run() there is no running loop).
        future = asyncio.ensure_future(main())
        outcome["future"] = future

        def finished(_: asyncio.Future) -> None:
            try:
                reactor.stop()  # type: ignore[attr-defined]
            except ReactorNotRunning:
                pass  # already shutting down (a signal): before_shutdown waited for us

        future.add_done_callback(finished)

    def before_shutdown() -> Any:
        future = outcome.get("future")
        if future is not None and not future.done():
            future.cancel()
            return defer.Deferred.fromFuture(future).addErrback(lambda _: None)
        return None

    reactor.callLater(0, start)  # type: ignore[attr-defined]
    if stop_on_signals:
        reactor.addSystemEventTrigger("before", "shutdown", before_shutdown)  # type: ignore[attr-defined]
    reactor.run(installSignalHandlers=stop_on_signals)  # type: ignore[attr-defined]
    future = outcome.get("future")
    if future is None or not future.done():
        raise ReactorError("the reactor stopped before its work finished")
    if future.cancelled():
        raise KeyboardInterrupt("stopped")
    return future.result()
