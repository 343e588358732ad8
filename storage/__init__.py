"""The archive: SQLite (through sqlite-utils) plus a content-addressed blob store. The only code that touches either."""

from .archive import Archive, ArchiveError
from .blobs import BlobError, BlobStore, sha256_of
from .models import Event, Extraction, Fetch, KnownUrl, utcnow

__all__ = [
    "Archive",
    "ArchiveError",
    "BlobError",
    "BlobStore",
    "Event",
    "Extraction",
    "Fetch",
    "KnownUrl",
    "sha256_of",
    "utcnow",
]
