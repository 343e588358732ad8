"""Is this document an NHS plan, which footprint is it about, which generation of plan, and is it a draft?

Rules over the title, URL, link text and the opening of the text: word lists and regexes kept as data below,
each with a comment saying why it is there.  No model; fast enough to run on every fetched document.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from crawler.registry import find_footprint, footprints, name_key, places, publishers
from storage import GENERATIONS

__all__ = ["Classification", "classify", "GENERATIONS", "HEAD_CHARS", "UNKNOWN_GENERATION"]

HEAD_CHARS = 12_000  # only the opening of a document is read: titles, covers, summaries and contents pages
TITLE_CHARS = 1_000
COVER_CHARS = 300  # the start of the text is the cover: its words count like the title's
UNKNOWN_GENERATION = "unknown"  # classify's answer when no generation is clear (never one of GENERATIONS)

CI = re.IGNORECASE  # marks a rule as case-insensitive: it is lower-cased and run on the lower-cased text (fast)
_UPPER_ESCAPES = re.compile(r"\\[SWDBAZ]")


class _Text:
    """A text in its written case and lower-cased (case-insensitive rules run on the lower-cased copy)."""

    __slots__ = ("orig", "low")

    def __init__(self, text: str):
        self.orig = text
        self.low = text.lower()


def _needles(source: str) -> tuple[str, ...] | None:
    """Literal words one of which every match must contain (one per top-level alternative), or None.

    A cheap `in` test on them lets most rules skip their regex scan.  Only plain letter runs outside groups and
    character classes count; a letter made optional by a following ?, * or {0,..} is dropped.
    """
    alternatives, depth, current, i = [], 0, [], 0
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            current.append(source[i:i + 2])
            i += 2
            continue
        if ch == "[":
            end = source.index("]", i + 1)
            current.append(source[i:end + 1])
            i = end + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "|" and depth == 0:
            alternatives.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    alternatives.append("".join(current))
    needles = []
    for alt in alternatives:
        flat = re.sub(r"\\.", " ", alt)  # escapes are not literals
        flat = re.sub(r"\[[^\]]*\]", " ", flat)
        best = ""
        level = 0
        for m in re.finditer(r"[()]|[A-Za-z0-9]+", flat):
            token = m.group(0)
            if token == "(":
                level += 1
            elif token == ")":
                level -= 1
            elif level == 0:
                word = token
                if flat[m.end():m.end() + 1] in ("?", "*", "{"):
                    word = word[:-1]
                if len(word) > len(best):
                    best = word
        if len(best) < 3:
            return None
        needles.append(best)
    return tuple(needles)


class _Rx:
    """A compiled rule; case-insensitive ones are compiled lower-cased, which lets `re` scan for literals."""

    __slots__ = ("pattern", "exact", "needles")

    def __init__(self, source: str, flags: int = 0):
        self.exact = not flags & CI
        if not self.exact:
            if _UPPER_ESCAPES.search(source):
                raise ValueError(f"case-insensitive rule uses an upper-case escape: {source}")
            source = source.lower()
        self.pattern = re.compile(source, flags & ~CI)
        self.needles = _needles(source)

    def _target(self, text: _Text) -> str | None:
        target = text.orig if self.exact else text.low
        if self.needles is not None and not any(needle in target for needle in self.needles):
            return None  # no match can exist: skip the regex scan
        return target

    def search(self, text: _Text) -> re.Match[str] | None:
        target = self._target(text)
        return self.pattern.search(target) if target is not None else None

    def count(self, text: _Text, cap: int) -> int:
        target = self._target(text)
        if target is None:
            return 0
        n = 0
        for _ in self.pattern.finditer(target):
            n += 1
            if n >= cap:
                break
        return n

# --------------------------------------------------------------------------- plan or not

# (reason, pattern, weight when in title/link text/URL, weight per hit in the opening text; hits capped at 4)
PLAN_SIGNALS: tuple[tuple[str, _Rx, float, float], ...] = (
    # the 2016 plans themselves (DOMAIN 2.3 titles: "... Sustainability and Transformation Plan ...")
    ("names a Sustainability and Transformation Plan", _Rx(r"sustainability\s+(?:and|&)\s+transformation\s+plans?\b", CI), 7, 2),
    # 2017 rename: partnership documents and updates
    ("names a Sustainability and Transformation Partnership", _Rx(r"sustainability\s+(?:and|&)\s+transformation\s+partnerships?\b", CI), 4, 1),
    # "STP", "STP narrative", "draft STP", "STP Update" (case-sensitive: an acronym)
    ("mentions the STP", _Rx(r"\bSTPs?\b"), 4, 0.7),
    # gen 3 and gen 6 titles: "Five Year Plan", "five year strategic plan", "5-year strategic commissioning plan"
    ("names a five-year plan", _Rx(r"\b(?:five|5)[\s-]*years?\s+(?:strategic\s+|system\s+|forward\s+|narrative\s+|integrated\s+|local\s+)?(?:commissioning\s+)?plans?\b", CI), 7, 2),
    # gen 5: statutory Joint Forward Plans
    ("names a Joint Forward Plan", _Rx(r"joint\s+forward\s+plans?\b|\bJFPs?\b", CI), 7, 2),
    # gen 6: strategic commissioning plans
    ("names a strategic commissioning plan", _Rx(r"strategic\s+commissioning\s+plans?\b", CI), 7, 2),
    # ICP/ICS integrated care strategies and ICS strategies
    ("names an integrated care strategy", _Rx(r"integrated\s+care\s+(?:partnership\s+|system\s+)?strateg(?:y|ies)\b|\bIC[PS]\s+strategy\b", CI), 5, 1.5),
    # gen 3 "system plan", "strategy delivery plan"; Sussex's JFP is the "Shared Delivery Plan"
    ("names a system or delivery plan", _Rx(r"\b(?:system|strategy\s+delivery|shared\s+delivery)\s+plans?\b", CI), 5, 1.5),
    # local responses to the NHS Long Term Plan (2019)
    ("mentions the Long Term Plan", _Rx(r"\blong[\s-]+term\s+plan\b", CI), 3, 0.7),
    # reconfiguration documents that carry the plans' site and service changes
    ("names a consultation business case", _Rx(r"pre[\s-]*consultation\s+business\s+case|decision[\s-]*making\s+business\s+case|\bPCBC\b|\bDMBC\b", CI), 6, 1.5),
    ("names a case for change", _Rx(r"\bcase\s+for\s+change\b", CI), 4, 1),
    ("names a clinical strategy", _Rx(r"\bclinical\s+(?:services\s+)?strategy\b", CI), 4, 1),
    # 2016 publication forms: "STP narrative", "Public summary", "public facing summary"
    ("is a plan summary or narrative", _Rx(r"\bSTP\s+narrative\b|\bpublic(?:[\s-]+facing)?\s+summary\b", CI), 4, 1),
    # capital plans published with JFPs
    ("names a capital resource use plan", _Rx(r"joint\s+capital\s+resource\s+use\s+plan|\bJCRUP\b", CI), 4, 1),
    # operational / operating plans: plan-like but weaker
    ("names an operational plan", _Rx(r"\b(?:operational|operating)\s+plans?\b", CI), 2, 0.5),
)

# Wording of a plan document itself rather than a paper about one (capped at 4 points in total).
PLAN_BODY_SIGNALS: tuple[tuple[str, _Rx], ...] = (
    ("speaks as the plan", _Rx(r"\b(?:this|our)\s+(?:plan|strategy)\b", CI)),
    ("has a foreword or contents", _Rx(r"^\s*(?:foreword|contents|table of contents)\s*$", CI | re.M)),
    ("states a vision or ambition", _Rx(r"\bour\s+(?:vision|ambitions?|priorities)\b", CI)),
    ("states a financial gap", _Rx(r"\b(?:financial|funding)\s+gap\b|\bdo[\s-]+nothing\b", CI)),
)

# Things that are not plans: meeting papers and unrelated council business. (reason, pattern, title weight,
# weight per hit in the opening text; hits capped at 3.)  Weights are subtracted.
NOT_PLAN_SIGNALS: tuple[tuple[str, _Rx, float, float], ...] = (
    ("is an agenda", _Rx(r"\bagenda\b|\bnotice\s+of\s+meeting\b|\bpublic\s+reports?\s+pack\b", CI), 7, 0),
    ("is minutes", _Rx(r"\bminutes\b", CI), 7, 0),
    ("records a meeting", _Rx(r"\bapologies\s+for\s+absence\b|\bdeclarations?\s+of\s+(?:pecuniary\s+)?interests?\b|"
                                     r"\bminutes\s+of\s+the\s+(?:previous|last)\s+meeting\b|^\s*present\s*:", CI | re.M), 0, 2),
    ("is a petition", _Rx(r"\bpetitions?\b|\be-?petition\b", CI), 6, 1.5),
    ("is about roads or traffic", _Rx(r"\bzebra\s+crossing|\btraffic\s+(?:management\s+)?order\b|\bparking\b|"
                                            r"\bspeed\s+limit\b|\bpedestrian\s+crossing\b|\bhighways?\b", CI), 8, 1.5),
    ("is about town planning or licensing", _Rx(r"\bplanning\s+applications?\b|\blicensing\b|\blicence\s+application\b", CI), 6, 1.5),
    ("is governance paperwork", _Rx(r"\bterms\s+of\s+reference\b|\bequality\s+impact\s+assessment\b|\bEqIA\b|"
                                          r"\bstanding\s+orders\b|\bregister\s+of\s+interests\b", CI), 4, 0.5),
    ("is a council budget paper", _Rx(r"\b(?:budget\s+amendments?|council\s+tax|treasury\s+management|reserves\s+policy)\b", CI), 5, 1),
)

# A report or cover paper to a committee/board: a paper *about* something (cover sheets of ModernGov reports,
# ICB board cover papers).  Two or more in the first 3000 characters make a document a report.
REPORT_MARKERS: tuple[_Rx, ...] = (
    _Rx(r"^\s*(?:report\s+(?:by|of|to|from)|from\s*:|to\s*:)", CI | re.M),
    _Rx(r"\bdecision\s+(?:number|no\.?)\b", CI),
    _Rx(r"\bpurpose\s+of\s+(?:the\s+)?(?:report|paper)\b", CI),
    _Rx(r"^\s*recommendations?(?:\s*\(s\))?\s*:?", CI | re.M),
    _Rx(r"\bportfolio\s+holder\b|\bcabinet\s+member\b", CI),
    _Rx(r"\bkey\s+decision\b|\bclassification\s*:", CI),
    _Rx(r"\b(?:the\s+)?(?:committee|board|cabinet)\s+is\s+(?:asked|recommended)\s+to\b", CI),
    _Rx(r"\blast\s+committee\s+reference\b|\bpast\s+pathway\b|\breport\s+author\b", CI),
)

# Pages *about* plans: news, listings, "our plans" index pages, history and consultation landing pages. An HTML
# page is a plan only when it is the plan's own text: long, speaking as the plan, and none of these.
ABOUT_PAGE_SIGNALS: tuple[tuple[str, _Rx], ...] = (
    ("is a news item or blog post", _Rx(r"/(?:news|blog|blogs|press|press-releases?|media|stories|updates)(?:/|$|\?)|"
                                        r"\b(?:news|press\s+release|blog)\b|\bposted\s+(?:on|by)\b", CI)),
    ("is a listing or index page", _Rx(r"/(?:our-plans|plans|publications|documents|resources|library|search|"
                                       r"category|tag|archive)/?(?:$|\?)|\bour\s+(?:plans|strategies|publications)\b|"
                                       r"[?&]page=\d", CI)),
    ("is a history or about page", _Rx(r"/(?:about|about-us|history|our-history|who-we-are)(?:/|$)|"
                                       r"\b(?:our\s+history|about\s+us|who\s+we\s+are)\b", CI)),
    ("is a consultation or event page", _Rx(r"/(?:consultations?|get-involved|have-your-say|engagement|events?|"
                                            r"calendar)(?:/|$)|\bhave\s+your\s+say\b|\bget\s+involved\b", CI)),
)
PLAN_PAGE_WORDS = 1500  # an HTML page shorter than this is about a plan, not the plan
PLAN_PAGE_BODY = 2  # ... and it must speak as the plan (PLAN_BODY_SIGNALS)

PLAN_THRESHOLD = 6.0  # net score for a plan document
RELATED_THRESHOLD = 3.0  # plan-topic score for a paper about a plan (update, cover report, minutes item)

# --------------------------------------------------------------------------- generation

_SEP = r"\s*(?:-|–|—|to|until)\s*"


def _fy_span(a: int, b: int) -> str:
    """Financial-year span such as 2019/20-2023/24 (also '2019-20 to 2023-24' and '2019-2024')."""
    return (rf"\b{a}\s*[/-]\s*(?:20)?{(a + 1) % 100:02d}{_SEP}{b}\s*[/-]\s*(?:20)?{(b + 1) % 100:02d}\b"
            rf"|\b{a}{_SEP}{b + 1}\b")


# (generation, pattern, weight): financial-year spans are the most reliable clue (DOMAIN 3, classifier hints)
GENERATION_SPANS: tuple[tuple[str, _Rx, float], ...] = (
    ("2016-stp", _Rx(_fy_span(2016, 2020), CI), 6),
    ("2016-stp", _Rx(r"\bby\s+2020\s*/\s*21\b|\bOctober\s+2016\s+submission\b|\b21\s+October\s+2016\b", CI), 5),
    ("2019-five-year", _Rx(_fy_span(2019, 2023), CI), 6),
    ("2022-joint-forward-plan", _Rx(_fy_span(2023, 2027) + "|" + _fy_span(2024, 2028) + "|"
                                           + _fy_span(2025, 2029), CI), 6),
    ("2025-strategic-commissioning", _Rx(_fy_span(2026, 2030) + "|" + _fy_span(2026, 2028), CI), 6),
)

# (generation, pattern, weight in title, weight per hit in the opening text; hits capped at 3)
GENERATION_WORDING: tuple[tuple[str, _Rx, float, float], ...] = (
    # gen 1: the plan's own name, the 2016 process words
    ("2016-stp", _Rx(r"sustainability\s+(?:and|&)\s+transformation\s+plans?\b", CI), 5, 1.5),
    ("2016-stp", _Rx(r"\b(?:June|October)\s+submission\b|\bSTP\s+(?:lead|footprint)s?\b|"
                            r"\bsustainability\s+and\s+transformation\s+fund\b|\bemerging\s+plan\b", CI), 3, 1),
    # gen 2: partnership, Next Steps, accountable care, capped expenditure, shadow ICS, MoU
    ("2017-partnership", _Rx(r"sustainability\s+(?:and|&)\s+transformation\s+partnerships?\b", CI), 5, 1.5),
    ("2017-partnership", _Rx(r"\bnext\s+steps\s+on\s+the\s+(?:nhs\s+)?five\s+year\s+forward\s+view\b|"
                                    r"\baccountable\s+care\s+(?:system|organisation|organization)s?\b|"
                                    r"\bcapped\s+expenditure\b|\bshadow\s+ICS\b|\bSTP\s+progress\s+dashboard\b|"
                                    r"\bmemorandum\s+of\s+understanding\b", CI), 4, 1),
    # gen 3: five-year plans answering the NHS Long Term Plan
    ("2019-five-year", _Rx(r"\blong[\s-]+term\s+plan\b", CI), 3, 1),
    ("2019-five-year", _Rx(r"\bfive[\s-]+year\s+(?:strategic|system)\s+plan\b|\bstrategy\s+delivery\s+plan\b|"
                                  r"\bimplementation\s+framework\b|\bICS\s+by\s+April\s+2021\b|\bfinancial\s+tests\b", CI), 4, 1),
    # gen 5: statutory ICBs, JFPs, integrated care strategies
    ("2022-joint-forward-plan", _Rx(r"joint\s+forward\s+plans?\b|\bJFP\b", CI), 6, 2),
    ("2022-joint-forward-plan", _Rx(r"\bintegrated\s+care\s+boards?\b|\bhealth\s+and\s+care\s+act\s+2022\b|"
                                           r"\bintegrated\s+care\s+(?:partnership\s+)?strateg(?:y|ies)\b|"
                                           r"\bshared\s+delivery\s+plan\b|\bfour\s+core\s+purposes\b|"
                                           r"\bjoint\s+capital\s+resource\s+use\s+plan\b", CI), 3, 1),
    # gen 6: strategic commissioning, 10 Year Health Plan, clustering
    ("2025-strategic-commissioning", _Rx(r"\bstrategic\s+commissioning\s+plans?\b|\bfive[\s-]+year\s+narrative\s+plan\b", CI), 6, 2),
    ("2025-strategic-commissioning", _Rx(r"\bstrategic\s+commissioner\b|\b10[\s-]+year\s+health\s+plan\b|"
                                                r"\bthree\s+shifts\b|\bneighbourhood\s+health\b|"
                                                r"\bmedium[\s-]+term\s+planning\s+framework\b|\bboard\s+in\s+common\b", CI), 3, 1),
)

# Publication windows (DOMAIN 3): a date inside one is a weak vote for that generation; 2020-07..2022-11
# (ICS legislation, no plan round of its own) gives no vote.
GENERATION_WINDOWS: tuple[tuple[date, date, str], ...] = (
    (date(2016, 1, 1), date(2017, 3, 30), "2016-stp"),
    (date(2017, 3, 31), date(2018, 9, 30), "2017-partnership"),
    (date(2018, 10, 1), date(2020, 6, 30), "2019-five-year"),
    (date(2022, 12, 1), date(2025, 8, 31), "2022-joint-forward-plan"),
    (date(2025, 9, 1), date(2031, 3, 31), "2025-strategic-commissioning"),
)
PUBLISHED_WEIGHT = 3.0
TEXT_DATE_WEIGHT = 2.0
GENERATION_MIN = 3.0

_MONTHS = "january february march april may june july august september october november december".split()
_DATE_IN_TEXT = re.compile(
    r"\b(?:(\d{1,2})(?:st|nd|rd|th)?\s+)?(" + "|".join(m.capitalize() for m in _MONTHS) + r")\s+(20[12]\d)\b")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?")

# --------------------------------------------------------------------------- draft

# Marks that a document was not meant to be public yet (leaked drafts carry them on covers and watermarks).
DRAFT_PATTERNS: tuple[tuple[str, _Rx], ...] = (
    ("draft in the title", _Rx(r"\bdraft\b", CI)),  # applied to title / link text / URL only
    ("watermark line", _Rx(r"^\s*(?:draft|confidential|strictly\s+confidential|restricted|embargoed|"
                                  r"not\s+for\s+(?:publication|circulation|onward\s+circulation|distribution))"
                                  r"(?:\s*[-–:]?\s*(?:v(?:ersion)?\s*\d[\d.]*|not\s+for\s+\w+(?:\s+\w+)?))?\s*$", CI | re.M)),
    ("draft version", _Rx(r"\bdraft\s+(?:v(?:ersion)?\s*\d|for\s+(?:discussion|consultation|comment|approval)|"
                                 r"(?:-|–)\s*not\s+for)|\bversion\s+0\.\d+\b|\bworking\s+draft\b|\bfirst\s+draft\b", CI)),
    ("marked confidential", _Rx(r"\b(?:strictly\s+|commercial(?:ly)?\s+in\s+)?confidential(?:ity)?\s*(?:-|–|:)?\s*"
                                       r"(?:not\s+for|draft|do\s+not)|\bcommercial\s+in\s+confidence\b|"
                                       r"^\s*(?:strictly\s+)?confidential\b", CI | re.M)),
    ("not for publication", _Rx(r"\bnot\s+for\s+(?:publication|circulation|onward\s+circulation|wider\s+circulation|"
                                       r"public\s+(?:release|circulation)|distribution)\b|\bdo\s+not\s+(?:circulate|forward|share)\b", CI)),
    ("embargoed", _Rx(r"\bembargoed?\b|\bunder\s+embargo\b", CI)),
    ("work in progress", _Rx(r"\bwork\s+in\s+progress\b|\bsubject\s+to\s+(?:change|further\s+revision)\b", CI)),
)
DRAFT_HEAD_CHARS = 4_000  # markers count on the cover and first pages only, where they are put

# --------------------------------------------------------------------------- footprint

NAME_WEIGHT = 3.0  # a footprint's name, alias or brand in the text
ACRONYM_WEIGHT = 2.0  # "SYB", "BOB", "NCL": case-sensitive, shorter, so weaker
CODE_WEIGHT = 3.0  # an ODS code such as QF7
PLACE_WEIGHT = 1.0  # a council area lying (mostly) in one footprint
HOST_WEIGHT = 6.0  # the URL is on a single-footprint publisher's site
TITLE_FACTOR = 3.0  # hits in the title or link text count this many times
HITS_CAP = 6  # occurrences of one name counted at most this many times
SOURCE_PRIOR = 4.0  # the source's own footprint starts with this score
SWITCH_MIN = 9.0  # another footprint must reach this score ...
SWITCH_RATIO = 2.0  # ... and this multiple of the source footprint's score to override the source
LINEAGE_MIN = 6.0  # a predecessor/successor of the source's footprint (the 2016 STP on its ICB's site) needs less
UNSOURCED_MIN = 4.0  # without a source footprint, the best must reach this score ...
UNSOURCED_MARGIN = 1.5  # ... and this multiple of the runner-up


@dataclass
class Classification:
    """What classify() found, with the reasons for each answer."""

    is_plan: bool
    plan_related: bool  # a plan, or a paper about one (update, cover report, minutes item)
    category: str  # "plan", "plan-related" or "other"
    plan_score: float
    reasons: list[str] = field(default_factory=list)
    footprint: str | None = None
    footprint_evidence: list[str] = field(default_factory=list)
    generation: str = UNKNOWN_GENERATION
    generation_evidence: list[str] = field(default_factory=list)
    draft: bool = False
    draft_evidence: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-able dict (what `--json` listings and the archive store)."""
        return asdict(self)


# --------------------------------------------------------------------------- helpers

def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\x02", "").replace("\u00ad", ""))


def _url_words(url: str | None) -> str:
    if not url:
        return ""
    return re.sub(r"%20|[_+/%.=?&-]+", " ", url[:500])


def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    m = _ISO_DATE.match(value.strip())
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))
    except ValueError:
        return None


def _first_text_date(head: str) -> date | None:
    m = _DATE_IN_TEXT.search(head[:3000])
    if not m:
        return None
    return date(int(m.group(3)), _MONTHS.index(m.group(2).lower()) + 1, int(m.group(1) or 1) if (m.group(1) and 1 <= int(m.group(1)) <= 28) else 1)


def _window(day: date) -> str | None:
    for start, end, gen in GENERATION_WINDOWS:
        if start <= day <= end:
            return gen
    return None


# --------------------------------------------------------------------------- footprint matcher

_WORD = re.compile(r"[a-z0-9]+|&")  # words of lower-cased text with apostrophes removed (as name_key does)

def _is_acronym(text: str) -> bool:
    return len(text) <= 8 and (text.isupper() or "&" in text) and " " not in text


@dataclass(frozen=True)
class _Matcher:
    """Word n-gram lookup of footprint names, brands, places (any case) and acronyms/codes (exact case)."""

    names: dict[str, tuple[str, str]]  # name_key -> (footprint code, kind)
    exact: dict[str, tuple[str, str]]  # acronym or code as written -> (footprint code, kind)
    lengths: dict[str, tuple[int, ...]]  # first word of a name -> word counts of names starting with it, longest first
    hosts: dict[str, str]  # host of a single-footprint publisher -> footprint code
    exact_re: re.Pattern[str] | None  # all exact keys, longest first, as whole words


@lru_cache(maxsize=1)
def _matcher() -> _Matcher:
    names: dict[str, tuple[str, str]] = {}
    exact: dict[str, tuple[str, str]] = {}
    clashes: set[str] = set()

    def add(table: dict[str, tuple[str, str]], key: str, code: str, kind: str) -> None:
        if not key:
            return
        if key in table and table[key][0] != code:
            clashes.add(key)
        table.setdefault(key, (code, kind))

    for code, fp in footprints().items():
        if not fp.synthetic_code:
            add(exact, code, code, "code")
        for text in fp.match_names():
            text = re.sub(r"\s*\([^)]*\)", "", text).strip()  # "Better Care Together (LLR)" -> "Better Care Together"
            if _is_acronym(text):
                add(exact, text, code, "acronym")
            else:
                add(names, name_key(text), code, "name")
    for place, code in places().items():
        if name_key(place) not in names:
            add(names, name_key(place), code, "place")
    for key in clashes:  # a name two footprints claim is no evidence for either
        names.pop(key, None)
        exact.pop(key, None)
    hosts: dict[str, str] = {}
    for pub in publishers().values():
        if len(pub["footprints"]) == 1:
            for host in pub["allowed_domains"]:
                hosts[host] = pub["footprints"][0]
    alternatives = "|".join(re.escape(k) for k in sorted(exact, key=len, reverse=True))
    exact_re = re.compile(rf"(?<![A-Za-z0-9&])(?:{alternatives})(?![A-Za-z0-9&])") if exact else None
    lengths: dict[str, set[int]] = {}
    for key in names:
        words = key.split()
        lengths.setdefault(words[0], set()).add(len(words))
    return _Matcher(names=names, exact=exact, lengths={w: tuple(sorted(n, reverse=True)) for w, n in lengths.items()},
                    hosts=hosts, exact_re=exact_re)


def _find_names(text: str, matcher: _Matcher) -> dict[str, int]:
    """Occurrences of known names in text, longest match first, as {key: count}."""
    counts: dict[str, int] = {}
    keys = ["and" if w == "&" else w for w in _WORD.findall(text.lower().replace("'", "").replace("’", ""))]
    i, total = 0, len(keys)
    while i < total:
        step = 1
        for n in matcher.lengths.get(keys[i], ()):
            if i + n <= total:
                key = " ".join(keys[i:i + n])
                if key in matcher.names:
                    counts[key] = counts.get(key, 0) + 1
                    step = n
                    break
        i += step
    if matcher.exact_re is not None:
        for m in matcher.exact_re.finditer(text):
            counts[m.group(0)] = counts.get(m.group(0), 0) + 1
    return counts


def _footprint_scores(title: str, head: str, url: str | None) -> tuple[dict[str, float], dict[str, list[str]]]:
    matcher = _matcher()
    scores: dict[str, float] = {}
    why: dict[str, dict[str, int]] = {}
    weights = {"name": NAME_WEIGHT, "place": PLACE_WEIGHT, "acronym": ACRONYM_WEIGHT, "code": CODE_WEIGHT}
    for text, factor, where in ((title, TITLE_FACTOR, "title"), (head, 1.0, "text")):
        if not text:
            continue
        for key, n in _find_names(text, matcher).items():
            code, kind = matcher.names.get(key) or matcher.exact[key]
            n = min(n, HITS_CAP)
            scores[code] = scores.get(code, 0.0) + n * weights[kind] * factor
            label = f"{where} names {key!r}"
            why.setdefault(code, {})[label] = n
    if url:
        host = re.sub(r"^[a-z]+://", "", url.lower()).split("/")[0].split(":")[0]
        for known, code in matcher.hosts.items():
            if host == known or host.endswith("." + known):
                scores[code] = scores.get(code, 0.0) + HOST_WEIGHT
                why.setdefault(code, {})[f"URL is on {known}"] = 1
    evidence = {code: [f"{label} x{n}" if n > 1 else label for label, n in sorted(items.items(), key=lambda kv: -kv[1])]
                for code, items in why.items()}
    return scores, evidence


@lru_cache(maxsize=64)
def _lineage(code: str) -> frozenset[str]:
    """Footprints that the given one came from or passed territory to (boundary moves and mergers)."""
    fp = footprints().get(code)
    if fp is None:
        return frozenset()
    return frozenset([*(p["from"] for p in fp.predecessors), *(s["to"] for s in fp.successors)])


def _decide_footprint(scores: dict[str, float], evidence: dict[str, list[str]],
                      source: str | None) -> tuple[str | None, list[str]]:
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    if source:
        own = scores.get(source, 0.0) + SOURCE_PRIOR
        others = [(c, s) for c, s in ranked if c != source]
        lineage = _lineage(source)
        if others and (others[0][1] >= SWITCH_MIN and others[0][1] >= SWITCH_RATIO * own
                       or others[0][0] in lineage and others[0][1] >= LINEAGE_MIN and others[0][1] > own):
            code, score = others[0]
            return code, [f"named in the document over the source's {source} (score {score:g} vs {own:g})",
                          *evidence.get(code, [])[:5]]
        return source, [f"inherited from the source ({source})", *evidence.get(source, [])[:3]]
    if not ranked:
        return None, ["no footprint named"]
    best, score = ranked[0]
    runner = ranked[1][1] if len(ranked) > 1 else 0.0
    if score >= UNSOURCED_MIN and score >= UNSOURCED_MARGIN * runner:
        return best, [f"named in the document (score {score:g}, next {runner:g})", *evidence.get(best, [])[:5]]
    return None, [f"no clear footprint (best {best} {score:g}, next {runner:g})"]


# --------------------------------------------------------------------------- classify

def classify(text: str, *, title: str | None = None, url: str | None = None, link_text: str | None = None,
             source_footprint: str | None = None, published: str | None = None,
             form: str = "document") -> Classification:
    """Classify one document from its title, URL, link text and the opening of its text (see module doc).

    `form` is "page" for an HTML page: a page is a plan only when it is itself the plan's text (long, speaking
    as the plan, not a news item, listing, history or consultation page); a page about a plan is plan-related.
    """
    text = text if isinstance(text, str) else ""
    raw_head = text[:HEAD_CHARS].replace("\x02", "").replace("\u00ad", "")
    label = _flat(" ".join(t for t in (title or "", link_text or "") if isinstance(t, str) and t))[:TITLE_CHARS]
    head = _Text(_flat(raw_head))
    lines = _Text(raw_head)  # line structure kept: cover-sheet fields, watermark lines
    tag = _Text(" ".join((label, _url_words(url), _flat(raw_head[:COVER_CHARS]))).strip())

    # plan or not
    reasons: list[str] = []
    topic = 0.0
    for reason, rule, title_w, body_w in PLAN_SIGNALS:
        in_title = bool(tag.orig and rule.search(tag))
        hits = rule.count(head, 4)
        score = (title_w if in_title else 0.0) + body_w * hits
        if score:
            topic += score
            reasons.append(f"{reason} ({'title, ' if in_title else ''}{hits} in text)")
    body = 0.0
    for reason, rule in PLAN_BODY_SIGNALS:
        if rule.search(lines):
            body += 1.0
            reasons.append(reason)
    body = min(body, 4.0)
    negative = 0.0
    meeting = False
    for reason, rule, title_w, body_w in NOT_PLAN_SIGNALS:
        in_title = bool(tag.orig and title_w and rule.search(tag))
        hits = rule.count(lines, 3) if body_w else 0
        score = (title_w if in_title else 0.0) + body_w * hits
        if score:
            negative += score
            reasons.append(f"not a plan: {reason} ({'title, ' if in_title else ''}{hits} in text)")
            if (reason in ("is an agenda", "is minutes") and in_title) or (reason == "records a meeting" and hits >= 2):
                meeting = True
    cover = _Text(raw_head[:3000])
    report_marks = sum(1 for marker in REPORT_MARKERS if marker.search(cover))
    is_report = report_marks >= 2
    if is_report:
        reasons.append(f"is a report or cover paper to a meeting ({report_marks} report markers)")
    plan_score = round(topic + (body if topic else 0.0) - negative, 1)

    if meeting or is_report:
        category = "plan-related" if topic >= RELATED_THRESHOLD + (1 if meeting else 0) else "other"
    elif plan_score >= PLAN_THRESHOLD:
        category = "plan"
        if form == "page":
            about = _about_page(text, tag, body)
            if about:
                category = "plan-related"
                reasons.append(f"a page about a plan, not the plan: {about}")
    elif topic >= RELATED_THRESHOLD and plan_score > 0:
        category = "plan-related"
    else:
        category = "other"

    # footprint
    source = None
    if source_footprint:
        found = find_footprint(source_footprint)
        source = found.code if found else None
    scores, evidence = _footprint_scores(label, head.orig, url)
    footprint, footprint_evidence = _decide_footprint(scores, evidence, source)
    if source_footprint and source is None:
        footprint_evidence.append(f"source footprint {source_footprint!r} is not in the registry")

    generation, generation_evidence = _generation(tag, head, published, category != "other")
    draft_evidence = _draft(_Text(label + " " + _url_words(url)), _Text(raw_head[:DRAFT_HEAD_CHARS]))

    return Classification(
        is_plan=category == "plan", plan_related=category != "other", category=category, plan_score=plan_score,
        reasons=reasons or ["no plan wording found"], footprint=footprint, footprint_evidence=footprint_evidence,
        generation=generation, generation_evidence=generation_evidence,
        draft=bool(draft_evidence), draft_evidence=draft_evidence,
    )


def _about_page(text: str, tag: _Text, body: float) -> str | None:
    """Why an HTML page with plan wording is a page about a plan (None: it is the plan's own text)."""
    for reason, rule in ABOUT_PAGE_SIGNALS:
        if rule.search(tag):
            return reason
    words = len(re.findall(r"\w+", text[:PLAN_PAGE_WORDS * 12]))
    if words < PLAN_PAGE_WORDS:
        return f"too short to be the plan ({words} words)"
    if body < PLAN_PAGE_BODY:
        return "does not speak as the plan"
    return None


def _generation(tag: _Text, head: _Text, published: str | None, use_dates: bool) -> tuple[str, list[str]]:
    votes: dict[str, float] = {}
    why: list[str] = []

    def vote(gen: str, weight: float, reason: str) -> None:
        votes[gen] = votes.get(gen, 0.0) + weight
        why.append(f"{gen}: {reason}")

    for gen, rule, weight in GENERATION_SPANS:
        m = rule.search(tag) or rule.search(head)
        if m:
            vote(gen, weight, f"dates {m.group(0).strip()!r}")
    for gen, rule, title_w, body_w in GENERATION_WORDING:
        m = rule.search(tag) if tag.orig else None
        if m:
            vote(gen, title_w, f"title says {m.group(0).strip()!r}")
        hits = rule.count(head, 3)
        if hits:
            first = rule.search(head)
            vote(gen, body_w * hits, f"text says {first.group(0).strip()!r}" + (f" x{hits}" if hits > 1 else ""))
    if use_dates:
        day = _parse_date(published)
        if day and _window(day):
            vote(_window(day), PUBLISHED_WEIGHT, f"published {day.isoformat()}")
        elif not day:
            found = _first_text_date(head.orig)
            if found and _window(found):
                vote(_window(found), TEXT_DATE_WEIGHT, f"dated {found.strftime('%B %Y')} in the text")
    if not votes:
        return UNKNOWN_GENERATION, ["no dated wording or financial years found"]
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], GENERATIONS.index(kv[0])))
    best, score = ranked[0]
    if score < GENERATION_MIN or (len(ranked) > 1 and ranked[1][1] == score):
        return UNKNOWN_GENERATION, [f"no clear generation ({', '.join(f'{g} {s:g}' for g, s in ranked[:3])})", *why[:6]]
    return best, [w for w in why if w.startswith(best)][:6]


def _draft(tag: _Text, head: _Text) -> list[str]:
    found = []
    for reason, rule in DRAFT_PATTERNS:
        target = tag if reason == "draft in the title" else head
        m = rule.search(target) if target.orig else None
        if m:
            found.append(f"{reason}: {_flat(m.group(0)).strip()[:60]!r}")
    return found


def footprint_name(code: str | None) -> str | None:
    """The footprint's name from the built-in registry, or None when the registry does not know the code."""
    found = find_footprint(code) if code else None
    return found.name if found else None


def footprint_names() -> dict[str, str]:
    """Every footprint's code and name, as the archive's footprints table keeps them."""
    return {code: fp.name for code, fp in footprints().items()}
