"""Scrapy settings for every crawl: polite by default (robots.txt, AutoThrottle, honest User-Agent), hard limits."""

from __future__ import annotations

import os
from importlib import metadata
from typing import Any

CONTACT_ENV = "STP_TRACKER_CONTACT"
DEFAULT_CONTACT = "no contact configured: set STP_TRACKER_CONTACT"
ROBOTS_AGENT = "stp-tracker"


def version() -> str:
    try:
        return metadata.version("stp-tracker")
    except metadata.PackageNotFoundError:
        return "dev"


def user_agent(contact: str | None = None) -> str:
    """`stp-tracker/<version> (+<contact>)`: who we are and how a webmaster reaches the operator."""
    contact = contact or os.environ.get(CONTACT_ENV, "").strip() or DEFAULT_CONTACT
    return f"{ROBOTS_AGENT}/{version()} (+{contact})"


def _retry_exceptions() -> list[Any]:
    from scrapy.settings import default_settings

    return [e for e in default_settings.RETRY_EXCEPTIONS if not str(e).endswith("CannotResolveHostError")]


def crawl_settings(**overrides: Any) -> dict[str, Any]:
    """The Scrapy settings of a crawl; keyword arguments (Scrapy setting names) override any of them."""
    settings: dict[str, Any] = {
        # Who we are, and politeness.
        "USER_AGENT": user_agent(),
        "ROBOTSTXT_OBEY": True,
        "ROBOTSTXT_USER_AGENT": ROBOTS_AGENT,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": 1.0,
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 2.0,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
        # Scrapy's default of 100 starts 100 asyncio tasks per response to process its output; a handful of items
        # and requests per page need far fewer (measured: about twice the pages per second on a local site).
        "CONCURRENT_ITEMS": 16,
        "DOWNLOAD_DELAY": 0.25,
        "COOKIES_ENABLED": False,
        # Limits: every one of them ends as a recorded error, never a silent drop.
        "DOWNLOAD_TIMEOUT": 30,
        # DNS: installed by crawler.reactor.install_resolver (AsyncCrawlerRunner installs none); each lookup gives up
        # after DNS_TIMEOUT, and a name that failed fails again at once for DNS_FAILURE_TTL seconds (ours).
        "TWISTED_DNS_RESOLVER": "crawler.resolver.BoundedResolver",
        "DNS_TIMEOUT": 10,
        "DNS_FAILURE_TTL": 120,
        # A source's crawl has a wall-clock budget: Scrapy's CloseSpider closes it (reason closespider_timeout),
        # what was fetched is kept and the summary says it was cut short.
        "CLOSESPIDER_TIMEOUT": 4 * 3600,
        "DOWNLOAD_MAXSIZE": 100_000_000,
        "DOWNLOAD_WARNSIZE": 30_000_000,
        "REDIRECT_MAX_TIMES": 10,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        # The failure is recorded in the archive and logged once by the spider (source, URL, cause): not here too.
        "RETRY_GIVE_UP_LOG_LEVEL": "DEBUG",
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524],  # never a 4xx: a 404 is an answer, not a hiccup
        # Scrapy's list less the DNS failure: the resolver remembers a failed name for DNS_FAILURE_TTL, so a retry
        # would fail at once, after waiting its turn behind the politeness delays.
        "RETRY_EXCEPTIONS": _retry_exceptions(),
        # Every status reaches the spider, so that a 404, 403 or 5xx is recorded like any other response.
        "HTTPERROR_ALLOW_ALL": True,
        # No remote consoles: the telnet console and Scrapy 2.19's RemoteControl run code sent to a port.
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "EXTENSIONS": {
            "scrapy.extensions.telnet.TelnetConsole": None,
            "scrapy.extensions.remote_control.RemoteControl": None,
        },
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        # Breadth-first: a page's depth is its link distance from a start URL. Scrapy's default (LIFO) order
        # reaches pages first through long chains of links, and max_depth then cuts off pages a click away from
        # the home page (measured: 2-6 pages of a 2,500-page site were never fetched).
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        # The spiders do their own per-crawl de-duplication (see crawler/spiders/base.py).
        "DEPTH_STATS_VERBOSE": False,
        "LOGSTATS_INTERVAL": 60.0,
        "ITEM_PIPELINES": {"crawler.pipelines.ArchivePipeline": 300},
        # Before the retry middleware (550) on the way out, after it on the way back: sees each URL's final answer.
        # The redirect guard first (before robots.txt at 100): a redirect to a private address the source does not
        # name is never followed.
        "DOWNLOADER_MIDDLEWARES": {"crawler.guard.RedirectGuardMiddleware": 40,
                                   "crawler.spiders.base.FailingSourceMiddleware": 50},
        # Budgets of one source in one crawl (crawler/spiders/base.py, site.py); options.max_pages overrides the first.
        "STP_PAGE_BUDGET": 500,
        "STP_DOCUMENT_BUDGET": 3000,
        "STP_PAGES_PER_SHAPE": 50,
        "STP_FAILING_SOURCE_STOP_AFTER": 5,
    }
    settings.update(overrides)
    return settings


def fast_test_settings(**overrides: Any) -> dict[str, Any]:
    """Overrides for crawls of a local test server: no politeness delays, short timeouts, no retries."""
    fast: dict[str, Any] = {
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOAD_DELAY": 0,
        "DOWNLOAD_TIMEOUT": 5,
        "DNS_TIMEOUT": 5,
        "RETRY_TIMES": 0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    }
    fast.update(overrides)
    return fast
