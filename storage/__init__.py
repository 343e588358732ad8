"""The archive: SQLite (through sqlite-utils) plus a content-addressed blob store. The only code that touches either."""

from .archive import Archive, ArchiveError, disk_hint, is_disk_error
from .blobs import BlobError, BlobStore, sha256_of
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
    "disk_hint",
    "event_json",
    "is_disk_error",
    "sha256_of",
    "unknown_choice",
    "utcnow",
]
