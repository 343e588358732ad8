"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<raw body>" with the subscription's secret.

A receiver verifies a POST like this (Python; any language with HMAC-SHA256 works the same way):

    timestamp = request.headers["X-STP-Timestamp"]            # Unix seconds, as sent
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body,
                                    hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, request.headers["X-STP-Signature"])
    fresh = abs(time.time() - int(timestamp)) < 300           # refuse replays of old messages

`X-STP-Delivery` names the message: delivery is at-least-once, so a receiver that must not act twice keeps the
ids it has seen.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-STP-Signature"
TIMESTAMP_HEADER = "X-STP-Timestamp"
DELIVERY_HEADER = "X-STP-Delivery"
EVENT_HEADER = "X-STP-Event"


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The X-STP-Signature value for this body sent at this time."""
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: int | None = 300,
           now: float | None = None) -> bool:
    """True if `signature` is this body's signature and (unless tolerance is None) the timestamp is recent."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if tolerance is not None and abs((time.time() if now is None else now) - sent_at) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")
