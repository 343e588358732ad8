"""The rule that decides whether a change matters: a figure, a number, a service, or enough content words."""

from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

from tracker.meaning.diff import Change
from tracker.meaning.figures import (_STAMP, _STOP, _TOKEN_WORD, _UI, _clip, _is_stamp, _sentence_bounds,
                                     find_service_changes)

__all__ = ["is_significant", "significance"]

Op = tuple[int, str]


_KEEP = frozenset("not no never must should may cannot can't don't won't".split())
#: Content words (outside boilerplate) that must change, absent a figure, number or service, to be significant.
MIN_CONTENT_WORDS = 3


def _boilerplate(sentence: str) -> bool:
    return len(sentence) <= 240 and bool(_STAMP.search(sentence) or _UI.search(sentence))


_NOT_ALNUM = re.compile(r"[\W_]+")


def _changed_words(ops: Sequence[Op]) -> tuple[Counter[str], Counter[str], int, int]:
    """Lower-cased words deleted and inserted, leaving out boilerplate sentences and cosmetic hunks (a run of
    edits whose letters and digits read the same both sides: "paracetamol" -> "paracetamo l", "Care" ->
    "care,"); with how many pieces were boilerplate and how many hunks cosmetic."""
    before = "".join(piece for op, piece in ops if op <= 0)
    after = "".join(piece for op, piece in ops if op >= 0)
    deleted: Counter[str] = Counter()
    inserted: Counter[str] = Counter()
    skipped = cosmetic = 0
    hunk: list[tuple[int, str]] = []

    def close_hunk() -> None:
        nonlocal cosmetic
        if not hunk:
            return
        gone = "".join(piece for op, piece in hunk if op < 0)
        came = "".join(piece for op, piece in hunk if op > 0)
        if _NOT_ALNUM.sub("", gone).lower() == _NOT_ALNUM.sub("", came).lower():
            cosmetic += 1
        else:
            deleted.update(w.lower() for w in _TOKEN_WORD.findall(gone))
            inserted.update(w.lower() for w in _TOKEN_WORD.findall(came))
        hunk.clear()

    b = a = 0
    for op, piece in ops:
        if op == 0:
            close_hunk()
            b += len(piece)
            a += len(piece)
            continue
        text, pos = (before, b) if op < 0 else (after, a)
        for part in piece.split("\n\n"):  # each paragraph of the piece is judged on its own
            left, right = _sentence_bounds(text, pos, pos + len(part))
            if not part.strip():
                pass
            elif _boilerplate(text[left:right]) and len(part) <= 400:
                skipped += 1
            else:
                hunk.append((op, part + " "))
            pos += len(part) + 2
        if op < 0:
            b += len(piece)
        else:
            a += len(piece)
    close_hunk()
    return deleted, inserted, skipped, cosmetic


def significance(change: Change) -> tuple[bool, str]:
    """Whether a change matters, with a short reason. The rule, in order:

    1. a diff that timed out is significant (what changed is unknown, so assume it matters);
    2. no inserted or deleted text: not significant;
    3. a figure changed (money, beds, posts, percentage, or a date that is not a "last reviewed / updated /
       printed" stamp): significant;
    3b. a recommendation's verb changed, or one was added or removed ("ENDORSE" -> "ADOPT"): significant;
    4. a passage naming a service or site with an action word (A&E ... close) added or removed: significant;
    5. edits inside boilerplate sentences (page stamps, cookie / survey / navigation text) and cosmetic hunks
       (the same letters and digits both sides: spacing, punctuation, case, a word split by markup) are set
       aside; if the words left, compared lower-cased as multisets, are equal: not significant;
    6. a number changed anywhere else ("15 minutes" -> "30 minutes"): significant;
    7. at least MIN_CONTENT_WORDS content words changed: significant; fewer: not significant (a minor
       wording change). Stop words and single letters ("Appendix M" -> "Appendix N") are not content
       words; "not", "must", "may" are.
    """
    if change.timed_out:
        return True, "the diff timed out, so what changed is unknown: treated as changed"
    if change.is_empty():
        return False, "no change"
    figures = [f for f in change.figures if not _is_stamp(f)]
    if figures:
        more = f" (and {len(figures) - 1} more)" if len(figures) > 1 else ""
        return True, f"figure changed: {figures[0].describe()}{more}"
    if getattr(change, "decisions", None):
        return True, f"a recommendation or decision changed: {_clip(change.decisions[0], 120)}"
    services = find_service_changes(change.added, change.removed)
    if services:
        return True, f"service or site change: {_clip(services[0], 120)}"
    deleted, inserted, skipped, cosmetic = _changed_words(change.ops)
    if deleted == inserted:
        if skipped and not cosmetic:
            return False, "only boilerplate (page dates, cookie or survey text) changed"
        if skipped:
            return False, "only boilerplate and cosmetic edits (spacing, punctuation, case, split words) changed"
        return False, "only cosmetic edits (spacing, punctuation, letter case, split words) changed"
    gone, came = deleted - inserted, inserted - deleted
    numbers = sorted({w for w in (gone + came) if w[0].isdigit()})
    if numbers:
        return True, f"a number changed: {', '.join(numbers[:5])}"
    content = [w for w in (gone + came).elements() if (w not in _STOP or w in _KEEP) and len(w) > 1]
    if len(content) >= MIN_CONTENT_WORDS:
        return True, f"{len(content)} content words changed"
    return False, f"minor wording change ({', '.join(content) or 'only stop words or single letters'})"


def is_significant(change: Change) -> bool:
    """True when `significance(change)` says the change matters; see that function for the rule."""
    return significance(change)[0]
