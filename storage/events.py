"""Events: the decisions, each pointing at the versions that justify it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ._base import ArchiveBase, _json
from .cleantext import clean_value, strip_controls
from .models import Event


class EventsMixin(ArchiveBase):
    """The `Archive` methods for this table family; see `storage.archive.Archive`."""

    def record_event(self, event: Event) -> int:
        record = {
            "kind": event.kind, "detected_at": event.detected_at, "crawl_id": event.crawl_id,
            "document_id": event.document_id, "footprint": event.footprint, "generation": event.generation,
            "url": event.url, "source": event.source,
            "official": None if event.official is None else int(event.official),
            "summary": strip_controls(event.summary) if event.summary else event.summary,
            "changes": _json(clean_value(event.changes)), "version_before": event.version_before,
            "version_after": event.version_after, "alert": int(event.alert), "historical": int(event.historical),
        }
        event.id = self._insert("events", record)
        return event.id

    def events(self, *, since: str | None = None, kind: str | None = None, footprint: str | None = None,
               document_id: int | None = None, include_all: bool = False, historical: bool | None = None,
               after_id: int | None = None, limit: int | None = None) -> list[Event]:
        clauses, params = [], []
        if since:
            clauses.append("detected_at >= ?")
            params.append(since)
        if kind:
            clauses.append("kind = ?")
            params.append(kind)
        if footprint:
            clauses.append("footprint = ?")
            params.append(footprint)
        if document_id is not None:
            clauses.append("document_id = ?")
            params.append(document_id)
        if after_id is not None:
            clauses.append("id > ?")
            params.append(after_id)
        if not include_all:
            clauses.append("alert = 1")
        if historical is not None:
            clauses.append("historical = ?")
            params.append(int(historical))
        sql = "SELECT * FROM events"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY id"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._event(row) for row in self._rows(sql, params)]

    def event(self, event_id: int) -> Event | None:
        row = self._one("SELECT * FROM events WHERE id = ?", [event_id])
        return self._event(row) if row else None

    @staticmethod
    def _event(row: dict[str, Any]) -> Event:
        return Event(
            id=row["id"], kind=row["kind"], detected_at=row["detected_at"], crawl_id=row["crawl_id"],
            document_id=row["document_id"], footprint=row["footprint"], generation=row["generation"],
            url=row["url"], source=row["source"],
            official=None if row["official"] is None else bool(row["official"]),
            summary=row["summary"], changes=json.loads(row["changes"]), version_before=row["version_before"],
            version_after=row["version_after"], alert=bool(row["alert"]), historical=bool(row["historical"]),
        )

    def iter_events(self, batch: int = 1000) -> Iterator[Event]:
        """Every event (alerting or not) in id order, read in batches."""
        for row in self.iter_table("events", batch=batch):
            yield self._event(row)

    def events_latest(self, *, kind: str | None = None, footprint: str | None = None, generation: str | None = None,
                      document_id: int | None = None, since: str | None = None, until: str | None = None,
                      include_all: bool = False, before_id: int | None = None, limit: int = 50) -> list[Event]:
        """Events newest first (for pages of events), with filters; `before_id` pages back through them."""
        clauses, params = [], []
        for clause, value in (("kind = ?", kind), ("footprint = ?", footprint), ("generation = ?", generation),
                              ("document_id = ?", document_id), ("detected_at >= ?", since),
                              ("detected_at < ?", self._day_after(until)), ("id < ?", before_id)):
            if value is not None and value != "":
                clauses.append(clause)
                params.append(value)
        if not include_all:
            clauses.append("alert = 1")
        sql = "SELECT * FROM events"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(max(1, min(int(limit), 1000)))
        return [self._event(row) for row in self._rows(sql, params)]

    @staticmethod
    def _day_after(value: str | None) -> str | None:
        """An inclusive upper bound as an exclusive one: a bare date 'YYYY-MM-DD' becomes the next day."""
        if not value:
            return None
        import datetime as dt

        try:
            return (dt.date.fromisoformat(value) + dt.timedelta(days=1)).isoformat()
        except ValueError:
            return value + "\uffff"  # a full timestamp: everything up to and including it
