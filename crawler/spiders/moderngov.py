"""Council committee papers on ModernGov: committees -> meetings in a look-back window -> plan items' documents."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urljoin, urlsplit

from lxml import etree
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from storage import Fetch, KnownUrl

from ..links import looks_like_document
from ..sources import Source, SourceError
from ..vocabulary import find_date, flat, is_focus_committee, is_health_committee, months_before, plan_match
from .base import META, SourceSpider

MAX_LIST_PAGES = 6  # "Earlier meetings" pages followed per committee (each lists about 15 meetings)
MAX_TITLE = 300


@dataclass(frozen=True)
class CommitteeOptions:
    """The `options` of a moderngov or cmis source that steer what is crawled (see `committee_options`)."""

    lookback_months: int = 18  # meetings older than this are not visited
    lookahead_days: int = 60  # nor meetings further ahead than this (their papers are not out yet)
    committees: tuple[str, ...] = ()  # extra committee names (plain phrases) to watch besides the built-in ones
    all_committees: bool = False  # watch every committee (only items matching the vocabulary are fetched)
    keywords: tuple[str, ...] = ()  # extra plain phrases that make an item plan-relevant
    rss: bool = True  # read the site's mgRss.aspx feed (ModernGov) where it answers
    max_meetings: int = 300  # meetings visited per crawl, at most


def committee_options(source: Source) -> CommitteeOptions:
    """The committee-crawl options of `source`, checked; raises SourceError naming the source and option."""
    raw = source.options or {}

    def fail(key: str, problem: str) -> SourceError:
        return SourceError(f"source {source.name!r}: options.{key}: {problem}")

    def number(key: str, default: int, low: int, high: int) -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise fail(key, f"must be a whole number from {low} to {high}, not {value!r}")
        return value

    def phrases(key: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() and len(v) <= 200 for v in value):
            raise fail(key, f"must be a list of phrases (plain words, not patterns), not {value!r}")
        return tuple(v.strip() for v in value)

    def flag(key: str, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            raise fail(key, f"must be true or false, not {value!r}")
        return value

    return CommitteeOptions(
        lookback_months=number("lookback_months", 18, 1, 240),
        lookahead_days=number("lookahead_days", 60, 0, 730),
        committees=phrases("committees"),
        all_committees=flag("all_committees", False),
        keywords=phrases("keywords"),
        rss=flag("rss", True),
        max_meetings=number("max_meetings", 300, 1, 5000),
    )


def page_name(url: str) -> str:
    """The last path segment, lower case: 'ielistdocuments.aspx'."""
    try:
        return urlsplit(url).path.rsplit("/", 1)[-1].lower()
    except ValueError:
        return ""


def query(url: str) -> dict[str, str]:
    """The query string as a dict with lower-case keys (ModernGov mixes CId, cid and CommitteeId)."""
    try:
        return {k.lower(): v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    except ValueError:
        return {}


_DOC_KEY = re.compile(r"/documents/([sgb]\d+)/", re.I)


def document_key(url: str) -> str | None:
    """ModernGov's stable attachment key in a document URL ('s112217' in .../documents/s112217/Report.pdf)."""
    match = _DOC_KEY.search(url)
    return match.group(1).lower() if match else None


def _text(node: Any) -> str:
    """The visible text of an lxml element, without ModernGov's file-size and screen-reader-only spans."""
    parts = node.xpath(".//text()[not(ancestor::span[contains(@class,'mgFileSize') or contains(@class,'mgHide')])]"
                       "[not(ancestor::script or ancestor::style)]")
    return flat(" ".join(parts))


class CommitteeSpider(SourceSpider):
    """The shape shared by committee-paper spiders: a look-back window, focus committees, plan items only.

    Requests carry a `role` (what the page is: committees, meetings, meeting, item, ...) in their meta; a page's
    links are handed to `on_<role>`. Documents are fetched only for agenda items that match the plan
    vocabulary (crawler.vocabulary); every page visited is archived like any other fetch.
    """

    kind: ClassVar[str] = ""

    def __init__(self, *, source: Source, archive: Any, crawl_id: int | None = None, today: dt.date | None = None,
                 **kwargs: Any):
        super().__init__(source=source, archive=archive, crawl_id=crawl_id, **kwargs)
        self.options = committee_options(source)
        today = today or dt.date.today()
        self.earliest = months_before(today, self.options.lookback_months)
        self.latest = today + dt.timedelta(days=self.options.lookahead_days)
        self.committee_ids: set[str] = set()
        self.meeting_ids: set[str] = set()
        self.found_committees = 0
        self.skipped_items: list[str] = []  # titles of agenda items whose documents were not fetched
        self.relevant_items: list[str] = []

    # Said when the committee system answered but nothing led to a meeting: a council that moved to another system
    # leaves its old start URL serving a home page, and "ok, 0 documents" would hide that for ever.
    no_meetings: ClassVar[str] = (
        "no meetings found: the committee system's pages answered but led to no committee or meeting: check the "
        "start URL in `stp-tracker sources show`")

    def found_a_way(self) -> bool:
        """Whether the pages led anywhere: a committee listed or a meeting seen (in the window or not)."""
        return bool(self.meeting_ids or self.found_committees)

    def closed(self, reason: str) -> None:
        self.logger.info("%s: %d meetings visited, %d plan items fetched, %d other items skipped (window %s to %s)",
                         self.source.name, len(self.meeting_ids), len(self.relevant_items), len(self.skipped_items),
                         self.earliest, self.latest)
        stats = getattr(self, "source_stats", None)
        if stats is not None and reason == "finished" and not self.found_a_way():
            stats.problem = self.no_meetings

    # -- requests with a role -------------------------------------------------------------------------

    def ask(self, url: str, *, role: str, depth: int, referer: str | None = None, link_text: str | None = None,
            document: bool = False, **context: Any) -> Request | None:
        """A request for `url` in the source's scope (documents: or on a document host), tagged with its role."""
        if not (self.source.in_scope(url) or (document and self.source.on_document_host(url))):
            return None
        request = self.request(url, depth=depth, hint="document" if document else "page", referer=referer,
                               link_text=link_text)
        if request is not None:
            request.meta[META].update(role=role, **context)
        return request

    def should_recheck(self, known: KnownUrl) -> bool:
        # Documents fetched before are re-checked (a withdrawn plan is news); old agenda pages are not, or every
        # crawl would walk the whole history the look-back window is there to avoid.
        return known.kind == "document" and super().should_recheck(known)

    def in_window(self, day: dt.date | None) -> bool:
        return day is not None and self.earliest <= day <= self.latest

    def watches(self, committee: str | None) -> bool:
        """Whether meetings of this committee are visited."""
        return self.options.all_committees or is_focus_committee(committee, self.options.committees)

    def relevant(self, text: str, committee: str | None) -> str | None:
        """The plan phrase that makes an item (title, document names) worth its documents, or None."""
        return plan_match(text, health_context=is_health_committee(committee), extra=self.options.keywords)

    def meeting_request(self, url: str, meeting_id: str | None, *, depth: int, referer: str | None,
                        committee: str | None, when: dt.date | None) -> Request | None:
        """A meeting page, once per meeting id, within the per-crawl cap."""
        key = meeting_id or url
        if key in self.meeting_ids:
            return None
        if len(self.meeting_ids) >= self.options.max_meetings:
            self.logger.warning("%s: more than %d meetings in the window; the rest wait for the next crawl",
                                self.source.name, self.options.max_meetings)
            return None
        request = self.ask(url, role="meeting", depth=depth, referer=referer, committee=committee,
                           date=when.isoformat() if when else None)
        if request is not None:
            self.meeting_ids.add(key)
        return request

    def document_request(self, url: str, text: str, item: str | None, *, depth: int, referer: str) -> Request | None:
        label = text
        if item and item.lower() not in text.lower():
            label = f"{text} ({item})" if text else item
        return self.ask(url, role="document", depth=depth, referer=referer, link_text=label[:MAX_TITLE],
                        document=True, item=item, document_key=document_key(url))

    # -- responses ----------------------------------------------------------------------------------

    def links_from(self, response: Response, depth: int) -> Iterator[Request]:
        if not isinstance(response, TextResponse):
            return
        info = response.meta[META]
        handler = getattr(self, f"on_{info.get('role')}", None)
        if handler is None:
            return
        for request in handler(response, info):
            if request is not None:
                yield request

    def parse_response(self, response: Response) -> Iterator[Any]:
        yield from super().parse_response(response)
        yield from self.after(response.meta[META])

    def parse_failure(self, failure: Failure) -> Iterator[Fetch | Request]:
        yield from super().parse_failure(failure)
        yield from self.after(failure.request.meta[META])  # type: ignore[attr-defined]

    def after(self, info: dict[str, Any]) -> Iterator[Request]:
        """Once a page is handled (or failed): the fallback for a committee list that gave no committees."""
        if info.get("role") == "committees" and not self.found_committees:
            for url in info.get("fallback") or ():
                request = self.ask(url, role="committees", depth=info["depth"], fallback=[])
                if request is not None:
                    yield request
                    return

    # -- links on a page ------------------------------------------------------------------------------

    @staticmethod
    def anchors(response: TextResponse) -> Iterator[tuple[str, str, Any]]:
        """(absolute URL, visible text, lxml element) for each <a href> on the page."""
        for node in response.selector.root.iter("a") if response.selector.root is not None else ():
            href = (node.get("href") or "").strip()
            if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
                continue
            try:
                url = urljoin(response.url, href)
            except ValueError:
                continue
            if url.startswith(("http://", "https://")):
                yield url, _text(node), node


def _row_text(node: Any) -> str:
    """The text of the table row or list item holding a link (where a meeting's date may be written)."""
    for ancestor in node.iterancestors():
        if ancestor.tag in ("tr", "li", "p"):
            return _text(ancestor)
    return ""


def _is_document(url: str) -> bool:
    return bool(document_key(url)) or page_name(url) == "mgconvert2pdf.aspx" or looks_like_document(url)


_ITEM_PAGES = {"mgai.aspx", "mgissuehistoryhome.aspx", "ieissuedetails.aspx", "iedecisiondetails.aspx",
               "mgdecisiondetails.aspx"}


class ModernGovSpider(CommitteeSpider):
    """ModernGov (mg*/ie* pages): committee list -> meeting lists -> agenda pages -> plan items' documents."""

    kind = "moderngov"

    async def start(self) -> AsyncIterator[Request]:
        self.known = {k.url: k for k in self.archive.known_urls(self.source.name)}
        for start_url in self.source.start_urls:
            for request in self.start_requests_for(start_url):
                if request is not None:
                    yield request

    def start_requests_for(self, start_url: str) -> Iterable[Request | None]:
        name = page_name(start_url)
        params = query(start_url)
        if name == "ielistdocuments.aspx":  # a single meeting watched on its own
            yield self.meeting_request(start_url, params.get("mid"), depth=0, referer=None, committee=None, when=None)
            return
        if name in ("ielistmeetings.aspx", "mgcommitteedetails.aspx"):  # one committee
            cid = params.get("cid") or params.get("committeeid") or params.get("id")
            if cid:
                self.found_committees += 1
                yield self.meetings_request(start_url, cid, None, depth=0, referer=None, force=True)
                return
        yield self.ask(urljoin(start_url, "mgListCommittees.aspx?bcr=1"), role="committees", depth=0,
                       fallback=[urljoin(start_url, "mgCommitteeStructure.aspx")])
        if self.options.rss:
            yield self.ask(urljoin(start_url, "mgRss.aspx?XXR=0"), role="rss", depth=0)

    def meetings_request(self, url: str, cid: str, committee: str | None, *, depth: int, referer: str | None,
                         force: bool = False) -> Request | None:
        if cid in self.committee_ids or not (force or self.watches(committee)):
            return None
        self.committee_ids.add(cid)
        return self.ask(urljoin(url, f"ieListMeetings.aspx?CId={cid}"), role="meetings", depth=depth,
                        referer=referer, committee=committee, cid=cid, page=1)

    # -- the committee list (mgListCommittees.aspx / mgCommitteeStructure.aspx) ------------------------

    def on_committees(self, response: TextResponse, info: dict[str, Any]) -> Iterator[Request | None]:
        for url, text, _ in self.anchors(response):
            name = page_name(url)
            params = query(url)
            if name == "mgcommitteedetails.aspx":
                cid = params.get("id")
            elif name == "ielistmeetings.aspx":
                cid = params.get("cid") or params.get("committeeid")
            else:
                continue
            if not cid or not cid.isdigit() or not text:
                continue
            self.found_committees += 1
            yield self.meetings_request(url, cid, text, depth=info["depth"] + 1, referer=response.url)

    # -- a committee's meetings (ieListMeetings.aspx?CId=N, and its "Earlier meetings" pages) ---------

    def on_meetings(self, response: TextResponse, info: dict[str, Any]) -> Iterator[Request | None]:
        committee = info.get("committee") or self._committee_from_title(response)
        for url, text, node in self.anchors(response):
            name = page_name(url)
            params = query(url)
            if name == "ielistdocuments.aspx" and params.get("mid"):
                when = find_date(text) or find_date(_row_text(node))
                if self.in_window(when):
                    yield self.meeting_request(url, params["mid"], depth=info["depth"] + 1, referer=response.url,
                                               committee=committee, when=when)
            elif name == "ielistmeetings.aspx" and params.get("act", "").lower() == "earlier":
                # ModernGov pages back in time with D=<yyyymmddHHMM of the earliest meeting shown>: only worth a
                # request while that date is still inside the window.
                shown = _d_param(params.get("d", ""))
                if shown is not None and shown > self.earliest and info.get("page", 1) < MAX_LIST_PAGES:
                    yield self.ask(url, role="meetings", depth=info["depth"], referer=response.url,
                                   committee=committee, cid=info.get("cid"), page=info.get("page", 1) + 1)

    @staticmethod
    def _committee_from_title(response: TextResponse) -> str | None:
        title = response.css("h2.mgSubTitleTxt").xpath("string()").get() or response.css("title::text").get() or ""
        title = flat(title)
        return title.split(" - ")[0].strip() or None if title else None

    # -- a meeting's agenda (ieListDocuments.aspx?CId=N&MId=M) -------------------------------------------

    def on_meeting(self, response: TextResponse, info: dict[str, Any]) -> Iterator[Request | None]:
        committee = info.get("committee") or self._committee_from_title(response)
        depth = info["depth"] + 1
        in_items: set[str] = set()
        rows = response.selector.root.xpath(
            "//table[contains(concat(' ', normalize-space(@class), ' '), ' mgItemTable ')]/tr"
            " | //table[contains(concat(' ', normalize-space(@class), ' '), ' mgItemTable ')]/tbody/tr")
        for row in rows:
            title = self._item_title(row)
            links = [(u, t) for u, t, _ in self._anchors_in(row, response)]
            in_items.update(u for u, _ in links)
            if not title and not links:
                continue
            documents = [(u, t) for u, t in links if _is_document(u)]
            pages = [u for u, _ in links if page_name(u) in _ITEM_PAGES]
            description = self._item_description(row)
            evidence = " | ".join([title, *(t for _, t in documents), description])
            if not self.relevant(evidence, committee):
                if documents or pages:
                    self.skipped_items.append(title)
                continue
            self.relevant_items.append(title)
            for url, text in documents:
                yield self.document_request(url, text, title, depth=depth, referer=response.url)
            for url in pages:
                yield self.ask(url, role="item", depth=depth, referer=response.url, item=title, committee=committee)
        # Links outside the item table (meeting packs, supplements; or a page without the usual table): only those
        # whose own words are plan words.
        for url, text, _ in self.anchors(response):
            if url in in_items or not text:
                continue
            if not self.relevant(text, committee):
                continue
            if _is_document(url):
                yield self.document_request(url, text, None, depth=depth, referer=response.url)
            elif page_name(url) == "mgchoosedocpack.aspx":  # a supplement's page, listing its documents
                yield self.ask(url, role="item", depth=depth, referer=response.url, item=text, committee=committee)

    def _anchors_in(self, row: Any, response: TextResponse) -> Iterator[tuple[str, str, Any]]:
        for node in row.iter("a"):
            href = (node.get("href") or "").strip()
            if href and not href.startswith(("#", "javascript:", "mailto:")):
                yield urljoin(response.url, href), _text(node), node

    @staticmethod
    def _item_title(row: Any) -> str:
        for cell in row.xpath("./td[not(contains(@class,'mgItemNumberCell'))]"):
            title = cell.xpath(".//p[contains(@class,'mgAiTitleTxt')]")
            if title:
                return _text(title[0])[:MAX_TITLE]
        return ""

    @staticmethod
    def _item_description(row: Any) -> str:
        """The item's summary paragraph (before 'Minutes:' / 'Decision:'), cut short."""
        paras = row.xpath(".//div[contains(@class,'mgWordPara')][not(preceding-sibling::p"
                          "[contains(@class,'mgSubItemTitleTxt')])]")
        return _text(paras[0])[:400] if paras else ""

    # -- an agenda item or issue page (mgAi.aspx, mgIssueHistoryHome.aspx, ieIssueDetails.aspx) ----------

    def on_item(self, response: TextResponse, info: dict[str, Any]) -> Iterator[Request | None]:
        item = info.get("item")
        issue = query(response.url).get("iid")
        for url, text, _ in self.anchors(response):
            if _is_document(url):
                yield self.document_request(url, text, item, depth=info["depth"] + 1, referer=response.url)
            elif page_name(url) in ("ieissuedetails.aspx", "mgissuehistoryhome.aspx") and issue \
                    and query(url).get("iid") == issue:
                yield self.ask(url, role="item", depth=info["depth"], referer=response.url, item=item)

    # -- the site's "what's new" feed (mgRss.aspx) ---------------------------------------------------------

    def on_rss(self, response: TextResponse, info: dict[str, Any]) -> Iterator[Request | None]:
        entries = feed_entries(response.body)
        if entries is None:
            self.logger.warning("the feed at %s is not RSS or Atom: its entries were not read", response.url)
            return
        for link, title in entries[:500]:
            url = urljoin(response.url, link)
            name = page_name(url)
            committee = title.split(" - ")[0]
            if name == "ielistdocuments.aspx":
                when = find_date(title)
                wanted = self.watches(committee) or self.relevant(title, committee)
                if wanted and (when is None or self.in_window(when)):
                    yield self.meeting_request(url, query(url).get("mid"), depth=1, referer=response.url,
                                               committee=committee, when=when)
            elif self.relevant(title, None):
                if _is_document(url):
                    yield self.document_request(url, title, None, depth=1, referer=response.url)
                elif name in _ITEM_PAGES:
                    yield self.ask(url, role="item", depth=1, referer=response.url, item=title)


def feed_entries(body: bytes) -> list[tuple[str, str]] | None:
    """(link, title) of each entry of an RSS 2.0, RSS 1.0 or Atom feed, in order; None if `body` is no feed.
    Read with lxml (no entities resolved, nothing fetched), forgiving of the small faults real feeds have."""
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root is None or etree.QName(root).localname not in ("rss", "RDF", "feed"):
        return None
    entries = []
    for entry in root.iter("{*}item", "{*}entry"):
        title = flat("".join(entry.xpath("./*[local-name()='title']//text()")))
        link = next((flat(t) for t in entry.xpath("./*[local-name()='link']/text()") if flat(t)), "")
        if not link:  # Atom: <link href="..."/>, the alternate one first
            hrefs = entry.xpath("./*[local-name()='link'][not(@rel) or @rel='alternate']/@href")
            link = flat(hrefs[0]) if hrefs else ""
        if link and title:
            entries.append((link, title))
    return entries


def _d_param(value: str) -> dt.date | None:
    """ModernGov's D=yyyymmddHHMM paging parameter as a date."""
    if len(value) < 8 or not value[:8].isdigit():
        return None
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None
