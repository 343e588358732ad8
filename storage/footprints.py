"""Footprint names: the registry's codes and names, copied in so that the archive explains its own events."""

from __future__ import annotations

from ._base import ArchiveBase
from .models import utcnow


class FootprintsMixin(ArchiveBase):
    """The `Archive` methods for this table family; see `storage.archive.Archive`."""

    _footprint_names: dict[str, str] | None = None

    def set_footprint_names(self, names: dict[str, str]) -> int:
        """Make the footprints table say exactly `names` (code -> name); returns how many rows changed."""
        if self.footprint_names() == names:
            return 0
        now = utcnow()
        with self.transaction():
            self.db.execute("DELETE FROM footprints")
            self.db.conn.executemany("INSERT INTO footprints (code, name, updated_at) VALUES (?, ?, ?)",
                                     [(code, name, now) for code, name in sorted(names.items())])
        self._footprint_names = dict(names)
        return len(names)

    def footprint_names(self) -> dict[str, str]:
        """Code -> name, as last copied from the registry (empty in an archive no analysis has opened yet)."""
        if self._footprint_names is None:
            if not self._has_table("footprints"):  # an old archive opened read-only, before migration 7
                return {}
            self._footprint_names = {r["code"]: r["name"] for r in self._rows("SELECT code, name FROM footprints")}
        return self._footprint_names

    def footprint_name(self, code: str | None) -> str | None:
        return self.footprint_names().get(code) if code else None
