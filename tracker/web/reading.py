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
