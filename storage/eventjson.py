"""The public JSON shape of an event: what `events --json`, webhooks, feeds and the web app all show."""

from __future__ import annotations

from typing import Any

from .archive import Archive
from .cleantext import clean_value
from .models import Event


def event_json(archive: Archive, event: Event) -> dict[str, Any]:
    """One event as the JSON object documented in README (`events --json`)."""
    document = archive.document(event.document_id) if event.document_id is not None else None
    changes = dict(event.changes or {})
    changes.setdefault("figures", [])
    changes.setdefault("added", [])
    changes.setdefault("removed", [])
    return clean_value({
        "id": event.id,
        "kind": event.kind,
        "detected_at": event.detected_at,
        "footprint": {"code": event.footprint, "name": archive.footprint_name(event.footprint)} if event.footprint else None,
        "generation": event.generation,
        "document": {"id": event.document_id, "title": document["title"] if document else None},
        "url": event.url,
        "source": event.source,
        "official": event.official,
        "summary": event.summary,
        "changes": changes,
        "versions": {"before": event.version_before, "after": event.version_after},
        "alert": event.alert,
        "historical": event.historical,
        "crawl_id": event.crawl_id,
    })
