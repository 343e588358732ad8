"""Word-level diffs of normalised texts (diff-match-patch), with a detected timeout, readable output and figures.

Whitespace rule, so that re-wrapping is never a change: texts are compared as `canonical_whitespace` makes
them (paragraphs split at blank lines, every other whitespace run one space); equal + deleted ops rebuild the
canonical before text, equal + inserted ops the canonical after text, exactly.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from diff_match_patch import diff_match_patch

from tracker.meaning.figures import (FigureChange, compare_figures, compare_tables, find_decision_changes,
                                     find_service_changes, summarise, table_cells)

__all__ = [
    "DIFF_CSS",
    "TOKEN_CAPACITY",
    "Change",
    "canonical_whitespace",
    "diff_texts",
    "tokenise",
]

PARAGRAPH = "\n\n"
# Tokens carry their trailing space, which halves their number (and diff-match-patch's work) against separate
# space tokens. A word keeps inner punctuation that belongs to it: "1,200", "2017/18", "it's"; "£1.2bn" is
# "£" + "1.2bn"; "A&E" is "A", "&", "E".
_TOKENS = {
    "word": re.compile(r"\n\n|\w+(?:['’.,/:-]\w+)* ?|[^\w\s] ?| "),
    "sentence": re.compile(r"\n\n|[^.!?\n]+[.!?]* ?|[.!?]+ ?| "),
    "paragraph": re.compile(r"\n\n|(?:(?!\n\n)[\s\S])+"),
}
_SURROGATES = 0xE000 - 0xD800
#: Distinct tokens one diff can map to characters: every code point from U+0001 except the surrogates.
TOKEN_CAPACITY = 0x10FFFF - _SURROGATES
MAX_SNIPPETS = 20
MAX_FIGURES = 200
SNIPPET_CHARS = 300
_SHORT_PIECE_WORDS = 8  # shorter inserted/deleted pieces are shown within their sentence


def canonical_whitespace(text: str) -> str:
    """The text the diff compares: paragraphs (split at blank lines) with each whitespace run made one space,
    no space at either end, empty paragraphs dropped, joined by a blank line. Re-wrapping cannot change it.

    Line breaks are those of str.splitlines (so a form feed on its own line also ends a paragraph)."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append(" ".join(" ".join(current).split()))
            current = []
    if current:
        paragraphs.append(" ".join(" ".join(current).split()))
    return PARAGRAPH.join(paragraphs)


def tokenise(text: str, granularity: str = "word") -> list[str]:
    """Split a canonical text into tokens whose concatenation is the text ("word ", "£", ". ", a blank line)."""
    return _TOKENS[granularity].findall(text)


def _code_points() -> Iterator[str]:
    yield from map(chr, range(1, 0xD800))  # U+0000 stays unused, as in diff_linesToChars
    yield from map(chr, range(0xE000, 0x110000))


def _encode(a: list[str], b: list[str], capacity: int) -> tuple[str, str, dict[str, str]] | None:
    """Map each distinct token to one character (as diff_linesToChars does for lines), skipping U+0000 and the
    surrogates; None when there are more distinct tokens than `capacity`. Returns both encodings and the
    character -> token table."""
    distinct = dict.fromkeys(a)
    distinct.update(dict.fromkeys(b))
    if len(distinct) > min(capacity, TOKEN_CAPACITY):
        return None
    table = dict(zip(distinct, _code_points()))
    encode = table.__getitem__
    return "".join(map(encode, a)), "".join(map(encode, b)), dict(zip(table.values(), table))


def _decode(piece: str, vocab: dict[str, str]) -> str:
    return "".join(map(vocab.__getitem__, piece))


class _TimedDMP(diff_match_patch):
    """diff_match_patch that records when a bisection gave up at the deadline (its silent 'delete all, insert all')."""

    def __init__(self) -> None:
        super().__init__()
        self.gave_up = False

    def diff_bisect(self, text1: str, text2: str, deadline: float) -> list[tuple[int, str]]:
        diffs = super().diff_bisect(text1, text2, deadline)
        if time.time() > deadline:
            self.gave_up = True
        return diffs


TWO_LEVEL_FROM = 40  # paragraphs: above this, paragraphs are matched first and words compared only where they differ


def _word_ops(old: str, new: str, dmp: _TimedDMP, capacity: int) -> list[tuple[int, str]] | None:
    """Word-level operations between two passages (tokens encoded as characters, cleaned up at token level)."""
    encoded = _encode(tokenise(old, "word"), tokenise(new, "word"), capacity)
    if encoded is None:
        return None
    chars_a, chars_b, vocab = encoded
    diffs = dmp.diff_main(chars_a, chars_b, checklines=False)
    dmp.diff_cleanupSemantic(diffs)
    return [(op, _decode(piece, vocab)) for op, piece in diffs]


def _two_level_ops(a: str, b: str, dmp: _TimedDMP, capacity: int) -> list[tuple[int, str]] | None:
    """Match whole paragraphs first (one character per paragraph, as diff_linesToChars does for lines), then
    compare words only inside each run of changed paragraphs. Many scattered edits in a long plan cost a
    sum of small diffs instead of one large one; the result is the same kind of word-level operations."""
    encoded = _encode(tokenise(a, "paragraph"), tokenise(b, "paragraph"), capacity)
    if encoded is None:
        return None
    chars_a, chars_b, vocab = encoded
    top = dmp.diff_main(chars_a, chars_b, checklines=False)
    ops: list[tuple[int, str]] = []
    pending: dict[int, list[str]] = {-1: [], 1: []}

    def flush() -> bool:
        old, new = "".join(pending[-1]), "".join(pending[1])
        pending[-1].clear()
        pending[1].clear()
        if old and new:
            sub = _word_ops(old, new, dmp, capacity)
            if sub is None:
                return False
            ops.extend(sub)
        elif old:
            ops.append((-1, old))
        elif new:
            ops.append((1, new))
        return True

    for op, piece in top:
        text = _decode(piece, vocab)
        if op == 0:
            if not flush():
                return None
            ops.append((0, text))
        else:
            pending[op].append(text)
    if not flush():
        return None
    merged: list[tuple[int, str]] = []
    for op, text in ops:
        if not text:
            continue
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + text)
        else:
            merged.append((op, text))
    return merged


@dataclass
class Change:
    """What changed between two texts: operations on the canonical texts, counts, figures, passages, summary."""

    ops: list[tuple[int, str]] = field(default_factory=list)
    timed_out: bool = False
    seconds: float = 0.0
    words_added: int = 0
    words_removed: int = 0
    figures: list[FigureChange] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    summary: str = "No changes."
    granularity: str = "word"  # coarser ("sentence", "paragraph") only when words would not fit
    messages: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)  # recommendations whose verb changed, added or removed
    services: list[str] = field(default_factory=list)  # "new: ...", "removed: ...", "changed: ..." passages

    def is_empty(self) -> bool:
        """True when nothing was inserted or deleted (re-wrapped text is empty)."""
        return not any(op != 0 for op, _ in self.ops)


    def to_json(self, max_equal: int | None = 200) -> dict[str, Any]:
        """A JSON-ready dict. Equal pieces longer than `max_equal` keep only their ends ("ops_elided" says so);
        `max_equal=None` keeps every character, so the ops rebuild both texts."""
        ops: list[list[Any]] = []
        elided = False
        for op, piece in self.ops:
            if op == 0 and max_equal is not None and len(piece) > max_equal:
                half = max(1, max_equal // 2)
                piece = piece[:half] + " … " + piece[-half:]
                elided = True
            ops.append([op, piece])
        return {
            "ops": ops,
            "ops_elided": elided,
            "timed_out": self.timed_out,
            "seconds": round(self.seconds, 4),
            "words_added": self.words_added,
            "words_removed": self.words_removed,
            "figures": [f.to_json() for f in self.figures],
            "added": list(self.added),
            "removed": list(self.removed),
            "summary": self.summary,
            "granularity": self.granularity,
            "messages": list(self.messages),
            "decisions": list(self.decisions),
            "services": list(self.services),
        }

    # -- rendering ---------------------------------------------------------------------------------------

    def _rows(self) -> list[list[tuple[int, str, int, int]]]:
        """Paragraph rows: segments (op, text, offset in before, offset in after), split at paragraph breaks."""
        rows: list[list[tuple[int, str, int, int]]] = [[]]
        b = a = 0
        for op, piece in self.ops:
            parts = piece.split(PARAGRAPH)
            for k, part in enumerate(parts):
                if k:
                    rows.append([])
                    step = len(PARAGRAPH)
                    b += step if op <= 0 else 0
                    a += step if op >= 0 else 0
                if part:
                    rows[-1].append((op, part, b, a))
                    b += len(part) if op <= 0 else 0
                    a += len(part) if op >= 0 else 0
        return [row for row in rows if row]

    def _shown(self, rows: list[list[tuple[int, str, int, int]]], context: int | None) -> Iterator[tuple[str, Any]]:
        """('row', segments) to show, ('gap', n) for n unchanged rows elided, ('cut', n) for rows past MAX_ROWS."""
        if context is None:
            for i, row in enumerate(rows):
                if i >= MAX_ROWS:
                    yield "cut", len(rows) - i
                    return
                yield "row", _trim_row(row, whole=True)
            return
        changed = [i for i, row in enumerate(rows) if any(op != 0 for op, *_ in row)]
        keep = set()
        for i in changed:
            keep.update(range(max(0, i - context), min(len(rows), i + context + 1)))
        gap = shown = 0
        for i, row in enumerate(rows):
            if i in keep:
                if shown >= MAX_ROWS:
                    yield "cut", len(rows) - i
                    return
                if gap:
                    yield "gap", gap
                    gap = 0
                shown += 1
                yield "row", _trim_row(row) if i in changed else _trim_row(row, whole=True)
            else:
                gap += 1
        if gap:
            yield "gap", gap

    def to_text(self, context: int = 1) -> str:
        """Changed paragraphs marked [-removed-]{+added+}, with `context` unchanged paragraphs around them."""
        if self.is_empty():
            return "(no changes)"
        out: list[str] = []
        if self.timed_out:
            out.append("!! " + "; ".join(self.messages))
        for kind, item in self._shown(self._rows(), context):
            if kind != "row":
                out.append(f"[… {_rows_label(kind, item)} …]")
                continue
            line = []
            for op, piece, _, _ in item:
                if op in (0, _ELIDED):
                    line.append(piece)
                elif op < 0:
                    line.append(f"[-{piece}-]")
                elif op > 0:
                    line.append(f"{{+{piece}+}}")
            out.append("".join(line))
        return "\n\n".join(out)

    def shown_rows(self, context: int | None = 1) -> Iterator[tuple[str, Any]]:
        """What a reader is shown: ('row', [(op, text), ...]) for a paragraph with changes (op -1 deleted, 1
        inserted, 0 unchanged), ('gap', n) / ('cut', n) for paragraphs left out; for renderers outside this
        module (the terminal's coloured diff)."""
        for kind, item in self._shown(self._rows(), context):
            if kind != "row":
                yield kind, item
            else:
                yield "row", [(0 if op == _ELIDED else op, piece) for op, piece, _, _ in item]

    @staticmethod
    def gap_label(kind: str, n: int) -> str:
        return _rows_label(kind, n)

    def to_html(self, side_by_side: bool = False, context: int | None = 2, css: bool = True) -> str:
        """An HTML fragment: <del class="diff-del">/<ins class="diff-ins">, changed figures in
        <mark class="diff-figure">, unchanged paragraphs beyond `context` elided (None shows all); side by
        side is a two-column table by paragraph. Every piece of document text goes through html.escape."""
        before_spans = sorted(f.before_span for f in self.figures if f.before_span)
        after_spans = sorted(f.after_span for f in self.figures if f.after_span)
        parts = [f"<style>{DIFF_CSS}</style>"] if css else []
        parts.append(f'<div class="stp-diff"><p class="diff-summary">{_escape(self.summary)}</p>')
        if self.timed_out:
            parts.append(f'<p class="diff-warning">{_escape("; ".join(self.messages))}</p>')
        if side_by_side:
            parts.append('<table class="diff-sbs"><thead><tr><th>Before</th><th>After</th></tr></thead><tbody>')
        lefts: list[str] = []  # side by side: a run of changed paragraphs, aligned when the run ends
        rights: list[str] = []

        def flush() -> None:
            for k in range(max(len(lefts), len(rights))):
                left = lefts[k] if k < len(lefts) else ""
                right = rights[k] if k < len(rights) else ""
                parts.append(f'<tr class="diff-changed"><td>{left}</td><td>{right}</td></tr>')
            lefts.clear()
            rights.clear()

        for kind, item in self._shown(self._rows(), context):
            if kind != "row":
                label = _escape(f"… {_rows_label(kind, item)} …")
                if side_by_side:
                    flush()
                    parts.append(f'<tr class="diff-gap"><td colspan="2">{label}</td></tr>')
                else:
                    parts.append(f'<p class="diff-gap">{label}</p>')
                continue
            if not side_by_side:
                parts.append("<p>" + "".join(_html_segment(s, before_spans, after_spans) for s in item) + "</p>")
                continue
            left = "".join(_html_segment(s, before_spans, after_spans) for s in item if s[0] <= 0 or s[0] == _ELIDED)
            right = "".join(_html_segment(s, before_spans, after_spans) for s in item if s[0] >= 0)
            if all(s[0] in (0, _ELIDED) for s in item):
                flush()
                parts.append(f"<tr><td>{left}</td><td>{right}</td></tr>")
                continue
            if any(s[0] in (0, -1) for s in item):
                lefts.append(left)
            if any(s[0] in (0, 1) for s in item):
                rights.append(right)
        if side_by_side:
            flush()
            parts.append("</tbody></table>")
        parts.append("</div>")
        return "".join(parts)


DIFF_CSS = (
    ".stp-diff{font-family:sans-serif;line-height:1.5}"
    # Deleted and inserted text stay distinguishable without colour (strike-through, underline) and when a
    # figure inside them is highlighted: the highlight is an outline in the side's own colour, never a fill
    # that hides which side the figure is on (a deleted 180 and an added 320 must not look alike).
    ".stp-diff del.diff-del{background:#fdd;color:#900;text-decoration:line-through}"
    ".stp-diff ins.diff-ins{background:#dfd;color:#060;text-decoration:underline}"
    ".stp-diff mark.diff-figure{background:#fe6;color:inherit;font-weight:bold}"
    ".stp-diff del.diff-del mark.diff-figure{background:#fbb;outline:2px solid #900;text-decoration:line-through}"
    ".stp-diff ins.diff-ins mark.diff-figure{background:#bfb;outline:2px solid #060;text-decoration:underline}"
    ".stp-diff .diff-gap{color:#777;font-style:italic}"
    ".stp-diff .diff-warning{background:#fec;border:1px solid #c90;padding:.3em}"
    ".stp-diff .diff-elided{color:#777}"
    ".stp-diff table.diff-sbs{border-collapse:collapse;width:100%;table-layout:fixed}"
    ".stp-diff table.diff-sbs td{vertical-align:top;border-top:1px solid #ddd;padding:.3em;width:50%}"
)

def _rows_label(kind: str, n: int) -> str:
    plural = "s" if n != 1 else ""
    if kind == "gap":
        return f"{n} unchanged paragraph{plural}"
    return f"output cut at {MAX_ROWS} paragraphs: {n} more paragraph{plural} not shown"


_ELIDED = 3  # op code for a "…" marker inside a long unchanged stretch
_KEEP_CHARS = 160
#: Inserted or deleted text longer than this is shown by its head and tail.
MAX_PIECE_CHARS = 1600
#: Paragraphs shown at most by to_text / to_html; the rest is counted, not rendered.
MAX_ROWS = 500


def _trim_row(row: list[tuple[int, str, int, int]], whole: bool = False) -> list[tuple[int, str, int, int]]:
    """Shorten long stretches in a row: unchanged text to the words next to the edits (or the row's ends),
    inserted or deleted text over MAX_PIECE_CHARS to its head and tail."""
    out: list[tuple[int, str, int, int]] = []
    for k, (op, piece, b, a) in enumerate(row):
        if op == 0:
            limit = 3 * _KEEP_CHARS
            head = _KEEP_CHARS if whole or k > 0 else 0
            tail = _KEEP_CHARS if whole or k < len(row) - 1 else 0
        else:
            limit, head, tail = MAX_PIECE_CHARS, MAX_PIECE_CHARS // 2, MAX_PIECE_CHARS // 4
        if len(piece) <= limit:
            out.append((op, piece, b, a))
            continue
        if head:
            cut = piece.rfind(" ", 0, head)
            cut = cut if cut > 0 else head
            out.append((op, piece[:cut], b, a))
        skipped = len(piece) - (head or 0) - (tail or 0)
        out.append((_ELIDED, f" … [{skipped:,} characters] … " if op else " … ", b, a))
        if tail:
            start = piece.find(" ", len(piece) - tail)
            start = start if start != -1 else len(piece) - tail
            out.append((op, piece[start:], b + (start if op <= 0 else 0), a + (start if op >= 0 else 0)))
    return out


_CONTROLS = {c: "\ufffd" for c in [*range(0, 9), 11, 12, *range(14, 32), 127]}


def _escape(text: str) -> str:
    """html.escape, and control characters (not allowed in HTML) shown as U+FFFD."""
    return html.escape(text).translate(_CONTROLS)


def _html_segment(segment: tuple[int, str, int, int], before_spans: list, after_spans: list) -> str:
    op, piece, b, a = segment
    if op == _ELIDED:
        return f'<span class="diff-elided">{_escape(piece)}</span>'
    spans = before_spans if op < 0 else after_spans
    offset = b if op < 0 else a
    if op == 0:  # an unchanged piece can hold part of a changed figure ("£" of "£571m")
        spans, offset = after_spans, a
    body = _mark_figures(piece, offset, spans)
    if op < 0:
        return f'<del class="diff-del">{body}</del>'
    if op > 0:
        return f'<ins class="diff-ins">{body}</ins>'
    return body


def _mark_figures(piece: str, offset: int, spans: list[tuple[int, int]]) -> str:
    out: list[str] = []
    pos = 0
    end = offset + len(piece)
    for s, e in spans:
        if e <= offset or s >= end:
            continue
        lo, hi = max(s, offset) - offset, min(e, end) - offset
        out.append(_escape(piece[pos:lo]))
        out.append(f'<mark class="diff-figure">{_escape(piece[lo:hi])}</mark>')
        pos = hi
    out.append(_escape(piece[pos:]))
    return "".join(out)


# -- passages --------------------------------------------------------------------------------------------

_BOUNDARY = re.compile(r"[.!?](?=\s)|\n\n")
_WORDLIKE = re.compile(r"\w")


def _clip(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def _sentence_around(text: str, start: int, end: int) -> str:
    lo = max(0, start - SNIPPET_CHARS)
    left = lo
    for match in _BOUNDARY.finditer(text, lo, start):
        left = match.end()
    if end > 0 and text[end - 1] in ".!?":
        right = end
    else:
        match = _BOUNDARY.search(text, end, min(len(text), end + SNIPPET_CHARS))
        right = match.end() if match else min(len(text), end + SNIPPET_CHARS)
    return ("… " if left == lo and lo > 0 else "") + text[left:right].strip()


def _snippet(text: str, start: int, end: int) -> str:
    """A changed stretch as people quote it: a short one within its sentence, a long one from its sentence's
    start when that is near, clipped to SNIPPET_CHARS."""
    if len(text[start:end].split()) < _SHORT_PIECE_WORDS:
        return _clip(_sentence_around(text, start, end))
    lo = left = max(0, start - 100)
    for match in _BOUNDARY.finditer(text, lo, start):
        left = match.end()
    if left == lo and lo > 0:  # no sentence start near: begin at the piece (at its word's start, never inside it)
        left = start
        while left > 0 and text[left - 1].isalnum():
            left -= 1
    return _clip(text[left:end].strip())


def _passages(ops: list[tuple[int, str]], before: str, after: str, side: int) -> list[str]:
    """Readable snippets for the inserted (side 1) or deleted (side -1) pieces, one per paragraph touched,
    at most MAX_SNIPPETS."""
    seen: set[str] = set()
    out: list[str] = []
    pos = 0
    text = before if side < 0 else after
    for op, piece in ops:
        if op != side and op != 0:
            continue
        if op == side:
            offset = pos
            for part in piece.split(PARAGRAPH):
                if _WORDLIKE.search(part):
                    # A piece may begin with the stop that closes the previous, unchanged sentence (". Bassetlaw
                    # A&E will close..."): start at its first word, or the snippet would quote that sentence too.
                    lead = len(part) - len(part.lstrip(" .,;:!?)]\n"))
                    snippet = _snippet(text, offset + lead, offset + len(part))
                    if snippet and snippet not in seen:
                        seen.add(snippet)
                        out.append(snippet)
                        if len(out) >= MAX_SNIPPETS:
                            return out
                offset += len(part) + len(PARAGRAPH)
        pos += len(piece)
    return out


_WORD_TOKEN = re.compile(r"\w+(?:['’.,/:-]\w+)*")


def _word_count(ops: list[tuple[int, str]], side: int) -> int:
    return sum(len(_WORD_TOKEN.findall(piece)) for op, piece in ops if op == side)


# -- the diff --------------------------------------------------------------------------------------------


def _in_tables(structure: dict | None) -> str:
    """Every cell of every table of a structure, headers included, for telling a figure in a table from one in
    prose."""
    cells = [c for b in (structure or {}).get("blocks", []) if b.get("type") == "table" for r in b["rows"] for c in r]
    return "\x00" + "\x00".join(" ".join(c.split()) for c in cells) + "\x00"


def _ocr_confidence(structure: dict | None) -> float | None:
    """The mean confidence of a structure's OCR blocks, or None when none of its text came from OCR."""
    scores = [b.get("confidence", 0.0) for b in (structure or {}).get("blocks", []) if b.get("ocr")]
    return round(sum(scores) / len(scores), 1) if scores else None


def diff_texts(
    before: str, after: str, *, timeout: float = 10.0, max_distinct_tokens: int = TOKEN_CAPACITY,
    before_structure: dict | None = None, after_structure: dict | None = None,
) -> Change:
    """Compare two normalised texts word by word; a timeout is reported (`timed_out`, `messages`), never hidden.

    With both versions' structures (tracker/meaning/layout.py), tables are compared cell by cell: a changed
    cell is a figure labelled by its column and row, and the figures the text diff finds inside tables (where
    the flattened text pairs unrelated numbers) are left to that comparison. When one version was read by OCR
    and the other from a text layer, they are not compared word for word (every misread letter would look like
    an edit): the change is empty and `messages` and `summary` say why.

    `timeout` <= 0 means no limit. When the texts hold more distinct words than `max_distinct_tokens` (the
    characters available to stand for them), sentences and then paragraphs are compared instead, and
    `granularity` and `messages` say so.
    """
    if not isinstance(before, str) or not isinstance(after, str):
        kinds = f"{type(before).__name__} and {type(after).__name__}"
        raise TypeError(f"diff_texts needs two str, got {kinds}: decode bytes first")
    started = time.perf_counter()
    if before == after:
        return Change(seconds=time.perf_counter() - started)
    ocr_before, ocr_after = _ocr_confidence(before_structure), _ocr_confidence(after_structure)
    if before_structure is not None and after_structure is not None and (ocr_before is None) != (ocr_after is None):
        which, confidence = ("earlier", ocr_before) if ocr_before is not None else ("later", ocr_after)
        message = (f"The {which} version was read by OCR (confidence {confidence:g}%) and the other from its text "
                   "layer: they are not compared word for word, as OCR misreadings would look like edits.")
        return Change(seconds=time.perf_counter() - started, messages=[message], summary=message)
    a, b = canonical_whitespace(before), canonical_whitespace(after)
    if a == b:
        return Change(seconds=time.perf_counter() - started, messages=["only whitespace differs (re-wrapped)"])
    messages: list[str] = []
    dmp = _TimedDMP()
    dmp.Diff_Timeout = timeout if timeout and timeout > 0 else 0
    t0 = time.perf_counter()
    ops = None
    granularity = "word"
    if a.count(PARAGRAPH) >= TWO_LEVEL_FROM:
        ops = _two_level_ops(a, b, dmp, max_distinct_tokens)
    if ops is None:
        encoded = None
        for granularity, coarser in (("word", "sentences"), ("sentence", "paragraphs"),
                                     ("paragraph", "the texts whole")):
            encoded = _encode(tokenise(a, granularity), tokenise(b, granularity), max_distinct_tokens)
            if encoded is not None:
                break
            messages.append(
                f"too many distinct {granularity}s to map to characters (limit {max_distinct_tokens}): "
                f"comparing {coarser} instead"
            )
        if encoded is None:  # even paragraphs do not fit
            granularity = "text"
            encoded = ("\x01", "\x02", {"\x01": a, "\x02": b})
        chars_a, chars_b, vocab = encoded
        diffs = dmp.diff_main(chars_a, chars_b, checklines=False)
        dmp.diff_cleanupSemantic(diffs)
        ops = [(op, _decode(piece, vocab)) for op, piece in diffs]
    main_seconds = time.perf_counter() - t0
    timed_out = dmp.gave_up or (timeout > 0 and main_seconds >= timeout)
    if timed_out:
        messages.append(
            f"diff timed out after {main_seconds:.3g} s (limit {timeout:g} s): diff-match-patch gave up and "
            "marked whole stretches as deleted and re-inserted, so this change is incomplete; raise the timeout"
        )
    change = Change(ops=ops, timed_out=timed_out, granularity=granularity, messages=messages)
    change.words_added = _word_count(ops, 1)
    change.words_removed = _word_count(ops, -1)
    change.added = _passages(ops, a, b, 1)
    change.removed = _passages(ops, a, b, -1)
    figures = compare_figures(a, b, ops)
    if table_cells(before_structure) and table_cells(after_structure):
        cells_before, cells_after = _in_tables(before_structure), _in_tables(after_structure)
        figures = [f for f in figures
                   if not ((f.before and f.before in cells_before) or (f.after and f.after in cells_after))]
        figures = compare_tables(before_structure, after_structure, a, b) + figures
    if len(figures) > MAX_FIGURES:
        messages.append(f"{len(figures)} figure changes found; the first {MAX_FIGURES} are listed")
    change.figures = figures[:MAX_FIGURES]
    mentions = find_service_changes(change.added, change.removed)
    change.services = mentions
    change.decisions = find_decision_changes(a, b)
    summary = summarise(
        change.figures, change.added, change.removed, mentions,
        words_added=change.words_added, words_removed=change.words_removed, decisions=change.decisions,
    )  # fmt: skip
    if timed_out:
        summary = f"Diff timed out after {main_seconds:.3g} s: the comparison is incomplete. {summary}"
    change.summary = summary
    change.seconds = time.perf_counter() - started
    return change
