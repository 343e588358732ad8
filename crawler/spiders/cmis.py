"""Council committee papers on CMIS (Civica, /CMIS5/ or /CMIS/): committees -> meetings -> plan items' documents."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from scrapy.http import Request, TextResponse

from ..links import looks_like_document
from ..vocabulary import find_date, flat, is_health_committee
from .base import META
from .moderngov import MAX_TITLE, CommitteeSpider, _row_text, _text, page_name, query

# DNN path forms: .../ctl/ViewMeetingPublic/mid/397/Meeting/15218/Committee/6/Default.aspx and
# .../ctl/ViewCMIS_CommitteeDetails/mid/381/id/12/Default.aspx (or the same as query parameters).
_MEETING = re.compile(r"/Meeting/(\d+)(?:/Committee/(\d+))?", re.I)
_COMMITTEE = re.compile(r"ViewCMIS_CommitteeDetails/(?:mid/\d+/)?id/(\d+)", re.I)
_MODULE_PREFIX = re.compile(r"^(?P<prefix>.*/tabid/\d+)/ctl/\w+/(?P<mid>mid/\d+)/", re.I)
_CALENDAR_DAY = re.compile(r"^\w+day,?\s+(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)(?:,?\s+(\d{4}))?$")
_TIME = re.compile(r"^\d{1,2}[:.]\d{2}\s*(?:am|pm)?\s*(?:-\s*)?", re.I)
_MORE_MEETINGS = re.compile(r"\b(?:previous|past|earlier|all)\s+meetings\b|^meetings$", re.I)
# A DNN module's postback controls: name="dnn$ctr397$MeetingCalendarPublic$btnButtonListView" (the suffix varies by
# install: MeetingCalendarPublicList at Nottinghamshire, as LGSF notes).
_MODULE_ID = re.compile(r"dnn\$ctr(\d+)\$MeetingCalendarPublic\w*\$", re.I)
_GENERIC_HEADINGS = {"meeting details", "meeting", "meetings", "agenda", "documents"}
MAX_MONTHS = 36  # calendar months walked when no committee list is found
NO_MEETINGS = ("no meetings found: the committee system's pages answered but led to no meeting (no committee "
               "list, meeting link, calendar or list view): check the start URL in `stp-tracker sources show`")


def _meeting_id(url: str) -> str | None:
    match = _MEETING.search(url)
    if match and "viewmeetingpublic" in url.lower():
        return match.group(1)
    params = query(url)
    if params.get("ctl", "").lower() == "viewmeetingpublic" and params.get("meeting"):
        return params["meeting"]
    return None


def _committee_id(url: str) -> str | None:
    match = _COMMITTEE.search(url)
    if match:
        return match.group(1)
    params = query(url)
    if params.get("ctl", "").lower() == "viewcmis_committeedetails":
        return params.get("id")
    return None


def _is_document(url: str) -> bool:
    return page_name(url) == "document.ashx" or looks_like_document(url)


def _item_container(link: Any) -> Any | None:
    """The agenda item (table row, or an element classed as an item) a document link sits in."""
    for ancestor in link.iterancestors():
        cls = (ancestor.get("class") or "").lower()
        if "document" in cls:  # the document list inside an item, not the item
            continue
        if ancestor.tag == "tr" or re.search(r"agenda\s*item|\bitem\b|itemcontainer", cls):
            return ancestor
        if ancestor.tag in ("table", "body", "form"):
            return None
    return None


def _item_title(container: Any) -> str:
    """An item's title: an element classed *title* (not a document link), else a heading, else its first text."""
    for node in container.iter():
        if not isinstance(node.tag, str) or node is container:
            continue
        cls = (node.get("class") or "").lower()
        if "title" in cls and node.tag != "a" and "titlelink" not in cls and not node.xpath("ancestor::a"):
            text = _text(node)
            if text:
                return text[:MAX_TITLE]
    for node in container.iter("h2", "h3", "h4", "h5", "strong", "b"):
        text = _text(node)
        if text:
            return text[:MAX_TITLE]
    return _text(container)[:MAX_TITLE]


class CmisSpider(CommitteeSpider):
    """CMIS: committee list -> committee pages (or the month calendar) -> meeting pages -> plan items' documents.

    CMIS document URLs (Document.ashx?<opaque tokens>) carry no readable id: the archive tells documents apart
    by their content, as it does for every other source.
    """

    kind = "cmis"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.calendar_prefix: str | None = None
        self.calendar_walked = False
        self.lists_pending: set[str] = set()  # committee list pages requested and not yet answered
        self.list_views: set[str] = set()  # module ids whose meeting list view was requested

    no_meetings = NO_MEETINGS

    def found_a_way(self) -> bool:
        return bool(self.meeting_ids or self.calendar_walked or self.list_views or self.found_committees)

    async def start(self) -> AsyncIterator[Request]:
        self.known = {k.url: k for k in self.archive.known_urls(self.source.name)}
        for url in self.source.start_urls:
            meeting = _meeting_id(url)
            request = (self.meeting_request(url, meeting, depth=0, referer=None, committee=None, when=None)
                       if meeting else self.ask(url, role="home", depth=0))
            if request is not None:
                yield request

    def after(self, info: dict[str, Any]) -> Iterator[Request]:
        # No committee list found (none linked, or it failed): walk the month calendar instead. A list view shows
        # only the meetings ahead, so the calendar is walked after it too.
        if info.get("role") in ("committees", "listview"):
            self.lists_pending.discard(info["url"])
        if info.get("role") in ("home", "committees", "listview") and not self.found_committees \
                and not self.lists_pending:
            yield from self.calendar_requests()

    # -- the home page and the committee list ---------------------------------------------------------

    def on_home(self, response: TextResponse, info: dict[str, Any]) -> Iterator[Request | None]:
        yield from self.on_committees(response, info)
        yield from self.list_view_requests(response, info)
        if self.found_committees:
            return
        for url, text, _ in self.anchors(response):
            self.learn_calendar(url)
            path = url.lower().split("?")[0]
            label = text.strip().lower()
            if label in ("committees", "committee list", "committee structure", "current committees") or \
                    path.endswith(("/committees.aspx", "/committees/default.aspx", "/currentcommittees.aspx")) \
                    or "/committees/tabid/" in path:
                request = self.ask(url, role="committees", depth=info["depth"] + 1, referer=response.url)
                if request is not None:
                    self.lists_pending.add(request.meta[META]["url"])
                    yield request
            elif info.get("depth", 0) == 0 and (label in ("meetings", "meetings calendar", "meeting calendar")
                                                or path.endswith("/meetings.aspx")):
                # The meetings page often offers only postback buttons: read its module id there (home role).
                yield self.ask(url, role="home", depth=info["depth"] + 1, referer=response.url)

    def list_view_requests(self, response: TextResponse, info: dict[str, Any]) -> Iterator[Request | None]:
        """A postback-only meetings page (buttons named dnn$ctr<mid>$MeetingCalendarPublic$...): its meeting list
        view, requested as LGSF does (Meetings.aspx?ctl=MeetingCalendarListView&mid=<mid>)."""
        names = " ".join(response.xpath("//input/@name | //select/@name | //a/@href").getall()[:2000])
        for mid in dict.fromkeys(_MODULE_ID.findall(names)):
            if mid in self.list_views:
                continue
            self.list_views.add(mid)
            parts = urlsplit(response.url)
            page = parts.path if parts.path.lower().endswith(".aspx") else urljoin(parts.path, "Meetings.aspx")
            url = urlunsplit((parts.scheme, parts.netloc, page, f"ctl=MeetingCalendarListView&mid={mid}", ""))
            request = self.ask(url, role="listview", depth=info["depth"] + 1, referer=response.url)
            if request is not None:
                self.lists_pending.add(request.meta[META]["url"])
                yield request

    # -- the meeting list view (Telerik grid rows: "9 Jul 2026 11:00 - Planning Committee") -------------

    def on_listview(self, response: TextResponse, info: dict[str, Any]) -> Iterator[Request | None]:
        for url, text, node in self.anchors(response):
            self.learn_calendar(url)
            meeting = _meeting_id(url)
            if not meeting:
                continue
            committee = self._listed_committee(text, node.get("title") or "")
            when = find_date(text) or find_date(node.get("title")) or find_date(_row_text(node))
            if self.in_window(when) and self.watches(committee):
                yield self.meeting_request(url, meeting, depth=info["depth"] + 1, referer=response.url,
                                           committee=committee, when=when)

    @staticmethod
    def _listed_committee(text: str, title: str) -> str | None:
        """'9 Jul 2026 11:00 - Planning Committee', or the title 'Click to view: Planning Committee - 9 Jul ...'."""
        if " - " in text:
            return text.split(" - ", 1)[1].strip() or None
        title = re.sub(r"^click to view:?\s*", "", flat(title), flags=re.I)
        return title.split(" - ")[0].strip() or None if title else (_TIME.sub("", text).strip() or None)

    def on_committees(self, response: TextResponse, info: dict[str, Any]) -> Iterator[Request | None]:
        for url, text, _ in self.anchors(response):
            self.learn_calendar(url)
            cid = _committee_id(url)
            if not cid or not text:
                continue
            self.found_committees += 1
            if cid in self.committee_ids or not self.watches(text):
                continue
            self.committee_ids.add(cid)
            yield self.ask(url, role="committee", depth=info["depth"] + 1, referer=response.url, committee=text,
                           cid=cid, hops=0)

    # -- a committee's page: its meetings -------------------------------------------------------------

    def on_committee(self, response: TextResponse, info: dict[str, Any]) -> Iterator[Request | None]:
        committee = info.get("committee")
        for url, text, node in self.anchors(response):
            self.learn_calendar(url)
            meeting = _meeting_id(url)
            if meeting:
                when = find_date(text) or find_date(_row_text(node))
                if self.in_window(when):
                    yield self.meeting_request(url, meeting, depth=info["depth"] + 1, referer=response.url,
                                               committee=committee, when=when)
            elif info.get("hops", 0) < 1 and _MORE_MEETINGS.search(text) and _committee_id(url) == info.get("cid"):
                yield self.ask(url, role="committee", depth=info["depth"], referer=response.url, committee=committee,
                               cid=info.get("cid"), hops=info.get("hops", 0) + 1)

    # -- the month calendar (when no committee list is found) -----------------------------------------

    def learn_calendar(self, url: str) -> None:
        if self.calendar_prefix is None and _meeting_id(url):
            match = _MODULE_PREFIX.match(url)
            if match:
                self.calendar_prefix = f"{match.group('prefix')}/ctl/MeetingCalendarPublicNoJava/{match.group('mid')}"

    def calendar_requests(self) -> Iterator[Request]:
        if self.calendar_walked or self.calendar_prefix is None:
            return
        self.calendar_walked = True
        # Newest month first, back to the window's start (at most MAX_MONTHS months: the newest matter most).
        month, first = self.latest.replace(day=1), self.earliest.replace(day=1)
        for _ in range(MAX_MONTHS):
            if month < first:
                break
            request = self.ask(f"{self.calendar_prefix}/Date/{month.isoformat()}/Default.aspx", role="calendar",
                               depth=1, month=month.isoformat())
            if request is not None:
                yield request
            month = (month - dt.timedelta(days=1)).replace(day=1)

    def on_calendar(self, response: TextResponse, info: dict[str, Any]) -> Iterator[Request | None]:
        month = dt.date.fromisoformat(info["month"])
        for url, text, node in self.anchors(response):
            meeting = _meeting_id(url)
            if not meeting:
                continue
            committee = _TIME.sub("", text).strip() or None
            when = find_date(text) or self._calendar_day(node, month)
            if self.in_window(when) and self.watches(committee):
                yield self.meeting_request(url, meeting, depth=info["depth"] + 1, referer=response.url,
                                           committee=committee, when=when)

    @staticmethod
    def _calendar_day(link: Any, month: dt.date) -> dt.date | None:
        """The day heading ("Monday, 8 June") of the calendar row a meeting link sits in."""
        for ancestor in link.iterancestors("tr"):
            for cell in ancestor.iter("td", "th"):
                match = _CALENDAR_DAY.match(_text(cell))
                if match:
                    return find_date(f"{match.group(1)} {match.group(2)} {match.group(3) or month.year}")
            break
        return None

    # -- a meeting page: agenda items and their documents --------------------------------------------

    def on_meeting(self, response: TextResponse, info: dict[str, Any]) -> Iterator[Request | None]:
        committee = self._committee_from_page(response) or info.get("committee")
        depth = info["depth"] + 1
        items: dict[int, tuple[str, list[tuple[str, str]]]] = {}
        loose: list[tuple[str, str]] = []
        for url, text, node in self.anchors(response):
            if not _is_document(url):
                continue
            container = _item_container(node)
            if container is None:
                loose.append((url, text))
                continue
            key = id(container)
            if key not in items:
                items[key] = (_item_title(container), [])
            items[key][1].append((url, text))
        for title, documents in items.values():
            evidence = " | ".join([title, *(t for _, t in documents)])
            if not self.relevant(evidence, committee):
                self.skipped_items.append(title)
                continue
            self.relevant_items.append(title)
            for url, text in documents:
                yield self.document_request(url, text, title, depth=depth, referer=response.url)
        # Documents outside any item. Beside items they are packs and minutes: fetched when their own name is a plan's.
        # A flat list (ol.DocumentList with no items, as CMIS's Documents tab shows) is the whole agenda: no item
        # title says what is in it, so a health committee's documents are all fetched, other committees' by name.
        flat_list = not items
        for url, text in loose:
            if (text and self.relevant(text, committee)) or (flat_list and is_health_committee(committee)):
                yield self.document_request(url, text, None if not flat_list else committee, depth=depth,
                                            referer=response.url)
            elif text:
                self.skipped_items.append(text)

    @staticmethod
    def _committee_from_page(response: TextResponse) -> str | None:
        """The meeting's committee: CMIS's labelled field (div.Value.Committee), else a committee name element, else
        the page title's first part; never a generic heading such as "Meeting Details"."""
        for css in ("div.Value.Committee", "span.CommitteeName", "h1", "title"):
            text = flat(" ".join(response.css(css + " ::text").getall()))
            name = text.split(" - ")[0].strip()
            if name and name.lower() not in _GENERIC_HEADINGS:
                return name[:MAX_TITLE]
        return None

