"""Webhooks to a real HTTP receiver: signatures, retries with backoff, crash recovery, and the SSRF guard."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import requests

import alerts
from alerts import netguard
from storage import Archive
from storage.outbox import Outbox
from storage.eventjson import event_json

try:
    from smtpserver import WebhookReceiver, add_event, free_port
except ImportError:  # tests/ imported as a package
    from tests.smtpserver import WebhookReceiver, add_event, free_port

T0 = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.timezone.utc)
ALLOW = alerts.AlertSettings(allow_private_targets=True, http_timeout=5)
DENY = alerts.AlertSettings(allow_private_targets=False, http_timeout=5)


@pytest.fixture
def archive(tmp_path):
    with Archive(tmp_path / "home") as opened:
        yield opened


def test_webhook_body_is_the_event_json_signed(archive):
    with WebhookReceiver() as receiver:
        result = alerts.subscribe(archive, ALLOW, receiver.url, kinds=["revised"])
        assert result.subscription.status == "active" and result.secret
        receiver.secret = result.secret
        event = add_event(archive)
        add_event(archive, kind="published")  # filtered out
        report = alerts.deliver_pending(archive, ALLOW, now=T0)
    assert report.messages_sent == 1 and report.ok
    [request] = receiver.requests
    assert request["signature_ok"]
    assert request["json"] == json.loads(json.dumps(event_json(archive, event)))
    headers = request["headers"]
    assert headers["X-STP-Event"] == "revised"
    assert headers["X-STP-Delivery"].startswith("stp-tracker.delivery.")
    assert headers["X-STP-Signature"].startswith("sha256=")
    # A receiver holding another secret, or a tampered body, does not verify.
    ids = {"delivery": headers["X-STP-Delivery"], "event": headers["X-STP-Event"]}
    assert alerts.verify(result.secret, headers["X-STP-Timestamp"], request["body"], headers["X-STP-Signature"],
                         tolerance=None, **ids)
    assert not alerts.verify("another secret", headers["X-STP-Timestamp"], request["body"],
                             headers["X-STP-Signature"], tolerance=None, **ids)
    assert not alerts.verify(result.secret, headers["X-STP-Timestamp"], request["body"] + b" ",
                             headers["X-STP-Signature"], tolerance=None, **ids)
    assert not alerts.verify(result.secret, headers["X-STP-Timestamp"], request["body"], headers["X-STP-Signature"],
                             now=time.time() + 3600, **ids)  # a replay an hour later is stale


def test_failing_receiver_recovers_and_every_message_arrives_once(archive):
    with WebhookReceiver(fail_first=3) as receiver:
        receiver.secret = alerts.subscribe(archive, ALLOW, receiver.url).secret
        first, second = add_event(archive, title="Plan one"), add_event(archive, title="Plan two")
        now = T0
        report = alerts.deliver_pending(archive, ALLOW, now=now)
        assert report.messages_sent == 0 and len(report.failures) == 1
        assert "answered HTTP 500" in report.failures[0].error
        # Before the backoff has passed, nothing is tried.
        assert alerts.deliver_pending(archive, ALLOW, now=now + dt.timedelta(seconds=30)).failures == []
        assert len(receiver.requests) == 1
        reports = [report]
        for _ in range(10):
            if not report.failures:
                break
            now = dt.datetime.fromisoformat(report.failures[0].next_attempt_at)
            report = alerts.deliver_pending(archive, ALLOW, now=now)
            reports.append(report)
        assert [len(r.failures) for r in reports] == [1, 1, 1, 0]
        assert [r.failures[0].attempts for r in reports[:3]] == [1, 2, 3]
        gaps = [dt.datetime.fromisoformat(r.failures[0].next_attempt_at) for r in reports[:3]]
        assert gaps[1] - gaps[0] < gaps[2] - gaps[1]  # exponential backoff
        assert reports[2].failing and reports[2].failing[0].pending == 2  # reported, messages kept
        assert reports[3].messages_sent == 2 and reports[3].failing == []
        # Later runs send nothing again.
        for days in (1, 2):
            assert alerts.deliver_pending(archive, ALLOW, now=now + dt.timedelta(days=days)).messages_sent == 0
    assert len(receiver.requests) == 5
    assert sorted(r["json"]["id"] for r in receiver.accepted) == [first.id, second.id]
    assert all(r["signature_ok"] for r in receiver.requests)
    rows = {d["event_id"]: d for d in alerts.deliveries(archive)}
    assert rows[first.id]["attempts"] == 4 and rows[first.id]["status"] == "sent"
    assert rows[second.id]["attempts"] == 1 and rows[second.id]["status"] == "sent"
    assert [s.consecutive_failures for s in alerts.subscriptions(archive)] == [0]


def test_a_crash_mid_send_is_resent_after_the_lease(archive):
    with WebhookReceiver() as receiver:
        alerts.subscribe(archive, ALLOW, receiver.url)
        add_event(archive)
        assert alerts.enqueue_new_events(archive, now=T0) == 1
        assert alerts.enqueue_new_events(archive, now=T0) == 0  # each pair once
        outbox = Outbox(archive)
        [due] = outbox.due("2026-05-04T10:00:00+00:00")
        outbox.claim([due["id"]], "2026-05-04T10:00:00+00:00")  # marked sending, then the process "died"
        assert alerts.deliver_pending(archive, ALLOW, now=T0 + dt.timedelta(minutes=5)).messages_sent == 0
        report = alerts.deliver_pending(archive, ALLOW, now=T0 + dt.timedelta(minutes=20))
    assert report.interrupted == 1 and report.messages_sent == 1
    assert len(receiver.requests) == 1
    [row] = alerts.deliveries(archive)
    assert row["status"] == "sent" and row["attempts"] == 2


def test_redirects_are_not_followed(archive):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import threading

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.send_response(307)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        alerts.subscribe(archive, ALLOW, f"http://127.0.0.1:{server.server_address[1]}/hook")
        add_event(archive)
        report = alerts.deliver_pending(archive, ALLOW, now=T0)
    finally:
        server.shutdown()
        server.server_close()
    [failure] = report.failures
    assert "HTTP 307" in failure.error and "not followed" in failure.error


PRIVATE_URLS = ["http://127.0.0.1/hook", "https://127.0.0.1:8443/x", "http://10.0.0.1/", "http://[::1]/",
                "https://[::ffff:127.0.0.1]/", "http://169.254.169.254/latest/meta-data/", "https://192.168.1.1/",
                "json://127.0.0.1:9/", "json://localhost/"]


@pytest.mark.parametrize("url", PRIVATE_URLS + ["http://localhost:{port}/hook"])
def test_private_targets_refused_at_subscribe(archive, url):
    url = url.replace("{port}", str(free_port()))
    with pytest.raises(alerts.AddressError, match="refused"):
        alerts.subscribe(archive, DENY, url)
    assert alerts.subscriptions(archive) == []


def test_plain_http_needs_the_allowance(archive):
    assert not netguard.is_forbidden("93.184.215.14")
    channel = alerts.WebhookChannel(DENY)
    with pytest.raises(alerts.AddressError, match="https://"):
        channel.check("http://93.184.215.14/hook")  # public, but not https
    channel.check("https://93.184.215.14/hook")


def test_private_targets_refused_at_delivery(archive):
    with WebhookReceiver() as receiver:
        for url in (receiver.url, f"http://localhost:{receiver.port}/hook", "http://10.0.0.1/",
                    "http://169.254.169.254/", "http://[::1]/", f"json://localhost:{receiver.port}/"):
            alerts.subscribe(archive, ALLOW, url)  # allowed when subscribed
        add_event(archive)
        report = alerts.deliver_pending(archive, DENY, now=T0)  # the allowance was withdrawn since
    assert receiver.requests == []  # refused before any connection
    assert len(report.failures) == 6 and report.messages_sent == 0
    assert all("refused" in f.error and "private" in f.error for f in report.failures)
    # The messages are kept: allowing private targets again delivers them.
    assert all(d["status"] == "pending" for d in alerts.deliveries(archive))


def test_connection_guard_checks_every_resolution():
    port = free_port()
    with netguard.guarded_connections(allow_private=False):
        with pytest.raises(requests.ConnectionError, match="refused: localhost resolves to"):
            requests.get(f"http://localhost:{port}/", timeout=2)
    with pytest.raises(requests.ConnectionError, match="(?i)refused"):  # outside the guard: a plain closed port
        requests.get(f"http://127.0.0.1:{port}/", timeout=2)


def test_errors_do_not_show_the_secret_path(archive):
    alerts.subscribe(archive, ALLOW, f"http://127.0.0.1:{free_port()}/hook/s3cr3t-t0ken?key=abc123")
    add_event(archive)
    [failure] = alerts.deliver_pending(archive, ALLOW, now=T0).failures
    assert "ConnectionError" in failure.error
    assert "s3cr3t" not in failure.error and "abc123" not in failure.error
    assert "s3cr3t" not in json.dumps(alerts.deliveries(archive)) + json.dumps(
        [s.public() for s in alerts.subscriptions(archive)])
