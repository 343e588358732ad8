"""Webhook signatures: HMAC-SHA256 over the timestamp, the delivery id, the event header and the raw body.

Signed string: `<X-STP-Timestamp>.<X-STP-Delivery>.<X-STP-Event>.<raw body>`, with the subscription's secret. A
receiver verifies a POST like this (Python; any language with HMAC-SHA256 works the same way):

    ts, delivery, event = (request.headers[h] for h in ("X-STP-Timestamp", "X-STP-Delivery", "X-STP-Event"))
    signed = f"{ts}.{delivery}.{event}.".encode() + raw_body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, request.headers["X-STP-Signature"])
    fresh = abs(time.time() - int(ts)) < 300                  # refuse replays of old messages
    new = delivery not in seen_deliveries                     # at-least-once: drop the rare duplicate

Because the delivery id is signed, a message replayed under another `X-STP-Delivery` fails the check instead of
passing the receiver's de-duplication; the event ids are in the signed body.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-STP-Signature"
TIMESTAMP_HEADER = "X-STP-Timestamp"
DELIVERY_HEADER = "X-STP-Delivery"
EVENT_HEADER = "X-STP-Event"


def _signed(timestamp: int | str, delivery: str, event: str, body: bytes) -> bytes:
    return f"{timestamp}.{delivery}.{event}.".encode("utf-8") + body


def sign(secret: str, timestamp: int | str, body: bytes, *, delivery: str, event: str) -> str:
    """The X-STP-Signature value for this body, sent at this time under this delivery id and event header."""
    mac = hmac.new(secret.encode("utf-8"), _signed(timestamp, delivery, event, body), hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, delivery: str, event: str,
           tolerance: int | None = 300, now: float | None = None) -> bool:
    """True if `signature` signs this body, timestamp, delivery id and event header, and (unless tolerance is None)
    the timestamp is recent."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if tolerance is not None and abs((time.time() if now is None else now) - sent_at) > tolerance:
        return False
    expected = sign(secret, timestamp, body, delivery=delivery or "", event=event or "")
    return hmac.compare_digest(expected, signature or "")


def verify_headers(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int | None = 300,
                   now: float | None = None) -> bool:
    """`verify` with the values read from a request's headers (names matched without regard to case)."""
    lower = {k.lower(): v for k, v in headers.items()}
    return verify(secret, lower.get(TIMESTAMP_HEADER.lower(), ""), body, lower.get(SIGNATURE_HEADER.lower(), ""),
                  delivery=lower.get(DELIVERY_HEADER.lower(), ""), event=lower.get(EVENT_HEADER.lower(), ""),
                  tolerance=tolerance, now=now)
