"""A title a person reads: the file's metadata title unless it is a file name or a word processor's artefact."""

from __future__ import annotations

import re

__all__ = ["is_artefact_title", "readable_title", "structure_title"]

MAX_TITLE = 300
HEADING_CHARS = 160  # a first line longer than this is a paragraph, not a heading

# Metadata titles that say nothing about the document: what Word, PDF printers and CMSs leave behind.
_ARTEFACT = re.compile(
    r"^(?:microsoft\s+(?:word|powerpoint|excel)\s*-"  # "Microsoft Word - C&M JFP DRAFT v0.7.docx"
    r"|untitled\b|document\d*$|presentation\d*$|book\d*$|slide\s*\d+$|title$|none$|null$|powerpoint\s+presentation$"
    r"|print\s+version$|pdf$|\(?anonymous\)?$|\d+$"
    r"|[a-z]:\\|/|\\\\|~\$"  # a path: C:\Users\..., /home/..., \\server\share, a Word lock file
    r")", re.I)
_FILE_NAME = re.compile(r"\.(?:docx?|xlsx?|pptx?|pdf|odt|rtf|txt|html?|indd|pub)\s*$", re.I)
_TOKEN_NAME = re.compile(r"^[\w.-]+$")  # "JFP_2023-28_v0_7" : one run of letters, digits and _ . -
# Link texts that name the action, not the document.
_GENERIC_LINK = re.compile(r"^(?:download|view|open|read(?:\s+(?:more|it|here))?|click\s+here|here|link|pdf|"
                           r"document|file|more|full\s+(?:document|version)|accessible\s+version)\b[\s\w(),.-]{0,30}$",
                           re.I)


def is_artefact_title(title: str | None) -> bool:
    """True for a title no one wrote for readers: empty, a file name or path, "Microsoft Word - ...", "untitled"."""
    if not title or not title.strip():
        return True
    title = title.strip()
    if _ARTEFACT.match(title) or _FILE_NAME.search(title):
        return True
    return bool(_TOKEN_NAME.match(title) and ("_" in title or not re.search(r"[a-z]", title)) and len(title) > 3)


_MEMO_LABEL = re.compile(r"^(?:from|to|by|date|ask\s+for|tel|email|our\s+ref|your\s+ref|decision\s+no\.?|"
                         r"key\s+decision|classification|electoral\s+divisions?)\s*:", re.I)
_SUBJECT = re.compile(r"\bSubject\s*:\s*(.{8,200}?)(?=\s+(?:Decision\s+No|Key\s+decision|Classification|"
                      r"Past\s+Pathway|Future\s+Pathway|Electoral|Summary|Recommendation)s?\b|\n|$)", re.I)


def _figure_share(line: str) -> float:
    chars = [ch for ch in line if not ch.isspace()]
    return sum(1 for ch in chars if ch.isdigit() or ch in ",.-()£%") / max(1, len(chars))


def first_heading(text: str) -> tuple[str, bool] | None:
    """The first line of a text (its cover title or first heading) and whether it is short as a heading is.
    A council report's memo head ("From: ... To: ... Subject: ...") gives its subject; a line that is mostly
    figures (a table's first row, where an Excel sheet printed to PDF starts) is not a heading."""
    subject = _SUBJECT.search(text[:4000])
    if subject and _MEMO_LABEL.match(text.lstrip()[:40]):
        return " ".join(subject.group(1).split()).rstrip(" .,;"), True
    for block in text[:5000].split("\n"):
        line = " ".join(block.split())
        if not line or not re.search(r"[A-Za-z]{3}", line) or _MEMO_LABEL.match(line):
            continue
        if _figure_share(line[:HEADING_CHARS]) > 0.3:
            continue
        if len(line) <= HEADING_CHARS:
            return line, True
        # A PDF's cover lines are joined into one paragraph: its first sentence-like piece.
        head = re.split(r"(?<=[a-z0-9)])[.:;]\s", line, maxsplit=1)[0]
        if len(head) <= HEADING_CHARS:
            return head, True
        return line[:HEADING_CHARS].rsplit(" ", 1)[0] + "…", False
    return None


def readable_title(metadata_title: str | None, text: str, link_text: str | None, url: str) -> str:
    """The metadata title when it is one a person wrote; else the text's first heading, else the link text that
    led here (unless it only says "Download"), else the opening words of the text, else the URL's file name."""
    candidates = []
    if metadata_title and not is_artefact_title(metadata_title):
        candidates.append(metadata_title)
    heading = first_heading(text or "")
    if heading and heading[1]:
        candidates.append(heading[0])
    link = " ".join((link_text or "").split())
    link = re.sub(r"\s*\((?:pdf|docx?|xlsx?)[^)]*\)\s*$|\s+(?:pdf|docx?|xlsx?)\s+[\d.,]+\s*[km]b\s*$", "", link, flags=re.I)
    if link and not _GENERIC_LINK.match(link) and not is_artefact_title(link):
        candidates.append(link)
    if heading:
        candidates.append(heading[0])
    for candidate in candidates:
        candidate = candidate.strip()
        if candidate:
            return candidate[:MAX_TITLE]
    return url.rstrip("/").rsplit("/", 1)[-1] or url


def structure_title(structure: dict | None, *, large_only: bool = False) -> str | None:
    """A title from a document's first page when its file has none and its text opens with no short heading (a
    sheet printed to PDF starts with a row of figures): a large heading, else the longest heading
    or table title row ("APPENDIX D - High Level 2025-28 Revenue Plan and Financing", printed over a sheet whose
    text starts with its first row of figures), else the first short line set apart. Not a line of figures,
    not over HEADING_CHARS. With `large_only`, a large heading or None (a cover's title, worth taking even when
    the text opens with a short line)."""
    candidates: list[tuple[int, str]] = []
    for block in (structure or {}).get("blocks", []):
        if block.get("page") not in (None, 1):
            break
        if block.get("type") == "heading":
            candidates.append((int(block.get("level") or 2), block.get("text") or ""))
        elif block.get("type") == "paragraph" and not (block.get("text") or "").rstrip().endswith((".", ",", ";")):
            candidates.append((3, block.get("text") or ""))  # a short line set apart, in body type
        elif block.get("type") == "table":
            for row in (block.get("rows") or [])[: int(block.get("header_rows") or 0)]:
                cells = [c for c in row if c]
                if len(cells) == 1 and len(row) > 2:
                    candidates.append((2, cells[0]))
    fit = [(level, " ".join(t.split())) for level, t in candidates
           if re.search(r"[A-Za-z]{3}", t) and len(t) <= HEADING_CHARS and _figure_share(t) <= 0.3
           and len(t.split()) >= 3]  # "COUNTY COUNCIL" over a page of questions names no document
    if not fit:
        return None
    large = [t for level, t in fit if level == 1]
    if large_only:
        return large[0] if large else None
    headings = [t for level, t in fit if level == 2]
    return large[0] if large else max(headings, key=len) if headings else fit[0][1]
