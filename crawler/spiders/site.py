"""A web site: follows links within the source's domains up to its depth, and fetches the documents they lead to."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from scrapy.http import Request, Response, TextResponse
from scrapy.linkextractors import LinkExtractor

from storage import KnownUrl

from ..links import SKIPPED_EXTENSIONS, looks_like_document
from ..sources import Source, SourceError
from .base import SourceSpider

# <a>/<area> links, and documents embedded in a page (<iframe src>, <embed src>, <object data>).
_EXTRACTOR = LinkExtractor(
    tags=("a", "area", "iframe", "embed", "object"),
    attrs=("href", "src", "data"),
    deny_extensions=SKIPPED_EXTENSIONS,
    canonicalize=False,  # the spider canonicalises (crawler.links.canonical) when it makes the request
    unique=True,
    strip=True,
)


# Pages of one URL shape a site may use in one crawl (Scrapy setting STP_PAGES_PER_SHAPE): a calendar's endless
# next/previous links, or day views, are one shape (/events/2025/03/14/, ?month=2025-03) and cannot use the whole
# page budget. Documents are never capped by shape.
PAGES_PER_SHAPE = 50
_DIGITS = re.compile(r"\d+")


def url_shape(url: str) -> str:
    """Host, path with digit runs masked, and the query's parameter names: what a calendar's pages share."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    names = sorted({name for name, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return f"{parts.hostname}{_DIGITS.sub('#', parts.path)}?{'&'.join(names)}"


class SiteSpider(SourceSpider):
    """Follows links within allowed_domains up to max_depth; documents are fetched, never parsed for links."""

    kind = "site"

    def __init__(self, *, source: Source, archive: Any, **kwargs: Any):
        super().__init__(source=source, archive=archive, **kwargs)
        self.path_prefixes = path_prefixes(source)
        self.shapes: dict[str, int] = {}
        self.shape_refused = 0

    def within_budget(self, url: str, hint: str) -> bool:
        if hint != "document":
            shape = url_shape(url)
            if self.shapes.get(shape, 0) >= self.settings.getint("STP_PAGES_PER_SHAPE", PAGES_PER_SHAPE):
                self.shape_refused += 1
                return False
            if not super().within_budget(url, hint):
                return False
            self.shapes[shape] = self.shapes.get(shape, 0) + 1
            return True
        return super().within_budget(url, hint)

    def on_paths(self, url: str) -> bool:
        """True if `url`'s path starts with one of options["path_prefixes"] (always, when there are none)."""
        if not self.path_prefixes:
            return True
        try:
            path = urlsplit(url).path or "/"
        except ValueError:
            return False
        return path.startswith(self.path_prefixes)

    def should_recheck(self, known: KnownUrl) -> bool:
        return super().should_recheck(known) and (known.kind == "document" or self.on_paths(known.url))

    def links_from(self, response: Response, depth: int) -> Iterator[Request]:
        if not isinstance(response, TextResponse):
            return
        source = self.source
        max_depth = source.max_depth or 0
        for link in _EXTRACTOR.extract_links(response):
            url = link.url
            in_scope = source.in_scope(url)
            if looks_like_document(url):
                # A document linked from the deepest page we read is still fetched: documents are the point.
                if in_scope or source.on_document_host(url):
                    request = self.request(url, depth=depth + 1, hint="document", referer=response.url,
                                           link_text=link.text)
                else:
                    request = None
            elif in_scope and depth < max_depth and self.on_paths(url):
                request = self.request(url, depth=depth + 1, hint="page", referer=response.url, link_text=link.text)
            else:
                request = None
            if request is not None:
                yield request


def path_prefixes(source: Source) -> tuple[str, ...]:
    """options["path_prefixes"] of a site source ("/integratedcare/", ...): pages outside them are not followed."""
    value = (source.options or {}).get("path_prefixes", [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.startswith("/") for v in value):
        raise SourceError(f"source {source.name!r}: options.path_prefixes: must be a list of URL paths starting "
                          f"with '/', such as [\"/integratedcare/\"], not {value!r}")
    return tuple(value)
