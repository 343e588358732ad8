"""Subscriptions: who wants which events, double opt-in for email, single-use tokens to confirm and unsubscribe."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from storage import ALERT_KINDS, GENERATIONS, Archive, Outbox, unknown_choice

from .channels import AddressError, SendError, channel_class, channel_for
from .render import describe_filters_safely, event_text_fields, render_confirmation
from .settings import AlertSettings

log = logging.getLogger("stp_tracker.alerts")

MODES = ("immediate", "daily", "weekly")
CONFIRM_DAYS = 7
MAX_FILTER_VALUES = 100
MAX_FILTER_CHARS = 200


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def now_utc(now: dt.datetime | None = None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)


def new_token() -> str:
    """A secret token for a link or a command line: 256 random bits, URL-safe, never starting with "-" (the
    confirmation email says `stp-tracker confirm TOKEN`, and a leading "-" would be read as an option)."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


@dataclass
class Subscription:
    """One address and what it wants (empty filter lists match everything)."""

    id: int
    address: str
    channel: str
    mode: str
    status: str  # pending (awaiting confirmation), active, unsubscribed
    footprints: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    generations: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    created_at: str | None = None
    confirmed_at: str | None = None
    unsubscribed_at: str | None = None
    consecutive_failures: int = 0
    failing_since: str | None = None
    last_error: str | None = None
    last_success_at: str | None = None
    pending: int = 0  # deliveries still owed
    secret: str | None = field(default=None, repr=False)
    unsubscribe_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Subscription:
        names = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in row.items() if key in names})

    def matches(self, event: dict[str, Any]) -> bool:
        """True if this event (its event_json) passes every filter that is set."""
        code = ((event.get("footprint") or {}).get("code") or "").upper()
        if self.footprints and code not in {f.upper() for f in self.footprints}:
            return False
        if self.kinds and (event.get("kind") or "").lower() not in {k.lower() for k in self.kinds}:
            return False
        if self.generations and (event.get("generation") or "").lower() not in {g.lower() for g in self.generations}:
            return False
        if self.keywords:
            haystack = "\n".join(event_text_fields(event)).casefold()
            if not any(word.casefold() in haystack for word in self.keywords):
                return False
        return True

    def public(self, redact: bool = True) -> dict[str, Any]:
        """The subscription as `subscriptions --json` shows it: no secret, no token, address redacted."""
        data = asdict(self)
        data.pop("secret")
        data.pop("unsubscribe_token")
        if redact:
            data["address"] = channel_class(self.channel)(AlertSettings()).redact(self.address)
        return data


@dataclass
class SubscribeResult:
    """What subscribe() did: the subscription, and for email whether the confirmation went out (and why not)."""

    subscription: Subscription
    created: bool
    confirmation_sent: bool = False
    error: str | None = None
    secret: str | None = field(default=None, repr=False)  # webhook signing secret, for the subscriber to keep


def _clean(values: list[str] | tuple[str, ...] | None, name: str) -> list[str]:
    cleaned: list[str] = []
    for value in values or []:
        value = " ".join(str(value).split())
        if not value:
            continue
        if len(value) > MAX_FILTER_CHARS:
            raise AddressError(f"{name} filter longer than {MAX_FILTER_CHARS} characters: {value[:40]}…")
        if value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > MAX_FILTER_VALUES:
        raise AddressError(f"more than {MAX_FILTER_VALUES} {name} filters")
    return cleaned


def subscribe(archive: Archive, settings: AlertSettings, address: str, *, footprints: list[str] | None = None,
              kinds: list[str] | None = None, generations: list[str] | None = None,
              keywords: list[str] | None = None, digest: str | None = None,
              now: dt.datetime | None = None) -> SubscribeResult:
    """Subscribe an address. Email gets a confirmation message and nothing else until confirmed; webhook and
    apprise subscriptions are active at once (webhooks get a signing secret). AddressError if refused."""
    mode = (digest or "immediate").lower()
    if mode not in MODES:
        raise AddressError(f"digest must be daily or weekly, not {digest!r}")
    for name, values, valid in (("kind", kinds, ALERT_KINDS), ("generation", generations, GENERATIONS)):
        refused = unknown_choice(name, [" ".join(str(v).split()) for v in values or []], valid)
        if refused:  # stored as typed, it would never match an event
            raise AddressError(refused)
    channel = channel_for(address, settings)
    address = channel.normalise(address)
    channel.check(address)
    wanted = {
        "footprints": [f.upper() for f in _clean(footprints, "footprint")],
        "kinds": [k.lower() for k in _clean(kinds, "kind")],
        "generations": [g.lower() for g in _clean(generations, "generation")],
        "keywords": _clean(keywords, "keyword"),
    }
    outbox = Outbox(archive)
    moment = now_utc(now)
    existing = next(
        (row for row in outbox.subscriptions(address=address)
         if row["status"] in ("pending", "active") and row["mode"] == mode
         and all(row[key] == value for key, value in wanted.items())),
        None,
    )
    if existing and existing["status"] == "active":
        return SubscribeResult(Subscription.from_row(existing), created=False, secret=existing["secret"])
    confirm_token = new_token() if channel.needs_confirmation else None
    confirm_fields = {
        "confirm_token_sha256": token_hash(confirm_token) if confirm_token else None,
        "confirm_expires_at": _iso(moment + dt.timedelta(days=CONFIRM_DAYS)) if confirm_token else None,
    }
    if existing:  # still awaiting confirmation: a fresh token, the old one stops working
        outbox.update_subscription(existing["id"], **confirm_fields)
        subscription_id, created = existing["id"], False
    else:
        subscription_id = outbox.add_subscription(
            address=address, channel=channel.kind, mode=mode,
            status="pending" if channel.needs_confirmation else "active",
            secret=secrets.token_urlsafe(32) if channel.kind == "webhook" else None,
            unsubscribe_token=new_token(), created_at=_iso(moment),
            confirmed_at=None if channel.needs_confirmation else _iso(moment), **wanted, **confirm_fields,
        )
        created = True
    subscription = Subscription.from_row(outbox.subscription(subscription_id))
    result = SubscribeResult(subscription, created=created, secret=subscription.secret)
    log.info("subscription %s for %s (%s, %s)", subscription.id, channel.redact(address), channel.kind, mode)
    if confirm_token:
        message = render_confirmation(
            address, confirm_token, settings.base_url, unsubscribe_url=unsubscribe_url(settings, subscription),
            filters=describe_filters_safely(subscription), mode=mode, ref=f"stp-tracker.confirm.{subscription.id}."
            f"{token_hash(confirm_token)[:12]}",
        )
        try:
            channel.send(address, message)
            result.confirmation_sent = True
        except SendError as exc:
            result.error = f"the confirmation email was not sent: {exc}; run the same subscribe command to try again"
            log.warning("subscription %s: %s", subscription.id, result.error)
    return result


def unsubscribe_url(settings: AlertSettings, subscription: Subscription) -> str | None:
    if not subscription.unsubscribe_token:
        return None
    return f"{settings.link_base}/alerts/unsubscribe/{subscription.unsubscribe_token}"


def confirm(archive: Archive, token: str, now: dt.datetime | None = None) -> Subscription:
    """Activate the subscription this confirmation token belongs to (single use); AddressError if unknown or expired."""
    outbox = Outbox(archive)
    row = outbox.subscription_by_confirm_hash(token_hash(token)) if token and token.strip() else None
    if row is None or row["status"] != "pending":
        raise AddressError("unknown or already used confirmation token: subscribe again to get a new one")
    moment = now_utc(now)
    if row["confirm_expires_at"] and row["confirm_expires_at"] < _iso(moment):
        raise AddressError("this confirmation token has expired: subscribe again to get a new one")
    outbox.update_subscription(row["id"], status="active", confirmed_at=_iso(moment), confirm_token_sha256=None,
                               confirm_expires_at=None)
    log.info("subscription %s confirmed", row["id"])
    return Subscription.from_row(outbox.subscription(row["id"]))


def unsubscribe(archive: Archive, token_or_address: str, settings: AlertSettings | None = None,
                now: dt.datetime | None = None, allow_address: bool = True) -> list[Subscription]:
    """End the subscription this unsubscribe token belongs to (single use), or every subscription of an address.
    What they were still owed is cancelled. AddressError if nothing matches. A web endpoint passes
    `allow_address=False`, so that only the holder of a token can unsubscribe."""
    outbox = Outbox(archive)
    value = (token_or_address or "").strip()
    rows = []
    if value:
        found = outbox.subscription_by_unsubscribe_token(value)
        if found is not None:
            rows = [found]
        elif allow_address:
            try:
                address = channel_for(value, settings).normalise(value)
            except AddressError:
                address = value
            rows = [r for r in outbox.subscriptions(address=address) if r["status"] != "unsubscribed"]
    if not rows:
        raise AddressError("no subscription with this address or unsubscribe token (a token works once)")
    ended = []
    for row in rows:
        cancelled = outbox.end_subscription(row["id"], _iso(now_utc(now)))
        log.info("subscription %s unsubscribed (%s pending deliveries cancelled)", row["id"], cancelled)
        ended.append(Subscription.from_row(outbox.subscription(row["id"])))
    return ended


def subscriptions(archive: Archive, status: str | None = None) -> list[Subscription]:
    return [Subscription.from_row(row) for row in Outbox(archive).subscriptions(status=status)]
