"""The built-in registry: the 44 STP footprints and 42 ICBs, their official publishers and the councils in them.

Data lives in footprints.json and councils.json beside this file, built by tools/build_registry.py from the
shared registry CSVs and the hand-kept TOML files here.  Footprints are keyed by ODS code (``QF7``); the three
pre-2018 northern STPs with no known ODS code have synthetic keys ``STP-E54000045`` .. ``STP-E54000047``.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "Council", "Footprint", "UnknownFootprint", "councils", "current_footprints", "default_sources",
    "find_footprint", "footprints", "history_domains", "name_key", "places", "publishers", "resolve_footprint", "search_footprints",
    "suggest_footprints", "DEFAULT_SCHEDULES", "DEFAULT_MAX_DEPTH", "FOOTPRINT_TYPES",
]

HERE = Path(__file__).resolve().parent
# How often each kind of default source is crawled: councils post papers weekly and leaks came through them,
# NHS sites change slowly.  Format as in crawler.sources ("6h", "15m", cron).
DEFAULT_SCHEDULES = {"site": "24h", "moderngov": "6h", "cmis": "6h"}
DEFAULT_MAX_DEPTH = {"site": 3, "national": 2, "moderngov": 2, "cmis": 2}
PLATFORM_KINDS = {"ModernGov": "moderngov", "CMIS": "cmis"}
FOOTPRINT_TYPES = ("stp-2016", "icb-2022", "icb-2026")  # the 44 STPs, the 42 ICBs of July 2022, the 36 of April 2026


@dataclass(frozen=True)
class Footprint:
    """One STP footprint (2016/17) and/or ICB (2022), keyed by its ODS code."""

    code: str
    name: str  # the latest official name (the ICB's name when it became one)
    short_name: str
    types: tuple[str, ...]  # of FOOTPRINT_TYPES: "stp-2016", "icb-2022", "icb-2026" (several when the code carried over)
    synthetic_code: bool = False  # True for the three pre-2018 northern STPs (no known ODS code)
    names: tuple[dict[str, str], ...] = ()  # every official name with its period
    ons_codes: tuple[str, ...] = ()  # E54 codes, oldest first (history: they change with boundaries)
    ons_history: tuple[str, ...] = ()
    region: str = ""
    region_code: str = ""
    aliases: tuple[str, ...] = ()
    brand_names: tuple[dict[str, str], ...] = ()  # {"name", "confidence" (V verified, K unchecked)}
    predecessors: tuple[dict[str, Any], ...] = ()  # {"from", "when", "part", "lsoa", "confidence"}
    successors: tuple[dict[str, Any], ...] = ()  # {"to", "when", "part", "lsoa", "confidence"}
    boundary_notes: tuple[str, ...] = ()
    sub_icb_locations: tuple[str, ...] = ()  # old CCG ODS codes (2022 sub-ICB locations)
    official_publishers: tuple[str, ...] = ()  # names of entries in publishers()
    site_gap: str | None = None  # set when no ICB/partnership website is known: a gap to fill, not a guess
    councils: tuple[str, ...] = ()  # Council ids (2022 area, plus 2016 membership where it differed)
    notes: tuple[str, ...] = ()
    cluster: str | None = None  # 2026 cluster of ICBs with a joint board ("DLN", "SW-PEN"), if any
    history_domains: tuple[str, ...] = ()  # its publishers' old domains (web-archive history, not crawled live)

    def __hash__(self) -> int:  # records hold dicts: hash by the stable key
        return hash(self.code)

    @property
    def is_icb_2026(self) -> bool:
        return "icb-2026" in self.types

    @property
    def is_current(self) -> bool:
        """An ICB of today (April 2026 on); other footprints were merged, split or renamed away."""
        return self.is_icb_2026

    @property
    def stp_2016_name(self) -> str | None:
        return next((n["name"] for n in self.names if n["period"].startswith("2016")), None)

    @property
    def is_stp_2016(self) -> bool:
        return "stp-2016" in self.types

    @property
    def is_icb_2022(self) -> bool:
        return "icb-2022" in self.types

    def match_names(self) -> tuple[str, ...]:
        """Every name, alias and brand name under which documents refer to this footprint."""
        seen: dict[str, None] = {}
        for text in (self.name, self.short_name, *(n["name"] for n in self.names), *self.aliases,
                     *(b["name"] for b in self.brand_names)):
            if text:
                seen.setdefault(text, None)
        return tuple(seen)


@dataclass(frozen=True)
class Council:
    """An English council and its committee-paper system; never an official NHS publisher."""

    id: str  # the LGSF slug, e.g. "KEN-kent"
    code: str
    name: str
    subtype: str  # CTY county, NMD district, UA unitary, MD metropolitan, LBO London borough, ...
    platform: str  # "ModernGov", "CMIS", "Custom HTML", "unknown", ...
    base_url: str | None
    root_url: str | None  # where a committee-system spider starts (None when not crawlable)
    end_date: str | None
    abolished: bool
    crawl_by_default: bool  # live and on ModernGov/CMIS
    footprints: tuple[str, ...]  # 2022 footprints by share of area, largest first
    lsoa_by_footprint: dict[str, int] = field(default_factory=dict)
    ltla22_codes: tuple[str, ...] = ()
    stp2016: tuple[dict[str, str], ...] = ()  # 2016/17 footprints where they differ from 2022
    platform_from_url: bool = False  # platform read from the URL, not from the upstream label
    area_match: str = "name"
    official: bool = False

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def primary_footprint(self) -> str:
        return self.footprints[0]

    def all_footprints(self) -> tuple[str, ...]:
        """2022 footprints, then 2016/17 ones the council also belonged to."""
        extra = [e["footprint"] for e in self.stp2016 if e["footprint"] not in self.footprints]
        return tuple(dict.fromkeys([*self.footprints, *extra]))


def _load(name: str) -> dict[str, Any]:
    path = HERE / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuntimeError(f"registry table {path} is missing: run .venv/bin/python tools/build_registry.py") from None


def _tuples(record: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: (tuple(v) if k in names and isinstance(v, list) else v) for k, v in record.items()}


_FP_FIELDS = set(Footprint.__dataclass_fields__)
_COUNCIL_FIELDS = set(Council.__dataclass_fields__)
_LIST_FIELDS = ("types", "names", "ons_codes", "ons_history", "aliases", "brand_names", "predecessors",
                "successors", "boundary_notes", "sub_icb_locations", "official_publishers", "councils", "notes",
                "history_domains",
                "footprints", "ltla22_codes", "stp2016")


@lru_cache(maxsize=1)
def _footprints_doc() -> dict[str, Any]:
    return _load("footprints.json")


@lru_cache(maxsize=1)
def footprints() -> dict[str, Footprint]:
    """All footprints by code (45: 41 carried-over codes, 3 synthetic pre-2018 STPs, and QHM)."""
    raw = _footprints_doc()["footprints"]
    return {code: Footprint(**_tuples({k: v for k, v in rec.items() if k in _FP_FIELDS}, _LIST_FIELDS))
            for code, rec in sorted(raw.items())}


def publishers() -> dict[str, dict[str, Any]]:
    """Official publishers by name (NHS England national/regional pages, ICB and partnership sites); a copy."""
    return copy.deepcopy(_footprints_doc()["publishers"])


def places() -> dict[str, str]:
    """Place names (council areas) lying mostly (>= 75%) in one footprint -> that footprint's code."""
    return dict(_footprints_doc()["places"])


@lru_cache(maxsize=1)
def _councils() -> tuple[Council, ...]:
    raw = _load("councils.json")["councils"]
    return tuple(Council(**_tuples({k: v for k, v in rec.items() if k in _COUNCIL_FIELDS}, _LIST_FIELDS))
                 for _, rec in sorted(raw.items()))


def councils() -> list[Council]:
    """Every English council in the registry (abolished ones too, marked), sorted by id."""
    return list(_councils())


# --------------------------------------------------------------------------- lookup

# Words around a footprint's name that do not change which footprint is meant.
_PREFIXES = re.compile(r"^(?:nhs|the)\s+")
_SUFFIXES = re.compile(
    r"\s+(?:integrated care (?:board|system|partnership)|icb|ics|icp|sustainability and transformation "
    r"(?:plan|partnership)s?|stp|footprint|health and (?:social )?care partnership)$"
)


def name_key(text: str) -> str:
    """Case- and punctuation-insensitive form of a name: 'NHS Kent & Medway ICB' -> 'nhs kent and medway icb'."""
    text = text.lower().replace("&", " and ")
    text = re.sub(r"['’.]", "", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _core_key(text: str) -> str:
    key = name_key(text)
    for _ in range(3):  # "NHS X Health and Care Partnership ICS" style stacks
        stripped = _SUFFIXES.sub("", _PREFIXES.sub("", key))
        if stripped == key:
            break
        key = stripped
    return key


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    """Lookup key -> footprint code; keys claimed by two footprints are left out (ambiguous)."""
    claims: dict[str, set[str]] = {}
    for code, fp in footprints().items():
        keys = {name_key(code), *(name_key(c) for c in fp.ons_codes)}
        for text in fp.match_names():
            keys.update((name_key(text), _core_key(text)))
        for key in keys:
            if key:
                claims.setdefault(key, set()).add(code)
    return {key: next(iter(codes)) for key, codes in claims.items() if len(codes) == 1}


@lru_cache(maxsize=1)
def _place_index() -> dict[str, str]:
    """Place and council names (lying >= 75% in one footprint) -> that footprint: weaker than any footprint name."""
    index = {name_key(place): code for place, code in places().items()}
    for council in _councils():
        if council.abolished or not council.lsoa_by_footprint:
            continue
        total = sum(council.lsoa_by_footprint.values())
        code, n = max(council.lsoa_by_footprint.items(), key=lambda kv: (kv[1], kv[0]))
        if n / total >= 0.75:
            index.setdefault(name_key(council.name), code)
    return index


@lru_cache(maxsize=1)
def _sub_icb_index() -> dict[str, str]:
    return {name_key(loc): code for code, fp in footprints().items() for loc in fp.sub_icb_locations}


def find_footprint(name_or_code: str) -> Footprint | None:
    """The footprint named by an ODS code, ONS code, name, alias or brand name (any case or punctuation)."""
    if not isinstance(name_or_code, str) or not name_or_code.strip() or len(name_or_code) > 300:
        return None
    fps = footprints()
    index = _index()
    key = name_key(name_or_code)
    code = (index.get(key) or index.get(_core_key(name_or_code)) or _sub_icb_index().get(key)
            or _place_index().get(key))
    return fps.get(code) if code else None


class UnknownFootprint(ValueError):
    """A footprint named by nothing in the registry; the message offers the nearest names."""

    def __init__(self, text: str, suggestions: list[tuple[str, str]]):
        self.text = text
        self.suggestions = suggestions  # (code, the name that came close)
        hint = "; ".join(f"{code}, {name}" for code, name in suggestions)
        shown = text if len(text) <= 80 else text[:79] + "…"
        super().__init__(f"unknown footprint {shown!r}" + (f": did you mean {hint}?" if hint else "")
                         + " (`stp-tracker footprints QUERY` finds one by code, name, council or place)")


def _all_names() -> dict[str, tuple[str, str]]:
    """name_key -> (code, name as written) for every code, name, alias, brand, place and council."""
    out: dict[str, tuple[str, str]] = {}
    for code, fp in footprints().items():
        out.setdefault(name_key(code), (code, fp.stp_2016_name or fp.name))
        for text in fp.match_names():
            out.setdefault(name_key(text), (code, text))
    for place, code in places().items():
        out.setdefault(name_key(place), (code, place))
    for council in _councils():
        code = _place_index().get(name_key(council.name))
        if code:
            out.setdefault(name_key(council.name), (code, council.name))
    return out


def suggest_footprints(text: str, n: int = 3) -> list[tuple[str, str]]:
    """Up to n (code, name) pairs whose names come closest to `text` (for "did you mean ...?")."""
    import difflib

    names = _all_names()
    key = name_key(text or "")[:200]
    out: list[tuple[str, str]] = []
    for candidate in difflib.get_close_matches(key, list(names), n=12, cutoff=0.6) + \
            [k for k in names if key and len(key) >= 3 and key in k]:
        code, name = names[candidate]
        if code not in (c for c, _ in out):
            out.append((code, name))
        if len(out) >= n:
            break
    return out


def resolve_footprint(text: str) -> Footprint:
    """The footprint a user means by a code or any known name (2016 STP, ICB 2022/2026, brand, council, place).

    Raises UnknownFootprint (a ValueError) with suggestions when nothing matches.
    """
    found = find_footprint(text) if isinstance(text, str) else None
    if found is None:
        raise UnknownFootprint(str(text), suggest_footprints(str(text)))
    return found


def search_footprints(query: str) -> list[Footprint]:
    """Footprints a query names exactly, else every footprint with a name, council or place containing it."""
    exact = find_footprint(query)
    if exact is not None:
        return [exact]
    key = name_key(query or "")
    if len(key) < 2:
        return []
    codes = dict.fromkeys(code for k, (code, _) in sorted(_all_names().items()) if key in k)
    fps = footprints()
    return [fps[c] for c in sorted(codes)]


def current_footprints(code: str) -> tuple[str, ...]:
    """The footprints of today that cover what `code` covered: itself if current, else its successors, followed
    through every merger and split (QHG -> S1Y5D; QNQ -> S0E4D, S9B9J, QRL). Unknown codes give ()."""
    fps = footprints()
    out: dict[str, None] = {}
    seen: set[str] = set()
    todo = [code.upper()] if isinstance(code, str) else []
    while todo:
        current = todo.pop(0)
        if current in seen or current not in fps:
            continue
        seen.add(current)
        fp = fps[current]
        if fp.is_current:
            out.setdefault(current, None)
        else:
            todo.extend(s["to"] for s in fp.successors)
    return tuple(out)


# --------------------------------------------------------------------------- default sources

def _source(name: str, footprint: str | None, kind: str, official: bool, start_urls: list[str],
            allowed_domains: list[str], max_depth: int, options: dict[str, Any],
            document_hosts: list[str] = ()) -> dict[str, Any]:
    return {
        "name": name, "footprint": footprint, "kind": kind, "official": official,
        "start_urls": list(start_urls), "allowed_domains": list(allowed_domains), "max_depth": max_depth,
        "schedule": DEFAULT_SCHEDULES[kind], "document_hosts": list(document_hosts), "options": options,
    }


def history_domains(code: str | None = None) -> tuple[str, ...]:
    """Old domains of a footprint's own publishers (of every footprint when code is None): where web archives
    hold its history. Each source also lists its own in options["history_domains"]."""
    if code is None:
        return tuple(sorted({d for fp in footprints().values() for d in fp.history_domains}))
    fp = footprints().get(code.upper()) if isinstance(code, str) else None
    return fp.history_domains if fp else ()


def _host_path(url: str) -> str:
    return re.sub(r"^https?://", "", url.lower()).rstrip("/")


def default_sources(*, include_abolished: bool = False) -> list[dict[str, Any]]:
    """Every official publisher and every live ModernGov/CMIS council, as source dicts (see crawler.sources).

    A publisher serving one footprint gets that footprint; NHS England (all footprints) and merged-ICB sites
    get footprint None and list their footprints in options["footprints"], so documents are matched by text.
    Councils sharing one committee site (e.g. Adur and Worthing) become one source.  Abolished councils are
    left out unless include_abolished (their sites are mostly gone: use the Wayback Machine).
    """
    out: list[dict[str, Any]] = []
    for name, pub in sorted(publishers().items()):
        fps = pub["footprints"]
        role = pub["role"]
        options: dict[str, Any] = {"footprints": list(fps), "role": role, "title": pub["title"],
                                   "confidence": pub["confidence"]}
        if pub.get("path_prefixes"):
            options["path_prefixes"] = list(pub["path_prefixes"])
        if pub.get("note"):
            options["note"] = pub["note"]
        for key in ("evidence", "history_domains"):  # evidence: start URL -> the registry row it comes from
            if pub.get(key):
                options[key] = copy.deepcopy(pub[key])
        depth = pub.get("max_depth") or DEFAULT_MAX_DEPTH["national" if role in ("national", "region") else "site"]
        footprint = pub.get("footprint") or (fps[0] if len(fps) == 1 else None)
        out.append(_source(name, footprint, "site", True, pub["start_urls"], pub["allowed_domains"], depth, options,
                           pub.get("document_hosts") or ()))

    groups: dict[str, list[Council]] = {}
    for council in _councils():
        live_ok = council.crawl_by_default or (include_abolished and council.root_url)
        if live_ok and council.platform in PLATFORM_KINDS:
            groups.setdefault(_host_path(council.root_url or ""), []).append(council)
    for members in groups.values():
        members.sort(key=lambda c: (c.abolished, c.id))
        first = members[0]
        shares: dict[str, int] = {}
        for council in members:
            for code, n in council.lsoa_by_footprint.items():
                shares[code] = shares.get(code, 0) + n
        primary = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        all_fps = list(dict.fromkeys(code for c in members for code in (primary, *c.all_footprints())))
        kind = PLATFORM_KINDS[first.platform]
        host = re.sub(r"^https?://", "", first.root_url or "").split("/")[0]
        options = {
            "footprints": all_fps, "councils": [c.id for c in members], "council_names": [c.name for c in members],
            "platform": first.platform, "base_url": first.base_url, "abolished": all(c.abolished for c in members),
        }
        out.append(_source("council-" + first.id.lower(), primary, kind, False, [first.root_url or ""], [host],
                           DEFAULT_MAX_DEPTH[kind], options))
    return out
