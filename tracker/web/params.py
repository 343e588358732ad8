"""Reading request parameters (ids, dates, filters) and the registry data pages show."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape
from starlette.convertors import IntegerConvertor
from starlette.exceptions import HTTPException
from starlette.requests import Request

from storage import DOCUMENT_KINDS, EVENT_KINDS, GENERATIONS, unknown_choice
from tracker.meaning import footprint_name

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_QUERY_CHARS = 500
PAGE_SIZE = 20
SNIPPET_OPEN, SNIPPET_CLOSE = "\x02", "\x03"  # never in normalised text; become <mark> after escaping


class _IdConvertor(IntegerConvertor):
    """Ids in paths: at most 18 digits, so a longer one is a plain 404 instead of an overflow in SQLite."""

    regex = "[0-9]{1,18}"


def snippet_html(snippet: str | None) -> Markup:
    """A search snippet escaped, then its match markers turned into <mark> (never the text's own markup)."""
    text = snippet or ""
    if text.count(SNIPPET_OPEN) != text.count(SNIPPET_CLOSE):
        text = text.replace(SNIPPET_OPEN, "").replace(SNIPPET_CLOSE, "")
    escaped = str(escape(text))
    return Markup(escaped.replace(SNIPPET_OPEN, "<mark>").replace(SNIPPET_CLOSE, "</mark>"))


def _int(value: str | None, default: int | None = None, lo: int = 0, hi: int = 10**12) -> int | None:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise HTTPException(400, f"not a whole number: {value[:40]!r}") from None
    return min(max(number, lo), hi)


def _date(value: str | None, name: str) -> str | None:
    if not value:
        return None
    try:
        dt.date.fromisoformat(value[:10])
    except ValueError:
        raise HTTPException(400, f"{name} must be a date like 2026-01-31, not {value[:40]!r}") from None
    return value[:32]


def _generations() -> tuple[str, ...]:
    return GENERATIONS


def _event_kinds() -> tuple[str, ...]:
    return EVENT_KINDS


def _registry_footprint(code: str) -> Any:
    from crawler.registry import footprints

    return footprints().get(code)


def _footprint_table(plans: list[dict]) -> list[dict[str, Any]]:
    """One row per footprint (every one in the registry, plus any other code the archive has), plans by generation."""
    from crawler.registry import footprints

    known = footprints()
    rows: dict[str, dict[str, Any]] = {
        code: {"code": code, "name": fp.name, "plans": {}} for code, fp in known.items()
    }
    for plan in plans:
        code = plan["footprint"] or "unknown"
        row = rows.setdefault(code, {"code": code, "name": footprint_name(code) or "", "plans": {}})
        row["plans"].setdefault(plan["generation"] or "generation unknown", []).append(plan)
    return sorted(rows.values(), key=lambda r: (not r["plans"], r["name"] or r["code"]))

def _one_of(value: str | None, name: str, valid: tuple[str, ...]) -> str | None:
    """A filter's value lower-cased, or 400 naming the valid values (a typo must not quietly match nothing)."""
    refused = unknown_choice(name, value, valid)
    if refused:
        raise HTTPException(400, refused)
    return value.strip().lower() if value else None

def _footprint(value: str | None) -> str | None:
    """A footprint filter (a code or any name the registry knows) as its code; an unknown one is a 400 that names
    the nearest footprints."""
    value = (value or "").strip()[:200]
    if not value:
        return None
    from crawler.registry import UnknownFootprint, resolve_footprint

    try:
        return resolve_footprint(value).code
    except UnknownFootprint as exc:
        raise HTTPException(400, str(exc)) from None

def _search_params(request: Request) -> dict[str, Any]:
    q = request.query_params
    page = _int(q.get("page"), 1, 1, 500)
    query = (q.get("q") or "").strip()
    if len(query) > MAX_QUERY_CHARS:
        raise HTTPException(400, f"the query is longer than {MAX_QUERY_CHARS} characters: shorten it")
    return {
        "q": query, "page": page, "offset": (page - 1) * PAGE_SIZE,
        "kind": _one_of(q.get("kind"), "document kind", DOCUMENT_KINDS),
        "footprint": _footprint(q.get("footprint")),
        "generation": _one_of(q.get("generation"), "generation", GENERATIONS),
        "from": _date(q.get("from"), "from"), "to": _date(q.get("to"), "to"),
    }


def _event_filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    return {
        "kind": _one_of(q.get("kind"), "event kind", EVENT_KINDS),
        "footprint": _footprint(q.get("footprint")),
        "generation": _one_of(q.get("generation"), "generation", GENERATIONS),
        "document_id": _int(q.get("document")), "since": _date(q.get("since"), "since"),
        "until": _date(q.get("until"), "until"), "include_all": q.get("all") in ("1", "true", "yes", "on"),
        "before_id": _int(q.get("before")),
    }



def footprint_choices() -> list[tuple[str, str]]:
    """(code, name) of every footprint in the registry, by name, for a <select>."""
    from crawler.registry import footprints

    return sorted(((code, fp.name) for code, fp in footprints().items()), key=lambda pair: pair[1])


def group_by_document(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Search hits as one entry per document, its matching versions under it, in the order of the best hit."""
    groups: dict[int, dict[str, Any]] = {}
    for row in rows:
        group = groups.setdefault(row["document_id"], {
            "document_id": row["document_id"], "title": row.get("title"), "footprint": row.get("footprint"),
            "generation": row.get("generation"), "kind": row.get("kind"), "versions": []})
        group["versions"].append(row)
    return list(groups.values())
