"""The archive: SQLite (through sqlite-utils) plus a content-addressed blob store. The only code that touches either.

The bottom layer also holds the few value rules every other package applies alike: which network addresses are
not plainly public (`addresses`: the crawler's redirects and alerts' targets), and control characters out of
fetched text (`cleantext`)."""

from .addresses import forbidden_reason, is_forbidden
from .addresses import resolve as resolve_addresses
from .archive import Archive, ArchiveError, disk_hint, is_disk_error
from .blobs import BlobError, BlobStore, sha256_of
from .cleantext import clean_line, clean_value, strip_controls
from .eventjson import event_json
from .models import (
    ALERT_KINDS,
    DOCUMENT_KINDS,
    EVENT_KINDS,
    GENERATIONS,
    Event,
    Extraction,
    Fetch,
    KnownUrl,
    unknown_choice,
    utcnow,
)
from .outbox import Outbox
from .querybound import SearchRefused, SearchTimeout, bounded_search, search_query_problem

__all__ = [
    "ALERT_KINDS",
    "DOCUMENT_KINDS",
    "EVENT_KINDS",
    "GENERATIONS",
    "Archive",
    "ArchiveError",
    "BlobError",
    "BlobStore",
    "Event",
    "Extraction",
    "Fetch",
    "KnownUrl",
    "Outbox",
    "SearchRefused",
    "SearchTimeout",
    "bounded_search",
    "clean_line",
    "clean_value",
    "disk_hint",
    "event_json",
    "forbidden_reason",
    "is_forbidden",
    "is_disk_error",
    "resolve_addresses",
    "search_query_problem",
    "sha256_of",
    "strip_controls",
    "unknown_choice",
    "utcnow",
]
