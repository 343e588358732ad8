"""A version as a document to read: pages, headings and paragraphs with anchors, from the stored text."""

from __future__ import annotations

import re
from typing import Any

# A heading: short, no closing full stop, and numbered ("3.2 Acute care") or in title/upper case. A guess from
# the text alone, so it only changes how a line is shown (a <h3> with an anchor), never what it says.
_NUMBERED = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.|Section \d+|Appendix [A-Z0-9]+|Chapter \d+)\s+\S")
MAX_HEADING = 90


def _is_heading(paragraph: str) -> bool:
    text = paragraph.strip()
    if not text or len(text) > MAX_HEADING or "\n" in text or text.endswith((".", ",", ";", ":")):
        return False
    words = text.split()
    if _NUMBERED.match(text):
        return True
    if len(words) <= 10 and (text.isupper() or sum(w[:1].isupper() for w in words) >= max(1, len(words) * 0.6)):
        return not any(ch.isdigit() for ch in text[-4:])  # "Total 1,234" is a table row, not a heading
    return False


def blocks(text: str, page_offsets: list[int] | None = None) -> list[dict[str, Any]]:
    """[{page, kind: heading|paragraph|page, text, anchor}] in reading order; pages from the extractor's
    offsets into the normalised text when it recorded them (PDF), else one page."""
    starts = sorted({0, *[o for o in (page_offsets or []) if 0 < o < len(text)]})
    out: list[dict[str, Any]] = []
    n = 0
    for page, (lo, hi) in enumerate(zip(starts, [*starts[1:], len(text)]), start=1):
        if len(starts) > 1:
            out.append({"page": page, "kind": "page", "text": f"Page {page}", "anchor": f"page-{page}"})
        for paragraph in re.split(r"\n\s*\n", text[lo:hi]):
            paragraph = paragraph.strip()
            if not paragraph:
                continue
            n += 1
            out.append({"page": page, "kind": "heading" if _is_heading(paragraph) else "paragraph",
                        "text": paragraph, "anchor": f"p{n}"})
    return out


def structured_blocks(structure: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored structure (tracker.meaning.layout's shape) as reading blocks with page and paragraph anchors:
    headings, paragraphs, lists and tables (rows and cells, header rows apart)."""
    out: list[dict[str, Any]] = []
    page_seen = None
    multi_page = (structure.get("pages") or 1) > 1
    n = 0
    for block in structure.get("blocks") or []:
        page = int(block.get("page") or 1)
        if multi_page and page != page_seen:
            out.append({"page": page, "kind": "page", "text": f"Page {page}", "anchor": f"page-{page}"})
            page_seen = page
        n += 1
        kind = block.get("type")
        item: dict[str, Any] = {"page": page, "anchor": f"p{n}", "ocr": bool(block.get("ocr")),
                                "confidence": block.get("confidence")}
        if kind == "table":
            rows = [[str(c) for c in row] for row in block.get("rows") or []]
            head = int(block.get("header_rows") or 0)
            item.update(kind="table", head=rows[:head], body=rows[head:], cut=bool(block.get("cut")))
        elif kind == "list":
            item.update(kind="list", items=[str(i) for i in block.get("items") or []])
        elif kind == "heading":
            item.update(kind="heading", text=str(block.get("text") or ""), level=min(6, 2 + int(block.get("level") or 1)))
        else:
            item.update(kind="paragraph", text=str(block.get("text") or ""))
        out.append(item)
    return out


def _tables(structure: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [b for b in (structure or {}).get("blocks") or [] if b.get("type") == "table" and b.get("rows")]


def _key(row: list[str]) -> str:
    return " ".join((row[0] if row else "").lower().split())


def _column_map(old: dict[str, Any], head_old: int, new: dict[str, Any], head_new: int) -> dict[int, int | None]:
    """Which column of the old table each column of the new one is: the one with the same header (its header
    cells top to bottom), the k-th of a header that repeats ("Core" under each year) to the k-th when both
    tables repeat it as often. A column whose header the old table does not have has none (its cells are new).
    Tables without headers pair by position only when they are as wide."""
    width_old = max((len(r) for r in old["rows"]), default=0)
    width_new = max((len(r) for r in new["rows"]), default=0)

    def header(table: dict[str, Any], h: int, j: int) -> str:
        return " ".join(r[j] for r in table["rows"][:h] if j < len(r) and r[j]).strip().lower()

    if not head_old or not head_new:
        return {j: j if width_old == width_new else None for j in range(width_new)}
    old_h = [header(old, head_old, j) for j in range(width_old)]
    new_h = [header(new, head_new, j) for j in range(width_new)]
    out: dict[int, int | None] = {}
    for j, name in enumerate(new_h):
        if not name:  # the row-label column(s): unheaded on both sides at the same place
            out[j] = j if j < width_old and not old_h[j] else None
            continue
        olds = [k for k, other in enumerate(old_h) if other == name]
        news = [k for k, other in enumerate(new_h) if other == name]
        out[j] = olds[news.index(j)] if len(olds) == len(news) else None
    return out


def table_diffs(before: dict[str, Any] | None, after: dict[str, Any] | None, limit: int = 20) -> list[dict[str, Any]]:
    """Tables compared cell by cell: tables paired in order of their header rows' likeness, rows paired by their
    first cell (the row label), columns by their headers (a column inserted or dropped does not shift the rest;
    see _column_map). Each result: {page, head, rows: [[{before, after, changed}]], added_rows, removed_rows};
    only tables in which something changed."""
    old_tables, new_tables = _tables(before), _tables(after)
    used: set[int] = set()
    out: list[dict[str, Any]] = []
    for new in new_tables:
        head_new = int(new.get("header_rows") or 0)
        sig = " | ".join(" ".join(r) for r in new["rows"][:max(1, head_new)]).lower()
        best, best_score = None, 0.0
        for i, old in enumerate(old_tables):
            if i in used:
                continue
            head_old = int(old.get("header_rows") or 0)
            old_sig = " | ".join(" ".join(r) for r in old["rows"][:max(1, head_old)]).lower()
            a, b = set(sig.split()), set(old_sig.split())
            score = len(a & b) / max(1, len(a | b))
            labels_new = {_key(r) for r in new["rows"][head_new:]}
            labels_old = {_key(r) for r in old["rows"][head_old:]}
            score += len(labels_new & labels_old) / max(1, len(labels_new | labels_old))
            if score > best_score:
                best, best_score = i, score
        if best is None or best_score < 0.5:
            continue
        used.add(best)
        old = old_tables[best]
        head_old = int(old.get("header_rows") or 0)
        old_rows = {_key(r): r for r in old["rows"][head_old:]}
        columns = _column_map(old, head_old, new, head_new)
        rows, changed_any = [], False
        new_labels = set()
        for row in new["rows"][head_new:]:
            label = _key(row)
            new_labels.add(label)
            previous = old_rows.get(label)
            cells = []
            for j, cell in enumerate(row):
                k = columns.get(j)
                was = previous[k] if previous is not None and k is not None and k < len(previous) else None
                changed = previous is not None and was != cell and (k is not None or bool(cell))
                changed_any |= changed
                cells.append({"before": was, "after": cell, "changed": changed, "new_row": previous is None})
            changed_any |= previous is None
            rows.append(cells)
        removed = [r for label, r in old_rows.items() if label not in new_labels]
        if changed_any or removed:
            out.append({"page": new.get("page"), "head": new["rows"][:head_new], "rows": rows, "removed_rows": removed})
        if len(out) >= limit:
            break
    return out
