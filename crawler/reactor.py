"""The one way to run code on Twisted's asyncio reactor: `crawl` (one crawl) and `run` (the daemon) both use it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
T = TypeVar("T")


class ReactorError(Exception):
    """The reactor cannot run what was asked (another reactor installed, already running, or already run)."""


_used = False


def install_asyncio_reactor() -> None:
    """Install Scrapy's asyncio reactor before anything imports another; refuse if another one is in."""
    from scrapy.utils.reactor import install_reactor, is_asyncio_reactor_installed, is_reactor_installed

    if not is_reactor_installed():
        install_reactor(ASYNCIO_REACTOR)
    elif not is_asyncio_reactor_installed():
        raise ReactorError("another Twisted reactor is installed: crawls need the asyncio reactor "
                           "(was something like APScheduler's TwistedScheduler imported first?)")


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
        raise ReactorError("the reactor has already run in this process (Twisted's reactor cannot restart): "
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
