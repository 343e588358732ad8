"""A title a person reads: the file's metadata title unless it is a file name or a word processor's artefact."""

from __future__ import annotations

import re

__all__ = ["is_artefact_title", "readable_title"]

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


def first_heading(text: str) -> tuple[str, bool] | None:
    """The first line of a text (its cover title or first heading) and whether it is short as a heading is."""
    for block in text[:5000].split("\n"):
        line = " ".join(block.split())
        if not line or not re.search(r"[A-Za-z]{3}", line):
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
