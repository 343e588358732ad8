"""A plan's life as something to look at: its timeline, its state, figures across versions, captures by month.

Charts are server-rendered SVG (no script): every piece of text in them is escaped, and every number comes from
the archive's own events and versions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

from markupsafe import Markup, escape

LIFE_KINDS = ("leaked", "published", "revised", "replaced", "withdrawn", "reinstated")
KIND_COLOURS = {"leaked": "#d9822b", "published": "#2e8540", "revised": "#005eb8", "replaced": "#7b3fb5",
                "withdrawn": "#c0392b", "reinstated": "#1f8a80", "moved": "#777777"}
_VALUE = re.compile(r"(?P<sign>[-−])?(?P<cur>[£$€])?\s?(?P<num>\d[\d,]*(?:\.\d+)?)\s?(?P<unit>bn|billion|m|million|k|%|"
                    r"[A-Za-z][A-Za-z ]{0,20})?", re.I)
_SCALE = {"bn": 1e9, "billion": 1e9, "m": 1e6, "million": 1e6, "k": 1e3}


def timeline(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The document's events that tell its life (leaked ... reinstated, and moves), oldest first."""
    rows = [e for e in events if e["kind"] in LIFE_KINDS or e["kind"] == "moved"]
    return sorted(rows, key=lambda e: (e["detected_at"] or "", e["id"]))


def state(doc: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the plan stands now, from its latest event (the kind follows the latest official state)."""
    life = [e for e in timeline(events) if e["kind"] in LIFE_KINDS]
    meta = doc.get("meta") or {}
    if doc.get("status") == "withdrawn" or (life and life[-1]["kind"] == "withdrawn"):
        label, tone = "withdrawn", "withdrawn"
    elif meta.get("replaced_by"):
        label, tone = "replaced by a newer plan", "replaced"
    else:
        official = [e for e in life if e["kind"] in ("published", "replaced", "revised", "reinstated") and e["official"]]
        if official:
            label, tone = ("revised since publication" if official[-1]["kind"] == "revised" else "published"), "published"
        elif any(e["kind"] == "leaked" for e in life) or doc.get("draft"):
            label, tone = "draft (leaked or unofficial; no official copy seen)", "leaked"
        else:
            label, tone = ("draft" if doc.get("draft") else "seen"), "muted"
    leaked = [e["versions"]["after"] for e in life if e["kind"] == "leaked" and e["versions"]["after"]]
    replaces = [e["changes"]["replaces"] for e in life if isinstance((e.get("changes") or {}).get("replaces"), dict)]
    return {"label": label, "tone": tone, "leaked_versions": leaked, "replaces": replaces,
            "replaced_by": meta.get("replaced_by")}


def version_roles(events: list[dict[str, Any]]) -> dict[int, list[str]]:
    """Version id -> what it was ("leaked", "published", "revised"...), from the events that name it."""
    roles: dict[int, list[str]] = defaultdict(list)
    for e in timeline(events):
        vid = e["versions"]["after"]
        if vid and e["kind"] in LIFE_KINDS and e["kind"] not in roles[vid]:
            roles[vid].append(e["kind"])
    return dict(roles)


def parse_value(raw: str | None) -> tuple[float, str] | None:
    """A figure's number and unit ("£571m" -> (571e6, "£"), "320 beds" -> (320, "beds")); None if it has none."""
    if not raw:
        return None
    m = _VALUE.search(raw)
    if not m:
        return None
    try:
        value = float(m.group("num").replace(",", ""))
    except ValueError:
        return None
    unit = (m.group("unit") or "").strip().lower()
    value *= _SCALE.get(unit, 1.0)
    if m.group("sign"):
        value = -value
    label = m.group("cur") or ("%" if unit == "%" else ("" if unit in _SCALE else unit))
    return value, label


def figure_series(events: list[dict[str, Any]], versions: list[dict[str, Any]], limit: int = 6) -> list[dict]:
    """Figures that changed across versions, one series per measure: [{label, unit, points: [(date, value,
    raw, version_id)]}], most-changed first. Built from the events' changed figures, so each point is evidence."""
    seen_at = {v["id"]: (v["first_seen_at"] or "")[:10] for v in versions}
    series: dict[tuple[str, str], dict[int, tuple[float, str]]] = defaultdict(dict)
    for e in timeline(events):
        before_v, after_v = e["versions"]["before"], e["versions"]["after"]
        for f in (e.get("changes") or {}).get("figures") or []:
            old, new = parse_value(f.get("before")), parse_value(f.get("after"))
            if old is None or new is None or old[1] != new[1]:
                continue
            key = ((f.get("label") or f.get("context") or f.get("kind") or "figure")[:80], new[1])
            if before_v in seen_at:
                series[key].setdefault(before_v, (old[0], f["before"]))
            if after_v in seen_at:
                series[key][after_v] = (new[0], f["after"])
    out = []
    for (label, unit), points in series.items():
        rows = sorted((seen_at[v], value, raw, v) for v, (value, raw) in points.items())
        if len(rows) >= 2 and len({r[1] for r in rows}) >= 2:
            spread = max(r[1] for r in rows) - min(r[1] for r in rows)
            out.append({"label": label, "unit": unit, "points": rows, "spread": spread})
    out.sort(key=lambda s: (-len(s["points"]), s["label"]))
    return out[:limit]


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10])
    except (TypeError, ValueError):
        return None


def figure_chart(s: dict[str, Any], width: int = 360, height: int = 140) -> Markup:
    """One figure across versions as a small SVG line chart with its values written at each point."""
    pad_l, pad_r, pad_t, pad_b = 12, 12, 22, 28
    values = [p[1] for p in s["points"]]
    lo, hi = min(values), max(values)
    if hi == lo:
        hi = lo + 1
    n = len(s["points"])
    xs = [pad_l + (width - pad_l - pad_r) * (i / (n - 1) if n > 1 else 0.5) for i in range(n)]
    ys = [pad_t + (height - pad_t - pad_b) * (1 - (v - lo) / (hi - lo)) for v in values]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(s["label"])}: {escape(" → ".join(p[2] for p in s["points"]))}">',
             f'<title>{escape(s["label"])}</title>',
             f'<polyline fill="none" stroke="#005eb8" stroke-width="2" points="{line}"/>']
    for (day, _, raw, vid), x, y in zip(s["points"], xs, ys):
        anchor = "start" if x < width * 0.2 else ("end" if x > width * 0.8 else "middle")
        parts.append(f'<a href="/versions/{int(vid)}"><circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#005eb8">'
                     f'<title>{escape(raw)} (version {int(vid)}, {escape(day)})</title></circle></a>')
        parts.append(f'<text x="{x:.1f}" y="{max(12.0, y - 8):.1f}" text-anchor="{anchor}" font-size="12">{escape(raw)}</text>')
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}" font-size="11" fill="#5f6b7a">{escape(day)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def event_span(plans: list[dict[str, Any]]) -> tuple[dt.date, dt.date] | None:
    """The first and last event day across `plans` (so that several timelines share one time axis)."""
    days = [d for p in plans for e in p["events"] if (d := _date(e["detected_at"] or ""))]
    return (min(days), max(days)) if days else None


def timeline_chart(plans: list[dict[str, Any]], width: int = 720, row: int = 30,
                   span: tuple[dt.date, dt.date] | None = None) -> Markup:
    """Plans (rows) against time (x), a coloured marker per event: [{title, id, events: [event json]}]; `span`
    fixes the time axis (the footprint's whole history) so that generations line up one under another."""
    span = span or event_span(plans)
    if span is None or not any(p["events"] for p in plans):
        return Markup("")
    start, end = span
    span = max((end - start).days, 1)
    label_w, pad_r, top = 0, 16, 18
    height = top + row * len(plans) + 22
    inner = width - label_w - pad_r - 8

    def x_of(day: dt.date) -> float:
        return 8 + label_w + inner * (day - start).days / span

    parts = [f'<svg class="chart timeline" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="timeline of {len(plans)} plans from {start} to {end}">']
    for year in range(start.year, end.year + 1):
        day = max(start, dt.date(year, 1, 1))
        x = x_of(day)
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 18}" stroke="#d8dde4"/>'
                     f'<text x="{x:.1f}" y="{height - 6}" font-size="11" fill="#5f6b7a">{year}</text>')
    for i, plan in enumerate(plans):
        y = top + row * i + row / 2
        parts.append(f'<text x="8" y="{y - 7:.1f}" font-size="11" fill="#1d2330">{escape(plan["title"][:90])}</text>')
        parts.append(f'<line x1="8" y1="{y + 4:.1f}" x2="{width - pad_r}" y2="{y + 4:.1f}" stroke="#eef1f4" stroke-width="6"/>')
        for e in plan["events"]:
            day = _date(e["detected_at"] or "")
            if day is None:
                continue
            colour = KIND_COLOURS.get(e["kind"], "#777")
            parts.append(f'<a href="/documents/{int(plan["id"])}"><circle cx="{x_of(day):.1f}" cy="{y + 4:.1f}" r="5" '
                         f'fill="{colour}"><title>{escape(e["kind"])} {escape(str(day))}: '
                         f'{escape((e.get("summary") or "")[:160])}</title></circle></a>')
    parts.append("</svg>")
    return Markup("".join(parts))


def capture_calendar(sightings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fetches by month, one row per year: [{year, months: [(month, count, changed)]}], for a small grid."""
    counts: dict[tuple[int, int], int] = defaultdict(int)
    new: dict[tuple[int, int], bool] = defaultdict(bool)
    last_version = None
    for s in sorted(sightings, key=lambda s: s.get("fetched_at") or ""):
        day = _date(s.get("fetched_at") or "")
        if day is None:
            continue
        counts[(day.year, day.month)] += 1
        if s.get("version_id") and s["version_id"] != last_version:
            new[(day.year, day.month)] = True
            last_version = s["version_id"]
    if not counts:
        return []
    years = range(min(y for y, _ in counts), max(y for y, _ in counts) + 1)
    return [{"year": y, "months": [(m, counts.get((y, m), 0), new.get((y, m), False)) for m in range(1, 13)]}
            for y in years]


def in_words(value: str | None) -> str:
    """An ISO timestamp as a person reads it: "1 March 2025, 14:05 UTC" (a bare date: "1 March 2025")."""
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    day = f"{moment.day} {moment:%B %Y}"
    if len(value) <= 10:
        return day
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return f"{day}, {moment:%H:%M} UTC"
