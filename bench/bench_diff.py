"""Benchmark: word-level diff_texts against plain character diff-match-patch on a ~300-page plan and a light revision.

Run: .venv/bin/python bench/bench_diff.py [--pages 300] [--seed 2016] [--edits 36] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import re
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from diff_match_patch import diff_match_patch  # noqa: E402

from tracker.meaning.diff import diff_texts  # noqa: E402

SITES = [
    "Bassetlaw Hospital", "Doncaster Royal Infirmary", "Rotherham General", "Barnsley Hospital",
    "Northern General", "Royal Hallamshire", "Weston Park", "Montagu Hospital", "Chesterfield Royal",
    "Mexborough community hospital", "Retford Hospital", "Jessop Wing", "Sheffield Children's Hospital",
]  # fmt: skip
SERVICES = [
    "A&E", "maternity services", "the stroke unit", "urgent care", "paediatric inpatient care",
    "the midwife-led unit", "elective orthopaedics", "cardiology", "mental health crisis care",
    "community nursing", "outpatient dermatology", "the hyper-acute stroke service", "neonatal care",
]  # fmt: skip
ACTIONS = [
    "will be consolidated onto", "will be reconfigured across", "may be centralised at", "is to relocate to",
    "will be reviewed alongside", "will continue to be provided at", "will be strengthened at",
]  # fmt: skip
OPENERS = [
    "The partnership will", "Commissioners intend to", "Over the next five years we will",
    "Working with local authorities, we plan to", "Subject to consultation, the system will",
    "Our clinical working groups recommend that we", "In line with the Five Year Forward View, we will",
]  # fmt: skip
VERBS = [
    "reduce reliance on acute hospital beds", "shift activity into primary and community settings",
    "close the financial gap", "improve outcomes for people with long-term conditions",
    "standardise clinical pathways", "deliver seven-day services", "integrate health and social care teams",
    "expand the workforce in general practice", "develop accountable care arrangements",
]  # fmt: skip
MONTHS = ["January", "March", "April", "June", "September", "October", "December"]
WORDS = (
    "programme governance transformation prevention wellbeing resilience productivity efficiency workforce "
    "digital estates procurement pharmacy diagnostics pathology imaging radiology rehabilitation frailty "
    "dementia diabetes respiratory cancer screening immunisation maternity children adults carers voluntary "
    "sector engagement consultation assurance delivery milestones trajectory investment savings baseline"
).split()


def _figure(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return f"£{rng.randrange(2, 900)}m"
    if kind == 1:
        return f"{rng.randrange(10, 400)} beds"
    if kind == 2:
        return f"{rng.randrange(5, 300)} WTE"
    if kind == 3:
        return f"{rng.randrange(1, 40)}%"
    return f"{rng.choice(MONTHS)} {rng.randrange(2016, 2024)}"


def _sentence(rng: random.Random) -> str:
    shape = rng.randrange(4)
    if shape == 0:
        return f"{rng.choice(OPENERS)} {rng.choice(VERBS)}, releasing {_figure(rng)} by {_figure(rng)}."
    if shape == 1:
        return f"{rng.choice(SERVICES).capitalize()} {rng.choice(ACTIONS)} {rng.choice(SITES)} from {_figure(rng)}."
    if shape == 2:
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(6, 14)))
        return f"The {rng.choice(WORDS)} workstream covers {words}, with {_figure(rng)} planned."
    return f"{rng.choice(OPENERS)} {rng.choice(VERBS)} and {rng.choice(VERBS)} across {rng.choice(SITES)}."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randrange(3, 9)))


@dataclass
class Pair:
    before: str
    after: str
    edits: int  # edits made
    words_changed: int  # words removed + added by those edits (what a perfect diff marks)


def make_plan(pages: int = 300, seed: int = 2016) -> list[str]:
    """Paragraphs of a plan: about 4,700 characters a page."""
    rng = random.Random(seed)
    paragraphs: list[str] = []
    size = 0
    while size < pages * 4_700:
        paragraph = _paragraph(rng)
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    return paragraphs


_WORD = re.compile(r"\w+(?:['’.,/:-]\w+)*")  # what tracker.meaning.diff counts as a word
_NUMBER = re.compile(r"(?<=[£ ])\d+(?=m\b| beds\b| WTE\b|%)")


def revise(paragraphs: list[str], edits: int = 36, seed: int = 2017) -> tuple[list[str], int, int]:
    """A light revision: figures changed, one paragraph added, one removed. Returns (paragraphs, edits, words)."""
    rng = random.Random(seed)
    revised = list(paragraphs)
    words = 0
    made = 0
    figure_edits = max(0, edits - 2)
    chosen = rng.sample(range(len(revised)), figure_edits)
    for index in chosen:
        numbers = list(_NUMBER.finditer(revised[index]))
        if not numbers:
            continue
        match = rng.choice(numbers)
        new = str(max(1, int(match.group(0)) + rng.randrange(1, 50) * rng.choice([-1, 1])))
        new = new if new != match.group(0) else new + "0"
        revised[index] = revised[index][: match.start()] + new + revised[index][match.end() :]
        words += 2  # one number out, one in
        made += 1
    added = "Bassetlaw A&E will close overnight from April 2018, and 120 beds will transfer to Doncaster Royal Infirmary."
    revised.insert(len(revised) // 3, added)
    words += len(_WORD.findall(added))
    drop = (2 * len(revised)) // 3
    while drop in chosen:
        drop += 1
    words += len(_WORD.findall(revised[drop]))
    del revised[drop]
    return revised, made + 2, words


def wrap(paragraphs: list[str], width: int) -> str:
    """Render as a text file wrapped at `width` columns, paragraphs separated by blank lines."""
    return "\n\n".join(textwrap.fill(p, width=width, break_long_words=False, break_on_hyphens=False) for p in paragraphs)


def make_pair(pages: int = 300, seed: int = 2016, edits: int = 36) -> Pair:
    plan = make_plan(pages, seed)
    revised, made, words = revise(plan, edits, seed + 1)
    return Pair(wrap(plan, 78), wrap(revised, 104), made, words)


def _changed_words(ops: list[tuple[int, str]]) -> int:
    return sum(len(_WORD.findall(piece)) for op, piece in ops if op != 0)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--edits", type=int, default=36)
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args(argv)

    pair = make_pair(args.pages, args.seed, args.edits)
    runs = []
    for _ in range(3):
        gc.collect()
        t0 = time.perf_counter()
        change = diff_texts(pair.before, pair.after)
        runs.append(time.perf_counter() - t0)
    ours = min(runs)
    ours_words = change.words_added + change.words_removed

    dmp = diff_match_patch()  # the default: 1 s timeout, character level, checklines=True
    gc.collect()
    t0 = time.perf_counter()
    base_ops = dmp.diff_main(pair.before, pair.after)
    base = time.perf_counter() - t0
    base_words = _changed_words(base_ops)
    base_timeout = base >= dmp.Diff_Timeout

    result = {
        "chars_before": len(pair.before),
        "chars_after": len(pair.after),
        "edits_made": pair.edits,
        "words_edited": pair.words_changed,
        "word_diff": {
            "seconds": round(ours, 3),
            "seconds_each_run": [round(r, 3) for r in runs],
            "words_marked": ours_words,
            "figures_changed": len(change.figures),
            "timed_out": change.timed_out,
            "only_real_edits": (not change.timed_out) and ours_words == pair.words_changed,
        },
        "char_dmp_baseline": {
            "seconds": round(base, 3),
            "words_marked": base_words,
            "ops": len(base_ops),
            "timed_out": base_timeout,
            "only_real_edits": base_words == pair.words_changed,
        },
        "ratio_baseline_over_ours": round(base / ours, 2) if ours else None,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        w, b = result["word_diff"], result["char_dmp_baseline"]
        print(f"texts: {result['chars_before']:,} -> {result['chars_after']:,} chars; "
              f"{pair.edits} edits changing {pair.words_changed} words; re-wrapped 78 -> 104 columns")
        print(f"word-level diff_texts : {w['seconds']:.3f} s (best of {w['seconds_each_run']}), {w['words_marked']} words marked, "
              f"{w['figures_changed']} figure changes, timed_out={w['timed_out']}, only real edits={w['only_real_edits']}")
        print(f"char dmp (1 s timeout): {b['seconds']:.3f} s, {b['words_marked']:,} words marked, "
              f"{b['ops']} ops, timed_out={b['timed_out']}, only real edits={b['only_real_edits']}")
        print(f"ratio baseline/ours: {result['ratio_baseline_over_ours']}")
        print(f"summary: {change.summary[:300]}")
    return result


if __name__ == "__main__":
    main()
