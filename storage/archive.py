"""The archive: one SQLite file plus the blob store. Every other package reads and writes it through these methods."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from ._base import ArchiveError, _json
from .backfill import BackfillMixin
from .blobs import BlobStore
from .crawls import CrawlsMixin
from .documents import DocumentsMixin
from .events import EventsMixin
from .fetches import FetchesMixin
from .footprints import FootprintsMixin
from .preservations import PreservationsMixin
from .research import ResearchMixin
from .schema import migrate
from .search import SearchMixin
from .texts import TextsMixin

DB_NAME = "archive.db"
BLOB_DIR = "blobs"


class _ImmediateConnection:
    """A sqlite3 connection whose explicit BEGIN (sqlite-utils' atomic()) is BEGIN IMMEDIATE.

    A deferred BEGIN that reads, then writes, fails at once with "database is locked" when another connection
    committed in between (SQLite cannot upgrade a stale snapshot, and busy_timeout does not apply); an immediate
    one takes the write lock up front and waits its turn. Every writable archive uses it: the daemon has two
    connections, and a one-off command or the web app may open a third."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.strip().rstrip(";").upper() == "BEGIN":
            sql = "BEGIN IMMEDIATE"
        return self._conn.execute(sql, *args)

    def __enter__(self) -> sqlite3.Connection:
        return self._conn.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self._conn.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def disk_hint(home: Path) -> str:
    """Why writing in `home` may fail, as far as the file system can tell: read-only, full, or one of the two."""
    try:
        fs = os.statvfs(home)
    except OSError:
        return "is the disk full or the data home read-only?"
    if fs.f_flag & os.ST_RDONLY:
        return f"the data home {home} is on a read-only file system"
    if fs.f_bavail == 0:
        return f"the disk holding {home} is full"
    return "is the disk full or the data home read-only?"


def is_disk_error(exc: sqlite3.Error) -> bool:
    """SQLite's answer when a file cannot be created, grown or written (not a damaged or foreign file)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN"))


def _connect_readonly(db_path: Path) -> sqlite3.Connection:
    """A read-only connection, also where SQLite cannot create the `-shm` file a WAL archive needs (a read-only
    mount or folder, a full disk). There, with no `-wal` content left (the last writer closed cleanly), the main
    file holds every commit and nobody can be writing, so it is read as immutable; otherwise the error stands."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA user_version").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        wal = db_path.with_name(db_path.name + "-wal")
        if not is_disk_error(exc) or (wal.exists() and wal.stat().st_size > 0):
            return conn  # the caller's first read raises it again, as an ArchiveError
    conn.close()
    return sqlite3.connect(f"file:{db_path}?mode=ro&immutable=1", uri=True, timeout=30, isolation_level=None)


class Archive(FootprintsMixin, CrawlsMixin, FetchesMixin, TextsMixin, DocumentsMixin, EventsMixin, SearchMixin, ResearchMixin, BackfillMixin, PreservationsMixin):
    """An open archive in a data home folder (`archive.db` and `blobs/`)."""

    def __init__(self, home: str | os.PathLike[str], readonly: bool = False):
        self.home = Path(home)
        self.readonly = readonly
        self.db_path = self.home / DB_NAME
        if readonly:
            if not self.db_path.exists():
                raise ArchiveError(f"no archive at {self.db_path}: run `stp-tracker crawl` first")
            conn = _connect_readonly(self.db_path)
        else:
            try:
                self.home.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ArchiveError(f"cannot create the data home {self.home}: {exc.strerror}") from None
            # Autocommit: a statement outside `transaction()` commits at once; `transaction()` (sqlite-utils'
            # atomic) issues its own BEGIN/COMMIT. Python's implicit transactions would otherwise leave writes
            # pending until some later commit.
            conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        self.blobs = BlobStore(self.home / BLOB_DIR) if not readonly else _ReadOnlyBlobs(self.home / BLOB_DIR)
        import sqlite_utils  # here, not at module level: `stp-tracker --help` never opens the archive

        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        if not readonly:
            self.db.conn = _ImmediateConnection(conn)
        try:
            self.db.execute("PRAGMA busy_timeout = 30000")
            if not readonly:
                self.db.execute("PRAGMA journal_mode = WAL")
                # NORMAL in WAL mode: a power cut may lose the last commits, never corrupt the file.
                self.db.execute("PRAGMA synchronous = NORMAL")
                self.schema_version = migrate(self.db)
            else:
                self.schema_version = self.db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            conn.close()
            hint = f": {disk_hint(self.home)}" if is_disk_error(exc) else ""
            raise ArchiveError(f"cannot open the archive {self.db_path}: {exc}{hint}") from None

    def close(self) -> None:
        subscribers = getattr(self, "_subscribers_db", None)  # storage/outbox.py: subscribers.db, if opened
        if subscribers is not None:
            subscribers.conn.close()
            self._subscribers_db = None
        self.db.conn.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def integrity_check(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]

    def get_state(self, key: str, default: Any = None) -> Any:
        row = self._one("SELECT value FROM state WHERE key = ?", [key])
        return json.loads(row["value"]) if row else default

    def set_state(self, key: str, value: Any) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO state (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, _json(value)],
            )

    def state_items(self, prefix: str) -> dict[str, Any]:
        """Every state entry whose key starts with `prefix`, decoded, by key."""
        # A range instead of LIKE: no wildcard characters to escape in source names.
        rows = self._rows("SELECT key, value FROM state WHERE key >= ? AND key < ? ORDER BY key",
                          [prefix, prefix + "\U0010ffff"])
        return {r["key"]: json.loads(r["value"]) for r in rows}

    def set_states(self, items: dict[str, Any]) -> None:
        """Several state entries written in one transaction."""
        with self.db.atomic():
            for key, value in items.items():
                self.db.execute(
                    "INSERT INTO state (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [key, _json(value)],
                )

    def use_immediate_transactions(self) -> None:
        """Every transaction takes the write lock when it begins (BEGIN IMMEDIATE); writable archives already do."""
        if not isinstance(self.db.conn, _ImmediateConnection):
            self.db.conn = _ImmediateConnection(self.db.conn)

    _PRESERVATION_FIELDS = frozenset({"status", "job_id", "attempts", "next_try_at", "requested_at", "capture_url",
                                      "captured_at", "error"})


class _ReadOnlyBlobs(BlobStore):
    """A blob store that never creates folders or writes (for read-only commands)."""

    def __init__(self, root: Path):
        self.root = root

    def put(self, data: bytes) -> tuple[str, bool]:
        raise ArchiveError("the archive is open read-only")
