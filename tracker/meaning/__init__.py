"""What a change means: extract, normalise, diff, figures, significance, classify, identity, filing, events. Pure: text in, values out."""

from tracker.meaning.classify import Classification, classify, footprint_name, footprint_names
from tracker.meaning.diff import DIFF_CSS, Change, diff_texts
from tracker.meaning.events import GENERATIONS, KINDS, decide_events
from tracker.meaning.extract import EXTRACTORS, extract
from tracker.meaning.filing import TEXT_STATUSES, Fingerprints, file_fetch
from tracker.meaning.significance import is_significant, significance

__all__ = [
    "Classification",
    "Change",
    "DIFF_CSS",
    "EXTRACTORS",
    "Fingerprints",
    "GENERATIONS",
    "KINDS",
    "TEXT_STATUSES",
    "classify",
    "decide_events",
    "diff_texts",
    "extract",
    "file_fetch",
    "footprint_name",
    "footprint_names",
    "is_significant",
    "significance",
]
