"""DNS for crawls: every lookup bounded by DNS_TIMEOUT, run in threads no one waits for at exit, failures remembered.

Scrapy's default resolver runs `gethostbyname` in Twisted's thread pool, which the reactor joins when it stops: a
resolver that hangs then holds the process for as long as the C library waits (measured: a SIGTERM took 124 s).
Here each lookup runs in a daemon thread; the answer, an error or DNS_TIMEOUT settles it on the reactor thread.
Lookups of one name in flight together share one thread, and a failed name fails again at once for
DNS_FAILURE_TTL seconds, so a site whose name does not resolve costs one DNS_TIMEOUT per crawl, not one per request
and retry.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Any

from scrapy.resolver import dnscache
from twisted.internet import defer
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from twisted.python.failure import Failure
from zope.interface import implementer

DEFAULT_FAILURE_TTL = 120.0
MAX_LOOKUP_THREADS = 32


class DNSLookupTimeout(DNSLookupError):
    """The resolver did not answer within DNS_TIMEOUT (it hangs, or the network is down)."""


@implementer(IResolverSimple)
class BoundedResolver:
    """IPv4 lookups (like Scrapy's CachingThreadedResolver) with a hard timeout and a short memory of failures."""

    def __init__(self, reactor: Any, *, timeout: float, cache_size: int = 10_000,
                 failure_ttl: float = DEFAULT_FAILURE_TTL, max_threads: int = MAX_LOOKUP_THREADS):
        self.reactor = reactor
        self.timeout = max(0.1, float(timeout))
        self.failure_ttl = max(0.0, float(failure_ttl))
        dnscache.limit = cache_size
        self._threads = threading.BoundedSemaphore(max(1, max_threads))
        self._waiting: dict[str, tuple[object, list[defer.Deferred]]] = {}  # name -> (lookup token, callers)
        self._failed: dict[str, tuple[float, DNSLookupError]] = {}  # name -> (until, error)
        self._last_error: dict[str, DNSLookupError] = {}  # name -> why its last lookup failed (cleared on success)

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> BoundedResolver:
        s = crawler.settings
        return cls(reactor, timeout=s.getfloat("DNS_TIMEOUT", 60.0),
                   cache_size=s.getint("DNSCACHE_SIZE", 10_000) if s.getbool("DNSCACHE_ENABLED", True) else 0,
                   failure_ttl=s.getfloat("DNS_FAILURE_TTL", DEFAULT_FAILURE_TTL))

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)

    def last_error(self, name: str) -> DNSLookupError | None:
        """Why the last lookup of `name` failed (Twisted's endpoints replace the error with their own)."""
        return self._last_error.get(name)

    def getHostByName(self, name: str, timeout: Any = ()) -> defer.Deferred:  # noqa: N802 (Twisted's interface)
        """The IPv4 address of `name`; fails with DNSLookupError (DNSLookupTimeout after DNS_TIMEOUT)."""
        try:
            return defer.succeed(str(ipaddress.IPv4Address(name)))
        except ValueError:
            pass
        if name in dnscache:
            return defer.succeed(dnscache[name])
        failed = self._failed.get(name)
        if failed is not None:
            if failed[0] > time.monotonic():
                return defer.fail(Failure(failed[1]))
            del self._failed[name]
        caller: defer.Deferred = defer.Deferred()
        if name in self._waiting:
            self._waiting[name][1].append(caller)
            return caller
        token = object()
        self._waiting[name] = (token, [caller])
        timer = self.reactor.callLater(self.timeout, self._settle, name, token, DNSLookupTimeout(
            f"no answer for {name!r} within {self.timeout:g} s (DNS_TIMEOUT)"))
        threading.Thread(target=self._lookup, args=(name, token, timer), name="stp-dns", daemon=True).start()
        return caller

    def resolve_now(self, name: str) -> str:
        """The lookup itself, blocking, in a worker thread (a subclass may ask elsewhere)."""
        return socket.gethostbyname(name)

    def _lookup(self, name: str, token: object, timer: Any) -> None:
        with self._threads:
            if not timer.active():  # settled by the timeout while this lookup waited for a thread
                return
            try:
                outcome: Any = self.resolve_now(name)
            except OSError as exc:
                outcome = DNSLookupError(f"address {name!r} not found: {exc.strerror or exc}")
            except Exception as exc:  # e.g. UnicodeError for a name IDNA cannot encode
                outcome = DNSLookupError(f"address {name!r} not found: {exc}")
        try:
            self.reactor.callFromThread(self._settle, name, token, outcome, timer)
        except RuntimeError:  # the reactor has stopped: nobody is waiting any more
            pass

    def _settle(self, name: str, token: object, outcome: Any, timer: Any = None) -> None:
        waiting = self._waiting.get(name)
        if waiting is None or waiting[0] is not token:
            return  # settled already (by the timeout, or by the answer)
        del self._waiting[name]
        if timer is not None and timer.active():
            timer.cancel()
        callers = waiting[1]
        if isinstance(outcome, DNSLookupError):
            if len(self._last_error) > 10_000:
                self._last_error.clear()
            self._last_error[name] = outcome
            if self.failure_ttl:
                self._failed[name] = (time.monotonic() + self.failure_ttl, outcome)
            for caller in callers:
                if not caller.called:  # a caller may have cancelled (DOWNLOAD_TIMEOUT)
                    caller.errback(Failure(outcome))
            return
        self._last_error.pop(name, None)
        if dnscache.limit:
            dnscache[name] = outcome
        for caller in callers:
            if not caller.called:
                caller.callback(outcome)
