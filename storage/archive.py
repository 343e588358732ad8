"""The archive: one SQLite file plus the blob store. Every other package reads and writes it through these methods."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from .blobs import BlobStore, sha256_of
from .models import KEPT_HEADERS, Event, Extraction, Fetch, KnownUrl, utcnow
from .schema import migrate

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


class ArchiveError(Exception):
    """The archive cannot be opened or written: says which file and why."""


def _plain_words(query: str) -> str:
    """A query that was not valid FTS5 syntax as its words, each quoted (no operators); "" if none is left.
    NULs and double quotes are dropped: FTS5 reads a NUL as the end of the query, even inside quotes."""
    return " ".join(f'"{word}"' for word in query.replace("\x00", " ").replace('"', " ").split())


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


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


class Archive:
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
        self.db.conn.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several writes so that a crash keeps all of them or none."""
        with self.db.atomic():
            yield

    def _rows(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        cursor = self.db.execute(sql, params)
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]

    def _one(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _insert(self, table: str, record: dict[str, Any]) -> int:
        # One plain INSERT. Table and column names come from this module's own literals, never from input;
        # values are always parameters. (sqlite-utils' generic insert inspects the table each time: ~16
        # statements a row, which dominated a crawl's archive writes.)
        columns = ", ".join(record)
        marks = ", ".join("?" * len(record))
        cursor = self.db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(record.values()))
        return cursor.lastrowid

    # -- health ---------------------------------------------------------------------------------

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

    # -- crawls and sources -----------------------------------------------------------------------

    def start_crawl(self, sources: list[str]) -> int:
        with self.db.atomic():
            return self._insert("crawls", {"started_at": utcnow(), "sources": _json(sources), "status": "running"})

    def finish_crawl(self, crawl_id: int, stats: dict[str, Any], status: str = "finished") -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE crawls SET finished_at = ?, status = ?, stats = ? WHERE id = ?",
                [utcnow(), status, _json(stats), crawl_id],
            )

    def mark_crawl_analysed(self, crawl_id: int) -> None:
        with self.db.atomic():
            self.db.execute("UPDATE crawls SET analysed_at = ? WHERE id = ?", [utcnow(), crawl_id])

    def abandon_running_crawls(self) -> list[int]:
        """Crawls left 'running' by a process that died: mark them abandoned, keep what they fetched."""
        with self.db.atomic():
            ids = [r["id"] for r in self._rows("SELECT id FROM crawls WHERE status = 'running'")]
            self.db.execute(
                "UPDATE crawls SET status = 'abandoned', finished_at = ? WHERE status = 'running'", [utcnow()]
            )
        return ids

    def crawl(self, crawl_id: int) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM crawls WHERE id = ?", [crawl_id])
        if row:
            row["sources"] = json.loads(row["sources"])
            row["stats"] = json.loads(row["stats"])
        return row

    def crawls(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM crawls ORDER BY id DESC LIMIT ?", [limit])
        for row in rows:
            row["sources"] = json.loads(row["sources"])
            row["stats"] = json.loads(row["stats"])
        return rows

    def unanalysed_crawls(self) -> list[int]:
        """Crawls that ended (finished or abandoned) but were never analysed, oldest first."""
        return [
            r["id"]
            for r in self._rows("SELECT id FROM crawls WHERE status != 'running' AND analysed_at IS NULL ORDER BY id")
        ]

    def upsert_source(self, name: str, *, footprint: str | None, kind: str, official: bool, config: dict) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO sources (name, footprint, kind, official, config) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET footprint = excluded.footprint, kind = excluded.kind, "
                "official = excluded.official, config = excluded.config",
                [name, footprint, kind, int(official), _json(config)],
            )

    def note_source_result(self, name: str, crawl_id: int, ok: bool, error: str | None = None) -> None:
        """After a source's crawl: its health (last success, consecutive failures, last error)."""
        now = utcnow()
        with self.db.atomic():
            if ok:
                self.db.execute(
                    "UPDATE sources SET last_crawl_id = ?, last_crawl_at = ?, last_success_at = ?, "
                    "consecutive_failures = 0, last_error = NULL, first_crawl_id = COALESCE(first_crawl_id, ?) "
                    "WHERE name = ?",
                    [crawl_id, now, now, crawl_id, name],
                )
            else:
                self.db.execute(
                    "UPDATE sources SET last_crawl_id = ?, last_crawl_at = ?, "
                    "consecutive_failures = consecutive_failures + 1, last_error = ? WHERE name = ?",
                    [crawl_id, now, error, name],
                )

    def source(self, name: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM sources WHERE name = ?", [name])
        if row:
            row["config"] = json.loads(row["config"])
            row["official"] = bool(row["official"])
        return row

    def sources(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM sources ORDER BY name")
        for row in rows:
            row["config"] = json.loads(row["config"])
            row["official"] = bool(row["official"])
        return rows

    def successful_crawls_of(self, source: str, since_crawl_id: int | None = None) -> list[int]:
        """Crawl ids, oldest first, in which `source` answered at least one request with a real HTTP response."""
        return [
            r["crawl_id"]
            for r in self._rows(
                "SELECT DISTINCT crawl_id FROM fetches WHERE source = ? AND crawl_id >= ? "
                "AND status BETWEEN 200 AND 399 ORDER BY crawl_id",
                [source, since_crawl_id or 0],
            )
        ]

    # -- fetches ----------------------------------------------------------------------------------

    def record_fetch(self, fetch: Fetch) -> int:
        """Record one response or failure, storing its body once; return the fetch id."""
        headers = {k.lower(): v for k, v in fetch.headers.items() if k.lower() in KEPT_HEADERS}
        blob_sha = None
        body_size = None
        if fetch.body is not None and not fetch.not_modified:
            # The blob is written before its row: a crash in between leaves an unreferenced blob, never a
            # row pointing at nothing.
            blob_sha, _ = self.blobs.put(fetch.body)
            body_size = len(fetch.body)
        now = fetch.fetched_at
        with self.db.atomic():
            known = self._one("SELECT * FROM urls WHERE source = ? AND url = ?", [fetch.source, fetch.url])
            if fetch.not_modified and known:
                blob_sha = known["blob_sha256"]
            if blob_sha is not None and body_size is not None:
                self.db.execute(
                    "INSERT OR IGNORE INTO blobs (sha256, size, content_type, first_seen_at) VALUES (?, ?, ?, ?)",
                    [blob_sha, body_size, _header(headers, "content-type"), now],
                )
            length = _header(headers, "content-length")
            fetch_id = self._insert(
                "fetches",
                {
                    "crawl_id": fetch.crawl_id,
                    "source": fetch.source,
                    "url": fetch.url,
                    "final_url": fetch.final_url or fetch.url,
                    "fetched_at": now,
                    "status": fetch.status,
                    "error": fetch.error,
                    "content_type": _header(headers, "content-type"),
                    "content_length": int(length) if length and length.isdigit() else body_size,
                    "etag": _header(headers, "etag"),
                    "last_modified": _header(headers, "last-modified"),
                    "headers": _json(headers),
                    "blob_sha256": blob_sha,
                    "body_size": body_size,
                    "not_modified": int(fetch.not_modified),
                    "duration_ms": fetch.duration_ms,
                    "kind": fetch.kind,
                    "depth": fetch.depth,
                    "referer": fetch.referer,
                    "link_text": fetch.link_text,
                    "origin": fetch.origin,
                },
            )
            served = blob_sha is not None and fetch.status is not None and (200 <= fetch.status < 300 or fetch.not_modified)
            if known is None:
                self._insert(
                    "urls",
                    {
                        "source": fetch.source,
                        "url": fetch.url,
                        "kind": fetch.kind,
                        "first_seen_at": now,
                        "last_seen_at": now,
                        "last_fetch_id": fetch_id,
                        "last_status": fetch.status,
                        "etag": _header(headers, "etag") if served else None,
                        "last_modified": _header(headers, "last-modified") if served else None,
                        "blob_sha256": blob_sha if served else None,
                    },
                )
            elif served and not fetch.not_modified:
                self.db.execute(
                    "UPDATE urls SET last_seen_at = ?, last_fetch_id = ?, last_status = ?, etag = ?, "
                    "last_modified = ?, blob_sha256 = ?, kind = ? WHERE source = ? AND url = ?",
                    [now, fetch_id, fetch.status, _header(headers, "etag"), _header(headers, "last-modified"),
                     blob_sha, fetch.kind, fetch.source, fetch.url],
                )
            elif fetch.not_modified:
                self.db.execute(
                    "UPDATE urls SET last_seen_at = ?, last_fetch_id = ?, last_status = 304 WHERE source = ? AND url = ?",
                    [now, fetch_id, fetch.source, fetch.url],
                )
            else:
                # A failure or an empty answer: the conditional-request validators of the last good body stay.
                self.db.execute(
                    "UPDATE urls SET last_fetch_id = ?, last_status = ? WHERE source = ? AND url = ?",
                    [fetch_id, fetch.status, fetch.source, fetch.url],
                )
        return fetch_id

    def known_urls(self, source: str, kind: str | None = None) -> list[KnownUrl]:
        """Every URL this source has served (or tried), with the validators for a conditional request."""
        sql = "SELECT * FROM urls WHERE source = ?"
        params: list[Any] = [source]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        return [
            KnownUrl(
                url=r["url"], source=r["source"], kind=r["kind"], etag=r["etag"],
                last_modified=r["last_modified"], blob_sha256=r["blob_sha256"], last_status=r["last_status"],
            )
            for r in self._rows(sql + " ORDER BY url", params)
        ]

    def fetch(self, fetch_id: int) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM fetches WHERE id = ?", [fetch_id])
        if row:
            row["headers"] = json.loads(row["headers"])
        return row

    def fetches(self, crawl_id: int | None = None, source: str | None = None, url: str | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
        clauses, params = [], []
        for column, value in (("crawl_id", crawl_id), ("source", source), ("url", url)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT * FROM fetches"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY id"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self._rows(sql, params)
        for row in rows:
            row["headers"] = json.loads(row["headers"])
        return rows

    def iter_fetches(self, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every fetch in id order, in batches (for exports of large archives)."""
        last = 0
        while True:
            rows = self._rows("SELECT * FROM fetches WHERE id > ? ORDER BY id LIMIT ?", [last, batch])
            if not rows:
                return
            for row in rows:
                row["headers"] = json.loads(row["headers"])
                yield row
            last = rows[-1]["id"]

    def unanalysed_fetches(self, crawl_id: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM fetches WHERE analysed = 0"
        params: list[Any] = []
        if crawl_id is not None:
            sql += " AND crawl_id = ?"
            params.append(crawl_id)
        rows = self._rows(sql + " ORDER BY id", params)
        for row in rows:
            row["headers"] = json.loads(row["headers"])
        return rows

    def mark_fetch_analysed(self, fetch_id: int, document_id: int | None = None, version_id: int | None = None) -> None:
        self.db.execute(
            "UPDATE fetches SET analysed = 1, document_id = ?, version_id = ? WHERE id = ?",
            [document_id, version_id, fetch_id],
        )

    # -- blobs and their text ---------------------------------------------------------------------

    def blob(self, sha256: str) -> bytes:
        return self.blobs.get(sha256)

    def blob_info(self, sha256: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM blobs WHERE sha256 = ?", [sha256])
        if row:
            for key in ("page_offsets", "flags", "meta"):
                row[key] = json.loads(row[key]) if row[key] else ([] if key != "meta" else {})
        return row

    def unextracted_blobs(self, shas: Iterable[str]) -> list[str]:
        wanted = sorted(set(shas))
        if not wanted:
            return []
        found: list[str] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found += [
                r["sha256"]
                for r in self._rows(
                    f"SELECT sha256 FROM blobs WHERE extraction_status IS NULL AND sha256 IN ({marks})", chunk
                )
            ]
        return found

    def record_extraction(self, blob_sha256: str, extraction: Extraction) -> str | None:
        """Store what extraction made of a blob; return the sha256 of its normalised text (None if no text)."""
        text_sha = None
        with self.db.atomic():
            if extraction.status == "ok" and extraction.text:
                text_sha = sha256_of(extraction.text.encode("utf-8"))
                self.db.execute(
                    "INSERT OR IGNORE INTO texts (sha256, text, length) VALUES (?, ?, ?)",
                    [text_sha, extraction.text, len(extraction.text)],
                )
            self.db.execute(
                "UPDATE blobs SET extraction_status = ?, extractor = ?, extractor_version = ?, extraction_error = ?, "
                "text_sha256 = ?, title = ?, pages = ?, page_offsets = ?, flags = ?, meta = ? WHERE sha256 = ?",
                [extraction.status, extraction.extractor, extraction.extractor_version, extraction.error, text_sha,
                 extraction.title, extraction.pages, _json(extraction.page_offsets), _json(extraction.flags),
                 _json(extraction.meta), blob_sha256],
            )
        return text_sha

    def text(self, text_sha256: str) -> str | None:
        row = self._one("SELECT text FROM texts WHERE sha256 = ?", [text_sha256])
        return row["text"] if row else None

    # -- documents and versions -------------------------------------------------------------------

    def create_document(self, *, title: str | None, kind: str, footprint: str | None, generation: str | None,
                        draft: bool, seen_at: str, source: str | None, meta: dict | None = None) -> int:
        return self._insert(
            "documents",
            {"title": title, "kind": kind, "footprint": footprint, "generation": generation, "draft": int(draft),
             "status": "live", "first_seen_at": seen_at, "last_seen_at": seen_at, "first_source": source,
             "meta": _json(meta or {})},
        )

    def update_document(self, document_id: int, **fields: Any) -> None:
        allowed = {"title", "kind", "footprint", "generation", "draft", "status", "first_seen_at", "last_seen_at",
                   "current_version_id", "meta"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"not document fields: {sorted(unknown)}")
        if "meta" in fields:
            fields["meta"] = _json(fields["meta"])
        if "draft" in fields:
            fields["draft"] = int(fields["draft"])
        # Column names come from the fixed `allowed` set above, never from input.
        assignments = ", ".join(f"{name} = ?" for name in fields)
        self.db.execute(f"UPDATE documents SET {assignments} WHERE id = ?", [*fields.values(), document_id])

    def document(self, document_id: int) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM documents WHERE id = ?", [document_id])
        if row:
            row["meta"] = json.loads(row["meta"])
            row["draft"] = bool(row["draft"])
        return row

    def documents(self, kind: str | None = None, footprint: str | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT d.*, (SELECT COUNT(*) FROM versions v WHERE v.document_id = d.id) AS version_count, "
            "(SELECT url FROM document_urls u WHERE u.document_id = d.id ORDER BY u.last_seen_at DESC LIMIT 1) AS url "
            "FROM documents d"
        )
        clauses, params = [], []
        if kind:
            clauses.append("d.kind = ?")
            params.append(kind)
        if footprint:
            clauses.append("d.footprint = ?")
            params.append(footprint)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        rows = self._rows(sql + " ORDER BY d.id", params)
        for row in rows:
            row["meta"] = json.loads(row["meta"])
            row["draft"] = bool(row["draft"])
        return rows

    def documents_at_url(self, url: str, source: str | None = None) -> list[int]:
        """Documents ever seen at `url` (in `source`), most recently seen first."""
        sql = "SELECT document_id FROM document_urls WHERE url = ?"
        params: list[Any] = [url]
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        return [r["document_id"] for r in self._rows(sql + " ORDER BY last_seen_at DESC", params)]

    def documents_with_text(self, text_sha256: str) -> list[int]:
        return [
            r["document_id"]
            for r in self._rows("SELECT DISTINCT document_id FROM versions WHERE text_sha256 = ? ORDER BY document_id",
                                [text_sha256])
        ]

    def add_document_url(self, document_id: int, source: str, url: str, seen_at: str) -> bool:
        """Note that `url` in `source` served this document at `seen_at`; True if the URL is new for it."""
        cursor = self.db.execute(
            "INSERT INTO document_urls (document_id, source, url, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(document_id, source, url) DO UPDATE SET last_seen_at = MAX(last_seen_at, excluded.last_seen_at)",
            [document_id, source, url, seen_at, seen_at],
        )
        return cursor.rowcount == 1 and self._one(
            "SELECT first_seen_at FROM document_urls WHERE document_id = ? AND source = ? AND url = ?",
            [document_id, source, url],
        )["first_seen_at"] == seen_at

    def document_urls(self, document_id: int) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT u.*, s.official FROM document_urls u LEFT JOIN sources s ON s.name = u.source "
            "WHERE u.document_id = ? ORDER BY u.first_seen_at, u.url",
            [document_id],
        )

    def document_urls_in_sources(self, sources: list[str]) -> list[dict[str, Any]]:
        """Every (document, source, url) ever seen in these sources: what a withdrawal check looks at."""
        if not sources:
            return []
        marks = ",".join("?" * len(sources))
        return self._rows(
            f"SELECT document_id, source, url, first_seen_at, last_seen_at FROM document_urls "
            f"WHERE source IN ({marks}) ORDER BY document_id, source, url",
            list(sources),
        )

    def add_version(self, document_id: int, *, text_sha256: str, blob_sha256: str | None, fetch_id: int | None,
                    crawl_id: int | None, seen_at: str) -> tuple[int, bool]:
        """The version of this document with this text, created if new; returns (version id, created)."""
        row = self._one("SELECT id FROM versions WHERE document_id = ? AND text_sha256 = ?", [document_id, text_sha256])
        if row:
            # MIN too: a capture backfilled from a web archive after live crawls can be the earliest sighting.
            self.db.execute("UPDATE versions SET last_seen_at = MAX(last_seen_at, ?), "
                            "first_seen_at = MIN(first_seen_at, ?) WHERE id = ?", [seen_at, seen_at, row["id"]])
            return row["id"], False
        version_id = self._insert(
            "versions",
            {"document_id": document_id, "text_sha256": text_sha256, "blob_sha256": blob_sha256,
             "first_fetch_id": fetch_id, "first_crawl_id": crawl_id, "first_seen_at": seen_at, "last_seen_at": seen_at},
        )
        return version_id, True

    def version(self, version_id: int) -> dict[str, Any] | None:
        return self._one(
            "SELECT v.*, d.title, d.kind AS document_kind, d.footprint, d.generation FROM versions v "
            "JOIN documents d ON d.id = v.document_id WHERE v.id = ?",
            [version_id],
        )

    def version_text(self, version_id: int) -> str | None:
        row = self._one("SELECT t.text FROM versions v JOIN texts t ON t.sha256 = v.text_sha256 WHERE v.id = ?",
                        [version_id])
        return row["text"] if row else None

    def versions_of(self, document_id: int) -> list[dict[str, Any]]:
        """Every version of a document, oldest first, with the URLs that served it."""
        rows = self._rows(
            "SELECT v.*, (SELECT length FROM texts t WHERE t.sha256 = v.text_sha256) AS text_length "
            "FROM versions v WHERE v.document_id = ? ORDER BY v.first_seen_at, v.id",
            [document_id],
        )
        for row in rows:
            row["urls"] = [
                r["url"]
                for r in self._rows(
                    "SELECT DISTINCT f.url FROM fetches f WHERE f.version_id = ? ORDER BY f.url", [row["id"]]
                )
            ]
        requests = self.preservations(version_ids=[row["id"] for row in rows]) if rows else []
        for row in rows:
            row["preservations"] = [p for p in reversed(requests) if p["version_id"] == row["id"]]
        return rows

    def sightings_of(self, document_id: int) -> list[dict[str, Any]]:
        """Every fetch that saw this document, in time order: the timeline of its versions and URLs."""
        return self._rows(
            "SELECT f.id AS fetch_id, f.crawl_id, f.source, f.url, f.fetched_at, f.status, f.not_modified, "
            "f.version_id FROM fetches f WHERE f.document_id = ? ORDER BY f.fetched_at, f.id",
            [document_id],
        )

    # -- search -----------------------------------------------------------------------------------

    def search(self, query: str, limit: int = 20, document_kind: str | None = None,
               footprint: str | None = None) -> list[dict[str, Any]]:
        """Full-text search over every version's text: FTS5 syntax, falling back to plain words."""
        sql = (
            "SELECT v.id AS version_id, v.document_id, d.title, d.kind, d.footprint, d.generation, "
            "v.first_seen_at, v.last_seen_at, "
            "snippet(texts_fts, 0, '[', ']', '…', 16) AS snippet, bm25(texts_fts) AS rank "
            "FROM texts_fts JOIN texts t ON t.rowid = texts_fts.rowid "
            "JOIN versions v ON v.text_sha256 = t.sha256 JOIN documents d ON d.id = v.document_id "
            "WHERE texts_fts MATCH :q"
        )
        params: dict[str, Any] = {"limit": limit}
        if document_kind:
            sql += " AND d.kind = :kind"
            params["kind"] = document_kind
        if footprint:
            sql += " AND d.footprint = :footprint"
            params["footprint"] = footprint
        sql += " ORDER BY rank LIMIT :limit"
        try:
            return self._rows(sql, {**params, "q": query})
        except sqlite3.OperationalError:
            # Not valid FTS5 syntax (a stray quote or colon): search for the words as typed.
            plain = _plain_words(query)
            return self._rows(sql, {**params, "q": plain}) if plain else []

    # -- events -----------------------------------------------------------------------------------

    def record_event(self, event: Event) -> int:
        record = {
            "kind": event.kind, "detected_at": event.detected_at, "crawl_id": event.crawl_id,
            "document_id": event.document_id, "footprint": event.footprint, "generation": event.generation,
            "url": event.url, "source": event.source,
            "official": None if event.official is None else int(event.official),
            "summary": event.summary, "changes": _json(event.changes), "version_before": event.version_before,
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

    # -- research ---------------------------------------------------------------------------------
    # Read-only queries for researchers' access: the web app, the CSV/JSON exports and the WARC export
    # (tracker/web.py, tracker/export.py, tracker/warc.py). Table names come from the fixed map below.

    _EXPORT_SQL = {
        "documents": "SELECT rowid AS _rowid, * FROM documents WHERE rowid > ? ORDER BY rowid LIMIT ?",
        "versions": "SELECT rowid AS _rowid, * FROM versions WHERE rowid > ? ORDER BY rowid LIMIT ?",
        "document_urls": "SELECT rowid AS _rowid, * FROM document_urls WHERE rowid > ? ORDER BY rowid LIMIT ?",
        "events": "SELECT rowid AS _rowid, * FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?",
        "fetches": "SELECT rowid AS _rowid, * FROM fetches WHERE rowid > ? ORDER BY rowid LIMIT ?",
        "sources": "SELECT rowid AS _rowid, * FROM sources WHERE rowid > ? ORDER BY rowid LIMIT ?",
        "crawls": "SELECT rowid AS _rowid, * FROM crawls WHERE rowid > ? ORDER BY rowid LIMIT ?",
        "blobs": "SELECT rowid AS _rowid, * FROM blobs WHERE rowid > ? ORDER BY rowid LIMIT ?",
    }
    _COUNT_SQL = {
        "documents": "SELECT COUNT(*) FROM documents",
        "versions": "SELECT COUNT(*) FROM versions",
        "fetches": "SELECT COUNT(*) FROM fetches",
        "events": "SELECT COUNT(*) FROM events",
        "blobs": "SELECT COUNT(*) FROM blobs",
    }

    def iter_table(self, table: str, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Every row of one archive table in rowid order, read in batches (JSON columns left as text)."""
        sql = self._EXPORT_SQL.get(table)
        if sql is None:
            raise ValueError(f"cannot export table {table!r}: choose one of {sorted(self._EXPORT_SQL)}")
        last = 0
        while True:
            rows = self._rows(sql, [last, batch])
            if not rows:
                return
            last = rows[-1]["_rowid"]
            for row in rows:
                del row["_rowid"]
                yield row

    def iter_events(self, batch: int = 1000) -> Iterator[Event]:
        """Every event (alerting or not) in id order, read in batches."""
        for row in self.iter_table("events", batch=batch):
            yield self._event(row)

    def counts(self) -> dict[str, int]:
        """How many documents, versions, fetches, events and blobs the archive holds."""
        return {name: self.db.execute(sql).fetchone()[0] for name, sql in self._COUNT_SQL.items()}

    def search_filtered(self, query: str, *, limit: int = 20, offset: int = 0, document_kind: str | None = None,
                        footprint: str | None = None, generation: str | None = None,
                        seen_from: str | None = None, seen_to: str | None = None,
                        marks: tuple[str, str] = ("[", "]")) -> list[dict[str, Any]]:
        """`search` with more filters: generation, and versions first seen between two ISO dates (inclusive).

        Ranks first without snippets, then makes snippets for the page of results only: on a large archive a
        snippet per match would cost far more than the ranking. `marks` bracket the matched words."""
        clauses, params = [], {"limit": max(1, min(int(limit), 500)), "offset": max(0, int(offset))}
        for clause, name, value in (("d.kind = :kind", "kind", document_kind),
                                    ("d.footprint = :footprint", "footprint", footprint),
                                    ("d.generation = :generation", "generation", generation),
                                    ("v.first_seen_at >= :seen_from", "seen_from", seen_from),
                                    ("v.first_seen_at < :seen_to", "seen_to", self._day_after(seen_to))):
            if value:
                clauses.append(clause)
                params[name] = value
        rank_sql = (
            "SELECT v.id AS version_id, v.document_id, t.rowid AS text_rowid, d.title, d.kind, d.footprint, "
            "d.generation, v.first_seen_at, v.last_seen_at, bm25(texts_fts) AS rank "
            "FROM texts_fts JOIN texts t ON t.rowid = texts_fts.rowid "
            "JOIN versions v ON v.text_sha256 = t.sha256 JOIN documents d ON d.id = v.document_id "
            "WHERE texts_fts MATCH :q"
            + "".join(" AND " + c for c in clauses)
            + " ORDER BY rank, v.id LIMIT :limit OFFSET :offset"
        )

        def ranked(q: str) -> list[dict[str, Any]]:
            if clauses:
                return self._rows(rank_sql, {**params, "q": q})
            return self._rank_texts_first(q, params["limit"], params["offset"])

        try:
            rows = ranked(query)
        except sqlite3.OperationalError:
            query = _plain_words(query)
            rows = ranked(query) if query else []
        snippets: dict[int, str] = {}
        for rowid in {r["text_rowid"] for r in rows}:
            found = self._one(
                "SELECT snippet(texts_fts, 0, ?, ?, '…', 16) AS snippet FROM texts_fts "
                "WHERE texts_fts MATCH ? AND rowid = ?",
                [marks[0], marks[1], query, rowid],
            )
            snippets[rowid] = found["snippet"] if found else ""
        for row in rows:
            row["snippet"] = snippets.get(row.pop("text_rowid"), "")
        return rows

    def _rank_texts_first(self, query: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """Unfiltered search: rank in the full-text index alone, then join only the best texts to their versions
        (joining every match before ranking cost 3x at 30,000 versions: bench/bench_load.py). A text without a
        version, or one shared by several, is made up for by asking for more texts until the page is full."""
        texts = 2 * (limit + offset) + 10
        while True:
            rows = self._rows(
                "WITH ranked AS (SELECT rowid, rank FROM texts_fts WHERE texts_fts MATCH :q ORDER BY rank "
                "LIMIT :texts) "
                "SELECT v.id AS version_id, v.document_id, t.rowid AS text_rowid, d.title, d.kind, d.footprint, "
                "d.generation, v.first_seen_at, v.last_seen_at, r.rank AS rank "
                "FROM ranked r JOIN texts t ON t.rowid = r.rowid JOIN versions v ON v.text_sha256 = t.sha256 "
                "JOIN documents d ON d.id = v.document_id ORDER BY r.rank, v.id LIMIT :limit OFFSET :offset",
                {"q": query, "texts": texts, "limit": limit, "offset": offset},
            )
            if len(rows) >= limit:
                return rows
            matches = self._one("SELECT count(*) AS n FROM texts_fts WHERE texts_fts MATCH ?", [query])["n"]
            if texts >= matches:
                return rows
            texts *= 4

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

    def fetches_of_version(self, version_id: int, limit: int = 500) -> list[dict[str, Any]]:
        """The fetches that saw this version (when and where it was fetched), oldest first."""
        rows = self._rows(
            "SELECT f.*, s.official FROM fetches f LEFT JOIN sources s ON s.name = f.source "
            "WHERE f.version_id = ? ORDER BY f.fetched_at, f.id LIMIT ?",
            [version_id, limit],
        )
        for row in rows:
            row["headers"] = json.loads(row["headers"])
        return rows

    def footprint_codes(self) -> list[str]:
        """Every footprint code that documents in the archive carry, sorted."""
        return [r["footprint"] for r in self._rows(
            "SELECT DISTINCT footprint FROM documents WHERE footprint IS NOT NULL ORDER BY footprint")]

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

    # -- daemon -----------------------------------------------------------------------------------
    # The daemon's bookkeeping (tracker/daemon.py): per-source schedule state and its heartbeat, kept in the
    # `state` key-value table under keys with a common prefix.

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

    def delete_state(self, key: str) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM state WHERE key = ?", [key])

    def use_immediate_transactions(self) -> None:
        """Every transaction takes the write lock when it begins (BEGIN IMMEDIATE); writable archives already do."""
        if not isinstance(self.db.conn, _ImmediateConnection):
            self.db.conn = _ImmediateConnection(self.db.conn)

    # -- sources ----------------------------------------------------------------------------------
    # What `stp-tracker sources` shows about each source's health (tracker/cli_sources.py).

    def source_url_counts(self) -> dict[str, dict[str, Any]]:
        """Per source: documents and pages it has served with a body, URLs tried, when it was first tried."""
        rows = self._rows(
            "SELECT source, COUNT(*) AS urls, "
            "SUM(CASE WHEN kind = 'document' AND blob_sha256 IS NOT NULL THEN 1 ELSE 0 END) AS documents, "
            "SUM(CASE WHEN kind != 'document' AND blob_sha256 IS NOT NULL THEN 1 ELSE 0 END) AS pages, "
            "MIN(first_seen_at) AS first_seen_at, "
            "MAX(CASE WHEN kind = 'document' AND blob_sha256 IS NOT NULL THEN last_seen_at END) AS last_document_at "
            "FROM urls GROUP BY source"
        )
        return {row.pop("source"): row for row in rows}

    def latest_fetches(self, source: str, limit: int = 20) -> list[dict[str, Any]]:
        """The source's most recent fetches, newest first (without headers or bodies)."""
        return self._rows(
            "SELECT id, crawl_id, url, fetched_at, status, error, kind, not_modified, link_text FROM fetches "
            "WHERE source = ? ORDER BY id DESC LIMIT ?",
            [source, max(1, min(int(limit), 1000))],
        )

    # -- backfill ---------------------------------------------------------------------------------
    # Captures imported from web archives (tracker/backfill.py): the list of captures, the listing cursors,
    # and crawls of kind 'backfill' whose events are historical.

    def start_backfill_crawl(self, sources: list[str], started_at: str) -> int:
        """A crawl made of archived captures (kind 'backfill'), dated at its first capture."""
        with self.db.atomic():
            return self._insert("crawls", {"started_at": started_at, "sources": _json(sources), "status": "running",
                                           "kind": "backfill"})

    def is_backfill_crawl(self, crawl_id: int) -> bool:
        row = self._one("SELECT kind FROM crawls WHERE id = ?", [crawl_id])
        return bool(row) and row["kind"] == "backfill"

    def crawl_last_fetched_at(self, crawl_id: int) -> str | None:
        """The time of the crawl's latest fetch (for a backfill crawl: its latest capture time)."""
        row = self._one("SELECT MAX(fetched_at) AS at FROM fetches WHERE crawl_id = ?", [crawl_id])
        return row["at"] if row else None

    def backfill_cursor(self, source: str, query: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM backfill_cursors WHERE source = ? AND query = ?", [source, query])

    def set_backfill_cursor(self, source: str, query: str, *, resume_key: str | None, complete: bool,
                            pages: int) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO backfill_cursors (source, query, resume_key, complete, pages, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(source, query) DO UPDATE SET resume_key = excluded.resume_key, "
                "complete = excluded.complete, pages = excluded.pages, updated_at = excluded.updated_at",
                [source, query, resume_key, int(complete), pages, utcnow()],
            )

    def add_backfill_captures(self, captures: list[dict[str, Any]]) -> int:
        """Remember captures listed by an archive (each once); returns how many were new."""
        added = 0
        now = utcnow()
        with self.db.atomic():
            for c in captures:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO backfill_captures (source, archive, url, timestamp, raw_url, mimetype, "
                    "digest, kind, listed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [c["source"], c["archive"], c["url"], c["timestamp"], c["raw_url"], c.get("mimetype"),
                     c.get("digest"), c.get("kind") or "document", now],
                )
                added += cursor.rowcount or 0
        return added

    def pending_backfill_captures(self, sources: list[str]) -> list[dict[str, Any]]:
        """Captures listed but not yet imported, oldest capture first."""
        wanted = set(sources)
        rows = self._rows("SELECT * FROM backfill_captures WHERE status = 'pending' "
                          "ORDER BY timestamp, source, archive, url")
        return [r for r in rows if r["source"] in wanted]

    def finish_backfill_capture(self, capture: dict[str, Any], *, status: str, crawl_id: int | None,
                                fetch_id: int | None, error: str | None = None) -> None:
        self.db.execute(
            "UPDATE backfill_captures SET status = ?, crawl_id = ?, fetch_id = ?, error = ?, imported_at = ? "
            "WHERE source = ? AND archive = ? AND url = ? AND timestamp = ?",
            [status, crawl_id, fetch_id, error, utcnow(), capture["source"], capture["archive"], capture["url"],
             capture["timestamp"]],
        )

    def backfill_counts(self) -> dict[str, dict[str, int]]:
        """Per source: how many listed captures are pending, imported and failed."""
        out: dict[str, dict[str, int]] = {}
        for row in self._rows("SELECT source, status, COUNT(*) AS n FROM backfill_captures GROUP BY source, status"):
            out.setdefault(row["source"], {})[row["status"]] = row["n"]
        return out

    # -- preservation ---------------------------------------------------------------------------
    # Save Page Now requests for new finds (tracker/preserve.py): queued from events, so a crash between an
    # event and its request loses nothing; one row per version and URL, so nothing is asked twice.

    _PRESERVATION_FIELDS = frozenset({"status", "job_id", "attempts", "next_try_at", "requested_at", "capture_url",
                                      "captured_at", "error"})

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

    def _has_table(self, name: str) -> bool:
        return self._one("SELECT 1 AS yes FROM sqlite_master WHERE type = 'table' AND name = ?", [name]) is not None



class _ReadOnlyBlobs(BlobStore):
    """A blob store that never creates folders or writes (for read-only commands)."""

    def __init__(self, root: Path):
        self.root = root

    def put(self, data: bytes) -> tuple[str, bool]:
        raise ArchiveError("the archive is open read-only")
