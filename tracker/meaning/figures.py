"""Figures campaigners care about (money, beds, posts, percentages, dates, services) and how a change moved them."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Sequence

__all__ = [
    "Figure",
    "FigureChange",
    "compare_figures",
    "find_figures",
    "find_service_changes",
    "summarise",
]

Op = tuple[int, str]

# ---------------------------------------------------------------------------------------------------------
# Finding figures

_NUM = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?"
_SCALE = r"bn|billion|mn|m|million|k|thousand"
_SCALES = {"bn": 1e9, "billion": 1e9, "mn": 1e6, "m": 1e6, "million": 1e6, "k": 1e3, "thousand": 1e3}
_BED_WORDS = (
    r"acute|community|inpatient|in-patient|hospital|additional|extra|fewer|more|new|general|escalation|surgical"
    r"|medical|maternity|mental|health|intermediate|care|step-down|rehabilitation|rehab|critical|NHS|funded"
    r"|physical|elective|non-elective|paediatric|stroke|older|people's|adult|adults'|bedded"
)
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)"
)

# Patterns that start at a number, tried only where a number starts (scanning 1.4 M characters with eleven
# patterns that each begin with \b took about 2 s; finding the numbers first and matching there is ~20x faster).
# Every pattern names its number group `n`, or the date groups d, m, y / y, y2.
_AT_NUMBER: list[tuple[str, re.Pattern[str]]] = [
    ("money", re.compile(rf"(?P<n>{_NUM})(?:\s?(?P<u>{_SCALE}))?\s+(?:pounds|sterling)\b", re.I)),
    ("beds", re.compile(rf"(?P<n>{_NUM})\s+(?:(?:{_BED_WORDS})\s+){{0,3}}beds?\b", re.I)),
    (
        "posts",
        re.compile(
            rf"(?P<n>{_NUM})\s*(?:(?:additional|extra|fewer|more|new|nursing|clinical|medical)\s+)?"
            rf"(?P<u>WTE|FTE|whole[- ]time[- ]equivalents?|full[- ]time[- ]equivalents?|posts?|jobs|roles|staff)\b",
            re.I,
        ),
    ),
    ("percent", re.compile(rf"(?P<n>{_NUM})\s?(?:%|per\s?cent\b)", re.I)),
    ("date", re.compile(rf"(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?\s+(?P<m>{_MONTH})\.?,?\s+(?P<y>(?:19|20)[0-9][0-9])\b")),
    ("date", re.compile(r"(?P<d>[0-9]{1,2})([/.-])(?P<m>[0-9]{1,2})\2(?P<y>(?:19|20)[0-9][0-9])\b")),
    ("date", re.compile(r"(?P<y>(?:19|20)[0-9][0-9])-(?P<m>[0-9][0-9])-(?P<d>[0-9][0-9])\b")),
    ("date", re.compile(r"(?P<y>(?:19|20)[0-9][0-9])\s?[/-]\s?(?P<y2>[0-9][0-9](?:[0-9][0-9])?)\b")),
]
_NUMBER_START = re.compile(r"[0-9][0-9,.]*")
# Patterns that start with a word or sign, scanned for directly; a match must also start at a word boundary.
_SCANNED: list[tuple[str, re.Pattern[str]]] = [
    ("money", re.compile(rf"£\s?(?P<n>{_NUM})(?:\s?(?P<u>{_SCALE})\b)?", re.I)),
    ("date", re.compile(rf"(?P<m>{_MONTH})\.?,?\s+(?P<y>(?:19|20)[0-9][0-9])\b")),
    ("beds", re.compile(rf"[Bb]ed\s+(?:base|capacity|numbers?|stock|count|pool)\s+(?:of|from|to|by|at)\s+(?P<n>{_NUM})\b")),  # noqa: E501
]
# "reduce (acute) beds by 120": found from "beds by 120", then the verb is looked for just before it.
_BEDS_BY = re.compile(rf"beds?\s+by\s+(?P<n>{_NUM})\b", re.I)
_BEDS_VERB = re.compile(
    rf"\b(?:reduc(?:e|es|ed|ing|tion)|cut(?:s|ting)?|increas(?:e|es|ed|ing)|clos(?:e|es|ed|ing))"
    rf"\s+(?:(?:in|the|number|of|{_BED_WORDS})\s+){{0,4}}$",
    re.I,
)


@dataclass(frozen=True)
class Figure:
    """One figure found in a text: `value` is pounds, a count, a percentage, or an ISO-like date string."""

    kind: str  # money, beds, posts, percent, date
    value: float | str | None
    text: str
    start: int
    end: int


def _number(raw: str) -> float:
    return float(raw.replace(",", ""))


def _value(kind: str, match: re.Match[str]) -> float | str | None:
    groups = match.groupdict()
    if kind == "date":
        year = int(groups["y"])
        if groups.get("y2") is not None:  # financial year 2017/18 or 2017-2018
            y2 = int(groups["y2"])
            if y2 % 100 != (year + 1) % 100 or (y2 >= 100 and y2 != year + 1):
                return None  # not a financial year: 2017/99 is something else
            return f"{year}/{(year + 1) % 100:02d}"
        month_raw = groups["m"]
        month = int(month_raw) if month_raw.isdigit() else _MONTHS[month_raw[:3].lower()]
        if not 1 <= month <= 12:
            return None
        if groups.get("d"):
            day = int(groups["d"])
            if not 1 <= day <= 31:
                return None
            return f"{year:04d}-{month:02d}-{day:02d}"
        return f"{year:04d}-{month:02d}"
    value = _number(groups["n"])
    if kind == "money" and groups.get("u"):
        value *= _SCALES[groups["u"].lower()]
    return value


def find_figures(text: str, offset: int = 0) -> list[Figure]:
    """Money, beds, posts/WTE, percentages and dates in `text`, in order, never overlapping.

    Spans are character offsets into `text` plus `offset` (for callers that pass a window of a bigger text).
    Where two patterns overlap, the one starting first wins, then the longer one.
    """
    found: list[Figure] = []

    def add(kind: str, match: re.Match[str], start: int | None = None) -> None:
        value = _value(kind, match)
        if value is None and kind == "date":
            return
        begin = match.start() if start is None else start
        found.append(Figure(kind, value, text[begin : match.end()], begin + offset, match.end() + offset))

    for number in _NUMBER_START.finditer(text):
        pos = number.start()
        if pos and (text[pos - 1].isalnum() or text[pos - 1] == "_"):
            continue
        for kind, pattern in _AT_NUMBER:
            match = pattern.match(text, pos)
            if match:
                add(kind, match)
    for kind, pattern in _SCANNED:
        for match in pattern.finditer(text):
            pos = match.start()
            if not (pos and (text[pos - 1].isalnum() or text[pos - 1] == "_")):
                add(kind, match)
    for match in _BEDS_BY.finditer(text):
        verb = _BEDS_VERB.search(text, max(0, match.start() - 80), match.start())
        if verb:
            add("beds", match, start=verb.start())
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Figure] = []
    for figure in found:
        if kept and figure.start < kept[-1].end:
            continue
        kept.append(figure)
    return kept


# ---------------------------------------------------------------------------------------------------------
# Comparing figures across a change

_STOP = frozenset(
    "a an the of by to from in on at for with and or is was are were be been will would shall should can could "
    "than that this these those which who its it as around about approximately approx circa c some total "
    "over under up down into per each our their there".split()
)
_KIND_LABEL = {"money": "amount", "beds": "beds", "posts": "posts", "percent": "percentage", "date": "date"}
_SENTENCE_END = re.compile(r"[.!?;](?=\s)|\n\n")
_WORD = re.compile(r"[\w£&%'’/-]+")


@dataclass
class FigureChange:
    """A figure that changed: `before`/`after` are the matched texts, None when the figure was added/removed."""

    kind: str
    before: str | None
    after: str | None
    context: str
    before_value: float | str | None = None
    after_value: float | str | None = None
    before_span: tuple[int, int] | None = None  # offsets in the diff's before text (for highlighting)
    after_span: tuple[int, int] | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"before": self.before, "after": self.after, "context": self.context, "kind": self.kind}

    def describe(self) -> str:
        """One phrase: 'Acute bed reduction changed from 180 beds to 320 beds'."""
        label = self.context or self.kind
        if self.before is not None and self.after is not None:
            return f"{label} changed from {self.before} to {self.after}"
        if self.after is not None:
            return f"{label}: {self.after} added"
        return f"{label}: {self.before} removed"


def _sentence_bounds(text: str, start: int, end: int, reach: int = 300) -> tuple[int, int]:
    """The sentence (or paragraph piece) around [start, end), at most `reach` characters either side."""
    lo = max(0, start - reach)
    left = lo
    for match in _SENTENCE_END.finditer(text, lo, start):
        left = match.end()
    stop = min(len(text), end + reach)
    match = _SENTENCE_END.search(text, end, stop)
    right = match.end() if match else stop
    return left, right


def _words(piece: str) -> list[str]:
    return [w.strip("'’-/") for w in _WORD.findall(piece) if w.strip("'’-/")]


def _trim_stop(words: list[str]) -> list[str]:
    while words and words[0].lower() in _STOP:
        words = words[1:]
    while words and words[-1].lower() in _STOP:
        words = words[:-1]
    return words


class _Found:
    """The figures found in one text's windows, sorted, for looking up neighbours in a sentence."""

    def __init__(self, figures: list[Figure]) -> None:
        self.figures = figures
        self.starts = [f.start for f in figures]

    def between(self, lo: int, hi: int) -> list[Figure]:
        i = bisect.bisect_left(self.starts, lo)
        j = bisect.bisect_left(self.starts, hi)
        return [f for f in self.figures[i:j] if f.end <= hi]


def _context(text: str, figure: Figure, found: _Found, n: int = 6) -> str:
    """The few words before the figure in its sentence ("Acute bed reduction"), else the few after it.

    Words are taken after any earlier figure in the sentence; when that leaves fewer than two, the
    sentence's opening words lead ("Acute bed reduction … saving").
    """
    start, end = figure.start, figure.end
    left, right = _sentence_bounds(text, start, end, reach=160)
    earlier = found.between(left, start)
    lead = _trim_stop(_words(text[left : earlier[0].start])[:4]) if earlier else []
    own_left = earlier[-1].end if earlier else left
    before = _trim_stop(_words(text[own_left:start])[-n:])
    if earlier and len(before) < 2 and lead:
        return " ".join(lead + ["…"] + (before or [_KIND_LABEL.get(figure.kind, figure.kind)]))
    if before:
        return " ".join(before)
    later = found.between(end, right)
    stop = later[0].start if later else right
    return " ".join(_trim_stop(_words(text[end:stop])[:n]))


def _neighbourhood(text: str, start: int, end: int, reach: int = 80) -> set[str]:
    """Content words within `reach` characters either side: what pairs a figure with its counterpart."""
    words = _WORD.findall(text, max(0, start - reach), start) + _WORD.findall(text, end, end + reach)
    return {w.lower() for w in words if w.lower() not in _STOP}


def _changed_spans(ops: Sequence[Op]) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, int]]]:
    """(deleted spans in before, inserted spans in after, (before, after) offsets at each op start)."""
    deleted: list[tuple[int, int]] = []
    inserted: list[tuple[int, int]] = []
    anchors: list[tuple[int, int]] = []
    b = a = 0
    for op, piece in ops:
        anchors.append((b, a))
        if op == 0:
            b += len(piece)
            a += len(piece)
        elif op < 0:
            deleted.append((b, b + len(piece)))
            b += len(piece)
        else:
            inserted.append((a, a + len(piece)))
            a += len(piece)
    return deleted, inserted, anchors


def _windows(spans: list[tuple[int, int]], size: int, margin: int = 400) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        lo, hi = max(0, s - margin), min(size, e + margin)
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _touched(text: str, spans: list[tuple[int, int]]) -> tuple[list[Figure], _Found]:
    """Figures in `text` overlapping one of `spans`, and every figure found in the windows searched (only
    windows around the spans are searched, so big texts with small changes stay fast)."""
    ends = [e for _, e in spans]
    touched: list[Figure] = []
    found: list[Figure] = []
    for lo, hi in _windows(spans, len(text)):
        for figure in find_figures(text[lo:hi], offset=lo):
            found.append(figure)
            i = bisect.bisect_right(ends, figure.start)  # first span ending after the figure starts
            if i < len(spans) and spans[i][0] < figure.end:
                touched.append(figure)
    return touched, _Found(found)


class _Mapper:
    """Maps an offset in the before text to where it lands in the after text."""

    def __init__(self, anchors: list[tuple[int, int]]) -> None:
        self.anchors = anchors
        self.starts = [b for b, _ in anchors]

    def __call__(self, pos: int) -> int:
        i = bisect.bisect_right(self.starts, pos) - 1
        if i < 0:
            return pos
        b, a = self.anchors[i]
        return a + (pos - b)


def _same_value(x: Figure, y: Figure) -> bool:
    if x.value is not None and y.value is not None:
        return x.value == y.value
    return x.text == y.text


_ALL_PAIRS = 10_000  # up to this many (before, after) pairs, every pair is scored
_NEAR = 3_000  # beyond that, only figures within this many characters of the mapped position


def _drop_exact_twins(old: list[Figure], new: list[Figure], mapped: list[int]) -> tuple[list[int], list[int]]:
    """For big changes (a timed-out diff marks the whole text): indexes of the figures left once each before
    figure has been matched, in order, with the next after figure of the same kind and text that lies within
    _NEAR characters of where it would land."""
    by_key: dict[tuple[str, str], list[int]] = {}
    for j, y in enumerate(new):
        by_key.setdefault((y.kind, y.text), []).append(j)
    cursor: dict[tuple[str, str], int] = {}
    taken: set[int] = set()
    left_old: list[int] = []
    for i, x in enumerate(old):
        key = (x.kind, x.text)
        queue = by_key.get(key, [])
        k = cursor.get(key, 0)
        while k < len(queue) and new[queue[k]].start < mapped[i] - _NEAR:
            k += 1
        if k < len(queue) and new[queue[k]].start <= mapped[i] + _NEAR:
            taken.add(queue[k])
            k += 1
        else:
            left_old.append(i)
        cursor[key] = k
    return left_old, [j for j in range(len(new)) if j not in taken]


def compare_figures(before_text: str, after_text: str, ops: Sequence[Op]) -> list[FigureChange]:
    """Figures that changed between the texts the ops were computed on.

    Only figures overlapping a deleted or inserted piece count: a figure in an unchanged passage is not a
    change. A touched figure before is paired with a touched figure of the same kind after (same context
    words, nearby position); a pair with the same value (e.g. "£571m" reworded as "£571 million") is not a
    change; unpaired figures are reported as removed (after None) or added (before None). When `ops` do not
    rebuild `before_text`/`after_text` exactly (e.g. the diff normalised whitespace), the ops' own texts are
    used, so spans always refer to what the ops describe.
    """
    if not ops:
        return []
    before = "".join(piece for op, piece in ops if op <= 0)
    after = "".join(piece for op, piece in ops if op >= 0)
    if before == before_text and after == after_text:
        before, after = before_text, after_text
    deleted, inserted, anchors = _changed_spans(ops)
    old, old_found = _touched(before, deleted)
    new, new_found = _touched(after, inserted)
    to_after = _Mapper(anchors)
    mapped = [to_after(x.start) for x in old]
    if len(old) * len(new) <= _ALL_PAIRS:
        olds, news = list(range(len(old))), list(range(len(new)))
    else:
        olds, news = _drop_exact_twins(old, new, mapped)
    old_words = {i: _neighbourhood(before, old[i].start, old[i].end) for i in olds}
    new_words = {j: _neighbourhood(after, new[j].start, new[j].end) for j in news}
    new_starts = [new[j].start for j in news]
    everyone = len(olds) * len(news) <= _ALL_PAIRS
    candidates: list[tuple[float, int, int]] = []
    for i in olds:
        x = old[i]
        if everyone:
            nearby = news
        else:  # only figures near where this one would land
            lo = bisect.bisect_left(new_starts, mapped[i] - _NEAR)
            nearby = news[lo : bisect.bisect_right(new_starts, mapped[i] + _NEAR)]
        for j in nearby:
            y = new[j]
            if x.kind != y.kind:
                continue
            union = old_words[i] | new_words[j]
            score = len(old_words[i] & new_words[j]) / len(union) if union else 0.0
            distance = abs(mapped[i] - y.start)
            if distance < 300:
                score += 0.5 * (1 - distance / 300)
            if score >= 0.4:
                candidates.append((score, i, j))
    candidates.sort(key=lambda c: -c[0])
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in candidates:
        if i not in pairs and j not in used:
            pairs[i] = j
            used.add(j)
    changes: list[tuple[int, FigureChange]] = []
    for i in olds:
        x = old[i]
        if i in pairs:
            y = new[pairs[i]]
            if _same_value(x, y):
                continue
            context = _context(before, x, old_found)
            change = FigureChange(x.kind, x.text, y.text, context, x.value, y.value, (x.start, x.end), (y.start, y.end))
            changes.append((y.start, change))
        else:
            context = _context(before, x, old_found)
            change = FigureChange(x.kind, x.text, None, context, x.value, None, (x.start, x.end), None)
            changes.append((mapped[i], change))
    for j in news:
        if j not in used:
            y = new[j]
            context = _context(after, y, new_found)
            change = FigureChange(y.kind, None, y.text, context, None, y.value, None, (y.start, y.end))
            changes.append((y.start, change))
    changes.sort(key=lambda c: c[0])
    return [c for _, c in changes]


# ---------------------------------------------------------------------------------------------------------
# Services and sites

_SERVICES: dict[str, re.Pattern[str]] = {
    "A&E": re.compile(r"\bA\s?&\s?E\b|\baccident\s+(?:and|&)\s+emergency\b|\bemergency\s+departments?\b", re.I),
    "maternity": re.compile(
        r"\bmaternity\b|\bobstetric\w*|\bmidwi(?:fe|very)[- ]led\b|\bbirth(?:ing)?\s+cent(?:re|er)s?\b"
        r"|\blabour\s+wards?\b",
        re.I,
    ),
    "stroke": re.compile(r"\bstroke\b", re.I),
    "community hospital": re.compile(r"\bcommunity\s+hospitals?\b", re.I),
    "beds": re.compile(r"\bbeds?\b", re.I),
    "urgent care": re.compile(
        r"\burgent\s+(?:care|treatment\s+cent(?:re|er)s?)\b|\bwalk[- ]in\s+cent(?:re|er)s?\b"
        r"|\bminor\s+injur(?:y|ies)\s+units?\b",
        re.I,
    ),
    "paediatric": re.compile(r"\bp(?:a)?ediatric\w*|\bchildren's\s+wards?\b|\bneonatal\b", re.I),
}
_ACTIONS = re.compile(
    r"\b(?:clos(?:e|es|ed|ing|ure|ures)|downgrad\w*|merg(?:e|es|ed|ing|er|ers)|consolidat\w*|centrali[sz]\w*"
    r"|reduc(?:e|es|ed|ing|tion|tions)|relocat\w*|transfer\w*|suspen(?:d|ds|ded|ding|sion)|decommission\w*"
    r"|cut|cuts|cutting)\b",
    re.I,
)


def _service_key(passage: str) -> tuple[frozenset[str], frozenset[str]] | None:
    services = frozenset(name for name, pattern in _SERVICES.items() if pattern.search(passage))
    actions = frozenset(m.group(0).lower()[:5] for m in _ACTIONS.finditer(passage))
    if services and actions:
        return services, actions
    return None


def find_service_changes(added: list[str], removed: list[str]) -> list[str]:
    """Passages naming a service or site (A&E, maternity, stroke, ...) with an action (close, merge, ...).

    Returns readable strings: "new: <added passage>", "removed: <removed passage>", or "changed: <added
    passage>" when a removed passage names the same services and actions (the wording or a figure moved).
    """
    removed_keys = [(_service_key(p), p) for p in removed]
    pending = [(key, p) for key, p in removed_keys if key is not None]
    out: list[str] = []
    for passage in added:
        key = _service_key(passage)
        if key is None:
            continue
        match = next((i for i, (k, _) in enumerate(pending) if k == key), None)
        if match is None:
            out.append(f"new: {passage}")
        else:
            pending.pop(match)
            out.append(f"changed: {passage}")
    out.extend(f"removed: {p}" for _, p in pending)
    return out


# ---------------------------------------------------------------------------------------------------------
# Summary


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def summarise(
    change_figures: list[FigureChange],
    added: list[str],
    removed: list[str],
    service_mentions: list[str],
    *,
    words_added: int | None = None,
    words_removed: int | None = None,
) -> str:
    """One or two sentences a person reads: figures that moved, then service and site passages.

    Dates that only stamp the page ("Page last reviewed: ...") are left out. With no figure and no service
    passage: "N words added, M removed" and the first added (else removed) passage; the counts default to
    the words in the passages given (`diff_texts` passes the exact ones).
    """
    figures = [f for f in change_figures if not _is_stamp(f)]
    moved_all = [f for f in figures if f.before is not None and f.after is not None]
    moved = moved_all[:3]
    shown = {t for f in moved for t in (f.before, f.after) if t}
    mentions_all = [m for m in service_mentions if not (m.startswith("changed: ") and any(t in m for t in shown))]
    mentions = mentions_all[:2]
    # a figure that only came or went with a passage already quoted is not repeated
    rest_all = [
        f for f in figures if f not in moved_all and not any((f.after or f.before or "") in m for m in mentions)
    ]
    rest = rest_all[: max(0, 3 - len(moved) - len(mentions))]
    parts = [f.describe() for f in moved] + [_clip(m).rstrip(".") for m in mentions] + [f.describe() for f in rest]
    extra = len(moved_all) - len(moved) + len(mentions_all) - len(mentions) + len(rest_all) - len(rest)
    if parts:
        text = "; ".join(parts)
        if extra:
            text += f"; and {extra} more change{'s' if extra != 1 else ''}"
        return text.rstrip(".") + "."
    n_added = sum(len(_TOKEN_WORD.findall(p)) for p in added) if words_added is None else words_added
    n_removed = sum(len(_TOKEN_WORD.findall(p)) for p in removed) if words_removed is None else words_removed
    return describe_words(n_added, n_removed, added, removed)


def describe_words(n_added: int, n_removed: int, added: list[str], removed: list[str]) -> str:
    """'N words added, M removed' with the first added passage (else the first removed one)."""
    if not n_added and not n_removed and not added and not removed:
        return "No changes."
    text = f"{n_added} word{'s' if n_added != 1 else ''} added, {n_removed} removed"
    if added:
        return f'{text}; first added: "{_clip(added[0], 120)}"'
    if removed:
        return f'{text}; first removed: "{_clip(removed[0], 120)}"'
    return text + "."


_STAMP = re.compile(
    r"\b(?:(?:page\s+)?last\s+(?:reviewed|updated|modified|edited|revised|checked)|next\s+review|review\s+(?:due|date)"
    r"|reviewed\s+on"
    r"|(?:updated|published|printed|generated|created|rendered|retrieved|accessed|downloaded)\s+(?:on|at)\b"
    r"|date\s+(?:printed|generated|accessed|retrieved|modified)|page\s+generated|as\s+at\s+\d|copyright|©)",
    re.I,
)
_UI = re.compile(
    r"\b(?:cookies?|help\s+us\s+improve|survey|skip\s+to\s+(?:main\s+)?content|back\s+to\s+top|share\s+this\s+page"
    r"|print\s+this\s+page|sign\s+up|subscribe|newsletter|was\s+this\s+(?:page|information)\s+(?:useful|helpful)"
    r"|report\s+a\s+problem|give\s+(?:us\s+)?feedback|javascript|accept\s+(?:all\s+)?cookies|open\s+in\s+new\s+window"
    r"|search\s+this\s+site|menu|breadcrumb)",
    re.I,
)
_TOKEN_WORD = re.compile(r"\w+(?:['’.,/:-]\w+)*")


def _is_stamp(figure: FigureChange) -> bool:
    return figure.kind == "date" and bool(_STAMP.search(figure.context) or _UI.search(figure.context))
