"""The alerts outbox: subscriptions and deliveries in the archive (all of the alerts' SQL lives here)."""

from __future__ import annotations

import json
from typing import Any

from .archive import Archive

SUBSCRIPTION_LISTS = ("footprints", "kinds", "generations", "keywords")
_SUBSCRIPTION_FIELDS = {
    "status", "secret", "confirm_token_sha256", "confirm_expires_at", "unsubscribe_token", "confirmed_at",
    "unsubscribed_at", "event_cursor", "consecutive_failures", "failing_since", "last_error", "last_success_at",
}


def _subscription(row: dict[str, Any]) -> dict[str, Any]:
    for key in SUBSCRIPTION_LISTS:
        row[key] = json.loads(row[key])
    return row


class Outbox:
    """Subscriptions and the (event, subscription) deliveries owed to them, in one archive."""

    def __init__(self, archive: Archive):
        self.archive = archive
        self.db = archive.db

    # -- subscriptions ----------------------------------------------------------------------------

    def add_subscription(self, *, address: str, channel: str, footprints: list[str], kinds: list[str],
                         generations: list[str], keywords: list[str], mode: str, status: str,
                         secret: str | None, confirm_token_sha256: str | None, confirm_expires_at: str | None,
                         unsubscribe_token: str, created_at: str, confirmed_at: str | None) -> int:
        with self.db.atomic():
            cursor = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
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
        row = self.archive._one("SELECT * FROM subscriptions WHERE id = ?", [subscription_id])
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
        return [_subscription(r) for r in self.archive._rows(sql + " ORDER BY s.id", params)]

    def subscription_by_confirm_hash(self, token_sha256: str) -> dict[str, Any] | None:
        row = self.archive._one("SELECT * FROM subscriptions WHERE confirm_token_sha256 = ?", [token_sha256])
        return _subscription(row) if row else None

    def subscription_by_unsubscribe_token(self, token: str) -> dict[str, Any] | None:
        row = self.archive._one("SELECT * FROM subscriptions WHERE unsubscribe_token = ?", [token])
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
            rows = self.archive._rows(
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
        return self.archive._rows(
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
        return self.archive._rows(sql, params)
