"""Email alerts through a real SMTP server: double opt-in, delivery, digest, unsubscribe, headers, escaping."""

from __future__ import annotations

import datetime as dt
import re

import pytest

import alerts
from storage import Archive, Outbox

try:
    from smtpserver import add_event, body_text, smtp_server
except ImportError:  # tests/ imported as a package
    from tests.smtpserver import add_event, body_text, smtp_server

BASE = "https://tracker.example.org"
T0 = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def smtp():
    with smtp_server() as server:
        yield server


@pytest.fixture
def archive(tmp_path):
    with Archive(tmp_path / "home") as opened:
        yield opened


def settings_for(server) -> alerts.AlertSettings:
    return alerts.AlertSettings(smtp_host="127.0.0.1", smtp_port=server.port, smtp_from="alerts@stp-tracker.test",
                                base_url=BASE, smtp_timeout=5)


def link_token(text: str, action: str) -> str:
    found = re.search(rf"{re.escape(BASE)}/alerts/{action}/([A-Za-z0-9_-]+)", text)
    assert found, f"no {action} link in:\n{text}"
    return found.group(1)


def subscribe_and_confirm(archive, settings, smtp, address="reader@example.org", **filters):
    result = alerts.subscribe(archive, settings, address, **filters)
    assert result.confirmation_sent, result.error
    confirmation = smtp.to(address)[-1]
    alerts.confirm(archive, link_token(body_text(confirmation), "confirm"))
    return result.subscription


def test_opt_in_delivery_unsubscribe(archive, smtp):
    settings = settings_for(smtp)
    result = alerts.subscribe(archive, settings, "Reader@Example.ORG", footprints=["qf7"])
    assert result.confirmation_sent and result.subscription.status == "pending"
    assert result.subscription.address == "Reader@example.org"

    # The confirmation: a link with a single-purpose token, and a different one to unsubscribe.
    [confirmation] = smtp.to("Reader@example.org")
    assert "Confirm" in confirmation["Subject"]
    confirm_token = link_token(body_text(confirmation), "confirm")
    assert confirm_token in body_text(confirmation, "html")
    unsubscribe_header = confirmation["List-Unsubscribe"]
    assert unsubscribe_header.startswith(f"<{BASE}/alerts/unsubscribe/")
    # As sent: plain ASCII on one line, not RFC 2047 encoded-words (mail clients must read it as a URL).
    raw = confirmation.raw_bytes.decode("ascii")
    assert f"\r\nList-Unsubscribe: {unsubscribe_header}\r\n" in raw.replace("\n", "\r\n").replace("\r\r", "\r")
    assert "=?" not in unsubscribe_header and len(unsubscribe_header) > 78
    assert confirm_token not in unsubscribe_header
    # Only a hash of the confirmation token is stored.
    stored = Outbox(archive).db.execute("SELECT * FROM subscriptions").fetchall()
    assert confirm_token not in repr(stored)

    # Nothing but the confirmation before confirming.
    add_event(archive)
    report = alerts.deliver_pending(archive, settings, now=T0)
    assert report.messages_sent == 0 and len(smtp.messages) == 1

    confirmed = alerts.confirm(archive, confirm_token)
    assert confirmed.status == "active"
    with pytest.raises(alerts.AddressError, match="already used"):
        alerts.confirm(archive, confirm_token)

    # Now the event arrives once, and an event for another footprint, a baseline and a historical one never do.
    add_event(archive, footprint="QE1", title="Another footprint's plan")
    add_event(archive, kind="baseline", alert=False)
    add_event(archive, historical=True)
    report = alerts.deliver_pending(archive, settings, now=T0)
    assert (report.messages_sent, report.events_sent, report.failures) == (1, 1, [])
    [alert] = smtp.to("Reader@example.org")[1:]
    assert alert["Subject"] == "[stp-tracker] Revised: South Yorkshire and Bassetlaw STP (QF7)"
    assert alert.get_content_type() == "multipart/alternative"
    text, html = body_text(alert), body_text(alert, "html")
    for body in (text, html):
        assert "Acute bed reduction changed from 180 to 320" in body
        assert "QF7" in body and "acute beds" in body
        assert f"{BASE}/versions/12" in body and f"{BASE}/diff/11/12" in body
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_token = re.search(r"/alerts/unsubscribe/([A-Za-z0-9_-]+)>", alert["List-Unsubscribe"]).group(1)
    assert unsubscribe_token != confirm_token
    assert f"{BASE}/alerts/unsubscribe/{unsubscribe_token}" in text
    assert alert["Message-ID"]

    # Delivered once: running again sends nothing.
    assert alerts.deliver_pending(archive, settings, now=T0 + dt.timedelta(days=1)).messages_sent == 0
    assert len(smtp.messages) == 2

    # The unsubscribe link works once; afterwards nothing is sent.
    [ended] = alerts.unsubscribe(archive, unsubscribe_token, allow_address=False)
    assert ended.status == "unsubscribed"
    with pytest.raises(alerts.AddressError):
        alerts.unsubscribe(archive, unsubscribe_token, allow_address=False)
    add_event(archive)
    assert alerts.deliver_pending(archive, settings, now=T0 + dt.timedelta(days=2)).messages_sent == 0
    assert len(smtp.messages) == 2


def test_unsubscribe_cancels_what_is_owed(archive, smtp):
    settings = settings_for(smtp)
    sub = subscribe_and_confirm(archive, settings, smtp, digest="weekly")
    add_event(archive)
    alerts.enqueue_new_events(archive, now=T0)
    alerts.unsubscribe(archive, "reader@example.org")
    assert [d["status"] for d in alerts.deliveries(archive)] == ["cancelled"]
    assert alerts.deliver_pending(archive, settings, now=T0 + dt.timedelta(days=8)).messages_sent == 0
    assert len(smtp.to("reader@example.org")) == 1  # the confirmation only
    assert sub.id


def test_daily_digest_gathers_the_day(archive, smtp):
    settings = settings_for(smtp)
    subscribe_and_confirm(archive, settings, smtp, digest="daily", keywords=["BEDS"])
    add_event(archive, title="Plan one")
    add_event(archive, title="Plan two", summary="Community hospital closure", added=["Two community beds close"])
    add_event(archive, title="Plan three", summary="Nothing relevant", added=["parking"], removed=["signage"])

    report = alerts.deliver_pending(archive, settings, now=T0)
    assert report.enqueued == 2 and report.messages_sent == 0  # the day is not over
    assert alerts.deliver_pending(archive, settings, now=T0 + dt.timedelta(hours=13)).messages_sent == 0

    report = alerts.deliver_pending(archive, settings, now=T0 + dt.timedelta(hours=14, seconds=1))
    assert (report.messages_sent, report.events_sent) == (1, 2)
    digest = smtp.to("reader@example.org")[-1]
    assert "daily digest, 2026-05-04: 2 changes" in digest["Subject"]
    text = body_text(digest)
    assert "Plan one" in text and "Plan two" in text and "Plan three" not in text
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert alerts.deliver_pending(archive, settings, now=T0 + dt.timedelta(days=3)).messages_sent == 0
    assert len(smtp.to("reader@example.org")) == 2


def test_hostile_text_is_escaped(archive, smtp):
    settings = settings_for(smtp)
    subscribe_and_confirm(archive, settings, smtp)
    hostile = "<script>alert(1)</script> {{ 7*7 }} {% raw %}"
    add_event(archive, title=hostile, summary=f"Summary {hostile}", added=[f"Added {hostile}"])
    assert alerts.deliver_pending(archive, settings, now=T0).messages_sent == 1
    alert = smtp.to("reader@example.org")[-1]
    html, text = body_text(alert, "html"), body_text(alert)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} {% raw %}" in html
    assert "Summary &lt;script&gt;" in html and "Added &lt;script&gt;" in html
    assert hostile in text  # plain text is not HTML: shown as written, never evaluated
    assert "{{ 7*7 }}" in alert["Subject"]
    assert not re.search(r"\b49\b", text.replace(alert["List-Unsubscribe"], ""))


def test_smtp_failure_is_recorded_and_retried(archive, tmp_path):
    with smtp_server() as smtp:
        settings = settings_for(smtp)
        subscribe_and_confirm(archive, settings, smtp)
    add_event(archive)  # the SMTP server is gone
    report = alerts.deliver_pending(archive, settings, now=T0)
    [failure] = report.failures
    assert f"SMTP server 127.0.0.1:{settings.smtp_port}" in failure.error
    [row] = alerts.deliveries(archive, failed=True)
    assert row["attempts"] == 1 and row["status"] == "pending"
    assert "password" not in failure.error.lower()
