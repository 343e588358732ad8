"""Atom feeds of events (feedgen): one entry per alert-worthy event, with ids that never change."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import IO

from feedgen.feed import FeedGenerator
from lxml import etree

from storage import Archive
from storage import event_json

from .render import event_subject, event_view, one_line
from .settings import DEFAULT_BASE_URL

TAG_AUTHORITY = "tag:stp-tracker,2026"
DEFAULT_LIMIT = 200


def entry_id(event_id: int) -> str:
    """The Atom id of an event's entry: the same in every feed, forever."""
    return f"{TAG_AUTHORITY}:event/{int(event_id)}"


def _when(value: str | None) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value or "")
    except ValueError:
        return dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def feed_xml(archive: Archive, *, footprint: str | None = None, kind: str | None = None,
             base_url: str = DEFAULT_BASE_URL, limit: int = DEFAULT_LIMIT) -> bytes:
    """The Atom document (UTF-8) for the newest `limit` alert-worthy, non-historical events matching the filters."""
    base = base_url.rstrip("/")
    footprint = footprint.upper() if footprint else None
    events = archive.events(footprint=footprint, kind=kind, historical=False)[-limit:] if limit else []
    # The filters come from a URL: only word characters reach the feed id (a NUL there is not XML at all).
    scope = "/".join(re.sub(r"[^\w.-]+", "_", part) for part in (footprint, kind) if part) or "all"
    feed = FeedGenerator()
    feed.id(f"{TAG_AUTHORITY}:feed/{scope}")
    feed.title(one_line("stp-tracker: changes to NHS plans" + (f" ({', '.join(p for p in (footprint, kind) if p)})"
                                                               if footprint or kind else "")))
    feed.subtitle("Leaked, published, revised, replaced, withdrawn and reinstated NHS plan documents")
    feed.author({"name": "stp-tracker"})
    feed.link(href=f"{base}/events", rel="alternate")
    feed.language("en")
    feed.updated(max((_when(e.detected_at) for e in events), default=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)))
    entry_links: dict[str, list[tuple[str, str, str]]] = {}
    for event in events:  # oldest first; feedgen prepends, so the newest entry comes first
        data = event_json(archive, event)
        view = event_view(data, base)
        entry = feed.add_entry()
        entry.id(entry_id(event.id))
        entry.title(event_subject(view).removeprefix("[stp-tracker] "))
        entry.updated(_when(event.detected_at))
        entry.published(_when(event.detected_at))
        links = [(view["version_url"], "alternate", "Archived version"), (view["diff_url"], "related", "What changed"),
                 (view["url"], "via", "Found at the source")]
        links = [link for link in links if link[0]]
        for href, rel, title in links:
            entry.link(href=href, rel=rel, title=title)
        entry_links[entry_id(event.id)] = links
        figures = "; ".join(f"{f['context'] or 'figure'}: {f['before'] or '(none)'} -> {f['after'] or '(none)'}"
                            for f in view["figures"])
        text = one_line(f"{view['footprint_label']}. {view['summary']}" + (f" Figures: {figures}" if figures else ""),
                        2000)
        entry.summary(text)
        entry.content(text, type="text")  # Atom wants content or an alternate link: withdrawals may have no version
        entry.category(term=event.kind)
        if event.footprint:
            entry.category(term=event.footprint, label=view["footprint_label"])
    return _with_link_relations(feed.atom_str(pretty=False, encoding="UTF-8"), entry_links)


def _with_link_relations(data: bytes, entry_links: dict[str, list[tuple[str, str, str]]]) -> bytes:
    # feedgen 1.0 drops the rel and title of entry links (a shadowed variable in FeedEntry.atom_entry); put them back,
    # in the order they were added.
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    for entry in root.iterfind("a:entry", ns):
        links = entry_links.get(entry.findtext("a:id", namespaces=ns) or "", [])
        for element, (href, rel, title) in zip(entry.iterfind("a:link", ns), links):
            if element.get("href") == href:
                element.set("rel", rel)
                element.set("title", title)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_feed(archive: Archive, path_or_stream: str | os.PathLike[str] | IO[bytes] | IO[str] | None = None, *,
               footprint: str | None = None, kind: str | None = None, base_url: str = DEFAULT_BASE_URL,
               limit: int = DEFAULT_LIMIT) -> int:
    """Write the Atom feed to a file (atomically), a stream, or stdout (None); return the number of bytes."""
    data = feed_xml(archive, footprint=footprint, kind=kind, base_url=base_url, limit=limit)
    if path_or_stream is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    elif isinstance(path_or_stream, (str, os.PathLike)):
        path = Path(path_or_stream)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    elif isinstance(path_or_stream, io.TextIOBase):
        path_or_stream.write(data.decode("utf-8"))
    else:
        path_or_stream.write(data)  # type: ignore[arg-type]
    return len(data)


def atom_feed(archive: Archive, footprint: str | None = None, kind: str | None = None,
              base_url: str = DEFAULT_BASE_URL, limit: int = DEFAULT_LIMIT) -> bytes:
    """The Atom feed as bytes (what the web app serves at /feed.atom); same as feed_xml."""
    return feed_xml(archive, footprint=footprint, kind=kind, base_url=base_url, limit=limit)
