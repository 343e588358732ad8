"""Normalise extracted text so that re-rendering, re-wrapping or re-printing a document is not a change.

Rules, in the order they run (each is tested in tests/test_normalise.py):

1. Characters: NFKC (ligatures, non-breaking and other odd spaces), curly quotes and dashes folded to ASCII,
   zero-width characters and soft hyphens removed, pypdfium2's ``\\x02`` (a hyphen at a line break) read as
   ``-``, private-use glyphs (Word's Symbol-font bullets) and other bullet glyphs mapped to ``•``, other
   control characters dropped.
2. Lines: whitespace collapsed and trimmed; lines that are only ``-``, ``+`` or ``|`` dropped; a ``•`` alone
   on a line is joined to the line that follows it.
3. Pages (PDF): running headers and footers are found by repetition, wherever they sit on the page (another
   producer puts them in another place in the text): a short line that recurs, digits masked, on at least half
   of the pages and at least three is removed everywhere, whatever its wording, so that a header changed to
   "... - OFFICIAL" is no change to the plan (``_running_lines``). Page numbers are removed at a page's top or
   bottom ("3", "- 3 -", "Page 3 of 40", "3 | Page"), and anywhere on the page when the number follows the page
   order on enough pages, or says "Page N" (``_page_number_lines``).
3b. Council committee packs (ModernGov, CMIS): a pack's cover letter and agenda frontsheet pages at its start,
   "Page N" / "Agenda Item N" stamp lines and "This page is intentionally left blank" lines are removed
   (``strip_pack_boilerplate``), so a paper republished in an agenda pack reads as the paper did.
4. Lines that only say when a page was rendered ("Printed on 12/03/2024 10:31", "Page last reviewed: ...",
   "Next review due: ...", "This page was last updated ...") lose that phrase (``RENDERED_DATE_PATTERNS``);
   cookie banners and UI chrome ("Accept all cookies", "Skip to main content", "Show all updates", ...) are
   dropped (``CHROME_LINE_PATTERNS``).
5. Paragraphs: lines are joined with one space. A paragraph ends at a blank line, before a line that starts
   with a bullet ``•``, and before a line that starts with a dotted clause number followed by a capital
   ("1.2 The council"). Nothing else (no guessing at headings from line lengths): the same words wrapped at
   any width give the same text. Paragraphs are separated by one blank line. A page break is a line break
   like any other, so re-paginating a document is not a change either (PDFium marks no paragraph gaps, so
   PDF text is mostly long paragraphs; page_offsets keep where each page starts).
6. Hyphenation: a line ending in a hyphen after a letter or digit is joined to the next line with no space.
   The hyphen is dropped ("transfor-" + "mation" -> "transformation") when it follows a lower-case letter and
   the next line starts with one, unless the hyphenated form ("long-term") occurs elsewhere in the same text
   and the joined form ("longterm") does not; otherwise it is kept ("COVID-" + "19" -> "COVID-19").

Everything is linear in the size of the text; the regular expressions have bounded repetition only.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

__all__ = [
    "BULLET",
    "VERSION",
    "CHROME_LINE_PATTERNS",
    "RENDERED_DATE_PATTERNS",
    "normalise_pages",
    "normalise_text",
    "is_pack_boilerplate_line",
    "is_pack_cover",
    "strip_pack_boilerplate",
]

BULLET = "\u2022"
VERSION = "3"  # bump when a rule changes what text comes out: stored texts then differ from fresh ones

# --- 1. characters -------------------------------------------------------------------------------------

_TRANSLATE: dict[int, str | None] = {}
for _ch in "\u2018\u2019\u201a\u201b\u2032\u02bc":  # single quotes, prime, modifier apostrophe
    _TRANSLATE[ord(_ch)] = "'"
for _ch in "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb":  # double quotes, guillemets
    _TRANSLATE[ord(_ch)] = '"'
for _ch in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d":  # hyphens, dashes, minus
    _TRANSLATE[ord(_ch)] = "-"
for _ch in "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e":  # zero-width characters and soft hyphen
    _TRANSLATE[ord(_ch)] = None
for _ch in "\u2022\u2023\u2043\u2219\u25aa\u25ab\u25cf\u25cb\u25a0\u25a1\u25ba\u25b6\u25c6\u25c7\u25e6\u27a2\u2794\u2713\u2714\u2756\u27a4\u2666\u29bf":
    _TRANSLATE[ord(_ch)] = BULLET  # bullet glyphs (U+2043 is a hyphen bullet: it stays a dash, see above)
_TRANSLATE[0x2043] = "-"
_TRANSLATE[0x02] = "\x02"  # pypdfium2: a hyphen at a line break; resolved in _assemble
_TRANSLATE[0x09] = " "
_TRANSLATE[0x0B] = "\n"
_TRANSLATE[0x0C] = "\n"
_TRANSLATE[0x85] = "\n"
_TRANSLATE[0x2028] = "\n"
_TRANSLATE[0x2029] = "\n\n"
for _cp in list(range(0x00, 0x20)) + list(range(0x7F, 0xA0)):  # other C0/C1 controls
    _TRANSLATE.setdefault(_cp, None)
_TRANSLATE.pop(0x0A, None)  # keep \n
_KEEP_TABS = dict(_TRANSLATE)
_KEEP_TABS[0x09] = "\t"

# str.translate looks up every character; a regex finds the few that need it much faster.
_TRANSLATE_MAP = {chr(k): v or "" for k, v in _TRANSLATE.items()}
_KEEP_TABS_MAP = {chr(k): v or "" for k, v in _KEEP_TABS.items()}
_SPECIAL = re.compile("[" + re.escape("".join(_TRANSLATE_MAP)) + "]")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
_HSPACE = re.compile(r"[^\S\n]+")
_HSPACE_NO_TAB = re.compile(r"[^\S\n\t]+")


def _clean_chars(text: str, keep_tabs: bool = False) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00ad\n", "\x02\n")  # a soft hyphen at a line end is a hyphenation point
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        text = _PRIVATE_USE.sub(BULLET, text)
    if keep_tabs:
        return _SPECIAL.sub(lambda m: _KEEP_TABS_MAP[m.group()], text)
    return _SPECIAL.sub(lambda m: _TRANSLATE_MAP[m.group()], text)


# --- 2. lines ------------------------------------------------------------------------------------------

_ONLY_SYMBOLS = re.compile(r"[-+|*\x02]+")  # \x02: a pdfium line-end hyphen with nothing to join


def _clean_lines(text: str, keep_tabs: bool = False) -> list[str]:
    """Split into trimmed lines; blank lines are kept as ''."""
    space = _HSPACE_NO_TAB if keep_tabs else _HSPACE
    out: list[str] = []
    pending_bullet = False
    for line in space.sub(" ", text).split("\n"):
        line = line.strip(" ")
        if keep_tabs:
            line = line.rstrip("\t ")
        if line and _ONLY_SYMBOLS.fullmatch(line):
            continue
        if line == BULLET:
            pending_bullet = True
            continue
        if pending_bullet and line:
            line = BULLET + " " + line
            pending_bullet = False
        elif line.startswith(BULLET) and len(line) > 1 and line[1] != " ":
            line = BULLET + " " + line[1:]
        out.append(line)
    return out


# --- 3. running headers, footers, page numbers ---------------------------------------------------------

_DIGITS = re.compile(r"\d+")

# Page-number lines, matched against a whole (lower-cased) line at a page's top or bottom.
_PAGE_NUMBER_PATTERNS = [
    re.compile(r"\d{1,4}"),  # "3"
    re.compile(r"[-‐–—]\s?\d{1,4}\s?[-‐–—]"),  # "- 3 -"
    re.compile(r"page\s?\d{1,4}(\s?(of|/)\s?\d{1,4})?"),  # "Page 3", "Page 3 of 40", "page 3/40"
    re.compile(r"\d{1,4}\s?(of|/)\s?\d{1,4}"),  # "3 of 40", "3/40"
    re.compile(r"\d{1,4}\s?\|\s?page"),  # "3 | Page"
    re.compile(r"page\s?\|\s?\d{1,4}"),  # "Page | 3"
    re.compile(r"[ivxlc]{1,7}"),  # lower-case roman numerals in front matter: "iv"
]


def _is_page_number(line: str) -> bool:
    low = line.lower()
    return len(low) <= 24 and any(p.fullmatch(low) for p in _PAGE_NUMBER_PATTERNS)


def _mask(line: str) -> str:
    return _DIGITS.sub("#", line.lower())


RUNNING_LINE_CHARS = 150  # a longer line is body text, even when it recurs


def _running_lines(pages: list[list[str]]) -> list[set[int]]:
    """Per page, the indexes of running lines: a short line that recurs (digits masked) on at least half the pages
    with text, and at least three, at one position counted from the page's top or from its bottom. The position
    may be anywhere (another producer writes the footer first); a body line that happens to recur ("by the
    board.") lands in a different place on each page and stays."""
    nonblank = [[i for i, line in enumerate(lines) if line] for lines in pages]
    with_text = sum(1 for idx in nonblank if idx)
    running: list[set[int]] = [set() for _ in pages]
    if with_text < 3:
        return running
    threshold = max(3, math.ceil(with_text / 2))
    places: dict[str, Counter[tuple[str, int]]] = {}
    on_pages: Counter[str] = Counter()  # pages a line is on
    times: Counter[str] = Counter()  # times it occurs: a running line is on a page once or twice, not four times
    for lines, idx in zip(pages, nonblank):
        keys = {i: _mask(lines[i]) for i in idx if len(lines[i]) <= RUNNING_LINE_CHARS}
        on_pages.update(set(keys.values()))
        times.update(keys.values())
        for rank, i in enumerate(idx):
            if i in keys:
                seen = places.setdefault(keys[i], Counter())
                seen[("top", rank)] += 1
                seen[("bottom", len(idx) - 1 - rank)] += 1
    for key in [k for k in places if times[k] > 2 * on_pages[k]]:
        del places[key]
    for p, (lines, idx) in enumerate(zip(pages, nonblank)):
        for rank, i in enumerate(idx):
            seen = places.get(_mask(lines[i])) if len(lines[i]) <= RUNNING_LINE_CHARS else None
            if seen and max(seen[("top", rank)], seen[("bottom", len(idx) - 1 - rank)]) >= threshold:
                running[p].add(i)
    return running


_NUMBER = re.compile(r"\d{1,4}")
_EXPLICIT_PAGE = re.compile(r"page\s?\d{1,4}(\s?(of|/)\s?\d{1,4})?|\d{1,4}\s?\|\s?page|page\s?\|\s?\d{1,4}")


def _page_number_lines(pages: list[list[str]]) -> list[set[int]]:
    """Per page, the indexes of page-number lines away from the edges: "Page 7 of 40" anywhere, and a bare
    number that equals the page's position plus one offset shared by at least half the pages (and two)."""
    found: list[set[int]] = [set() for _ in pages]
    offsets: Counter[int] = Counter()
    candidates: list[list[tuple[int, int]]] = []
    for p, lines in enumerate(pages):
        mine = []
        for i, line in enumerate(lines):
            if not line or len(line) > 24 or not _is_page_number(line):
                continue
            low = line.lower()
            if _EXPLICIT_PAGE.fullmatch(low):
                found[p].add(i)
                continue
            number = _NUMBER.search(low)
            if number:
                mine.append((i, int(number.group()) - p))
        candidates.append(mine)
        offsets.update({offset for _, offset in mine})
    with_text = sum(1 for lines in pages if any(lines))
    if offsets:
        offset, support = offsets.most_common(1)[0]
        if support >= max(2, math.ceil(with_text / 2)):
            for p, mine in enumerate(candidates):
                found[p].update(i for i, o in mine if o == offset)
    return found


def _strip_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Remove running headers and footers (``_running_lines``) and page numbers (``_page_number_lines``, and at
    the edges of each page)."""
    running = _running_lines(pages)
    numbers = _page_number_lines(pages)
    out = []
    for p, lines in enumerate(pages):
        drop = running[p] | numbers[p]
        body = [i for i, line in enumerate(lines) if line and i not in drop]
        for edge in (body[:2], body[-2:][::-1]):  # page numbers: up to two lines inwards from each edge
            for i in edge:
                if not _is_page_number(lines[i]):
                    break
                drop.add(i)
        out.append([line for i, line in enumerate(lines) if i not in drop])
    return out


# --- 3b. council committee-pack boilerplate ------------------------------------------------------------
# ModernGov and CMIS publish each paper twice: on its own and inside the meeting's agenda pack, where the
# system adds a cover letter ("Dear Member ... Agenda Item No 6 Questions (Pages 1 - 18) ... Yours sincerely"),
# the agenda frontsheet, a "Page 7 Agenda Item 6" stamp on every page and "This page is intentionally left
# blank" on padding pages. None of it is the paper's content: the same paper in a pack must read the same.
# These rules look for the systems' own furniture (stamps, "(Pages N - M)" references, letter greeting and
# sign-off together), which any council on these platforms prints, not for one council's wording.

_BLANK_PAGE = re.compile(
    r"(?:this\s)?page\s(?:is\s|has\sbeen\s)?(?:intentionally\s)?left\s(?:intentionally\s)?blank\.?", re.I
)
# "Page 7", "Agenda Item 6", "Page 7 Agenda Item 6", "Agenda Item 6a Page 7": the pack stamp. It is printed in the
# margin, so the PDF's reading order puts it anywhere in a page, even mid-sentence.
_PACK_STAMP = re.compile(
    r"(?:page\s\d{1,4}\s?)?agenda\sitem\s(?:no\.?\s)?\d{1,3}[a-z]?(?:\s?page\s\d{1,4})?"
    r"|page\s\d{1,4}", re.I
)
_PAGES_REF = re.compile(r"\(pages?\s\d{1,4}(?:\s?-\s?\d{1,4})?\)", re.I)
_LETTER_OPEN = re.compile(r"^dear\s(?:member|members|councillor|councillors|sir|madam|colleague)s?\b", re.I)
_LETTER_CLOSE = re.compile(r"^yours\s(?:sincerely|faithfully)\b", re.I)
_LETTER_FIELDS = re.compile(r"^(?:ask\sfor|direct\sdial|e-?mail|date|tel|telephone|contact|our\sref|your\sref)\b.{0,80}:", re.I)


def is_pack_cover(lines: list[str]) -> bool:
    """A cover letter or agenda frontsheet of a committee pack: it refers to the pack's pages ("(Pages 1 - 18)")
    or agenda items, and is either a letter (greeting and sign-off) or a list of several agenda items."""
    text = [line for line in lines if line]
    if not text or sum(len(line) for line in text) > 4000:
        return False
    refs = sum(1 for line in text if _PAGES_REF.search(line) or line.lower().startswith("agenda item"))
    letter = any(_LETTER_OPEN.match(line) for line in text) and any(_LETTER_CLOSE.match(line) for line in text)
    fields = sum(1 for line in text if _LETTER_FIELDS.match(line))
    return bool(refs and (letter or fields >= 2)) or refs >= 3


def is_pack_boilerplate_line(line: str) -> bool:
    """A pack's "Page N Agenda Item N" stamp or a "This page is intentionally left blank" line."""
    line = line.strip()
    return bool(line) and len(line) <= 60 and bool(_BLANK_PAGE.fullmatch(line) or _PACK_STAMP.fullmatch(line))


def strip_pack_boilerplate(pages: list[list[str]]) -> list[list[str]]:
    """Drop a committee pack's cover letter and frontsheet pages (only at the start, before the first page of
    content), "Page N" / "Agenda Item N" stamp lines, and "This page is intentionally left blank" lines."""
    out: list[list[str]] = []
    leading = True
    for lines in pages:
        if leading and is_pack_cover(lines):
            out.append([])
            continue
        kept = [line for line in lines if not is_pack_boilerplate_line(line)]
        if any(kept):
            leading = False
        out.append(kept)
    return out


# --- 4. rendered dates and UI chrome -------------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?,?\s)?"
_DATE = (
    r"(?:" + _WEEKDAY + r"(?:"
    r"\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2})?(?:\.\d{1,6})?(?:z|[+-]\d{2}:?\d{2})?)?"  # ISO 8601
    r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"  # 12/03/2024
    r"|\d{1,2}(?:st|nd|rd|th)?\s" + _MONTH + r"\.?,?\s\d{4}"  # 12 March 2024
    r"|" + _MONTH + r"\.?\s\d{1,2}(?:st|nd|rd|th)?,?\s\d{4}"  # March 12, 2024
    r"|" + _MONTH + r"\s\d{4}"  # March 2024
    r"))"
)
_TIME = r"(?:,?\s(?:at\s)?\d{1,2}[:.]\d{2}(?::\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.)?(?:\s?(?:gmt|bst|utc))?)?"
_WHEN = _DATE + _TIME

# Phrases that only say when a copy was rendered, printed or reviewed; each is removed from its line, and a
# line left with nothing but punctuation is dropped.
RENDERED_DATE_PATTERNS: list[re.Pattern[str]] = [
    # "Printed on 12/03/2024 10:31", "Generated: 2024-03-12T10:31:00Z", "Downloaded on 12 March 2024",
    # "Date printed: ..." - stamps added by the software that produced this copy
    re.compile(
        r"(?:date\s)?(?:printed|generated|downloaded|exported|rendered|retrieved|accessed)"
        r"(?:\s(?:on|at|date))?:?\s" + _WHEN,
        re.I,
    ),
    re.compile(r"date\s(?:printed|generated|downloaded):?\s" + _WHEN, re.I),
    # NHS website: "Page last reviewed: 12 March 2024", "Next review due: 12 March 2027", "Media last reviewed: ..."
    re.compile(r"(?:page|media)\slast\sreviewed:?\s" + _WHEN, re.I),
    re.compile(r"(?:next|media)\sreview\sdue:?\s" + _WHEN, re.I),
    # "This page was last updated on 3 May 2024", "Last updated: 3 May 2024", "Page updated 3 May 2024"
    re.compile(r"(?:this\spage\swas\s)?(?:last\s|page\s)(?:updated|modified)(?:\son)?:?\s" + _WHEN, re.I),
    # "Last updated" alone on its line (GOV.UK puts the date on the next one), "This page was last updated"
    re.compile(r"^(?:this\spage\swas\s)?last\s(?:updated|modified)(?:\son)?:?$", re.I),
]

# Whole lines that are cookie banners or page furniture; a line matching one of these (in full, case
# folded) is dropped.
CHROME_LINE_PATTERNS: list[re.Pattern[str]] = [
    # cookie banners and their buttons
    re.compile(
        r"(?:we use|we'd like to (?:use|set)|this (?:website|site) uses) (?:\w+ ){0,3}cookies[ .,;:]"
        r".{0,600}(?:website|site|service|experience|brows|analytic|improve|understand|remember).{0,600}",
        re.I,
    ),
    re.compile(r"(?:accept|reject|allow|refuse|decline) (?:all |additional |analytics |optional |non-essential )?cookies", re.I),
    re.compile(r"(?:cookie|cookies) (?:settings|preferences|policy|consent)|(?:manage|set|change) (?:your )?cookie(?:s| preferences| settings)", re.I),
    re.compile(r"you(?:'ve| have) (?:accepted|rejected) (?:all |additional |analytics )?cookies\b.{0,300}", re.I),
    re.compile(r"you can change your cookie settings at any time\.?", re.I),
    re.compile(r"hide (?:this )?(?:cookie )?message", re.I),
    # navigation helpers
    re.compile(r"skip to (?:main )?(?:content|navigation|search)", re.I),
    re.compile(r"(?:back|return|go back) to (?:the )?top(?: of (?:the )?page)?", re.I),
    re.compile(r"(?:[-+] )?(?:show|hide) all (?:updates|sections|steps|guidance)", re.I),
    re.compile(r"print (?:this )?page|share (?:this )?page", re.I),
    # feedback widgets
    re.compile(r"is this page useful\??|report a problem with this page|help us improve (?:our|this) website", re.I),
    re.compile(r"can you answer a (?:\d{1,2}[ -])?(?:minute|second) survey about your visit today\?", re.I),
    re.compile(r"take (?:our|the) survey", re.I),
]

_ONLY_PUNCT = re.compile(r"[\s\W_]*")


_DATE_TRIGGERS = ("print", "generat", "download", "export", "render", "retriev", "access", "review", "updated", "modified")
_RENDERED = re.compile("|".join(f"(?:{p.pattern})" for p in RENDERED_DATE_PATTERNS), re.I)
_DIGIT = re.compile(r"\d")
_CHROME = re.compile("|".join(f"(?:{p.pattern})" for p in CHROME_LINE_PATTERNS), re.I)
_CHROME_START = re.compile(r"[-+ ]{0,2}(?:we|this|accept|reject|allow|refuse|decline|cookie|manage|set|change|you|hide|show|skip|back|return|go|print|share|is|report|help|can|take)\b", re.I)


def _strip_rendered_dates(line: str) -> str:
    if len(line) > 40 and not _DIGIT.search(line):  # every pattern but a bare "Last updated" needs a digit
        return line
    low = line.lower()
    if not any(trigger in low for trigger in _DATE_TRIGGERS):
        return line
    line = _RENDERED.sub("", line)
    line = _HSPACE.sub(" ", line).strip()
    return "" if _ONLY_PUNCT.fullmatch(line) else line


def _is_chrome(line: str) -> bool:
    return len(line) <= 700 and _CHROME_START.match(line) is not None and _CHROME.fullmatch(line) is not None


def _filter_lines(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if not line:
            out.append(line)
            continue
        line = _strip_rendered_dates(line)
        if not line or _is_chrome(line):
            continue
        out.append(line)
    return out


# --- 5-6. paragraphs and hyphenation -------------------------------------------------------------------

_CLAUSE_START = re.compile(r"\d{1,3}(?:\.\d{1,3})+\.?\s[A-Z]")
_SOFT_HYPHEN = re.compile(r"([^\W\d_]+)\x02([^\W\d_]+)")
_TOKEN = re.compile(r"[^\s\"'.,;:!?()\[\]{}<>*]+")
_LAST_WORD = re.compile(r"[^\W\d_]+$")
_FIRST_WORD = re.compile(r"[^\W\d_]+")


def _starts_paragraph(line: str) -> bool:
    return line.startswith(BULLET) or bool(_CLAUSE_START.match(line))


class _Vocabulary:
    """Words of the whole text, built only if a line-end hyphen needs a decision."""

    def __init__(self, lines: list[str]):
        self._lines = lines
        self._hyphenated: set[str] | None = None
        self._words: set[str] | None = None

    def prefers_hyphen(self, left: str, right: str) -> bool:
        if self._hyphenated is None:
            tokens = set(_TOKEN.findall("\n".join(self._lines).lower()))
            self._hyphenated = {token for token in tokens if "-" in token}
            self._words = tokens - self._hyphenated
        assert self._words is not None
        hyph, joined = f"{left}-{right}".lower(), f"{left}{right}".lower()
        return hyph in self._hyphenated and joined not in self._words


def _resolve_soft_hyphens(line: str, vocabulary: _Vocabulary) -> str:
    """pypdfium2 writes "al\x02ternative" for a word it joined across a line break: apply rule 6 to it."""

    def join(m: re.Match[str]) -> str:
        left, right = m.group(1), m.group(2)
        if left[-1].islower() and right[0].islower() and not vocabulary.prefers_hyphen(left, right):
            return left + right
        return f"{left}-{right}"

    return _SOFT_HYPHEN.sub(join, line).replace("\x02", "-")


def _assemble(pages: list[list[str]]) -> tuple[str, list[int]]:
    """Join lines into paragraphs (see the module docstring); return text and each page's start offset."""
    vocabulary = _Vocabulary([line for lines in pages for line in lines])
    pages = [[_resolve_soft_hyphens(line, vocabulary) if "\x02" in line else line for line in lines] for lines in pages]
    parts: list[str] = []
    length = 0
    offsets: list[int] = []
    last = ""  # the last line appended (after any hyphen trimming, it is the tail of parts[-1])
    for lines in pages:
        offsets.append(-1)
        blank = False
        for line in lines:
            if not line:
                blank = True
                continue
            if not parts:
                sep = ""
            elif blank or _starts_paragraph(line):
                sep = "\n\n"
            elif last.endswith("-") and len(last) > 1 and last[-2].isalnum():
                sep = ""
                tail = _LAST_WORD.search(last, max(0, len(last) - 41), len(last) - 1)
                head = _FIRST_WORD.match(line)
                if (
                    tail is not None
                    and head is not None
                    and last[-2].islower()
                    and line[0].islower()
                    and not vocabulary.prefers_hyphen(tail.group(0), head.group(0))
                ):
                    parts[-1] = parts[-1][:-1]  # drop the hyphen
                    length -= 1
            else:
                sep = " "
            if offsets[-1] < 0:
                offsets[-1] = length + len(sep)
            parts.append(sep + line)
            length += len(sep) + len(line)
            last = line
            blank = False
    text = "".join(parts)
    # Pages with no text start where the next text starts (or at the end).
    nxt = len(text)
    for i in range(len(offsets) - 1, -1, -1):
        if offsets[i] < 0:
            offsets[i] = nxt
        else:
            nxt = offsets[i]
    return text, offsets


# --- public --------------------------------------------------------------------------------------------


def normalise_pages(pages: list[str]) -> tuple[str, list[int]]:
    """Normalise the pages of a paged document (PDF); return the text and the offset where each page starts.

    Offsets are character positions in the returned text, one per input page, non-decreasing; a page with
    no text left starts where the next page's text starts.
    """
    cleaned = [_clean_lines(_clean_chars(page)) for page in pages]
    cleaned = strip_pack_boilerplate(cleaned)
    cleaned = _strip_running_lines(cleaned)
    cleaned = [_filter_lines(lines) for lines in cleaned]
    return _assemble(cleaned)


def normalise_text(text: str, *, reflow: bool = True) -> str:
    """Normalise single-page text (HTML, DOCX, plain text).

    With ``reflow=False`` (spreadsheets) every line is kept as a line and tabs between cells are kept;
    characters, rendered dates and chrome are still normalised.
    """
    if reflow:
        lines = _filter_lines(_clean_lines(_clean_chars(text)))
        return _assemble([lines])[0]
    lines = _filter_lines(_clean_lines(_clean_chars(text, keep_tabs=True), keep_tabs=True))
    out: list[str] = []
    for line in lines:
        line = line.replace("\x02", "-")  # rule 1 (with no reflow, no hyphenation to resolve)
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)
