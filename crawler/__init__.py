"""What to fetch and how politely: the Scrapy spiders, their settings, the reactor, and the source registry."""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Public name -> the module that defines it. Imported on first use, so that `stp-tracker --help` does not pay
# for Scrapy, PDFium or the extraction pool; `__all__` is the surface other packages may use.
_EXPORTS = {
    "CrawlError": "crawler.runner",
    "CrawlSummary": "crawler.runner",
    "KINDS": "crawler.sources",
    "ROBOTS_AGENT": "crawler.settings",
    "ReactorError": "crawler.reactor",
    "Source": "crawler.sources",
    "SourceError": "crawler.sources",
    "committee_options": "crawler.spiders.moderngov",
    "crawl_once": "crawler.runner",
    "crawl_verdict": "crawler.runner",
    "fast_test_settings": "crawler.settings",
    "host_of": "crawler.sources",
    "load_sources": "crawler.sources",
    "run_crawl": "crawler.runner",
    "run_on_reactor": "crawler.reactor",
    "sources_from_dicts": "crawler.sources",
    "user_agent": "crawler.settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
