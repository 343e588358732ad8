"""Save Page Now requests for new finds: queued from events, one row per version and URL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._base import ArchiveBase, _json
from .models import utcnow


class PreservationsMixin(ArchiveBase):
    """The `Archive` methods for this table family; see `storage.archive.Archive`."""

    def enqueue_preservations(self, kinds: Iterable[str], since: str) -> int:
        """Queue a capture of every live event's new version (of these kinds, detected since `since`) not yet
        queued; returns how many were added."""
        now = utcnow()
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO preservations (version_id, event_id, url, next_try_at, created_at, updated_at) "
                "SELECT e.version_after, e.id, e.url, ?, ?, ? FROM events e "
                "WHERE e.historical = 0 AND e.version_after IS NOT NULL AND e.url IS NOT NULL "
                "AND e.detected_at >= ? AND e.kind IN (SELECT value FROM json_each(?)) ORDER BY e.id",
                [now, now, now, since, _json(sorted(kinds))],
            )
        return cursor.rowcount or 0

    def due_preservations(self, now: str, limit: int) -> list[dict[str, Any]]:
        """Requests to make or to ask about now, the longest waiting first."""
        return self._rows("SELECT * FROM preservations WHERE status IN ('pending', 'requested') AND next_try_at <= ? "
                          "ORDER BY next_try_at, id LIMIT ?", [now, max(1, int(limit))])

    def update_preservation(self, preservation_id: int, **fields: Any) -> None:
        unknown = set(fields) - self._PRESERVATION_FIELDS
        if unknown:
            raise ValueError(f"not a preservation field: {sorted(unknown)}")
        names = sorted(fields)
        assignments = ", ".join(f"{name} = ?" for name in names)  # names from the allow-list above
        self.db.execute(f"UPDATE preservations SET {assignments}, updated_at = ? WHERE id = ?",
                        [*(fields[n] for n in names), utcnow(), preservation_id])

    def preservations(self, *, version_ids: Iterable[int] | None = None, status: str | None = None,
                      limit: int = 1000) -> list[dict[str, Any]]:
        """Preservation requests, newest first; for some versions only, or in one state only."""
        if not self._has_table("preservations"):  # an older archive opened read-only
            return []
        ids = None if version_ids is None else _json(sorted({int(v) for v in version_ids}))
        return self._rows(
            "SELECT * FROM preservations WHERE (? IS NULL OR version_id IN (SELECT value FROM json_each(?))) "
            "AND (? IS NULL OR status = ?) ORDER BY id DESC LIMIT ?",
            [ids, ids, status, status, max(1, min(int(limit), 100_000))],
        )
