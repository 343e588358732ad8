"""The spider shape every source kind shares: conditional requests, one Fetch per response or failure."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import (
    CannotResolveHostError,
    DontCloseSpider,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from scrapy.http import Request, Response
from twisted.internet import defer, error as tx_error
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed, ResponseNeverReceived

from storage import Fetch, KnownUrl

from ..links import as_linked, canonical, looks_like_document, response_kind
from ..resolver import DNSLookupTimeout
from ..sources import Source

META = "stp"  # the request.meta key holding what the spider knows about a request
MAX_LINK_TEXT = 500

# Budgets of one source in one crawl (Scrapy settings; a source's options.max_pages overrides the first). Pages
# are HTML pages followed or re-checked; documents are never cut by the page budget, they have their own.
PAGE_BUDGET = 500  # STP_PAGE_BUDGET
DOCUMENT_BUDGET = 3000  # STP_DOCUMENT_BUDGET
# A source whose first answers are all 5xx or unreachable stops after this many in a row, at distinct URLs
# (STP_FAILING_SOURCE_STOP_AFTER): a site-wide outage costs a few requests, not every known URL with retries.
FAILING_SOURCE_STOP_AFTER = 5

# Errors that mean the host could not be reached at all (as opposed to an answer we refused or cut short).
NETWORK_ERRORS = ("DNS lookup", "connection refused", "timeout", "connection lost", "TLS error", "no route")
# An error's cause class, by how describe_failure() words it: what logs and summaries count by.
CAUSES = (("DNS lookup", "DNS"), ("connection refused", "refused"), ("timeout", "timeout"), ("TLS error", "TLS"),
          ("connection lost", "connection lost"), ("no route", "no route"), ("forbidden by robots.txt", "robots.txt"),
          ("too large", "too large"), ("too many redirects", "redirects"))
# Exceptions a download meets when the network or the site misbehaves (not our bugs): no traceback for these.
EXPECTED_EXCEPTIONS: tuple[type[BaseException], ...] = (
    CannotResolveHostError, tx_error.DNSLookupError, DownloadConnectionRefusedError, tx_error.ConnectionRefusedError,
    DownloadTimeoutError, tx_error.TimeoutError, tx_error.TCPTimedOutError, defer.TimeoutError, DownloadFailedError,
    ResponseNeverReceived, ResponseFailed, ResponseDataLossError, tx_error.ConnectionLost, tx_error.ConnectionDone,
    tx_error.ConnectError, DownloadCancelledError, defer.CancelledError,
)
# One line per failed fetch: `<source>: <url>: <error> [<cause>]`; fields for `--log-format json` in `data`.
fetch_log = logging.getLogger("stp_tracker.fetch")

# kind -> the spider that crawls sources of that kind (crawler.sources.KINDS names and checks the kinds).
SPIDERS: dict[str, type[SourceSpider]] = {}


class SourceSpider(scrapy.Spider):
    """Crawls one Source for one crawl; subclasses say which links to follow (`links_from`).

    A subclass with a `kind` registers itself in SPIDERS: adding a source kind is adding one of these and its
    `crawler.sources.SourceKind` (the name, help and options users see, without loading Scrapy)."""

    name = "stp"
    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            SPIDERS[cls.kind] = cls

    def __init__(self, *, source: Source, archive: Any, crawl_id: int | None = None, **kwargs: Any):
        super().__init__(name=f"{source.kind}:{source.name}", **kwargs)
        self.source = source
        self.archive = archive
        self.crawl_id = crawl_id
        self.requested: set[str] = set()  # canonical URLs requested in this crawl: one fetch per URL
        self.known: dict[str, KnownUrl] = {}
        self._rechecked = False
        self.budget_used = {"page": 0, "document": 0}
        self.budget_refused = {"page": 0, "document": 0}  # requests not made because the budget was spent
        self.answered = False  # any answer below 500 in this crawl
        self.failing: set[str] = set()  # distinct URLs that failed (5xx, unreachable) before any answer
        self.stopped_early: str | None = None
        self.start_set = {canonical(u) for u in source.start_urls}  # start URLs are never refused by a budget

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> SourceSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # A bound method of the spider, which the crawler keeps alive (signals hold weak references).
        crawler.signals.connect(spider.recheck_known_urls, signal=signals.spider_idle)
        crawler.signals.connect(spider.note_closed, signal=signals.spider_closed)
        return spider

    def note_closed(self, spider: scrapy.Spider | None = None, reason: str | None = None) -> None:
        """Why the crawl of this source ended ('finished', 'closespider_timeout' when its budget ran out, ...)."""
        stats = getattr(self, "source_stats", None)
        if stats is not None:
            stats.closed_reason = reason

    # -- requests ---------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Request]:
        self.known = {k.url: k for k in self.archive.known_urls(self.source.name)}
        for url in self.source.start_urls:
            hint = "document" if looks_like_document(url) else "page"
            request = self.request(url, depth=0, hint=hint, conditional=self.conditional_start or hint == "document")
            if request is not None:
                yield request

    conditional_start: ClassVar[bool] = False  # a page watched on its own needs no body to find links

    def request(self, url: str, *, depth: int, hint: str, referer: str | None = None, link_text: str | None = None,
                follow: bool = True, conditional: bool | None = None) -> Request | None:
        """A request for `url` unless this crawl already made one; conditional if we hold its last body.

        The request goes to the URL as linked; its canonical form is only the key it is recorded and known by.
        """
        linked = as_linked(url)
        url = canonical(url)
        if url in self.requested or self.stopped_early:
            return None
        if url not in self.start_set and not self.within_budget(url, hint):
            return None
        self.requested.add(url)
        headers: dict[str, str] = {}
        known = self.known.get(url)
        if (hint == "document" if conditional is None else conditional) and known and known.blob_sha256:
            if known.etag:
                headers["If-None-Match"] = known.etag
            if known.last_modified:
                headers["If-Modified-Since"] = known.last_modified
        info = {"url": url, "depth": depth, "hint": hint, "referer": referer, "follow": follow,
                "link_text": (link_text or "").strip()[:MAX_LINK_TEXT] or None, "queued": time.monotonic()}
        # dont_filter: de-duplication is `self.requested` above, so that a redirect to a URL fetched earlier in
        # the crawl still ends as a recorded fetch rather than being dropped by Scrapy's duplicate filter.
        return Request(linked, callback=self.parse_response, errback=self.parse_failure, headers=headers,
                       dont_filter=True, meta={META: info})

    def budget(self, kind: str) -> int:
        """How many requests of this kind ("page" or "document") the source may make in one crawl."""
        if kind == "page":
            own = (self.source.options or {}).get("max_pages")
            if isinstance(own, int) and not isinstance(own, bool) and own > 0:
                return own
            return self.settings.getint("STP_PAGE_BUDGET", PAGE_BUDGET)
        return self.settings.getint("STP_DOCUMENT_BUDGET", DOCUMENT_BUDGET)

    def within_budget(self, url: str, hint: str) -> bool:
        """Count a request against the source's budget of its kind; False once that budget is spent."""
        kind = "document" if hint == "document" else "page"
        if self.budget_used[kind] >= self.budget(kind):
            if not self.budget_refused[kind]:
                self.logger.warning("%s: %s budget of %d spent: no more %ss this crawl", self.source.name, kind,
                                    self.budget(kind), kind)
            self.budget_refused[kind] += 1
            return False
        self.budget_used[kind] += 1
        return True

    def note_answer(self, url: str, status: int | None) -> None:
        """Stop the source early when every answer so far is a 5xx or no answer, at enough distinct URLs."""
        if status is not None and status < 500:
            self.answered = True
            return
        if self.answered or self.stopped_early:
            return
        self.failing.add(url)
        limit = self.settings.getint("STP_FAILING_SOURCE_STOP_AFTER", FAILING_SOURCE_STOP_AFTER)
        if limit > 0 and len(self.failing) >= limit and not self.stopped_early:
            self.stopped_early = (f"stopped early: the first {len(self.failing)} URLs all failed (5xx or unreachable);"
                                  " tried again at the next scheduled crawl")
            stats = getattr(self, "source_stats", None)
            if stats is not None:
                stats.stopped_early = self.stopped_early
            self.logger.warning("%s: %s", self.source.name, self.stopped_early)
            # Closing now (not by raising CloseSpider from this callback, which Scrapy handles only after the
            # callback's output is processed) stops queued requests from being sent.
            self._closing = asyncio.ensure_future(self.crawler.engine.close_spider_async(reason="source_unreachable"))

    def should_recheck(self, known: KnownUrl) -> bool:
        """Whether a URL served before, and not linked in this crawl, is requested again (it may have vanished)."""
        return self.source.in_scope(known.url) or self.source.on_document_host(known.url)

    def recheck_known_urls(self, spider: scrapy.Spider | None = None) -> None:
        """When the link-following part is done: request every URL served before that this crawl has not seen.

        While nothing has answered yet (the start URLs failed), they go out a few at a time, so that a site that is
        down stops the source after a few failures (note_answer) instead of costing every known URL.
        """
        if self.stopped_early:
            return
        if not self._rechecked:
            self._rechecked = True
            self._recheck_queue = [known for url, known in sorted(self.known.items())
                                   if url not in self.requested and self.should_recheck(known)]
            if self._recheck_queue:
                self.logger.debug("re-checking %d URLs no longer linked", len(self._recheck_queue))
        queue = getattr(self, "_recheck_queue", [])
        if not queue:
            return
        if self.answered:
            batch, self._recheck_queue = queue, []
        else:
            size = max(1, self.settings.getint("STP_FAILING_SOURCE_STOP_AFTER", FAILING_SOURCE_STOP_AFTER))
            batch, self._recheck_queue = queue[:size], queue[size:]
        sent = 0
        for known in batch:
            request = self.request(known.url, depth=0, hint=known.kind, follow=False, conditional=True)
            if request is not None:
                self.crawler.engine.crawl(request)
                sent += 1
        if sent or self._recheck_queue:
            raise DontCloseSpider

    # -- responses --------------------------------------------------------------------------------

    abandoned = False  # set by run_crawl when a stop leaves this crawl: what arrives after is not recorded

    def parse_response(self, response: Response) -> Iterator[Any]:
        if self.abandoned:
            return
        info = response.meta[META]
        headers = {str(k): str(v) for k, v in response.headers.to_unicode_dict().items()}
        status = response.status
        known = self.known.get(info["url"])
        not_modified = status == 304
        if 200 <= status < 300:
            kind = response_kind(response.url, headers, response.body, info["hint"])
        else:
            kind = known.kind if known else info["hint"]
        latency = response.meta.get("download_latency")
        yield Fetch(
            url=info["url"],
            source=self.source.name,
            crawl_id=self.crawl_id,
            final_url=response.url,
            status=status,
            headers=headers,
            body=None if not_modified else response.body,
            duration_ms=round(latency * 1000) if latency is not None else None,
            kind=kind,
            depth=info["depth"],
            referer=info["referer"],
            link_text=info["link_text"],
            not_modified=not_modified,
        )
        if status >= 400:
            self.log_failure(info["url"], f"HTTP {status}", logging.INFO, status=status)
        if kind == "page" and 200 <= status < 300 and info["follow"] and self.source.in_scope(response.url):
            yield from self.links_from(response, info["depth"])

    def links_from(self, response: Response, depth: int) -> Iterator[Request]:
        """Requests for the links on a page in scope; the base spider follows none."""
        return iter(())

    def log_failure(self, url: str, error: str, level: int = logging.WARNING, status: int | None = None) -> None:
        """The one log line for a fetch that failed (network, refusal, HTTP error): source, URL, cause class."""
        cause = failure_cause(error, status)
        fetch_log.log(level, "%s: %s: %s [%s]", self.source.name, url, error, cause,
                      extra={"data": {"source": self.source.name, "url": url, "cause": cause, "error": error}})

    def parse_failure(self, failure: Failure) -> Iterator[Fetch]:
        if self.abandoned:
            return
        request = failure.request  # type: ignore[attr-defined]
        info = request.meta[META]
        if isinstance(failure.value, IgnoreRequest) and str(failure.value) == STOPPED:
            return  # never sent: the source stopped early (FailingSourceMiddleware)
        error = describe_failure(failure, request, self.settings)
        self.log_failure(info["url"], error)
        yield Fetch(
            url=info["url"],
            source=self.source.name,
            crawl_id=self.crawl_id,
            final_url=request.url,
            status=None,
            error=error,
            duration_ms=round((time.monotonic() - info["queued"]) * 1000),
            kind=info["hint"],
            depth=info["depth"],
            referer=info["referer"],
            link_text=info["link_text"],
        )


def _resolver_error(host: str) -> Exception | None:
    """The installed resolver's reason for the last failed lookup of `host`, if it keeps one (BoundedResolver)."""
    from twisted.internet import reactor

    last_error = getattr(getattr(reactor, "resolver", None), "last_error", None)
    return last_error(host) if callable(last_error) else None


STOPPED = "source stopped early: every answer was a 5xx or none"


class FailingSourceMiddleware:
    """Downloader middleware: tells the spider each final answer (after retries) as soon as it is downloaded, and
    sends nothing more once the spider has stopped early (see SourceSpider.note_answer)."""

    def process_request(self, request: Request, spider: Any = None) -> None:
        spider = spider or getattr(self, "spider", None)
        if getattr(spider, "stopped_early", None) and META in request.meta:
            raise IgnoreRequest(STOPPED)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        spider = spider or getattr(self, "spider", None)
        if isinstance(spider, SourceSpider) and META in request.meta:
            spider.note_answer(request.meta[META]["url"], response.status)
        return response

    def process_exception(self, request: Request, exception: BaseException, spider: Any = None) -> None:
        spider = spider or getattr(self, "spider", None)
        if isinstance(spider, SourceSpider) and META in request.meta and not isinstance(exception, IgnoreRequest):
            spider.note_answer(request.meta[META]["url"], None)
        return None

    @classmethod
    def from_crawler(cls, crawler: Any) -> FailingSourceMiddleware:
        mw = cls()
        mw.crawler = crawler
        return mw

    @property
    def spider(self) -> Any:
        return getattr(self.crawler, "spider", None)


def _host(request: Request) -> str:
    return urlsplit(request.url).hostname or request.url


def describe_failure(failure: Failure, request: Request, settings: Any) -> str:
    """A short, plain-words reason a request got no response: 'timeout after 30 s', 'too large: ...'."""
    exc = failure.value
    text = str(exc)
    timeout = request.meta.get("download_timeout", settings.getfloat("DOWNLOAD_TIMEOUT"))
    maxsize = request.meta.get("download_maxsize", settings.getint("DOWNLOAD_MAXSIZE"))
    if isinstance(exc, IgnoreRequest):
        if "robots.txt" in text:
            return "forbidden by robots.txt"
        if text.startswith("refused redirect"):  # crawler/guard.py: a redirect to a private address
            return "refused: " + text[len("refused "):]
        if "redirection" in text:
            return f"too many redirects (more than {settings.getint('REDIRECT_MAX_TIMES')}, REDIRECT_MAX_TIMES)"
        if "during decompression" in text:  # HttpCompressionMiddleware's limit on a gzip/deflate/br bomb
            return f"too large: more than {maxsize} bytes once decompressed (DOWNLOAD_MAXSIZE)"
        return f"not fetched: {text or 'request ignored'}"
    if isinstance(exc, (DownloadCancelledError, defer.CancelledError)) and ("max size" in text or not text):
        return f"too large: more than {maxsize} bytes (DOWNLOAD_MAXSIZE)"
    if isinstance(exc, (DownloadTimeoutError, tx_error.TimeoutError, tx_error.TCPTimedOutError, defer.TimeoutError)):
        return f"timeout after {timeout:g} s"
    if isinstance(exc, (CannotResolveHostError, tx_error.DNSLookupError)):
        if isinstance(exc, DNSLookupTimeout) or isinstance(exc.__cause__, DNSLookupTimeout) \
                or isinstance(_resolver_error(_host(request)), DNSLookupTimeout):
            return (f"DNS lookup timed out for {_host(request)} "
                    f"(no answer within {settings.getfloat('DNS_TIMEOUT'):g} s, DNS_TIMEOUT)")
        return f"DNS lookup failed for {_host(request)}"
    if isinstance(exc, (DownloadConnectionRefusedError, tx_error.ConnectionRefusedError)):
        return f"connection refused by {urlsplit(request.url).netloc}"
    if isinstance(exc, (tx_error.NoRouteError, tx_error.UnknownHostError)):
        return f"no route to {_host(request)}"
    if isinstance(exc, ResponseDataLossError):
        return "connection lost: the response was shorter than its Content-Length"
    if isinstance(exc, (ResponseNeverReceived, ResponseFailed)):
        reasons = getattr(exc, "reasons", []) or []
        if any("SSL" in type(r.value).__name__ or "ssl" in str(r.value).lower() for r in reasons):
            return f"TLS error with {_host(request)}: {reasons[0].value}"
        return "connection lost before the response was complete"
    if isinstance(exc, (tx_error.ConnectionLost, tx_error.ConnectionDone, tx_error.ConnectError)):
        return f"connection lost: {text or type(exc).__name__}"
    if type(exc).__module__.startswith("OpenSSL") or "SSL" in type(exc).__name__:
        return f"TLS error with {_host(request)}: {text}"
    if isinstance(exc, UnsupportedURLSchemeError):
        return f"unsupported URL scheme: {request.url}"
    if isinstance(exc, DownloadFailedError):
        return f"download failed: {text}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def failure_cause(error: str | None, status: int | None = None) -> str:
    """The cause class of a failed fetch: DNS, refused, timeout, TLS, HTTP 4xx, HTTP 5xx, ... or 'other'."""
    if status is not None and status >= 400:
        return "HTTP 5xx" if status >= 500 else "HTTP 4xx"
    for prefix, cause in CAUSES:
        if error and error.startswith(prefix):
            return cause
    if error and error.startswith("HTTP "):  # "HTTP 404", as a source's summary words an HTTP error
        return "HTTP 5xx" if error[5:6] == "5" else "HTTP 4xx"
    return "other"


def is_expected_exception(exc: BaseException | None) -> bool:
    """True for what a download meets when a network or site misbehaves; False for anything else (our bugs)."""
    if exc is None:
        return False
    if isinstance(exc, EXPECTED_EXCEPTIONS):
        return True
    return type(exc).__module__.startswith("OpenSSL") or "SSL" in type(exc).__name__


class QuietExpectedFailures(logging.Filter):
    """Drops Scrapy's robots.txt middleware traceback for a download that failed for an expected reason (a DNS
    failure, a refusal, a timeout): the page request that follows meets the same failure and the spider logs it once
    (source, URL, cause). Anything else it logs, a bug included, passes with its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not is_expected_exception(exc)


def quiet_robots_errors() -> None:
    """Install QuietExpectedFailures on Scrapy's robots.txt middleware logger (once per process)."""
    logger = logging.getLogger("scrapy.downloadermiddlewares.robotstxt")
    if not any(isinstance(f, QuietExpectedFailures) for f in logger.filters):
        logger.addFilter(QuietExpectedFailures())


def is_network_error(error: str | None) -> bool:
    """True for errors that mean the host could not be reached (DNS, refused, timeout, reset, TLS)."""
    return bool(error) and any(error.startswith(prefix) for prefix in NETWORK_ERRORS)
