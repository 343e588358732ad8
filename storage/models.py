"""Values that cross package boundaries: what a crawl hands to the archive, and what the archive hands back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


def utcnow() -> str:
    """The current time as an ISO 8601 string in UTC, the only time format the archive stores."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# The vocabulary of stored values: one list of each, used by the rules that set them (tracker.meaning), the
# filters that ask for them (CLI, web, API) and subscriptions (alerts), so a filter can refuse a typo.
GENERATIONS = ("2016-stp", "2017-partnership", "2019-five-year", "2022-joint-forward-plan",
               "2025-strategic-commissioning")  # oldest first; a document whose generation is not known has none
EVENT_KINDS = ("leaked", "published", "revised", "replaced", "withdrawn", "reinstated", "moved", "baseline")
ALERT_KINDS = ("leaked", "published", "revised", "replaced", "withdrawn", "reinstated")  # the kinds that are sent
DOCUMENT_KINDS = ("plan", "page", "other")  # a plan, a page watched on its own, anything else found


def unknown_choice(name: str, values: str | list[str] | tuple[str, ...] | None,
                   valid: tuple[str, ...] | list[str]) -> str | None:
    """None if every value is one of `valid` (case-insensitive), else the message that refuses it and lists them:
    "unknown generation '2019-fiveyear'; choose from 2016-stp, ..."."""
    if values is None:
        return None
    allowed = {v.lower() for v in valid}
    for value in [values] if isinstance(values, str) else values:
        if value and str(value).strip().lower() not in allowed:
            return f"unknown {name} {str(value)[:60]!r}; choose from {', '.join(valid)}"
    return None


# Response headers worth keeping for every fetch; the rest are noise for our purposes.
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "content-encoding",
    "content-disposition",
    "etag",
    "last-modified",
    "location",
    "retry-after",
    "server",
    "date",
    "cache-control",
    "x-robots-tag",
)


@dataclass
class Fetch:
    """One response (or failure) as the crawler saw it; the archive records every one."""

    url: str
    source: str
    crawl_id: int | None = None
    final_url: str | None = None
    status: int | None = None  # HTTP status; None when no response arrived
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    error: str | None = None  # why there is no usable body: "timeout", "too large: ...", ...
    fetched_at: str = field(default_factory=utcnow)
    duration_ms: int | None = None
    kind: str = "page"  # "page" (followed for links) or "document" (a file to archive)
    depth: int = 0
    referer: str | None = None
    link_text: str | None = None
    not_modified: bool = False  # answered 304 to a conditional request
    origin: str = "crawl"  # "crawl", or where a backfilled copy came from


@dataclass
class KnownUrl:
    """A URL a source has served before, with what a conditional request needs."""

    url: str
    source: str
    kind: str
    etag: str | None
    last_modified: str | None
    blob_sha256: str | None
    last_status: int | None


@dataclass
class Extraction:
    """The text the tracker got out of one blob, or the reason it got none."""

    status: str  # "ok", "empty", "encrypted", "no_text_layer", "truncated", "broken", "unsupported", "too_large"
    extractor: str
    extractor_version: str
    text: str = ""  # normalised text (what versions and diffs are made of)
    title: str | None = None
    pages: int | None = None
    page_offsets: list[int] = field(default_factory=list)  # char offset where each page starts in `text`
    error: str | None = None
    flags: list[str] = field(default_factory=list)  # e.g. "truncated", "partial_text_layer"
    meta: dict[str, Any] = field(default_factory=dict)
    # Headings, paragraphs, lists and tables (rows of cells) by page: the JSON shape documented in
    # tracker/meaning/layout.py ({"version": 1, "source": ..., "blocks": [...]}); None when not read.
    structure: dict[str, Any] | None = None


@dataclass
class Event:
    """Something a change means (leaked, published, revised, ...), with the versions that justify it."""

    kind: str
    document_id: int
    summary: str
    detected_at: str = field(default_factory=utcnow)
    crawl_id: int | None = None
    footprint: str | None = None
    generation: str | None = None
    url: str | None = None
    source: str | None = None
    official: bool | None = None
    version_before: int | None = None
    version_after: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    alert: bool = True  # False for baseline and moved: recorded, never sent
    historical: bool = False  # computed from backfilled captures: never sent
    id: int | None = None
