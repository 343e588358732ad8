"""The alerts outbox: subscriptions and deliveries, in `subscribers.db` beside `archive.db` (all of the alerts' SQL).

Subscribers' addresses, signing secrets and tokens are not research data: they live in a file of their own, so that
`archive.db` can be shared or published as it is. Deliveries name events by their id in `archive.db`. An archive
that still holds the tables (made before they moved) has them moved out by its migration `_m010_subscribers_apart`
(`move_subscribers_out`), on first open; the move is idempotent, so a crash halfway is finished on the next open.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._base import RowsBase

if TYPE_CHECKING:  # sqlite-utils costs ~70 ms to import: loaded when a file is opened (`stp-tracker --help` opens none)
    import sqlite_utils

    from .archive import Archive

SUBSCRIBERS_DB = "subscribers.db"
SUBSCRIPTION_LISTS = ("footprints", "kinds", "generations", "keywords")
_SUBSCRIPTION_FIELDS = {
    "status", "secret", "confirm_token_sha256", "confirm_expires_at", "unsubscribe_token", "confirmed_at",
    "unsubscribed_at", "event_cursor", "consecutive_failures", "failing_since", "last_error", "last_success_at",
}

# The schema of subscribers.db, in the order of its own migrations (its PRAGMA user_version).
_SUBSCRIBERS_SCHEMA = [
    """
    CREATE TABLE IF NOT EXISTS subscriptions (
        id INTEGER PRIMARY KEY,
        address TEXT NOT NULL,                   -- email address, webhook URL or apprise URL
        channel TEXT NOT NULL,                   -- email, webhook, apprise
        footprints TEXT NOT NULL DEFAULT '[]',   -- JSON lists, an empty list matches everything
        kinds TEXT NOT NULL DEFAULT '[]',
        generations TEXT NOT NULL DEFAULT '[]',
        keywords TEXT NOT NULL DEFAULT '[]',
        mode TEXT NOT NULL DEFAULT 'immediate',  -- immediate, daily, weekly
        status TEXT NOT NULL,                    -- pending (awaiting confirmation), active, unsubscribed
        secret TEXT,                             -- webhook signing key
        confirm_token_sha256 TEXT UNIQUE,        -- only the hash of the confirmation token is kept
        confirm_expires_at TEXT,
        unsubscribe_token TEXT UNIQUE,           -- in every message sent, cleared once used
        created_at TEXT NOT NULL,
        confirmed_at TEXT,
        unsubscribed_at TEXT,
        event_cursor INTEGER NOT NULL DEFAULT 0, -- events (in archive.db) up to this id were matched against it
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        failing_since TEXT,
        last_error TEXT,
        last_success_at TEXT
    );
    CREATE INDEX IF NOT EXISTS subscriptions_address ON subscriptions(address);
    CREATE TABLE IF NOT EXISTS deliveries (
        id INTEGER PRIMARY KEY,
        subscription_id INTEGER NOT NULL REFERENCES subscriptions(id),
        event_id INTEGER NOT NULL,               -- events.id in archive.db
        digest_key TEXT,                         -- NULL: sent alone; else the period it is gathered in
        status TEXT NOT NULL DEFAULT 'pending',  -- pending, sending, sent, cancelled
        enqueued_at TEXT NOT NULL,
        next_attempt_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        claimed_at TEXT,
        last_attempt_at TEXT,
        last_error TEXT,
        sent_at TEXT,
        UNIQUE (event_id, subscription_id)
    );
    CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(status, next_attempt_at);
    CREATE INDEX IF NOT EXISTS deliveries_subscription ON deliveries(subscription_id, status);
    """,
]


def _subscription(row: dict[str, Any]) -> dict[str, Any]:
    for key in SUBSCRIPTION_LISTS:
        row[key] = json.loads(row[key])
    return row


def _statements(script: str) -> Iterator[str]:
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                yield buffer
            buffer = ""


def open_subscribers_db(path: Path, readonly: bool = False) -> sqlite_utils.Database:
    """subscribers.db at `path`, created (owner-only, it holds secrets) and brought up to date; read-only: as it
    is, or an empty in-memory one when there is no file yet."""
    import sqlite_utils

    from .archive import (
        _ImmediateConnection,  # archive imports the schema, which imports this module
    )

    if readonly:
        if path.exists():
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30, isolation_level=None)
        else:
            conn = sqlite3.connect(":memory:", isolation_level=None)
            readonly = False  # nothing to protect: give it the schema so that every query answers "none"
        db = sqlite_utils.Database(conn, execute_plugins=False)
    else:
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        db = sqlite_utils.Database(conn, execute_plugins=False)
        db.conn = _ImmediateConnection(conn)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA busy_timeout = 30000")
    if not readonly:
        current = db.execute("PRAGMA user_version").fetchone()[0]
        if current > len(_SUBSCRIBERS_SCHEMA):
            raise sqlite3.DatabaseError(f"{path} has schema version {current}, newer than this release knows "
                                        f"({len(_SUBSCRIBERS_SCHEMA)}): upgrade stp-tracker")
        for number, script in enumerate(_SUBSCRIBERS_SCHEMA[current:], start=current + 1):
            with db.atomic():
                for statement in _statements(script):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {int(number)}")
    return db


def _main_file(db: sqlite_utils.Database) -> Path | None:
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main" and row[2]:
            return Path(row[2])
    return None


def move_subscribers_out(db: sqlite_utils.Database) -> None:
    """Move the subscriptions and deliveries tables of an archive into subscribers.db beside it, then drop them
    from the archive (an archive migration; its caller's transaction covers the drop). Rows keep their ids, and
    rows already moved are left alone, so running it again after a crash moves nothing twice."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}
    if "subscriptions" not in tables:
        return
    source = _main_file(db)
    has_rows = any(db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None  # fixed names
                   for table in ("subscriptions", "deliveries") if table in tables)
    if has_rows:
        if source is None:
            raise sqlite3.DatabaseError("cannot move subscribers out of an archive that is not a file")
        target = open_subscribers_db(source.parent / SUBSCRIBERS_DB)
        try:
            with target.atomic():
                for table in ("subscriptions", "deliveries"):  # fixed names; columns from the tables themselves
                    if table not in tables:
                        continue
                    wanted = {r[1] for r in target.execute(f"PRAGMA table_info({table})").fetchall()}
                    cursor = db.execute(f"SELECT * FROM {table} ORDER BY id")
                    fields = [c[0] for c in cursor.description if c[0] in wanted]
                    columns = ", ".join(fields)
                    marks = ", ".join("?" * len(fields))
                    for row in cursor.fetchall():
                        record = dict(zip([c[0] for c in cursor.description], row))
                        target.execute(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})",
                                       [record[f] for f in fields])
        finally:
            target.conn.close()
    # Overwritten, not just unlinked: the freed pages of a shared archive.db must not hold the old rows.
    secure = db.execute("PRAGMA secure_delete").fetchone()[0]
    db.execute("PRAGMA secure_delete = ON")
    try:
        for table in ("deliveries", "subscriptions"):
            if table in tables:
                db.execute(f"DELETE FROM {table}")
                db.execute(f"DROP TABLE {table}")
    finally:
        if not secure:
            db.execute("PRAGMA secure_delete = OFF")


def subscribers_db(archive: Archive) -> sqlite_utils.Database:
    """The archive's subscribers.db connection, opened on first use and closed with the archive."""
    db = getattr(archive, "_subscribers_db", None)
    if db is None:
        db = open_subscribers_db(archive.home / SUBSCRIBERS_DB, readonly=archive.readonly)
        archive._subscribers_db = db
    return db


class Outbox(RowsBase):
    """Subscriptions and the (event, subscription) deliveries owed to them: subscribers.db beside an archive."""

    def __init__(self, archive: Archive):
        self.archive = archive
        self.db = subscribers_db(archive)

    # -- subscriptions ----------------------------------------------------------------------------

    def add_subscription(self, *, address: str, channel: str, footprints: list[str], kinds: list[str],
                         generations: list[str], keywords: list[str], mode: str, status: str,
                         secret: str | None, confirm_token_sha256: str | None, confirm_expires_at: str | None,
                         unsubscribe_token: str, created_at: str, confirmed_at: str | None) -> int:
        cursor = self.max_event_id()
        with self.db.atomic():
            return self.db["subscriptions"].insert({
                "address": address, "channel": channel, "footprints": json.dumps(footprints),
                "kinds": json.dumps(kinds), "generations": json.dumps(generations),
                "keywords": json.dumps(keywords, ensure_ascii=False), "mode": mode, "status": status,
                "secret": secret, "confirm_token_sha256": confirm_token_sha256,
                "confirm_expires_at": confirm_expires_at, "unsubscribe_token": unsubscribe_token,
                "created_at": created_at, "confirmed_at": confirmed_at, "event_cursor": cursor,
            }).last_pk

    def update_subscription(self, subscription_id: int, **fields: Any) -> None:
        unknown = set(fields) - _SUBSCRIPTION_FIELDS
        if unknown:
            raise ValueError(f"not subscription fields: {sorted(unknown)}")
        # Column names come from the fixed set above, never from input.
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.db.atomic():
            self.db.execute(f"UPDATE subscriptions SET {assignments} WHERE id = ?", [*fields.values(), subscription_id])

    def subscription(self, subscription_id: int) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM subscriptions WHERE id = ?", [subscription_id])
        return _subscription(row) if row else None

    def subscriptions(self, status: str | None = None, address: str | None = None) -> list[dict[str, Any]]:
        """Subscriptions, oldest first, each with its count of deliveries still owed (`pending`)."""
        sql = ("SELECT s.*, (SELECT COUNT(*) FROM deliveries d WHERE d.subscription_id = s.id "
               "AND d.status IN ('pending', 'sending')) AS pending FROM subscriptions s")
        clauses, params = [], []
        if status is not None:
            clauses.append("s.status = ?")
            params.append(status)
        if address is not None:
            clauses.append("s.address = ?")
            params.append(address)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return [_subscription(r) for r in self._rows(sql + " ORDER BY s.id", params)]

    def subscription_by_confirm_hash(self, token_sha256: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM subscriptions WHERE confirm_token_sha256 = ?", [token_sha256])
        return _subscription(row) if row else None

    def subscription_by_unsubscribe_token(self, token: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM subscriptions WHERE unsubscribe_token = ?", [token])
        return _subscription(row) if row else None

    def end_subscription(self, subscription_id: int, now: str) -> int:
        """Unsubscribe: clear its tokens and cancel what it is still owed; return how many were cancelled."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE subscriptions SET status = 'unsubscribed', unsubscribed_at = ?, unsubscribe_token = NULL, "
                "confirm_token_sha256 = NULL WHERE id = ?",
                [now, subscription_id],
            )
            return self.db.execute(
                "UPDATE deliveries SET status = 'cancelled', last_error = 'unsubscribed' "
                "WHERE subscription_id = ? AND status IN ('pending', 'sending')",
                [subscription_id],
            ).rowcount

    def note_result(self, subscription_id: int, ok: bool, now: str, error: str | None = None) -> None:
        """A channel's health after a send: consecutive failures, since when, and the last reason."""
        with self.db.atomic():
            if ok:
                self.db.execute(
                    "UPDATE subscriptions SET consecutive_failures = 0, failing_since = NULL, last_error = NULL, "
                    "last_success_at = ? WHERE id = ?",
                    [now, subscription_id],
                )
            else:
                self.db.execute(
                    "UPDATE subscriptions SET consecutive_failures = consecutive_failures + 1, "
                    "failing_since = COALESCE(failing_since, ?), last_error = ? WHERE id = ?",
                    [now, error, subscription_id],
                )

    # -- enqueueing -------------------------------------------------------------------------------

    def max_event_id(self) -> int:
        """The newest event in the archive (archive.db)."""
        return self.archive.db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]

    def enqueue(self, subscription_id: int, event_id: int, *, digest_key: str | None, due_at: str, now: str) -> bool:
        """Owe this event to this subscription; False if it was already owed (each pair is enqueued once)."""
        return self.db.execute(
            "INSERT OR IGNORE INTO deliveries (subscription_id, event_id, digest_key, status, enqueued_at, "
            "next_attempt_at) VALUES (?, ?, ?, 'pending', ?, ?)",
            [subscription_id, event_id, digest_key, now, due_at],
        ).rowcount == 1

    def set_cursor(self, subscription_id: int, event_id: int) -> None:
        self.db.execute("UPDATE subscriptions SET event_cursor = MAX(event_cursor, ?) WHERE id = ?",
                        [event_id, subscription_id])

    # -- delivering -------------------------------------------------------------------------------

    def release_stale(self, older_than: str, now: str) -> list[dict[str, Any]]:
        """Deliveries left 'sending' by a process that ended before recording the outcome: owed again."""
        with self.db.atomic():
            rows = self._rows(
                "SELECT id, subscription_id, event_id FROM deliveries WHERE status = 'sending' AND claimed_at < ?",
                [older_than],
            )
            self.db.execute(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, "
                "last_error = 'interrupted while sending (the process ended before the outcome was recorded): "
                "sent again, the recipient may see it twice' WHERE status = 'sending' AND claimed_at < ?",
                [now, older_than],
            )
        return rows

    def due(self, now: str) -> list[dict[str, Any]]:
        """Pending deliveries of active subscriptions due by `now`; a digest's whole period counts once any is due."""
        return self._rows(
            "SELECT d.* FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id "
            "WHERE d.status = 'pending' AND s.status = 'active' AND ("
            "  d.next_attempt_at <= :now OR (d.digest_key IS NOT NULL AND EXISTS ("
            "    SELECT 1 FROM deliveries o WHERE o.subscription_id = d.subscription_id "
            "    AND o.digest_key = d.digest_key AND o.status = 'pending' AND o.next_attempt_at <= :now))) "
            "ORDER BY d.subscription_id, d.event_id",
            {"now": now},
        )

    def claim(self, delivery_ids: list[int], now: str) -> list[int]:
        """Mark these deliveries 'sending' (one more attempt) before the send; return those claimed here."""
        claimed = []
        with self.db.atomic():
            for delivery_id in delivery_ids:
                if self.db.execute(
                    "UPDATE deliveries SET status = 'sending', claimed_at = ?, last_attempt_at = ?, "
                    "attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
                    [now, now, delivery_id],
                ).rowcount:
                    claimed.append(delivery_id)
        return claimed

    def mark_sent(self, delivery_ids: list[int], now: str) -> None:
        with self.db.atomic():
            for delivery_id in delivery_ids:
                self.db.execute(
                    "UPDATE deliveries SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ? "
                    "AND status = 'sending'",
                    [now, delivery_id],
                )

    def mark_failed(self, delivery_ids: list[int], error: str, next_attempt_at: str) -> None:
        with self.db.atomic():
            for delivery_id in delivery_ids:
                self.db.execute(
                    "UPDATE deliveries SET status = 'pending', last_error = ?, next_attempt_at = ? WHERE id = ? "
                    "AND status = 'sending'",
                    [error, next_attempt_at, delivery_id],
                )

    def postpone(self, subscription_id: int, not_before: str) -> None:
        """Hold back a failing subscription's other deliveries until its next retry (no attempt is spent)."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE deliveries SET next_attempt_at = MAX(next_attempt_at, ?) "
                "WHERE subscription_id = ? AND status = 'pending'",
                [not_before, subscription_id],
            )

    # -- listing ----------------------------------------------------------------------------------

    def deliveries(self, *, status: str | None = None, failed: bool = False, subscription_id: int | None = None,
                   limit: int | None = None) -> list[dict[str, Any]]:
        """Deliveries, newest first; `failed`: those still owed whose last attempt failed."""
        sql = ("SELECT d.*, s.address, s.channel, s.mode FROM deliveries d "
               "JOIN subscriptions s ON s.id = d.subscription_id")
        clauses, params = [], []
        if status is not None:
            clauses.append("d.status = ?")
            params.append(status)
        if failed:
            clauses.append("d.status IN ('pending', 'sending') AND d.last_error IS NOT NULL")
        if subscription_id is not None:
            clauses.append("d.subscription_id = ?")
            params.append(subscription_id)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY d.id DESC"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        return self._rows(sql, params)
