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
    "table_cells",
    "compare_tables",
    "find_decision_changes",
    "measure_label",
    "SUMMARY_CHARS",
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
    row: str | None = None  # table cells: the row's and column's labels
    column: str | None = None
    total: bool = False  # a total or headline figure (ranks above the rows it sums)
    stamp: bool = False  # a date that only says when a letter, meeting or page was dated: not news
    section: bool = False  # a table row: a whole section of rows added or removed

    def to_json(self) -> dict[str, str | None]:
        out = {"before": self.before, "after": self.after, "context": self.context, "kind": self.kind}
        if self.row is not None or self.column is not None:
            out.update(row=self.row, column=self.column, total=self.total)
        return out

    def describe(self) -> str:
        """One phrase: 'Acute beds to be cut: 180 beds -> 320 beds'; a table row added or removed: 'row added:
        Community Wardens (2025-26 £000s 262.5)'."""
        label = self.context or _KIND_LABEL.get(self.kind, self.kind)
        if self.kind == "row":
            what = "row added" if self.after is not None else "row removed"
            if self.section:
                return f"{'section added' if self.after is not None else 'section removed'}: {self.row}"
            column = f"{self.column} " if self.column else ""
            row = _clip(self.row or "", 90)  # a budget line's whole description is in `changes`
            return f"{what}: {row} ({column}{self.after if self.after is not None else self.before})"
        if self.before is not None and self.after is not None:
            return f"{label}: {self.before} -> {self.after}"
        if self.after is not None:
            return f"{label}: {self.after} (new)"
        return f"{label}: {self.before} (removed)"


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
            context = measure_label(before, x) or _context(before, x, old_found)
            change = FigureChange(x.kind, x.text, y.text, context, x.value, y.value, (x.start, x.end), (y.start, y.end))
            change.stamp = x.kind == "date" and (is_dating(before, x.start) or is_dating(after, y.start))
            changes.append((y.start, change))
        else:
            context = measure_label(before, x) or _context(before, x, old_found)
            change = FigureChange(x.kind, x.text, None, context, x.value, None, (x.start, x.end), None)
            change.stamp = x.kind == "date" and is_dating(before, x.start)
            changes.append((mapped[i], change))
    for j in news:
        if j not in used:
            y = new[j]
            context = measure_label(after, y) or _context(after, y, new_found)
            change = FigureChange(y.kind, None, y.text, context, None, y.value, None, (y.start, y.end))
            change.stamp = y.kind == "date" and is_dating(after, y.start)
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
    """At most `limit` characters, cut at a space (never inside a word), "…" marking the cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


SUMMARY_CHARS = 300  # a summary is shorter than this; the event's `changes` has the full list


def _plain(passage: str) -> str:
    """A quoted passage as a headline: "Bassetlaw A&E will close overnight" -> "Bassetlaw A&E to close overnight"."""
    passage = re.sub(r"\bwill\s+(?:now\s+)?be\b", "to be", passage)
    passage = re.sub(r"\bwill\s+(?:now\s+)?(?=[a-z])", "to ", passage)
    return passage.strip().rstrip(".")


def _fit(parts: list[str], limit: int = SUMMARY_CHARS) -> str:
    """Parts joined with "; " under `limit` characters, largest first as given; the rest counted ("and 3 more
    changes"); a part too long alone is cut at a word, never inside one."""
    out: list[str] = []
    for k, part in enumerate(parts):
        rest = len(parts) - k - 1
        tail = f"; and {rest} more change{'s' if rest != 1 else ''}" if rest else ""
        candidate = "; ".join(out + [part]) + tail + "."
        if len(candidate) < limit:
            out.append(part)
            continue
        if not out:  # the first part alone is too long: cut it at a word
            room = limit - len(tail) - 3
            out.append(_clip(part, max(20, room)))
        left = len(parts) - len(out)
        text = "; ".join(out) + (f"; and {left} more change{'s' if left != 1 else ''}" if left else "")
        return text if text.endswith("…") else text.rstrip(".") + "."
    text = "; ".join(out)
    return text if text.endswith("…") else text.rstrip(".") + "."


def summarise(
    change_figures: list[FigureChange],
    added: list[str],
    removed: list[str],
    service_mentions: list[str],
    *,
    words_added: int | None = None,
    words_removed: int | None = None,
    decisions: Sequence[str] = (),
) -> str:
    """What a campaigner reads, under SUMMARY_CHARS: totals and headline figures, changed recommendations,
    figures named by what they measure, other table cells, services and sites added or removed, in that order;
    no phrase twice; dates that only date a page, letter or meeting left out.

    With none of those: "N words added, M removed" and the first added (else removed) passage; the counts default
    to the words in the passages given (`diff_texts` passes the exact ones).
    """
    figures = [f for f in change_figures if not _is_stamp(f)]
    mentions = [m for m in service_mentions]
    # a figure that only came or went with a passage already quoted is not repeated
    in_mentions = lambda f: (f.before is None or f.after is None) and any(  # noqa: E731
        (f.after or f.before or "") in m for m in mentions)
    totals = [f for f in figures if f.kind in ("table", "row") and f.total]
    text_figures = [f for f in figures if f.kind not in ("table", "row", "date") and not in_mentions(f)]
    cells = [f for f in figures if f.kind == "table" and not f.total]
    rows = [f for f in figures if f.kind == "row" and not f.total]
    dates = [f for f in figures if f.kind == "date" and not in_mentions(f)]
    parts: list[str] = []
    seen: set[object] = set()

    def add(text: str, key: object = None) -> None:
        key = key if key is not None else text.lower()
        if key in seen or text.lower() in seen:
            return
        seen.add(key)
        seen.add(text.lower())
        parts.append(text)

    def add_figure(f: FigureChange) -> None:
        # the same before/after pair under two labels (a "Total Cash Limit" and a "Total Finance" that balance)
        # is one change
        add(f.describe(), (f.before, f.after) if f.before and f.after else None)

    lead = totals[:3]
    column = lead[0].column if lead and lead[0].kind == "table" else None
    if column and len(lead) >= 2 and lead[1].column == column:
        # Headline totals under one column ("2025-26 Total (£000s)": the net budget, total spending, total
        # savings) say the column once, so a campaigner reads four totals, not three column names.
        items: list[str] = []
        grouped: list[FigureChange] = []
        pairs: set[tuple[str | None, str | None]] = set()
        for f in totals:
            if f.column != column or f.kind != "table" or len(grouped) >= 6:
                continue
            if (f.before, f.after) in pairs:  # a "Total Cash Limit" and a "Total Finance" that balance: one
                grouped.append(f)
                continue
            item = f"{f.row}: {f.before} -> {f.after}"
            if items and len(column) + 3 + len("; ".join(items + [item])) > 230:
                break
            items.append(item)
            grouped.append(f)
            pairs.add((f.before, f.after))
        if len(items) >= 2:
            add(f"{column} — " + "; ".join(items))
            for f in grouped:
                seen.add((f.before, f.after))
            lead = []
            totals = [f for f in totals if f not in grouped]
    for f in lead:
        add_figure(f)
    if not lead:
        totals = [None] * 3 + totals  # the group stood for the leading totals; the rest come with the cells
    for d in decisions:
        add(_clip(d, 140))
    for f in text_figures:
        add_figure(f)
    for f in [t for t in totals[3:] if t is not None] + cells:
        add_figure(f)
    for m in mentions:
        if m.startswith("changed: ") and any(t and t in m for f in figures for t in (f.before, f.after)):
            continue  # the figure in it is already listed
        add(_clip(_plain(m), 140))
    for f in rows + dates:
        add_figure(f)
    if parts:
        return _fit(parts)
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
    return figure.kind == "date" and (figure.stamp or bool(_STAMP.search(figure.context) or _UI.search(figure.context)))


# ---------------------------------------------------------------------------------------------------------
# Tables: a changed cell is a figure, labelled by its column and row headers

_UNIT = re.compile(r"^\(?(?:£|£'?0{3}s?|£k|£m|£000s?|\d{0,3}0{3}s|%|wte|fte|k|m|nos?\.?|number)\)?$", re.I)
_TOTAL = re.compile(r"\b(?:total|net|overall|grand|sub-?total|sum|headline|cash limit)\b", re.I)
_TOTAL_LEAD = re.compile(r"^\W*(?:total|net|overall|grand|sub-?total|sum|headline)\b", re.I)
_TOTAL_END = re.compile(r"\b(?:total|sub-?total|cash limit)\W*$", re.I)


def _is_total_row(label: str) -> bool:
    """A row that sums others: its label starts with a total word ("TOTAL SPENDING", "Net budget"), ends with one
    ("Capital programme total"), or is a short label that has one ("Total Cash Limit", "Grand Total"). A long
    description that only mentions one ("... 10% of net revenue budget") is a line item."""
    return bool(_TOTAL_LEAD.search(label) or _TOTAL_END.search(label)
                or (len(label.split()) <= 6 and _TOTAL.search(label)))
_CAPTION_LEAD = re.compile(r"^(?:table|figure|chart)\s+[\w.]{1,6}\s*[:.-]\s*", re.I)
_ROWS_ARE = re.compile(r"\s+(?:by|per|for each)\s+[\w\s,&'-]{1,40}$", re.I)


@dataclass(frozen=True)
class Cell:
    """One figure cell of a table, with what labels it."""

    column: str
    row: str
    text: str
    value: float | None
    total: bool
    page: int | None
    seq: int = 0  # the row's number on its side, in document order (rows of every table counted together)
    part: bool = False  # one part of a column group that has its own total ("Core" beside "Total" under 2025-26)
    section: str = ""  # the section row above it in its table ("MEMORANDUM: CORE", "Funded By:")


def _cell_value(text: str) -> float | None:
    raw = text.strip().replace("£", "").replace(",", "").replace(" ", "")
    negative = raw.startswith("(") and raw.endswith(")")
    raw = raw.strip("()%")
    scale = 1.0
    for suffix, factor in (("bn", 1e9), ("m", 1e6), ("k", 1e3)):
        if raw.lower().endswith(suffix):
            raw, scale = raw[: -len(suffix)], factor
            break
    try:
        value = float(raw) * scale
    except ValueError:
        return 0.0 if raw in ("-", "–", "—") else None
    return -value if negative else value


def _owner(spanning: list[int], j: int, value_columns: list[int]) -> int:
    """The spanning header ("2025-26" over Core / External / Total) that column j is under. Printed over the
    first of its columns (it sits over the first figure column), a header owns the columns up to the next one;
    centred, the nearest one (the left one on a tie)."""
    if value_columns and min(spanning) == min(value_columns):
        return max((k for k in spanning if k <= j), default=min(spanning))
    return min(spanning, key=lambda k: (abs(k - j), k > j))


def _column_labels(rows: list[list[str]], header_rows: int, value_columns: list[int], caption: str
                   ) -> tuple[dict[int, str], dict[int, str]]:
    """Each figure column's label: its header cells top to bottom, units last in brackets ("Total Cost (£000s)").
    Where two columns would read the same ("Core (£000s)" under each year), the nearest header of a row above
    that has several headers (a year spanning Core / External / Total) is put in front. Returns the labels and
    each such column's group (the header put in front: "2025-26")."""
    # A header row with one cell in a table of several columns is a title ("APPENDIX D - Revenue Plan",
    # "INDICATIVE FOR PLANNING PURPOSES"), not any one column's header.
    def is_title(r: int) -> bool:
        cells = [j for j, c in enumerate(rows[r]) if c]
        return len(cells) == 1 and len(rows[r]) > 2 and (cells[0] not in value_columns or len(rows[r][cells[0]]) > 24)

    headers = [r for r in range(header_rows) if not is_title(r)]

    def label_of(j: int, extra: str = "") -> str:
        parts = [rows[r][j] for r in headers if rows[r][j]]
        units = [p for p in parts if _UNIT.match(p)]
        words = [p for p in parts if not _UNIT.match(p)]
        text = " ".join(([extra] if extra else []) + words) or (f"column {j + 1}" if not caption else "")
        if caption:
            text = f"{caption} {text}".strip()
        return text + (f" ({units[0]})" if units else "")

    labels = {j: label_of(j) for j in value_columns}
    groups: dict[int, str] = {}
    seen: dict[str, list[int]] = {}
    for j, label in labels.items():
        seen.setdefault(label, []).append(j)
    for label, columns in seen.items():
        if len(columns) < 2:
            continue
        for r in headers:
            spanning = [k for k in range(len(rows[r])) if rows[r][k] and not _UNIT.match(rows[r][k])]
            if len(spanning) < 2:
                continue
            for j in columns:
                if rows[r][j]:  # the spanning header is over this column: already in its label
                    groups[j] = rows[r][j]
                    continue
                nearest = _owner(spanning, j, value_columns)
                labels[j] = label_of(j, rows[r][nearest])
                groups[j] = rows[r][nearest]
            break
    # Every column under a spanning header row (one above the row of the columns' own headers) has that
    # header as its group, whether or not its label needed it to read apart.
    spanning_rows = [r for r in headers if sum(1 for c in rows[r] if c and not _UNIT.match(c)) >= 2]
    if len(spanning_rows) >= 2:
        r = spanning_rows[0]
        spanning = [k for k in range(len(rows[r])) if rows[r][k] and not _UNIT.match(rows[r][k])]
        for j in value_columns:
            if j not in groups:
                groups[j] = rows[r][j] or rows[r][_owner(spanning, j, value_columns)]
    return labels, groups


def _has_headers(rows: list[list[str]], header_rows: int, value_columns: list[int]) -> bool:
    """Whether a table's header rows name its columns. A header row of one cell is a title, or a line of the
    previous table's text carried onto this one ("Process with Trade Unions" under a description column),
    unless it is a short header over the one figure column ("£000s")."""
    for r in range(header_rows):
        filled = [j for j, c in enumerate(rows[r]) if c]
        if len(filled) >= 2 or (filled and filled[0] in value_columns and len(rows[r][filled[0]]) <= 24):
            return True
    return False


_JOINS = re.compile(r"(?:[&,/(-]|\b(?:and|of|for|to|the|in|on|with|from|by))\s*$", re.I)


def _is_section(text: str) -> bool:
    """A line with no figures that heads the rows below it: "SPENDING", "MEMORANDUM: CORE", "Funded By:"."""
    return text.rstrip().endswith(":") or (any(ch.isalpha() for ch in text) and text.upper() == text)


def _continues(cells: dict[int, str], texts: dict[int, str], label_columns: list[int]) -> bool:
    """Whether a line with no figures is the row above wrapped: its first label cell is empty, or it fills
    several label cells (a category and a description both wrapped), or the row's cell above it breaks off
    ("Government &" / "Legislative"). One cell starting the row's first column ("SPENDING", "Funded By:") is a
    section heading."""
    if not label_columns:
        return False
    first = label_columns[0]
    if first not in texts or len(texts) >= 2:
        return True
    return bool(_JOINS.search(cells.get(first, "")))


def table_cells(structure: dict | None) -> list[Cell]:
    """The figure cells of every table in a structure (tracker/meaning/layout.py's shape), in order.

    A table's figure columns are those holding figures below its header rows, except a row-number column
    (1, 2, 3 ... down the side); the other cells of a row are its label ("Growth, Environment & Transport").
    A line with no figures whose first label cell is empty ("(Placements & Support) | supporting children in
    2024-25" under a budget line) is the row above wrapped onto another line: its text joins that row's label,
    cell by cell, so a description re-wrapped in the next version is still the same row. A line with no
    figures that starts in the first label column ("SPENDING", "Funded By:") is a section, not a continuation.
    A table without column headers after one with as many figure columns carries it on (a table split by a
    page break): it takes that table's column labels, and lines at its top continue the last row before it.
    """
    from tracker.meaning.layout import is_value_cell

    rows_out: list[dict] = []  # logical rows: label cells by column, figures (column label, text, part), page
    previous: tuple[int, list[str], list[bool]] | None = None  # value columns, their labels and parts
    open_row: dict | None = None  # the row a wrapped line may still continue
    section = ""  # the last section row's text in this table
    for block in (structure or {}).get("blocks", []):
        if block.get("type") != "table":
            continue
        rows = block.get("rows") or []
        h = int(block.get("header_rows") or 0)
        if not rows:
            continue
        width = len(rows[0])
        data = rows[h:]
        value_columns = [j for j in range(width) if any(is_value_cell(r[j]) for r in data)]
        index_like = [j for j in value_columns if _is_row_numbers([r[j] for r in data])]
        value_columns = [j for j in value_columns if j not in index_like]
        label_columns = [j for j in range(width) if j not in value_columns and j not in index_like]
        caption = ""
        if h and sum(1 for c in rows[0] if c) == 1 and width > 2 and not any(is_value_cell(c) for c in rows[0]):
            only = next(c for c in rows[0] if c)
            if only not in (rows[0][j] for j in value_columns):  # a title over the table, not one column's header
                caption = _ROWS_ARE.sub("", _CAPTION_LEAD.sub("", only)).strip()
                caption = caption[:1].upper() + caption[1:] if len(caption) <= 40 else ""
        if not _has_headers(rows, h, value_columns) and previous is not None and previous[0] == len(value_columns):
            # A table with no column headers, after one with as many figure columns, carries it on (split by a
            # page break or a long line between its rows; an empty column dropped can change its width): the
            # previous table's labels, column for column, not a caption made of a carried-over line of text.
            labels = dict(zip(value_columns, previous[1]))
            parts = dict(zip(value_columns, previous[2]))
            for row in rows[:h]:  # lines carried over from the last row of the previous page
                texts = {j: row[j] for j in label_columns if row[j]}
                if open_row is not None and texts and _continues({}, texts, label_columns):
                    open_row["more"].extend(texts.values())
            same_table = False
        else:
            labels, groups = _column_labels(rows, h, value_columns, caption)
            # Under one spanning header ("2025-26": Core, External, Total), a column whose own header says total
            # sums its siblings: those are its parts, and rank below it (a campaigner reads the year's total).
            own = {j: labels[j].replace(groups[j], "", 1) if j in groups else labels[j] for j in value_columns}
            totals = {groups[j] for j in value_columns if j in groups and _TOTAL.search(own[j])}
            parts = {j: j in groups and groups[j] in totals and not _TOTAL.search(own[j]) for j in value_columns}
            open_row = None
            same_table = True
            if previous is None or previous[1] != [labels[j] for j in value_columns]:
                section = ""  # a new table; the same headers repeated at the top of a page carry the section on
        previous = (len(value_columns), [labels[j] for j in value_columns], [parts[j] for j in value_columns])
        for row in data:
            figures = [(labels.get(j, f"column {j + 1}"), row[j], parts[j])
                       for j in value_columns if row[j] and is_value_cell(row[j])]
            texts = {j: row[j] for j in label_columns if row[j] and not is_value_cell(row[j])}
            if not figures:
                if open_row is not None and texts and _continues(open_row["cells"], texts, label_columns):
                    if same_table:
                        for j, text in texts.items():
                            open_row["cells"][j] = f"{open_row['cells'].get(j, '')} {text}".strip()
                    else:
                        open_row["more"].extend(texts.values())
                elif texts and _is_section(" ".join(texts.values())):
                    open_row = None  # a section row: what follows is not the row above wrapped
                    section = " ".join(texts.values())
                continue
            row_out = {"cells": texts, "more": [], "figures": figures, "page": block.get("page"), "section": section}
            rows_out.append(row_out)
            # a total is one line: a line of text under it is the next row's or a note, not the total's name
            open_row = None if _is_total_row(" ".join(texts.values())) else row_out
            if open_row is None:
                section = ""  # a total closes its section
            same_table = True
    cells: list[Cell] = []
    for seq, row in enumerate(rows_out, 1):
        label = " ".join([row["cells"][j] for j in sorted(row["cells"])] + row["more"])
        label = _LEADING_FIGURES.sub("", label)  # a figure printed against the label's cell is not its name
        label = _TRAILING_FIGURES.sub("", label)  # nor are figures that ran into it from the next cells
        total = _is_total_row(label)
        for column, text, part in row["figures"]:
            cells.append(Cell(column, label, text, _cell_value(text), total, row["page"], seq, part, row["section"]))
    return cells


_LEADING_FIGURES = re.compile(r"^(?:[-(]?£?\d[\d,.]*\)?\s+)+")
# Grouped or decimal figures, or nil dashes, at the end of a label: "TOTAL PAY 21,845.7 12,524.5" (cells that ran
# together); plain numbers stay ("Phase 2", "Ward 12").
_TRAILING_FIGURES = re.compile(r"(?:\s+(?:[-(]?£?\d{1,3}(?:,\d{3})*\.\d+\)?|[-(]?£?\d{1,3}(?:,\d{3})+\)?|[-–—]))+$")


def _is_row_numbers(column: list[str]) -> bool:
    numbers = [c for c in column if c]
    if len(numbers) < 3 or not all(c.isdigit() and len(c) <= 3 for c in numbers):
        return False
    values = [int(c) for c in numbers]
    return all(b == a + 1 for a, b in zip(values, values[1:]))


def _keyed(cells: list[Cell]) -> dict[tuple[str, str, int], Cell]:
    """Cells by (column, row label, which row of that label): the k-th row labelled "TOTAL PRICES" on one side
    answers to the k-th on the other (a budget book has one per template). A label pair that reads the same for
    several cells of one row (columns whose headers were not read apart) is left out: pairing those by position
    would pair unrelated figures."""
    rows: dict[str, list[int]] = {}
    for cell in cells:
        seqs = rows.setdefault(cell.row.lower(), [])
        if not seqs or seqs[-1] != cell.seq:
            seqs.append(cell.seq)
    out: dict[tuple[str, str, int], Cell] = {}
    ambiguous: set[tuple[str, str, int]] = set()
    for cell in cells:
        row = cell.row.lower()
        key = (cell.column.lower(), row, rows[row].index(cell.seq))
        if key in out:
            ambiguous.add(key)
        out[key] = cell
    return {k: v for k, v in out.items() if k not in ambiguous}


def _row_neighbours(cells: list[Cell]) -> tuple[dict[str, int], dict[int, tuple[str, str]]]:
    """How many rows carry each label, and each row's neighbours' labels (the rows before and after it)."""
    order: list[tuple[int, str]] = []
    for cell in cells:
        if not order or order[-1][0] != cell.seq:
            order.append((cell.seq, cell.row.lower()))
    counts: dict[str, int] = {}
    for _, label in order:
        counts[label] = counts.get(label, 0) + 1
    around = {seq: (order[i - 1][1] if i else "", order[i + 1][1] if i + 1 < len(order) else "")
              for i, (seq, _) in enumerate(order)}
    return counts, around


_LABEL_WORD = re.compile(r"\w+")
def _in_text(label: str, haystack: str, window: int = 6) -> bool:
    """Whether a row's label is in the other side's text (its words, space-joined): the whole label, or for a
    long one most of its runs of `window` words, since the text runs a row's cells together with its figures
    and the lines of a wrapped description ("... adult social care packages including nursing ...")."""
    words = _LABEL_WORD.findall(label.lower())
    if len(words) <= window:
        return f" {' '.join(words)} " in f" {haystack} "
    runs = [" ".join(words[i : i + window]) for i in range(0, len(words) - window + 1, 3)]
    return sum(1 for run in runs if run in haystack) >= 0.5 * len(runs)


def _reworded_rows(gone: list[Cell], came: list[Cell]) -> list[tuple[Cell, Cell]]:
    """Pairs of a row gone and a row come that are one row reworded: a budget line's description re-wrapped or
    with words added ("... services," -> "... services, being"; "Extended Waste" -> "Extended Producer Waste",
    a wrapped line of the next row run on to one side's label). Every word of the shorter label is in the
    longer, as many times (in any order: a wrapped word can land in the next column's band), and they share
    the column: one word put for another ("SEN - Cost" / "SEN - Demand", two lines of a budget) is two rows. Longest labels first; each row in one pair at most."""
    from collections import Counter

    if not gone or not came or len(gone) * len(came) > 250_000:
        return []
    words = {id(c): _LABEL_WORD.findall(c.row.lower()) for c in gone + came}
    scored = []
    for x in gone:
        for y in came:
            if x.column != y.column:
                continue
            a, b = words[id(x)], words[id(y)]
            short, long_ = sorted((a, b), key=len)
            if len(short) >= 0.6 * len(long_) and not (Counter(short) - Counter(long_)):
                scored.append((len(short) / max(1, len(long_)), id(x), id(y), x, y))
    pairs, used = [], set()
    for _, ix, iy, x, y in sorted(scored, key=lambda t: -t[0]):
        if ix in used or iy in used:
            continue
        used.update((ix, iy))
        pairs.append((x, y))
    return pairs


def compare_tables(before: dict | None, after: dict | None, before_text: str = "", after_text: str = "") -> list[FigureChange]:
    """Figure changes between the tables of two structures: a cell whose (column, row) label reads the same on
    both sides but whose figure differs is one change ("Total Cost (£000s), Total Cash Limit: 2,007,750 ->
    2,002,563"); a row whose label is on one side only is a row added or removed (a project taken out of a
    capital programme), given by its first figure, when its label is nowhere in the other side's text (a row
    whose label only moved or merged with another is not gone). Cells are matched by labels, not positions, so a table
    re-paginated, split over pages or with a column added still compares cell for cell. Totals first (a total
    sums the rows below it: it is the headline), then by how much the figure moved."""
    old_cells, new_cells = table_cells(before), table_cells(after)
    old, new = _keyed(old_cells), _keyed(new_cells)
    if not old or not new:
        return []
    (old_counts, old_around), (new_counts, new_around) = _row_neighbours(old_cells), _row_neighbours(new_cells)
    changes: list[FigureChange] = []
    seqs: list[int] = []  # each table change's row (on the old side), in document order
    for key, x in old.items():
        y = new.get(key)
        if y is None or x.text == y.text or (x.value is not None and x.value == y.value):
            continue
        row = key[1]
        if old_counts[row] > 1 or new_counts[row] > 1:
            # A label on several rows ("TOTAL PRICES" closing each template of a budget book) pairs the k-th
            # with the k-th only when both sides have as many such rows and the row sits among the same rows
            # (the one before or after it has the same label): a template added or dropped on one side would
            # otherwise pair one template's total with another's.
            if old_counts[row] != new_counts[row]:
                continue
            (a_before, a_after), (b_before, b_after) = old_around[x.seq], new_around[y.seq]
            if a_before != b_before and a_after != b_after:
                continue
        label = ", ".join(p for p in (x.column, x.row) if p)
        change = FigureChange("table", x.text, y.text, label, x.value, y.value)
        # one part of a total column (Core beside Total under a year) is a detail of the total beside it
        change.row, change.column, change.total = x.row, x.column, x.total and not x.part
        changes.append(change)
        seqs.append(x.seq)
    # a row added or removed is given by its first figure that is not nil ("2026-27 £000's 262.5", not the
    # "0.0" of a year it does not touch)
    old_rows = {c.row.lower(): c for c in reversed(list(old.values())) if c.row and c.value != 0.0}
    new_rows = {c.row.lower(): c for c in reversed(list(new.values())) if c.row and c.value != 0.0}
    old_rows.update({c.row.lower(): c for c in reversed(list(old.values())) if c.row and c.row.lower() not in old_rows})
    new_rows.update({c.row.lower(): c for c in reversed(list(new.values())) if c.row and c.row.lower() not in new_rows})
    old_columns = {c.column.lower() for c in old.values()}
    new_columns = {c.column.lower() for c in new.values()}
    # Labels are looked for in the other side's text word for word, punctuation aside ("DRIVERS - COST" is
    # printed "DRIVERS COST" when the dash is drawn as a line).
    haystacks = {-1: " ".join(_LABEL_WORD.findall(after_text.lower())),
                 1: " ".join(_LABEL_WORD.findall(before_text.lower()))}
    gone: list[Cell] = []
    came: list[Cell] = []
    for rows, others, columns, side, out in ((old_rows, new_rows, new_columns, -1, gone),
                                             (new_rows, old_rows, old_columns, 1, came)):
        for name, cell in rows.items():
            if _in_text(name, haystacks[side]):
                continue
            if name in others or cell.column.lower() not in columns or not name[:1].isalpha() \
                    or cell.column.startswith("column "):
                continue  # a row only in a table the other side does not have is no row added or removed
            out.append(cell)
    for x, y in _reworded_rows(gone, came):
        # the same row with its description reworded or wrapped differently: its figures compared by column
        before_by_column = {c.column: c for c in old_cells if c.seq == x.seq}
        for b in (c for c in new_cells if c.seq == y.seq):
            a = before_by_column.get(b.column)
            if a is None or a.text == b.text or (a.value is not None and a.value == b.value):
                continue
            change = FigureChange("table", a.text, b.text, ", ".join(p for p in (b.column, b.row) if p), a.value,
                                  b.value)
            change.row, change.column, change.total = b.row, b.column, b.total and not b.part
            changes.append(change)
        gone.remove(x)
        came.remove(y)
    sections: list[FigureChange] = []
    for cells, side, all_cells in ((gone, -1, old_cells), (came, 1, new_cells)):
        # A section whose heading is not in the other version and whose rows all went (or came) with it is one
        # change, "section removed: MEMORANDUM: CORE (7 rows)", after the rows taken out of (or put into)
        # sections that stayed: a recap dropped is said once, and a line cut from a budget that remains is
        # the news.
        names = {c.row.lower() for c in cells}
        by_section: dict[str, set[str]] = {}
        for c in all_cells:
            if c.section and c.row[:1].isalpha():
                by_section.setdefault(c.section, set()).add(c.row.lower())
        for name, rows_in in by_section.items():
            if len(rows_in) < 2 or not rows_in <= names or _in_text(name, haystacks[side]):
                continue
            members = [c for c in cells if c.row.lower() in rows_in]
            if not members:
                continue
            first = members[0]
            what = f"{name} ({len(rows_in)} rows)"
            change = FigureChange("row", first.text if side < 0 else None, first.text if side > 0 else None,
                                  what, first.value if side < 0 else None, first.value if side > 0 else None)
            change.row, change.column = what, first.column
            change.section = True
            sections.append(change)
            for cell in members:
                cells.remove(cell)
    for cells, side in ((gone, -1), (came, 1)):
        for cell in cells:
            label = ", ".join(p for p in (cell.column, cell.row) if p)
            change = FigureChange("row", cell.text if side < 0 else None, cell.text if side > 0 else None, label,
                                  cell.value if side < 0 else None, cell.value if side > 0 else None)
            change.row, change.column, change.total = cell.row, cell.column, cell.total and not cell.part
            changes.append(change)

    def weight(c: FigureChange) -> tuple[int, int, int, float, float]:
        # Totals first, and among them the biggest figure (a net budget above the subtotals it is made of),
        # then the cells that moved most.
        a = c.before_value if isinstance(c.before_value, float) else 0.0
        b = c.after_value if isinstance(c.after_value, float) else 0.0
        size = max(abs(a), abs(b)) if c.total else 0.0
        return (0 if c.total else 1, 0 if c.kind == "table" else 1, -size,
                0 if _TOTAL.search(c.column or "") else 1, -abs(b - a))

    # A total row that changed in several columns (a budget line carried across three years) is one headline,
    # said for its first changed column (the year nearest); the other columns are details in `changes`.
    headed: set[int] = set()
    for change, seq in zip(changes, seqs):
        if change.kind == "table" and change.total:
            if seq in headed:
                change.total = False
            headed.add(seq)
    changes.sort(key=weight)
    return changes + sections


# ---------------------------------------------------------------------------------------------------------
# What a figure measures, dates that only date a letter or meeting, decisions

# A date right after a letter's or a meeting's label ("Date: 13 March 2025", "To: Cabinet - 4 March 2025",
# "Thursday 13 March 2025", "Cabinet Committee 6th March 2025") dates the paper, it is not a change to a plan;
# "close from April 2017" or "consultation ends 30 June" keep their verbs and stay figures.
_STAMP_LEAD = re.compile(
    r"(?:\bdated?|\bcabinet|\bcouncil|\bcommittee|\bboard|\bmeeting|\bpanel|\bforum|\bissued"
    r"|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day|\bheld\s+on|\bpathway\s+of\s+paper|\bpaper)\s*[:,–-]?\s*$"
    r"|:\s*$",
    re.I,
)


def is_dating(text: str, start: int) -> bool:
    """True when the date at `start` of `text` follows a letter's or meeting's label (see _STAMP_LEAD)."""
    return _STAMP_LEAD.search(text[max(0, start - 40) : start]) is not None


_MEASURE = re.compile(
    r"\b(gap|deficit|shortfall|savings?|investment|budget|spend(?:ing)?|costs?|funding|income|grants?|allocation"
    r"|capital\s+programme|surplus|contracts?|reserves?)\b",
    re.I,
)
_NAMED_FUND = re.compile(
    r"\b((?:[A-Z][\w'&-]*\s(?:(?:and|&|of|for)\s)?){1,6}(?:Grant|Fund|Budget|Programme|Allocation|Levy|Settlement))\b"
)
_CUT = re.compile(r"\b(?:reduc\w*|cut\w*|clos\w*|fewer|los[es]\w*|remov\w*|decommission\w*)\b", re.I)
_GROW = re.compile(r"\b(?:increas\w*|additional|extra|more|open\w*|new|expan\w*|grow\w*)\b", re.I)
_WHEN_AFTER = re.compile(r"\s*(?:beds?\s+|posts?\s+)?(?:\w+\s+){0,3}?\b(by|in|for|over|from)\s+"
                         r"((?:19|20)\d\d(?:\s?[/-]\s?\d\d(?:\d\d)?)?|(?:the\s+)?next\s+\w+\s+years|\w+\s+years)\b", re.I)
_ADJECTIVE_STOP = _STOP | {"we", "will", "propose", "proposed", "plan", "plans", "planned", "reach", "be", "has", "have"}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def measure_label(text: str, figure: Figure) -> str | None:
    """What a figure measures, from its sentence: "Acute beds to be cut", "Funding gap by 2020/21",
    "Additional community nursing posts by 2023/24"; None when the sentence does not say."""
    left, right = _sentence_bounds(text, figure.start, figure.end, reach=200)
    sentence = text[left:right]
    when = _WHEN_AFTER.match(text, figure.end, min(right, figure.end + 60))
    timeframe = f" {when.group(1).lower()} {when.group(2)}" if when and when.group(2)[:1].isdigit() else ""
    if figure.kind == "beds":
        adjectives = [w for w in re.findall(rf"\b({_BED_WORDS})\s+(?=(?:\w+\s+){{0,1}}beds?\b)", sentence, re.I)
                      if w.lower() not in ("more", "fewer", "new", "additional", "extra")]
        noun = " ".join(dict.fromkeys(a.lower() for a in adjectives[:2]))
        direction = " to be cut" if _CUT.search(sentence) else (" to be added" if _GROW.search(sentence) else "")
        return _capital(f"{noun} beds".strip()) + direction + timeframe
    if figure.kind == "posts":
        between = text[figure.start:figure.end]
        words = [w for w in re.findall(r"[A-Za-z][\w'-]*", between) if w.lower() not in _STOP]
        return _capital(" ".join(words)) + timeframe if words else None
    if figure.kind == "money":
        match = _MEASURE.search(sentence)
        # A named grant, fund or programme in the sentence or just before it ("Children's Social Care
        # Prevention Grant ... This has been uplifted to £269.7m") names the figure best.
        names = _NAMED_FUND.findall(text, max(0, left - 300), figure.start)
        if names and (not match or names[-1].lower().endswith(match.group(1).lower())):
            return " ".join(names[-1].split()) + timeframe
        if not match:
            return " ".join(names[-1].split()) + timeframe if names else None
        noun = match.group(1).lower()
        if noun == "gap" and re.search(r"\bfunding\b", sentence, re.I):
            return "Funding gap" + timeframe
        before = [w for w in re.findall(r"[A-Za-z][\w'-]*", sentence[: match.start()])[-2:]]
        modifiers = []
        for word in reversed(before):
            if word.lower() in _ADJECTIVE_STOP:
                break
            modifiers.insert(0, word.lower())
        return _capital(" ".join(modifiers + [noun])) + timeframe
    return None


_DECISION_VERBS = frozenset(
    "note endorse adopt approve agree delegate recommend reject defer consider comment support accept authorise "
    "authorize resolve request ratify confirm refer grant refuse receive nominate appoint establish commission "
    "decide proceed withdraw rescind amend".split()
)
# "(iii) ENDORSE the Cabinet Member's proposal ..." (ModernGov and CMIS report templates, ICB board papers)
_MARKED_DECISION = re.compile(
    r"\((?P<mark>[ivx]{1,6}|[a-z]|\d{1,2})\)\s+(?P<verb>[A-Z]{3,})\b(?P<rest>[^;]{0,200})"
)
# "The Board is asked to approve ...", "Council is recommended to adopt ..."
_ASKED_DECISION = re.compile(
    r"\b(?:is|are)\s+(?:asked|recommended|invited|requested)\s+to:?\s+(?P<verb>[A-Za-z]{3,})\b(?P<rest>[^.;]{0,240})"
)


_REST_END = re.compile(r"\.\s|\.$|\s\((?:[ivx]{1,6}|[a-z]|\d{1,2})\)\s|\s(?:and|or)$")


def _decisions(text: str) -> list[tuple[str | None, str, str]]:
    found = []
    for m in _MARKED_DECISION.finditer(text):
        if m.group("verb").lower() in _DECISION_VERBS:
            rest = m.group("rest")
            end = _REST_END.search(rest)
            rest = rest[: end.start()] if end else rest
            found.append((m.group("mark"), m.group("verb"), " ".join(rest.split()).rstrip(",; ")))
    for m in _ASKED_DECISION.finditer(text):
        if m.group("verb").lower() in _DECISION_VERBS:
            found.append((None, m.group("verb"), " ".join(m.group("rest").split())))
    return found


def find_decision_changes(before: str, after: str) -> list[str]:
    """Recommendations and decisions whose verb changed ("Recommendation (iii): ENDORSE -> ADOPT the Kent
    Minerals and Waste Local Plan"), and those added or removed, from the decision lists of report templates."""
    old, new = _decisions(before), _decisions(after)
    out: list[str] = []
    old_marked = {mark: (verb, rest) for mark, verb, rest in old if mark}
    new_marked = {mark: (verb, rest) for mark, verb, rest in new if mark}
    old_verbs = {(verb.lower(), rest.lower()) for _, verb, rest in old}
    new_verbs = {(verb.lower(), rest.lower()) for _, verb, rest in new}
    for mark, (verb, rest) in new_marked.items():
        if mark in old_marked and old_marked[mark][0].lower() != verb.lower():
            out.append(f"Recommendation ({mark}): {old_marked[mark][0]} -> {verb} {rest}".strip())
        elif mark not in old_marked and (verb.lower(), rest.lower()) not in old_verbs:
            out.append(f"new recommendation: {verb} {rest}".strip())
    for mark, (verb, rest) in old_marked.items():
        if mark not in new_marked and (verb.lower(), rest.lower()) not in new_verbs:
            out.append(f"recommendation removed: {verb} {rest}".strip())
    old_asked = [(v, r) for m, v, r in old if m is None]
    new_asked = [(v, r) for m, v, r in new if m is None]
    if old_asked and new_asked and {v.lower() for v, _ in old_asked} != {v.lower() for v, _ in new_asked}:
        gone = [v for v, _ in old_asked if v.lower() not in {x.lower() for x, _ in new_asked}]
        came = [(v, r) for v, r in new_asked if v.lower() not in {x.lower() for x, _ in old_asked}]
        if gone and came:
            out.append(f"Recommendation: {gone[0]} -> {came[0][0]} {came[0][1]}".strip())
    return out
