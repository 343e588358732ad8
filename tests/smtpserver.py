"""Real servers on 127.0.0.1 for the alerts tests: an SMTP server (aiosmtpd) and an HTTP webhook receiver."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from contextlib import contextmanager
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

from aiosmtpd.controller import Controller

from alerts import signing
from storage import Archive, Event


def free_port() -> int:
    """A port nobody listens on right now (aiosmtpd's controller cannot take port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Collector:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        message.raw_bytes = raw  # as sent: headers before any decoding
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


class SMTPServer:
    """A real SMTP server; `messages` holds (recipients, parsed EmailMessage) in arrival order."""

    def __init__(self) -> None:
        self.port = free_port()
        self.collector = _Collector()
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return [message for _, message in self.collector.messages]

    def to(self, address: str) -> list[EmailMessage]:
        return [message for rcpts, message in self.collector.messages if address in rcpts]

    def start(self) -> SMTPServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@contextmanager
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    try:
        yield server
    finally:
        server.stop()


def body_text(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return part.get_content()


class WebhookReceiver:
    """An HTTP server that records each POST, checks its signature, and answers 500 to the first `fail_first`."""

    def __init__(self, fail_first: int = 0, status: int = 500) -> None:
        self.secret: str | None = None
        self.fail_first = fail_first
        self.status = status
        self.requests: list[dict[str, Any]] = []  # every POST, failed or not
        self.accepted: list[dict[str, Any]] = []  # those answered 2xx
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                record = {
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": body,
                    "json": json.loads(body),
                    "signature_ok": receiver.secret is not None and signing.verify_headers(
                        receiver.secret, dict(self.headers.items()), body, tolerance=None),
                }
                receiver.requests.append(record)
                if len(receiver.requests) <= receiver.fail_first:
                    self.send_response(receiver.status)
                    self.end_headers()
                    self.wfile.write(b"receiver is down for maintenance")
                    return
                receiver.accepted.append(record)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook/secret-path"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def add_event(archive: Archive, *, title: str = "South Yorkshire and Bassetlaw STP", kind: str = "revised",
              footprint: str | None = "QF7", generation: str | None = "2016-stp",
              summary: str = "Acute bed reduction changed from 180 to 320", added: list[str] | None = None,
              removed: list[str] | None = None, alert: bool = True, historical: bool = False,
              detected_at: str = "2026-05-04T09:00:00+00:00") -> Event:
    """A document and one event about it, as the tracker would record them."""
    with archive.transaction():
        document_id = archive.create_document(title=title, kind="plan", footprint=footprint, generation=generation,
                                              draft=False, seen_at=detected_at, source="test-source")
        event = Event(kind=kind, document_id=document_id, summary=summary, footprint=footprint, generation=generation,
                      url="https://www.example.org/plans/stp.pdf", source="test-source", official=True,
                      detected_at=detected_at,
                      changes={"figures": [{"before": "180", "after": "320", "context": "acute beds"}],
                               "added": added or ["The acute bed base will reduce by 320 beds."],
                               "removed": removed or ["The acute bed base will reduce by 180 beds."]},
                      version_before=11, version_after=12, alert=alert, historical=historical)
        archive.record_event(event)
    return event
