"""A web site: follows links within the source's domains up to its depth, and fetches the documents they lead to."""

from __future__ import annotations

from collections.abc import Iterator

from scrapy.http import Request, Response, TextResponse
from scrapy.linkextractors import LinkExtractor

from ..links import SKIPPED_EXTENSIONS, looks_like_document
from .base import SourceSpider, register_spider

# <a>/<area> links, and documents embedded in a page (<iframe src>, <embed src>, <object data>).
_EXTRACTOR = LinkExtractor(
    tags=("a", "area", "iframe", "embed", "object"),
    attrs=("href", "src", "data"),
    deny_extensions=SKIPPED_EXTENSIONS,
    canonicalize=False,  # the spider canonicalises (crawler.links.canonical) when it makes the request
    unique=True,
    strip=True,
)


@register_spider
class SiteSpider(SourceSpider):
    """Follows links within allowed_domains up to max_depth; documents are fetched, never parsed for links."""

    kind = "site"

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
            elif in_scope and depth < max_depth:
                request = self.request(url, depth=depth + 1, hint="page", referer=response.url, link_text=link.text)
            else:
                request = None
            if request is not None:
                yield request
