"""Document structure: headings, paragraphs, lists and tables (rows and cells), per page, as one JSON shape.

Every extractor that can see structure returns it in ``Extraction.structure``; the archive stores it with the
extraction and ``Archive.version_structure(version_id)`` hands it to the diff and the web app. The shape
(``STRUCTURE_VERSION`` 1)::

    {"version": 1, "source": "pdf" | "docx" | "xlsx" | "html" | "ocr", "pages": 12,
     "blocks": [
        {"type": "heading", "page": 1, "level": 1, "text": "Capital Investment Summary"},
        {"type": "paragraph", "page": 1, "text": "The County Council is asked to ..."},
        {"type": "list", "page": 2, "items": ["NOTE the report", "ADOPT the plan"]},
        {"type": "table", "page": 3, "header_rows": 2,
         "rows": [["", "2021", "2022"], ["Northern General Hospital", "648", "608"]]},
     ]}

``page`` is the 1-based page (PDF; 1 elsewhere, a sheet's number for XLSX). A block from OCR also carries
``"ocr": true`` and ``"confidence"`` (0-100). Text is normalised as the version's text is. Table rows all have
the same number of cells (empty strings pad them); the first ``header_rows`` rows are column headers.

PDF tables come from PDFium's text rectangles (pypdfium2): runs of text on a line, with their boxes. A line
whose runs are separated by gaps wider than the text is tall is split into cells; consecutive such lines with
figures in them make a table, its columns the horizontal bands the figure cells of its rows occupy. This
needs no ruling lines (most council and NHS tables exported from Excel or Word have none in the PDF) and costs
a few PDFium calls per line, so every PDF gets it (pdfplumber would read the same boxes ~30x slower).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from tracker.meaning.normalise import is_pack_boilerplate_line, is_pack_cover, normalise_text

__all__ = [
    "STRUCTURE_VERSION",
    "is_value_cell",
    "pdf_page_blocks",
    "structure",
    "table_block",
]

STRUCTURE_VERSION = 1
MAX_TABLE_CELLS = 20_000  # per table: a bigger grid is cut (rows past it dropped), and says so

# A cell that holds one figure: "1,288,680", "-836.6", "(1,200)", "£571m", "12.5%", "-" (a nil entry).
_VALUE = re.compile(r"[-(]?\s?£?\s?\d[\d,]*(?:\.\d+)?\s?(?:%|[kmb]n?|bn)?\)?|[-–—]", re.I)
# Years and financial years are column headers, not values: "2021", "2025-26", "2017/18".
_YEAR = re.compile(r"(?:19|20)\d\d(?:\s?[-/]\s?(?:\d\d|(?:19|20)\d\d))?")
_BULLET_START = re.compile(r"^(?:[\u2022\u2023\u25aa\u25cf\u25e6\u2013\u2014*\uf0b7\uf0a7\uf076\uf0d8]|-\s|"
                           r"\((?:[ivx]{1,5}|[a-z]|\d{1,2})\)\s|(?:[a-z]|\d{1,2})[.)]\s)", re.I)
_NUMBERED_HEADING = re.compile(r"^\d{1,2}(?:\.\d{1,2})?\.?\s+[A-Z][^.]{2,70}$")


def is_value_cell(text: str) -> bool:
    """True for a cell holding one figure (not a year, which heads a column)."""
    text = text.strip()
    return bool(text) and _VALUE.fullmatch(text) is not None and _YEAR.fullmatch(text) is None


def _clean(text: str) -> str:
    return " ".join(normalise_text(text).split())


def table_block(rows: list[list[str]], page: int, header_rows: int | None = None) -> dict[str, Any] | None:
    """A table block from rows of cell texts: rows padded to one width, empty rows and columns dropped, header
    rows (those before the first row holding a figure) counted unless given."""
    rows = [[_clean(c) for c in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if not rows:
        return None
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    keep = [j for j in range(width) if any(r[j] for r in rows)]
    rows = [[r[j] for j in keep] for r in rows]
    if header_rows is None:
        header_rows = next((i for i, r in enumerate(rows) if any(is_value_cell(c) for c in r)), 0)
    block: dict[str, Any] = {"type": "table", "page": page, "header_rows": header_rows, "rows": rows}
    if sum(len(r) for r in rows) > MAX_TABLE_CELLS:
        block["rows"] = rows[: max(1, MAX_TABLE_CELLS // max(1, len(keep)))]
        block["cut"] = True
    return block


def structure(source: str, blocks: list[dict[str, Any]], pages: int | None = None) -> dict[str, Any]:
    """The stored shape (see the module docstring)."""
    out: dict[str, Any] = {"version": STRUCTURE_VERSION, "source": source, "blocks": blocks}
    if pages is not None:
        out["pages"] = pages
    return out


# --- PDF -----------------------------------------------------------------------------------------------


@dataclass
class _Cell:
    left: float
    right: float
    text: str


@dataclass
class _Line:
    bottom: float
    top: float
    height: float
    cells: list[_Cell] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(c.text.strip() for c in self.cells if c.text.strip())

    @property
    def values(self) -> int:
        return sum(1 for c in self.cells if is_value_cell(c.text))


def _runs(textpage: Any, limit: int) -> list[tuple[float, float, float, float, str]]:
    runs = []
    for i in range(min(textpage.count_rects(), limit)):
        left, bottom, right, top = textpage.get_rect(i)
        text = textpage.get_text_bounded(left, bottom, right, top)
        if text.strip():
            runs.append((left, bottom, right, top, text.replace("\r", " ").replace("\n", " ")))
    return runs


def _lines(runs: list[tuple[float, float, float, float, str]]) -> list[_Line]:
    """Runs grouped into lines (a run whose middle lies within a line's band joins it), top to bottom; each line's
    runs joined into cells where the gap between them is narrower than the text is tall."""
    lines: list[tuple[float, float, list[tuple[float, float, float, float, str]]]] = []
    for run in sorted(runs, key=lambda r: -(r[1] + r[3])):
        middle = (run[1] + run[3]) / 2
        for k in range(len(lines) - 1, max(-1, len(lines) - 4), -1):
            bottom, top, members = lines[k]
            if bottom <= middle <= top:
                members.append(run)
                lines[k] = (min(bottom, run[1]), max(top, run[3]), members)
                break
        else:
            lines.append((run[1], run[3], [run]))
    out = []
    for bottom, top, members in lines:
        members.sort(key=lambda r: r[0])
        height = statistics.median(r[3] - r[1] for r in members) or 1.0
        line = _Line(bottom, top, height)
        for left, _b, right, _t, text in members:
            # A new cell where the gap is wider than the text is tall, or where a run already ended in a space and
            # a third of that follows (columns set tight, as Excel's PDF export does; a space inside one run of
            # prose is never a gap between runs).
            gap = left - line.cells[-1].right if line.cells else 0.0
            if line.cells and gap < 0.9 * height and not (line.cells[-1].text.endswith(" ") and gap >= 0.3 * height):
                cell = line.cells[-1]
                gap = left - cell.right
                joiner = "" if cell.text.endswith(" ") or gap < 0.5 * height else " "
                cell.text += joiner + text
                cell.right = max(cell.right, right)
            else:
                line.cells.append(_Cell(left, right, text))
        out.append(line)
    return out


def _is_table_row(line: _Line) -> bool:
    return len(line.cells) >= 2


def _bands(rows: list[_Line]) -> list[tuple[float, float]]:
    """Column bands: the union of the x-intervals of the cells of rows that hold figures (a header spanning
    several columns must not merge them)."""
    spans = sorted((c.left, c.right) for r in rows if r.values for c in r.cells)
    bands: list[list[float]] = []
    for left, right in spans:
        if bands and left <= bands[-1][1]:
            bands[-1][1] = max(bands[-1][1], right)
        else:
            bands.append([left, right])
    return [(a, b) for a, b in bands]


def _grid(rows: list[_Line], bands: list[tuple[float, float]]) -> list[list[str]]:
    grid = []
    for line in rows:
        cells = [""] * len(bands)
        for cell in line.cells:
            overlaps = [min(cell.right, b) - max(cell.left, a) for a, b in bands]
            best = max(range(len(bands)), key=lambda j: overlaps[j])
            if overlaps[best] <= 0:  # between bands: the nearest one
                best = min(range(len(bands)), key=lambda j: min(abs(cell.left - bands[j][1]), abs(cell.right - bands[j][0])))
            cells[best] = (cells[best] + " " + cell.text.strip()).strip()
        grid.append(cells)
    return grid


def _tables(lines: list[_Line]) -> list[tuple[int, int]]:
    """(first, last) line indexes of each table: runs of multi-cell lines (a one-cell line inside, such as a
    "Funded by:" section row, is kept when the run goes on) with figures in at least two rows, and cells
    short enough not to be two columns of prose."""
    found = []
    i = 0
    while i < len(lines):
        if not _is_table_row(lines[i]):
            i += 1
            continue
        j = i
        while j + 1 < len(lines):
            if _is_table_row(lines[j + 1]):
                j += 1
            elif j + 2 < len(lines) and len(lines[j + 1].text) <= 60 and _is_table_row(lines[j + 2]):
                j += 2
            else:
                break
        block = lines[i : j + 1]
        with_values = sum(1 for line in block if line.values)
        cells = [c.text.strip() for line in block for c in line.cells]
        short = sum(1 for c in cells if len(c) <= 40) / max(1, len(cells))
        if with_values >= 2 and short >= 0.6:
            found.append((i, j))
        i = j + 1
    return found


def _with_headers(lines: list[_Line], first: int, last: int) -> int:
    """Move a table's start up over the header lines just above it: close, short, and without figures
    ("Prior Years Spend" printed above the "Total Cost" row of column headers)."""
    while first > 0:
        above, below = lines[first - 1], lines[first]
        close = above.bottom - below.top < 1.5 * max(above.height, below.height)
        if close and not above.values and len(above.text) <= 60 and len(above.cells) <= 12:
            first -= 1
        else:
            break
    return first


def _text_blocks(lines: list[_Line], page: int, body_height: float) -> list[dict[str, Any]]:
    """Headings, lists and paragraphs from lines that are not in a table."""
    blocks: list[dict[str, Any]] = []
    previous: _Line | None = None
    for line in lines:
        text = line.text
        if not text:
            continue
        gap = (previous.bottom - line.top) if previous is not None else 0.0
        new_paragraph = previous is None or gap > 0.8 * max(line.height, previous.height)
        short = len(text) <= 90 and not text.rstrip().endswith((".", ",", ";"))
        letters = [ch for ch in text if ch.isalpha()]
        if short and letters and (line.height >= 1.2 * body_height or (len(letters) >= 4 and text.upper() == text)
                                  or _NUMBERED_HEADING.match(text)):
            level = 1 if line.height >= 1.4 * body_height else 2
            if blocks and blocks[-1]["type"] == "heading" and not new_paragraph:
                blocks[-1]["text"] += " " + text
            else:
                blocks.append({"type": "heading", "page": page, "level": level, "text": text})
        elif _BULLET_START.match(text):
            if blocks and blocks[-1]["type"] == "list" and gap < 2.5 * line.height:
                blocks[-1]["items"].append(text)
            else:
                blocks.append({"type": "list", "page": page, "items": [text]})
        elif blocks and not new_paragraph and blocks[-1]["type"] == "list":
            blocks[-1]["items"][-1] += "\n" + text
        elif blocks and not new_paragraph and blocks[-1]["type"] == "paragraph":
            blocks[-1]["text"] += "\n" + text
        else:
            blocks.append({"type": "paragraph", "page": page, "text": text})
        previous = line
    out = []
    for block in blocks:
        if block["type"] == "list":
            block["items"] = [t for t in (_clean(i) for i in block["items"]) if t]
            if block["items"]:
                out.append(block)
        else:
            block["text"] = _clean(block["text"])
            if block["text"]:
                out.append(block)
    return out


def pdf_page_blocks(textpage: Any, page: int, max_runs: int = 20_000) -> list[dict[str, Any]]:
    """The blocks of one PDF page from its pypdfium2 text page (see the module docstring)."""
    lines = _lines(_runs(textpage, max_runs))
    texts = [line.text for line in lines]
    if is_pack_cover(texts):
        return []
    lines = [line for line in lines if not is_pack_boilerplate_line(line.text)]
    if not lines:
        return []
    body_height = statistics.median(line.height for line in lines)
    blocks: list[dict[str, Any]] = []
    start = 0
    for first, last in _tables(lines):
        first = max(start, _with_headers(lines, first, last))
        blocks += _text_blocks(lines[start:first], page, body_height)
        rows = lines[first : last + 1]
        table = table_block(_grid(rows, _bands(rows)), page)
        if table:
            blocks.append(table)
        start = last + 1
    blocks += _text_blocks(lines[start:], page, body_height)
    return blocks
