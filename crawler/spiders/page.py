"""One page (or document) watched on its own: fetched with conditional headers, no links followed."""

from __future__ import annotations

from storage import KnownUrl

from .base import SourceSpider


class PageSpider(SourceSpider):
    """Fetches only the source's start URLs (conditionally: an unchanged page costs a 304)."""

    kind = "page"
    conditional_start = True

    def should_recheck(self, known: KnownUrl) -> bool:
        return False  # only the start URLs are watched, and they are requested anyway
