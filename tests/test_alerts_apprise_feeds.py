"""Apprise channels (a failure is recorded with apprise's reason) and Atom feeds (valid, stable ids)."""

from __future__ import annotations

import datetime as dt

import feedparser
import pytest

import alerts
from storage import Archive

try:
    from smtpserver import WebhookReceiver, add_event, free_port
except ImportError:  # tests/ imported as a package
    from tests.smtpserver import WebhookReceiver, add_event, free_port

T0 = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.timezone.utc)
ALLOW = alerts.AlertSettings(allow_private_targets=True, http_timeout=5)


@pytest.fixture
def archive(tmp_path):
    with Archive(tmp_path / "home") as opened:
        yield opened


def test_channel_registry():
    assert isinstance(alerts.channel_for("a@example.org"), alerts.EmailChannel)
    assert isinstance(alerts.channel_for("https://hooks.example.org/x"), alerts.WebhookChannel)
    for url in ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ", "tgram://123456789:abcdefg_hijklmnop/12315544",
                "ntfys://my-topic", "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js"):
        channel = alerts.channel_for(url)
        assert isinstance(channel, alerts.AppriseChannel)
        assert "TIiajkdnlazkcOXrIdevi7FQ" not in channel.redact(url)  # tokens never shown
    for bad in ("", "not an address", "bogus://x", "ftp://example.org/"):
        with pytest.raises(alerts.AddressError):
            alerts.channel_for(bad)
    with pytest.raises(alerts.AddressError, match="not an email address"):
        alerts.subscribe(None, ALLOW, "a@b@c")  # refused before the archive is touched


def test_apprise_failure_is_recorded_with_the_reason(archive):
    closed = free_port()
    alerts.subscribe(archive, ALLOW, f"json://127.0.0.1:{closed}/")
    add_event(archive)
    report = alerts.deliver_pending(archive, ALLOW, now=T0)
    [failure] = report.failures
    assert failure.channel == "apprise"
    assert "Connection error" in failure.error and "Connection refused" in failure.error
    [row] = alerts.deliveries(archive, failed=True)
    assert row["last_error"] == failure.error and row["status"] == "pending"


def test_apprise_success(archive):
    with WebhookReceiver() as receiver:
        alerts.subscribe(archive, ALLOW, f"json://127.0.0.1:{receiver.port}/apprise")
        add_event(archive)
        report = alerts.deliver_pending(archive, ALLOW, now=T0)
    assert report.ok and report.messages_sent == 1
    [request] = receiver.requests
    assert request["json"]["title"].startswith("[stp-tracker] Revised:")
    assert "Acute bed reduction changed from 180 to 320" in request["json"]["message"]


def test_test_alert_says_why_not(archive):
    closed = free_port()
    result = alerts.send_test_alert(ALLOW, f"http://127.0.0.1:{closed}/hook", archive)
    assert not result.ok and result.channel == "webhook" and "ConnectionError" in result.error
    result = alerts.send_test_alert(alerts.AlertSettings(), "http://10.0.0.1/hook")
    assert not result.ok and "refused" in result.error
    with WebhookReceiver() as receiver:
        assert alerts.send_test_alert(ALLOW, receiver.url).ok
    assert receiver.requests[0]["json"]["test"] is True


def test_feed_is_valid_and_ids_are_stable(archive, tmp_path):
    first = add_event(archive, title="<script>alert(1)</script> {{ 7*7 }} plan", detected_at="2026-05-01T09:00:00+00:00")
    second = add_event(archive, kind="withdrawn", footprint="QE1", detected_at="2026-05-02T09:00:00+00:00")
    add_event(archive, kind="baseline", alert=False)
    add_event(archive, historical=True)
    path = tmp_path / "out" / "feed.atom"
    alerts.write_feed(archive, path, base_url="https://tracker.example.org")
    feed = feedparser.parse(path.read_bytes())
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert [e.id for e in feed.entries] == [alerts.entry_id(second.id), alerts.entry_id(first.id)]
    entry = feed.entries[1]
    assert entry.title == "Revised: <script>alert(1)</script> {{ 7*7 }} plan (QF7)"
    links = {link.rel: link.href for link in entry.links}
    assert links["alternate"] == "https://tracker.example.org/versions/12"
    assert links["related"] == "https://tracker.example.org/diff/11/12"
    assert entry.updated_parsed[:3] == (2026, 5, 1)

    first_ids = [e.id for e in feed.entries]
    add_event(archive, detected_at="2026-05-03T09:00:00+00:00")
    alerts.write_feed(archive, path, base_url="https://tracker.example.org")
    again = feedparser.parse(path.read_bytes())
    assert again.bozo == 0 and [e.id for e in again.entries][1:] == first_ids

    only = feedparser.parse(alerts.feed_xml(archive, footprint="qe1"))
    assert only.bozo == 0 and [e.id for e in only.entries] == [alerts.entry_id(second.id)]
    assert feedparser.parse(alerts.feed_xml(archive, kind="withdrawn")).entries[0].id == alerts.entry_id(second.id)
