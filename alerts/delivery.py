"""Delivery from the outbox: enqueue each (event, subscription) pair once, send at least once, never again once sent.

At-least-once, and how: a delivery is marked `sending` (its attempt counted) and committed before the send, and
`sent` after it. A process that dies between the two leaves the row `sending`; once older than the lease
(`SENDING_LEASE`) it is owed again and resent, with a note in `last_error`. So a message can arrive twice only
when the process ended mid-send; it is never lost, and a row marked `sent` is never sent again. Messages carry a
stable id (webhook `X-STP-Delivery`, email `Message-ID`) so that a receiver can drop the rare duplicate.
A failed send stays owed with exponential backoff (1 min doubling up to 6 h), and the subscription's other messages
wait with it; a channel failing `FAILING_AFTER` times in a row is reported (and logged) but nothing is dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from itertools import groupby
from typing import Any

from storage import Archive
from storage import Outbox
from storage import event_json

from .channels import AddressError, SendError, channel_class, channel_for
from .render import Message, describe_filters, render_digest, render_event
from .settings import AlertSettings
from .subscriptions import Subscription, _iso, now_utc, unsubscribe_url

log = logging.getLogger("stp_tracker.alerts")

BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=6)
SENDING_LEASE = dt.timedelta(minutes=15)  # longer than any send can take (SMTP and HTTP time-outs)
FAILING_AFTER = 3


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the n-th failed attempt: 1, 2, 4, 8 ... minutes, at most 6 hours."""
    return min(BACKOFF_BASE * (2 ** max(0, min(attempts, 30) - 1)), BACKOFF_CAP)


def digest_period(mode: str, moment: dt.datetime) -> tuple[str, dt.datetime]:
    """The digest period `moment` falls in (its key, e.g. 2026-05-04 or 2026-W19) and when it ends (when it is sent)."""
    day = dt.datetime(moment.year, moment.month, moment.day, tzinfo=dt.timezone.utc)
    if mode == "daily":
        return day.date().isoformat(), day + dt.timedelta(days=1)
    monday = day - dt.timedelta(days=day.weekday())
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}", monday + dt.timedelta(days=7)


@dataclass
class DeliveryFailure:
    """One message that could not be sent this time (it stays owed)."""

    subscription_id: int
    address: str
    channel: str
    events: list[int]
    attempts: int
    error: str
    next_attempt_at: str


@dataclass
class FailingChannel:
    """A subscription whose channel keeps failing: its messages are kept until it recovers."""

    subscription_id: int
    address: str
    channel: str
    consecutive_failures: int
    failing_since: str | None
    last_error: str | None
    pending: int


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    enqueued: int = 0
    messages_sent: int = 0
    events_sent: int = 0
    interrupted: int = 0  # deliveries left 'sending' by a process that ended: owed again (and resent)
    failures: list[DeliveryFailure] = field(default_factory=list)
    failing: list[FailingChannel] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def enqueue_new_events(archive: Archive, now: dt.datetime | None = None) -> int:
    """Owe every alert-worthy, non-historical event not yet considered to every active subscription it matches.

    Each subscription keeps a cursor (the last event id considered), starting at the newest event when it was
    created; (event, subscription) is UNIQUE in the outbox, so running this twice enqueues nothing twice.
    Returns the number of deliveries added."""
    outbox = Outbox(archive)
    moment = now_utc(now)
    added = 0
    with outbox.transaction():
        rows = outbox.subscriptions(status="active")
        if not rows:
            return 0
        start = min(row["event_cursor"] for row in rows)
        events = archive.events(after_id=start, include_all=True)
        if not events:
            return 0
        subs = [(row["event_cursor"], Subscription.from_row(row)) for row in rows]
        for event in events:
            if not event.alert or event.historical:
                continue
            data = event_json(archive, event)
            for cursor, sub in subs:
                if event.id <= cursor or not sub.matches(data):
                    continue
                if sub.mode == "immediate":
                    key, due = None, moment
                else:
                    key, due = digest_period(sub.mode, moment)
                added += outbox.enqueue(sub.id, event.id, digest_key=key, due_at=_iso(due), now=_iso(moment))
        last = max(event.id for event in events)
        for _, sub in subs:
            outbox.set_cursor(sub.id, last)
    if added:
        log.info("enqueued %s deliveries", added)
    return added


def _plan_opening(archive: Archive, event: dict[str, Any], chars: int = 1200) -> str | None:
    """The first words of the plan an event is about (for leaked, published and replaced alerts)."""
    version = (event.get("versions") or {}).get("after")
    text = archive.version_text(int(version)) if version else None
    return text[:chars] if text else None


def _message(archive: Archive, settings: AlertSettings, sub: Subscription, rows: list[dict[str, Any]]) -> Message:
    events = []
    for row in rows:
        event = archive.event(row["event_id"])
        if event is None:
            raise SendError(f"event {row['event_id']} is no longer in the archive")
        events.append(event_json(archive, event))
    unsubscribe = unsubscribe_url(settings, sub) if sub.channel == "email" else None
    filters = describe_filters(sub)
    key = rows[0]["digest_key"]
    if key is None:
        return render_event(events[0], settings.base_url, ref=f"stp-tracker.delivery.{rows[0]['id']}",
                            unsubscribe_url=unsubscribe, filters=filters, excerpt=_plan_opening(archive, events[0]))
    return render_digest(events, settings.base_url, ref=f"stp-tracker.digest.{sub.id}.{key}.{rows[0]['id']}",
                         period=sub.mode, period_label=key, unsubscribe_url=unsubscribe, filters=filters)


def _groups(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """One message per immediate delivery; one per digest period."""
    singles = [[row] for row in rows if row["digest_key"] is None]
    digests = [list(group) for _, group in groupby(sorted((r for r in rows if r["digest_key"] is not None),
                                                          key=lambda r: (r["digest_key"], r["event_id"])),
                                                   key=lambda r: r["digest_key"])]
    return sorted(singles + digests, key=lambda group: min(r["event_id"] for r in group))


def deliver_pending(archive: Archive, settings: AlertSettings, now: dt.datetime | None = None,
                    enqueue: bool = True) -> DeliveryReport:
    """Send every message that is due (enqueueing new events first), record each outcome, and report."""
    report = DeliveryReport()
    moment = now_utc(now)
    now_s = _iso(moment)
    outbox = Outbox(archive)
    if enqueue:
        report.enqueued = enqueue_new_events(archive, moment)
    stale = outbox.release_stale(_iso(moment - SENDING_LEASE), now_s)
    report.interrupted = len(stale)
    for row in stale:
        log.warning("delivery of event %s to subscription %s was interrupted mid-send: sending again",
                    row["event_id"], row["subscription_id"])
    due = outbox.due(now_s)
    for subscription_id, rows in groupby(due, key=lambda r: r["subscription_id"]):
        sub = Subscription.from_row(outbox.subscription(subscription_id))
        channel = channel_class(sub.channel)(settings)
        for group in _groups(list(rows)):
            claimed = outbox.claim([r["id"] for r in group], now_s)
            if not claimed:
                continue  # another delivery run took them
            group = [r for r in group if r["id"] in claimed]
            try:
                message = _message(archive, settings, sub, group)
                channel.send(sub.address, message, secret=sub.secret)
            except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried, never a crashed run
                error = str(exc) if isinstance(exc, (SendError, AddressError)) else f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, (SendError, AddressError)):
                    log.exception("delivery to subscription %s failed unexpectedly", sub.id)
                attempts = max(r["attempts"] for r in group) + 1
                retry_at = _iso(moment + backoff(attempts))
                outbox.mark_failed(claimed, error, retry_at)
                outbox.note_result(sub.id, False, now_s, error)
                outbox.postpone(sub.id, retry_at)
                report.failures.append(DeliveryFailure(sub.id, channel.redact(sub.address), sub.channel,
                                                       [r["event_id"] for r in group], attempts, error, retry_at))
                log.warning("alert to %s (subscription %s) failed, attempt %s, retry at %s: %s",
                            channel.redact(sub.address), sub.id, attempts, retry_at, error)
                break  # the channel is failing: its other messages wait for the retry
            outbox.mark_sent(claimed, now_s)
            outbox.note_result(sub.id, True, now_s)
            report.messages_sent += 1
            report.events_sent += len(claimed)
            log.info("alert sent to %s (subscription %s): %s", channel.redact(sub.address), sub.id, message.subject)
    report.failing = failing_channels(archive)
    for failing in report.failing:
        log.warning("alert channel %s (subscription %s) has failed %s times in a row since %s, %s messages kept: %s",
                    failing.address, failing.subscription_id, failing.consecutive_failures, failing.failing_since,
                    failing.pending, failing.last_error)
    return report


def failing_channels(archive: Archive) -> list[FailingChannel]:
    found = []
    for row in Outbox(archive).subscriptions(status="active"):
        if row["consecutive_failures"] >= FAILING_AFTER:
            channel = channel_class(row["channel"])(AlertSettings())
            found.append(FailingChannel(row["id"], channel.redact(row["address"]), row["channel"],
                                        row["consecutive_failures"], row["failing_since"], row["last_error"],
                                        row["pending"]))
    return found


def deliveries(archive: Archive, failed: bool = False, limit: int | None = 500) -> list[dict[str, Any]]:
    """The outbox, newest first (addresses redacted); `failed`: only messages still owed after a failed attempt."""
    rows = Outbox(archive).deliveries(failed=failed, limit=limit)
    for row in rows:
        row["address"] = channel_class(row["channel"])(AlertSettings()).redact(row["address"])
    return rows


@dataclass
class TestAlertResult:
    """The outcome of `test-alert`: which channel, and whether the sample arrived (or why not)."""

    ok: bool
    channel: str | None
    address: str
    error: str | None = None


SAMPLE_EVENT: dict[str, Any] = {
    "id": 0,
    "kind": "revised",
    "detected_at": "2026-01-01T09:00:00+00:00",
    "footprint": {"code": "QF7", "name": "South Yorkshire and Bassetlaw"},
    "generation": "2016-stp",
    "document": {"id": 0, "title": "Sample plan (stp-tracker test alert)"},
    "url": "https://example.org/sample-plan.pdf",
    "source": "test-alert",
    "official": True,
    "summary": "This is a test alert from stp-tracker: acute bed reduction changed from 180 to 320.",
    "changes": {"figures": [{"before": "180", "after": "320", "context": "acute beds"}],
                "added": ["a sample sentence that was added"], "removed": []},
    "versions": {"before": 1, "after": 2},
    "alert": True,
    "historical": False,
    "crawl_id": None,
    "test": True,
}


def send_test_alert(settings: AlertSettings, address: str, archive: Archive | None = None) -> TestAlertResult:
    """Send a sample alert through the channel for this address and say whether it worked and why not."""
    try:
        channel = channel_for(address, settings)
        address = channel.normalise(address)
        channel.check(address)
    except AddressError as exc:
        return TestAlertResult(False, None, address, str(exc))
    sub = None
    if archive is not None:
        sub = next((Subscription.from_row(r) for r in Outbox(archive).subscriptions(address=address)
                    if r["status"] != "unsubscribed"), None)
    message = render_event(SAMPLE_EVENT, settings.base_url, ref=f"stp-tracker.test.{int(now_utc().timestamp())}",
                           unsubscribe_url=unsubscribe_url(settings, sub) if sub and channel.kind == "email" else None,
                           filters=describe_filters(sub) if sub else "")
    message.kind = "test"
    try:
        channel.send(address, message, secret=sub.secret if sub else None)
    except SendError as exc:
        return TestAlertResult(False, channel.kind, channel.redact(address), str(exc))
    return TestAlertResult(True, channel.kind, channel.redact(address))
