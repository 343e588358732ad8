"""Word-level diffs: re-wrapping is invisible, real edits are marked exactly, timeouts are reported, HTML is escaped."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.meaning.significance import significance
from tracker.meaning.diff import Change, canonical_whitespace, diff_texts, tokenise

SHARED = Path(__file__).resolve().parents[2] / "shared"
BURNS = SHARED / "corpus" / "html-versions" / "nhs-page-text-series" / "www-nhs-uk-conditions-burns-and-scalds"

PLAN = [
    "The Sustainability and Transformation Plan sets out how health and care services in South Yorkshire and "
    "Bassetlaw will change over the next five years.",
    "Acute bed reduction of 180 beds by April 2017, releasing £571m across the footprint.",
    "Commissioners intend to shift activity into primary and community settings, with 45 WTE additional "
    "community nurses and a 12% reduction in emergency admissions.",
    "Hyper-acute stroke services will be consolidated onto three sites following public consultation in 2017/18.",
    "The financial gap of £571 million in 2020/21 will be closed through provider efficiencies and demand management.",
]


def _rebuild(ops: list[tuple[int, str]]) -> tuple[str, str]:
    return "".join(t for op, t in ops if op <= 0), "".join(t for op, t in ops if op >= 0)


def _random_words(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    vocab = ["care", "plan", "beds", "acute", "the", "of", "and", "services", "hospital", "community", "will",
             "be", "to", "workforce", "primary", "commissioners", "savings", "delivery", "local", "system"]  # fmt: skip
    return [rng.choice(vocab) for _ in range(n)]


# -- whitespace, re-wrapping and identical inputs ---------------------------------------------------------------


def test_rewrapped_text_with_other_spacing_is_no_change() -> None:
    before = "\n\n".join(textwrap.fill(p, 60) for p in PLAN)
    after = "\n\n\n".join("  " + textwrap.fill(p, 97).replace(" ", "   ", 3) + " \t" for p in PLAN)
    change = diff_texts(before, after)
    assert change.is_empty()
    assert change.ops == []
    assert change.figures == [] and change.added == [] and change.removed == []
    assert change.summary == "No changes."
    assert significance(change) == (False, "no change")


def test_identical_inputs_return_quickly_with_no_operations() -> None:
    text = " ".join(_random_words(200_000, seed=1))
    change = diff_texts(text, text)
    assert change.ops == [] and not change.timed_out and change.words_added == change.words_removed == 0


def test_canonical_whitespace_keeps_paragraphs_and_collapses_the_rest() -> None:
    assert canonical_whitespace("  A  b\n c\r\n\r\n\n  D\te \n") == "A b c\n\nD e"
    assert canonical_whitespace(canonical_whitespace("x\n\n\n y")) == "x\n\ny"


# -- real edits -------------------------------------------------------------------------------------------------


def test_one_word_changed_in_ten_thousand_marks_exactly_that_word() -> None:
    words = _random_words(10_000, seed=7)
    before = textwrap.fill(" ".join(words), 70)
    old = words[6137]
    words[6137] = "Bassetlaw"
    after = textwrap.fill(" ".join(words), 110)
    change = diff_texts(before, after)
    edits = [(op, text) for op, text in change.ops if op != 0]
    assert [(op, text.strip()) for op, text in edits] == [(-1, old), (1, "Bassetlaw")]
    assert (change.words_added, change.words_removed) == (1, 1)
    assert not change.timed_out
    assert "[-" + old in change.to_text() and "{+Bassetlaw" in change.to_text()


def test_bed_figure_change_is_reported_with_context() -> None:
    before = "\n\n".join(PLAN)
    after = before.replace("Acute bed reduction of 180 beds", "Acute bed reduction of 320 beds")
    change = diff_texts(before, after)
    assert len(change.figures) == 1
    figure = change.figures[0]
    assert (figure.kind, figure.before, figure.after) == ("beds", "180 beds", "320 beds")
    assert figure.context == "Acute beds to be cut"
    assert change.summary == "Acute beds to be cut: 180 beds -> 320 beds."
    assert significance(change)[0] is True
    assert "[-180 -]{+320 +}beds" in change.to_text()


def test_money_figure_change() -> None:
    before = "\n\n".join(PLAN)
    after = before.replace("releasing £571m", "releasing £600m")
    change = diff_texts(before, after)
    assert [(f.kind, f.before, f.after) for f in change.figures] == [("money", "£571m", "£600m")]
    assert change.figures[0].before_value == 571e6 and change.figures[0].after_value == 600e6
    assert "£571m" in change.summary and "£600m" in change.summary


def test_added_and_removed_paragraphs_are_passages_not_characters() -> None:
    before = "\n\n".join(PLAN)
    after = "\n\n".join(PLAN[:2] + ["Bassetlaw A&E will close overnight from April 2018."] + PLAN[2:4])
    change = diff_texts(before, after)
    assert change.added == ["Bassetlaw A&E will close overnight from April 2018."]
    assert change.removed == [PLAN[4]]
    assert "new: Bassetlaw A&E to close overnight from April 2018" in change.summary
    assert change.words_added == 9  # "A&E" is the words A and E


def test_to_text_elides_unchanged_paragraphs() -> None:
    paragraphs = [f"Paragraph {i} about {w}." for i, w in enumerate(_random_words(40, seed=3))]
    before = "\n\n".join(paragraphs)
    after = before.replace("Paragraph 20 about", "Paragraph 20 all about")
    text = diff_texts(before, after).to_text(context=1)
    assert text.splitlines()[0] == "[… 19 unchanged paragraphs …]"
    assert "Paragraph 20 {+all +}about" in text
    assert text.rstrip().endswith("[… 18 unchanged paragraphs …]")
    assert "Paragraph 19" in text and "Paragraph 21" in text and "Paragraph 22" not in text


def test_to_json_is_serialisable_and_complete_when_asked() -> None:
    before = "\n\n".join(PLAN * 3)
    after = before.replace("12%", "15%", 1)
    change = diff_texts(before, after)
    short = change.to_json()
    assert set(short) >= {"ops", "timed_out", "seconds", "words_added", "words_removed", "figures", "added",
                          "removed", "summary"}  # fmt: skip
    assert short["ops_elided"] is True
    assert short["figures"] == [{"before": "12%", "after": "15%", "context": change.figures[0].context, "kind": "percent"}]
    full = json.loads(json.dumps(change.to_json(max_equal=None)))
    assert full["ops_elided"] is False
    assert _rebuild([tuple(op) for op in full["ops"]]) == (canonical_whitespace(before), canonical_whitespace(after))


# -- HTML -------------------------------------------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("side_by_side", [False, True])
def test_html_escapes_document_text(side_by_side: bool) -> None:
    before = "Intro <b>kept</b>.\n\nThe plan says {{ 7*7 }} and 180 beds.\n\nEnd & more."
    after = "Intro <b>kept</b>.\n\nThe plan says <script>alert(1)</script> {{ 7*7 }} and 320 beds.\n\nEnd & more."
    html_out = diff_texts(before, after).to_html(side_by_side=side_by_side, context=None)
    parser = _Tags()
    parser.feed(html_out)
    assert "script" not in parser.tags and "b" not in parser.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_out
    assert "{{ 7*7 }}" in html_out and "49" not in html_out
    assert "End &amp; more." in html_out
    assert '<ins class="diff-ins"><mark class="diff-figure">320 </mark></ins><mark class="diff-figure">beds</mark>' in html_out
    assert "<del" in html_out and "<ins" in html_out
    if side_by_side:
        assert "<table" in html_out and html_out.count("<td>") >= 4


def test_html_has_css_and_classes() -> None:
    html_out = diff_texts("a b c", "a x c").to_html()
    assert html_out.startswith("<style>") and ".stp-diff" in html_out
    assert '<del class="diff-del">b </del><ins class="diff-ins">x </ins>' in html_out
    assert not diff_texts("a b c", "a x c").to_html(css=False).startswith("<style>")
    assert "\x00" not in diff_texts("a \x00 b", "a c").to_html()  # control characters are not HTML


# -- timeouts and limits ----------------------------------------------------------------------------------------


def test_forced_timeout_is_detected_and_reported() -> None:
    rng = random.Random(11)

    def random_text(n: int) -> str:
        return " ".join("".join(rng.choice("abcdefghij") for _ in range(rng.randrange(2, 6))) for _ in range(n))

    before, after = random_text(60_000), random_text(60_000)
    change = diff_texts(before, after, timeout=0.001)
    assert change.timed_out is True
    assert change.summary.startswith("Diff timed out after")
    assert any("timed out" in m for m in change.messages)
    assert significance(change) == (True, "the diff timed out, so what changed is unknown: treated as changed")
    assert "timed out" in change.to_text() and "timed out" in change.to_html()
    assert _rebuild(change.ops) == (before, after)  # incomplete, but still a true description


def test_ordinary_diff_does_not_claim_a_timeout() -> None:
    change = diff_texts("\n\n".join(PLAN), "\n\n".join(PLAN).replace("three sites", "two sites"))
    assert not change.timed_out and change.messages == []


def test_too_many_distinct_words_falls_back_to_coarser_tokens_and_says_so() -> None:
    before = "\n\n".join(PLAN)
    after = before.replace("three sites", "two sites")
    change = diff_texts(before, after, max_distinct_tokens=20)
    assert change.granularity in ("sentence", "paragraph")
    assert "too many distinct words" in change.messages[0]
    assert _rebuild(change.ops) == (canonical_whitespace(before), canonical_whitespace(after))
    assert "two sites" in " ".join(change.added)
    worst = diff_texts(before, after, max_distinct_tokens=1)
    assert worst.granularity == "text" and len(worst.messages) == 3


def test_more_distinct_words_than_the_basic_plane_skips_the_surrogates() -> None:
    words = [f"w{i}" for i in range(60_000)]  # codes run past U+D800
    before = " ".join(words)
    after = " ".join(words[:58_000] + ["changed"] + words[58_001:])
    change = diff_texts(before, after)
    assert [(op, t) for op, t in change.ops if op] == [(-1, "w58000 "), (1, "changed ")]
    assert _rebuild(change.ops) == (before, after)


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="decode bytes first"):
        diff_texts(b"bytes", "text")  # type: ignore[arg-type]


# -- properties -------------------------------------------------------------------------------------------------

_pieces = st.sampled_from(["beds", "180", "£571m", "A&E", " ", "  ", "\n", "\n\n", "\t", ".", ",", "-", "é", "😀",
                           "2017/18", "it's", "\u00a0", "ward", "closure", "\u2028", "\ud7ff", "\ue000"])  # fmt: skip
_texts = st.lists(st.one_of(_pieces, st.text(max_size=6)), max_size=60).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts, _texts)
def test_ops_rebuild_both_canonical_texts(a: str, b: str) -> None:
    change = diff_texts(a, b)
    if change.ops:
        assert _rebuild(change.ops) == (canonical_whitespace(a), canonical_whitespace(b))
    else:
        assert canonical_whitespace(a) == canonical_whitespace(b)
    assert isinstance(change.summary, str) and change.summary
    json.dumps(change.to_json())
    change.to_html(side_by_side=True)
    change.to_text()


@settings(max_examples=200, deadline=None)
@given(_texts)
def test_tokens_concatenate_to_the_canonical_text(a: str) -> None:
    text = canonical_whitespace(a)
    for granularity in ("word", "sentence", "paragraph"):
        assert "".join(tokenise(text, granularity)) == text
    assert canonical_whitespace(text) == text


# -- real text --------------------------------------------------------------------------------------------------


@pytest.mark.corpus
def test_real_nhs_page_clinical_advice_change() -> None:
    if not BURNS.is_dir():
        pytest.skip(f"corpus not found at {BURNS} (shared/ sits beside the project)")
    before = (BURNS / "2026-05-01.txt").read_text(encoding="utf-8")
    after = (BURNS / "2026-07-01.txt").read_text(encoding="utf-8")
    change = diff_texts(before, after)
    assert "Hold the burn or scald under cool running water for at least 15 minutes" in change.removed[0]
    assert "Hold the burn or scald under cool running water for 15 to 30 minutes" in change.added[0]
    assert "[-at least 15 -]{+15 to 30 +}minutes" in change.to_text()
    significant, reason = significance(change)
    assert significant and "30" in reason
    # the survey box added in the same capture is boilerplate: on its own it is not significant
    survey_only = diff_texts(before, before + "\n\nHelp us improve our website\n\nTake our survey")
    assert significance(survey_only) == (False, "only boilerplate (page dates, cookie or survey text) changed")


@pytest.mark.corpus
def test_real_nhs_page_rewrite_reports_passages_and_ignores_review_stamp_in_summary() -> None:
    if not BURNS.is_dir():
        pytest.skip(f"corpus not found at {BURNS} (shared/ sits beside the project)")
    before = (BURNS / "2026-02-01.txt").read_text(encoding="utf-8")
    after = (BURNS / "2026-05-01.txt").read_text(encoding="utf-8")
    change = diff_texts(before, after)
    assert change.words_added > 300 and change.words_removed > 600
    assert {f.context for f in change.figures} >= {"Page last reviewed", "Next review due"}
    assert change.summary.startswith(f"{change.words_added} words added, {change.words_removed} removed")
    assert "Page last reviewed" not in change.summary
    assert len(change.added) <= 20 and all(len(p) <= 302 for p in change.added)


# -- the plan-sized benchmark -----------------------------------------------------------------------------------


def _bench():
    path = Path(__file__).resolve().parents[1] / "bench" / "bench_diff.py"
    spec = importlib.util.spec_from_file_location("bench_diff", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules["bench_diff"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_plan_sized_revision_rewrapped_marks_only_the_real_edits_quickly() -> None:
    pair = _bench().make_pair(pages=300, seed=2016, edits=36)
    assert len(pair.before) > 1_300_000
    change = diff_texts(pair.before, pair.after)
    assert not change.timed_out
    assert change.words_added + change.words_removed == pair.words_changed
    assert isinstance(change, Change) and significance(change)[0]


def test_a_sentence_added_at_the_end_is_not_reported_with_the_unchanged_sentence_before_it():
    before = "Hyper acute stroke services will move. Children's surgery will be centralised in Sheffield."
    after = before[:-1] + ". Bassetlaw A&E will close overnight from April 2017."
    change = diff_texts(before, after)
    assert change.added == ["Bassetlaw A&E will close overnight from April 2017."] or \
        change.added == ["Bassetlaw A&E will close overnight from April 2017"]
    assert "Children" not in change.summary
