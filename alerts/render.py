"""Messages people read: events, digests and confirmations rendered from alerts/templates/ in a Jinja2 sandbox."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

TEMPLATES = Path(__file__).with_name("templates")
KIND_LABELS = {
    "leaked": "Leaked draft",
    "published": "Published",
    "revised": "Revised",
    "replaced": "Replaced",
    "withdrawn": "Withdrawn",
    "reinstated": "Reinstated",
    "moved": "Moved",
    "baseline": "First seen",
}
MAX_FIGURES = 20
MAX_EXCERPTS = 5
MAX_EXCERPT_CHARS = 400
MAX_PLAN_EXCERPT = 600
EXCERPT_KINDS = ("leaked", "published", "replaced", "reinstated")
MAX_DIGEST_EVENTS = 200
MAX_SUBJECT_CHARS = 180


@dataclass
class Message:
    """One message ready for any channel: subject, text and HTML bodies, and the JSON a webhook receives."""

    subject: str
    text: str
    html: str
    payload: Any  # the webhook body: event_json for one event, {"digest": ..., "events": [...]} for a digest
    ref: str  # stable id of this message (X-STP-Delivery, Message-ID): the same on a resend
    kind: str  # event kind, "digest", "confirmation" or "test"
    unsubscribe_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    """The sandbox: templates cannot reach Python internals; *.html.j2 escape everything they print."""
    return SandboxedEnvironment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(name: str, context: dict[str, Any]) -> str:
    return environment().get_template(name).render(**context)


def one_line(text: str | None, limit: int = MAX_SUBJECT_CHARS) -> str:
    """Text made safe for a header or a title: one line, no control characters, capped."""
    flat = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", text or "")
    flat = re.sub(r"\s+", " ", flat).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _excerpts(items: Any) -> list[str]:
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if value.strip():
                found.append(value)
        elif isinstance(value, dict):
            for key in ("text", "context", "after", "before"):
                if key in value:
                    walk(value[key])
                    return
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(items)
    return [one_line(text, MAX_EXCERPT_CHARS) for text in found[:MAX_EXCERPTS]]


def in_words(value: str | None) -> str:
    """An ISO timestamp as a person reads it: "1 March 2025, 14:05 UTC"."""
    import datetime as dt

    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if len(str(value)) <= 10:
        return f"{moment.day} {moment:%B %Y}"
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return f"{moment.day} {moment:%B %Y}, {moment:%H:%M} UTC"


def marked(text: str, needles: list[str]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_changed) so that templates can highlight the changed figures inside a passage
    (word-level, not the whole sentence): every occurrence of a needle is marked."""
    wanted = sorted({n for n in needles if n and len(n) <= 200}, key=len, reverse=True)
    if not wanted:
        return [(text, False)]
    pattern = re.compile("|".join(re.escape(n) for n in wanted))
    out: list[tuple[str, bool]] = []
    pos = 0
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append((text[pos:m.start()], False))
        out.append((m.group(0), True))
        pos = m.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def _figures(items: Any) -> list[dict[str, str]]:
    figures = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            figures.append({key: one_line(str(item.get(key) or ""), 200) for key in ("before", "after", "context")})
        else:
            figures.append({"before": "", "after": one_line(str(item), 200), "context": ""})
    return figures


def event_text_fields(event: dict[str, Any]) -> list[str]:
    """The texts keywords are matched against: title, summary, and the added and removed text."""
    changes = event.get("changes") or {}
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(changes.get("added"))
    walk(changes.get("removed"))
    return [(event.get("document") or {}).get("title") or "", event.get("summary") or "", *found]


def event_view(event: dict[str, Any], base_url: str, excerpt: str | None = None) -> dict[str, Any]:
    """What the templates show about one event (from its event_json); `excerpt`, the plan's opening text, is
    shown for leaked, published and replaced plans (what the plan says, not only that it exists)."""
    base = base_url.rstrip("/")
    changes = event.get("changes") or {}
    versions = event.get("versions") or {}
    before, after = versions.get("before"), versions.get("after")
    footprint = event.get("footprint") or {}
    code, name = footprint.get("code"), footprint.get("name")
    title = one_line((event.get("document") or {}).get("title") or f"document {(event.get('document') or {}).get('id')}",
                     300)
    figures = _figures(changes.get("figures"))
    label = KIND_LABELS.get(event.get("kind") or "", (event.get("kind") or "event").capitalize())
    return {
        "id": event.get("id"),
        "kind": event.get("kind"),
        "headline": one_line(f"{label}: {title}", 300),
        "title": title,
        "footprint_label": (f"{code} ({name})" if name else code) if code else "unknown footprint",
        "footprint_code": code,
        "generation": event.get("generation"),
        "detected_at": event.get("detected_at"),
        "detected_words": in_words(event.get("detected_at")),
        "official": event.get("official"),
        "summary": event.get("summary") or "",
        "figures": figures[:MAX_FIGURES],
        "more_figures": max(0, len(figures) - MAX_FIGURES),
        "added": [marked(t, [f["after"] for f in figures]) for t in _excerpts(changes.get("added"))],
        "removed": [marked(t, [f["before"] for f in figures]) for t in _excerpts(changes.get("removed"))],
        "excerpt": one_line(excerpt, MAX_PLAN_EXCERPT) if excerpt and event.get("kind") in EXCERPT_KINDS else None,
        "version_url": f"{base}/versions/{int(after or before)}" if (after or before) else None,
        "diff_url": f"{base}/diff/{int(before)}/{int(after)}" if before and after else None,
        "url": event.get("url") if str(event.get("url") or "").startswith(("http://", "https://")) else None,
    }


def describe_filters(subscription: Any) -> str:
    parts = []
    for label, values in (("footprints", subscription.footprints), ("kinds", subscription.kinds),
                          ("generations", subscription.generations), ("keywords", subscription.keywords)):
        if values:
            parts.append(f"{label} {', '.join(values)}")
    return "; ".join(parts) if parts else "every change"


_CODE = re.compile(r"^[A-Z0-9]{2,8}$")
_GENERATION = re.compile(r"^[0-9]{4}-[a-z-]{2,40}$")


def describe_filters_safely(subscription: Any) -> str:
    """The filters as the confirmation email states them: only values from fixed vocabularies (footprint codes,
    event kinds, generations); free text the requester typed (keywords, anything else) is counted, never shown,
    because the confirmation goes to an address that may not have asked for it (a phishing link in a keyword)."""
    parts, withheld = [], 0
    for label, values, allowed in (("footprints", subscription.footprints, _CODE.match),
                                   ("kinds", subscription.kinds, KIND_LABELS.__contains__),
                                   ("generations", subscription.generations, _GENERATION.match),
                                   ("keywords", subscription.keywords, lambda value: False)):
        shown = [v for v in values if allowed(v)]
        withheld += len(values) - len(shown)
        if shown:
            parts.append(f"{label} {', '.join(shown)}")
    if withheld:
        parts.append(f"{withheld} more filter{'s' if withheld > 1 else ''} (keywords), shown once you confirm")
    return "; ".join(parts) if parts else "every change"


def event_subject(view: dict[str, Any]) -> str:
    code = view["footprint_code"]
    return one_line(f"[stp-tracker] {view['headline']}" + (f" ({code})" if code else ""))


def render_event(event: dict[str, Any], base_url: str, *, ref: str, unsubscribe_url: str | None = None,
                 filters: str = "", excerpt: str | None = None) -> Message:
    view = event_view(event, base_url, excerpt)
    subject = event_subject(view)
    context = {"e": view, "subject": subject, "unsubscribe_url": unsubscribe_url, "filters": filters}
    return Message(subject=subject, text=_render("event.txt.j2", context), html=_render("event.html.j2", context),
                   payload=event, ref=ref, kind=str(event.get("kind")), unsubscribe_url=unsubscribe_url)


def render_digest(events: list[dict[str, Any]], base_url: str, *, ref: str, period: str, period_label: str,
                  unsubscribe_url: str | None = None, filters: str = "") -> Message:
    shown = events[:MAX_DIGEST_EVENTS]
    views = [event_view(event, base_url) for event in shown]
    count = len(events)
    subject = one_line(f"[stp-tracker] {period} digest, {period_label}: {count} change{'' if count == 1 else 's'}")
    context = {"events": views, "subject": subject, "period": period, "period_label": period_label,
               "omitted": count - len(shown), "feed_url": f"{base_url.rstrip('/')}/feed.atom",
               "unsubscribe_url": unsubscribe_url, "filters": filters}
    payload = {"digest": {"period": period, "key": period_label, "count": count}, "events": events}
    return Message(subject=subject, text=_render("digest.txt.j2", context), html=_render("digest.html.j2", context),
                   payload=payload, ref=ref, kind="digest", unsubscribe_url=unsubscribe_url)


def render_confirmation(address: str, token: str, base_url: str, *, unsubscribe_url: str, filters: str,
                        mode: str, ref: str) -> Message:
    base = base_url.rstrip("/")
    subject = "[stp-tracker] Confirm your alert subscription"
    context = {"address": address, "token": token, "confirm_url": f"{base}/alerts/confirm/{token}",
               "unsubscribe_url": unsubscribe_url, "filters": filters, "mode": mode, "subject": subject}
    return Message(subject=subject, text=_render("confirm.txt.j2", context), html=_render("confirm.html.j2", context),
                   payload={"confirm": True}, ref=ref, kind="confirmation", unsubscribe_url=unsubscribe_url)
