"""Words that mark an agenda item or a committee as one where NHS plans surface (STPs, ICS plans, JFPs, ...)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

# Phrases that make an item worth fetching wherever it appears (a council's cabinet, full council, a scrutiny
# panel). Each is specific: a bare "plan" or "strategy" would match every council's Local Plan and budget.
PLAN_PHRASES = (
    r"sustainability\s+(?:and|&)\s+transformation",
    r"\bSTPs?\b",
    r"\b(?:five|5)[\s-]+year\s+(?:\w+\s+){0,2}(?:plan|strategy)",
    r"\blong[\s-]+term\s+plan",
    r"\bintegrated\s+care\b",
    r"\bIC[SBP]s?\b",
    r"\bjoint\s+forward\s+plan",
    r"\bJFPs?\b",
    r"\bsystem\s+(?:plan|strategy|operating\s+plan)",
    r"\bshared\s+delivery\s+plan",
    r"\breconfigur",
    r"\bpre[\s-]+consultation\s+business\s+case",
    r"\bdecision[\s-]+making\s+business\s+case",
    r"\bcase\s+for\s+change\b",
    r"\bclinical\s+senate\b",
    r"\bintegrated\s+impact\s+assessment",
    r"\bcapital\s+resource\s+use\s+plan",
    r"\bstrategic\s+commissioning\s+plan",
    r"\bNHS\b[^.;:]{0,60}\b(?:plan|strategy|reorgani[sz]ation|consultation|changes?)\b",
    r"\bhealth\s+(?:and|&)\s+care\s+(?:partnership|plan|strategy|system)",
)

# Phrases that count only where the context is already health (a Health and Wellbeing Board, a health scrutiny
# committee, or an item whose title mentions health): elsewhere they are ordinary council business.
HEALTH_CONTEXT_PHRASES = (
    r"\bbusiness\s+case\b",
    r"\bconsultation\b",
    r"\btransformation\b",
    r"\b(?:joint\s+)?(?:local\s+)?health\s+(?:and|&)\s+well-?being\s+strategy",
    r"\bstrategic\s+plan",
    r"\boperational\s+plan",
    r"\bdelivery\s+plan",
    r"\bmemorandum\s+of\s+understanding",
    r"\bhospital\s+services?\b",
    r"\bservice\s+changes?\b",
)

HEALTH_WORDS = re.compile(r"\b(?:health|NHS|hospitals?|clinical|CCGs?|ICBs?|patients?|GPs?|primary\s+care)\b", re.I)

# Committees where plans surface: health and wellbeing boards, health scrutiny (joint ones included), cabinet or
# executive, full council, and ICP / integrated-care joint committees hosted on council sites.
COMMITTEE_PATTERNS = (
    r"\bhealth\b(?!\s+(?:and|&)\s+safety)",
    r"\bwell-?being\s+board\b",
    r"\bHOSC\b|\bJHOSC\b|\bHOSP\b",
    r"\bcabinet\b",
    r"\bexecutive\b(?!\s+(?:member|director|officer))",
    r"^(?:meeting\s+of\s+(?:the\s+)?)?(?:full\s+|county\s+|city\s+|borough\s+|district\s+)?council(?:\s+meeting)?$",
    r"\bfull\s+council\b",
    r"\bintegrated\s+care\b",
    r"\bIC[PSB]\b",
    r"\bcommittees?\s+in\s+common\b",
)

_PLAN = re.compile("|".join(f"(?:{p})" for p in PLAN_PHRASES), re.I)
_CONTEXT = re.compile("|".join(f"(?:{p})" for p in HEALTH_CONTEXT_PHRASES), re.I)
_COMMITTEE = re.compile("|".join(f"(?:{p})" for p in COMMITTEE_PATTERNS), re.I)
_HEALTH_COMMITTEE = re.compile(r"\bhealth\b(?!\s+(?:and|&)\s+safety)|\bwell-?being\b|\bHOSC\b|\bJHOSC\b|"
                               r"\bintegrated\s+care\b|\bIC[PSB]\b", re.I)
_SPACE = re.compile(r"\s+")

MAX_TEXT = 2000  # characters of a title looked at: item titles are short, descriptions are cut


def flat(text: str | None) -> str:
    """Text on one line with single spaces."""
    return _SPACE.sub(" ", text or "").strip()


def _contains(text: str, extra: Iterable[str]) -> str | None:
    low = text.lower()
    for phrase in extra:
        if phrase and phrase.lower() in low:
            return phrase
    return None


def plan_match(text: str | None, *, health_context: bool = False, extra: Iterable[str] = ()) -> str | None:
    """The plan phrase found in an item's title (or document names), or None; `extra` are plain phrases to add.

    `health_context` (a health committee) lets through phrases that are ordinary council business elsewhere
    ("business case", "consultation"); a title that itself mentions health counts as health context.
    """
    text = flat(text)[:MAX_TEXT]
    if not text:
        return None
    found = _PLAN.search(text)
    if found:
        return flat(found.group(0))
    own = _contains(text, extra)
    if own:
        return own
    if health_context or HEALTH_WORDS.search(text):
        found = _CONTEXT.search(text)
        if found:
            return flat(found.group(0))
    return None


def is_plan_item(text: str | None, *, health_context: bool = False, extra: Iterable[str] = ()) -> bool:
    """True if an agenda item's title (or its documents' names) speaks of an NHS plan."""
    return plan_match(text, health_context=health_context, extra=extra) is not None


def is_focus_committee(name: str | None, extra: Iterable[str] = ()) -> bool:
    """True for committees where plans surface (HWB, health scrutiny, JHOSC, cabinet, full council, ICP, ...)."""
    name = flat(name)[:300]
    return bool(name) and (bool(_COMMITTEE.search(name)) or _contains(name, extra) is not None)


def is_health_committee(name: str | None) -> bool:
    """True for a health committee (HWB, health scrutiny, ICP): its items get the wider health vocabulary."""
    return bool(_HEALTH_COMMITTEE.search(flat(name)[:300]))


# -- dates in committee pages ("15 Jan 2026 7:30 pm", "Thursday, 15th January, 2026", "Monday, 8 June") ----------

MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
# "15 Jan 2026", "15th January, 2026", and CMIS's "01/Sep/2026" or "1-Sep-2026"
_DATE = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?(?:\s+of)?(?:[\s,]+|[/-])(jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|"
                   r"dec)(?:[a-z]*\.?,?\s+|[/-])(\d{4})\b", re.I)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")


def find_date(text: str | None) -> dt.date | None:
    """The first date written in a committee page's text ("15 Jan 2026", "15th January, 2026", "01/Sep/2026",
    "15/01/2026")."""
    text = flat(text)[:MAX_TEXT]
    match = _DATE.search(text)
    if match:
        day, month, year = int(match.group(1)), MONTHS[match.group(2)[:3].lower()], int(match.group(3))
    else:
        match = _NUMERIC_DATE.search(text)
        if not match:
            return None
        day, month, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months earlier (the 31st becomes the month's last day)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - every month has a 28th
