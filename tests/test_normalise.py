"""Normalisation rules: each one, the re-wrap property, and speed on plan-sized and adversarial text."""

from __future__ import annotations

import textwrap
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.meaning.normalise import BULLET, normalise_pages, normalise_text

# --- characters --------------------------------------------------------------------------------------


def test_ligatures_and_odd_spaces_fold_with_nfkc():
    assert normalise_text("e\ufb03cient \ufb01nance\u00a0plan\u2009now") == "efficient finance plan now"


def test_curly_quotes_and_dashes_fold_to_ascii():
    assert normalise_text("\u201cPlan\u201d \u2013 the trust\u2019s \u2014 view \u2212 2") == '"Plan" - the trust\'s - view - 2'


def test_zero_width_and_soft_hyphens_are_removed():
    assert normalise_text("Sus\u00adtain\u200bable\u200d \ufeffplan") == "Sustainable plan"


def test_private_use_bullets_become_one_bullet_and_start_paragraphs():
    text = "Our aims:\n\uf0b7 fewer beds\n\uf0a7 more staff\n\u25aa shorter waits"
    assert normalise_text(text) == f"Our aims:\n\n{BULLET} fewer beds\n\n{BULLET} more staff\n\n{BULLET} shorter waits"


def test_lone_bullet_line_joins_the_next_line():
    assert normalise_text("\u2022\nClose the ward") == f"{BULLET} Close the ward"


def test_control_characters_are_dropped_and_crlf_is_a_line_end():
    assert normalise_text("one\x07 two\r\nthree\x00") == "one two three"


# --- hyphenation -------------------------------------------------------------------------------------


def test_line_end_hyphen_before_lower_case_is_joined():
    assert normalise_text("the transfor-\nmation of care") == "the transformation of care"


def test_pdfium_x02_hyphen_is_joined_at_a_line_end_and_mid_line():
    assert normalise_text("transfor\x02\r\nmation and al\x02ternative") == "transformation and alternative"


def test_hyphen_is_kept_when_the_document_uses_the_hyphenated_word_elsewhere():
    text = "a long-term plan for the long-\nterm"
    assert normalise_text(text) == "a long-term plan for the long-term"


def test_hyphen_before_a_digit_or_capital_is_kept_and_lines_join_without_space():
    assert normalise_text("COVID-\n19 and NHS-\nFunded") == "COVID-19 and NHS-Funded"


# --- paragraphs --------------------------------------------------------------------------------------


def test_lines_join_and_blank_lines_separate_paragraphs():
    text = "First line of a\nparagraph  that wraps.\n\n\n\nSecond   paragraph\n"
    assert normalise_text(text) == "First line of a paragraph that wraps.\n\nSecond paragraph"


def test_dotted_clause_numbers_start_paragraphs():
    text = "1.1 The council will\nreview reserves.\n1.2 The review\nis annual."
    assert normalise_text(text) == "1.1 The council will review reserves.\n\n1.2 The review is annual."


WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéßø", min_size=1, max_size=14)
PUNCT = st.sampled_from(["", "", "", ".", ",", ";", "?", ":", ")"])
PARAGRAPH = st.lists(st.tuples(WORDS, PUNCT).map("".join), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PARAGRAPH, min_size=1, max_size=6), st.sampled_from([20, 35, 60]), st.sampled_from([61, 80, 100]))
def test_rewrapping_at_any_width_gives_identical_text(paragraphs, narrow, wide):
    def render(width: int) -> str:
        return "\n\n".join(textwrap.fill(" ".join(p), width, break_on_hyphens=False, break_long_words=False) for p in paragraphs)

    assert normalise_text(render(narrow)) == normalise_text(render(wide)) == "\n\n".join(" ".join(p) for p in paragraphs)


@settings(max_examples=60, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=200, unique=True), st.sampled_from([30, 45]), st.sampled_from([70, 100]))
def test_rewrapped_and_repaginated_pages_give_identical_text(words, narrow, wide):
    """Re-paginating and re-wrapping together is not a change. (Distinct words: a line repeated on every
    page would rightly be taken for a running header.)"""
    text = " ".join(words) + " is the end of the plan."

    def pages(width: int, lines_per_page: int) -> list[str]:
        lines = textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)
        return ["\n".join(lines[i : i + lines_per_page]) for i in range(0, len(lines), lines_per_page)]

    assert normalise_pages(pages(narrow, 3))[0] == normalise_pages(pages(wide, 5))[0] == text


# --- pages: running headers, footers, page numbers ---------------------------------------------------


TOPICS = ["urgent care", "mental health", "primary care", "workforce"]


def _pages(n: int) -> list[str]:
    return [
        f"Kent and Medway ICS - Joint Forward Plan\nSection {i}: {TOPICS[i - 1]}.\nWe will improve {TOPICS[i - 1]}\n"
        f"over {i + 1} years, says {TOPICS[-i]} lead.\nThe board agreed {TOPICS[i - 1]} plans.\nPage {i} of {n}"
        for i in range(1, n + 1)
    ]


def test_running_header_is_removed_and_page_numbers_are_removed():
    text, offsets = normalise_pages(_pages(4))
    assert "Kent and Medway ICS - Joint Forward Plan" not in text
    assert "Page" not in text
    for i in range(1, 5):
        assert f"Section {i}: {TOPICS[i - 1]}. We will improve {TOPICS[i - 1]} over {i + 1} years" in text
    assert offsets[0] == 0 and offsets == sorted(offsets) and len(offsets) == 4
    assert text[offsets[2] :].startswith("Section 3")


def test_a_running_header_that_changes_wording_is_no_change():
    before = normalise_pages(_pages(4))[0]
    after = normalise_pages([p.replace("Joint Forward Plan", "Joint Forward Plan - OFFICIAL") for p in _pages(4)])[0]
    assert before == after


def test_running_lines_and_page_numbers_anywhere_on_the_page_are_removed():
    """Another producer puts the footer and the page number before the body, or in the middle of it."""
    body = [f"Section {i}: {TOPICS[i - 1]}. We will improve {TOPICS[i - 1]}." for i in range(1, 5)]
    a = [f"Cheshire and Merseyside JFP 2023-28\n{b}\n{i + 2}\nNHS Cheshire and Merseyside | OFFICIAL"
         for i, b in enumerate(body)]
    b = [f"{b.split('. ')[0]}.\nPage {i + 1}\nCheshire and Merseyside JFP 2023-28\nNHS Cheshire and Merseyside"
         f"\n{b.split('. ')[1]}" for i, b in enumerate(body)]
    assert normalise_pages(a)[0] == normalise_pages(b)[0] == " ".join(body)


def test_lines_recurring_on_fewer_than_three_pages_are_kept():
    text, _ = normalise_pages(["Header\nBody one.", "Header\nBody two."])
    assert text.count("Header") == 2


@pytest.mark.parametrize("footer", ["3", "- 3 -", "Page 3 of 40", "3 | Page", "Page 3", "iv"])
def test_page_number_lines_at_page_edges_are_removed(footer):
    text, _ = normalise_pages([f"Body text here.\n{footer}", f"{footer}\nMore body text."])
    assert text == "Body text here. More body text."


def test_number_inside_the_page_is_not_a_page_number():
    text, _ = normalise_pages(["Intro.\nBeds\n40\nStaff\n12\nEnd of page."])
    assert text == "Intro. Beds 40 Staff 12 End of page."


def test_a_page_break_is_a_line_break():
    text, offsets = normalise_pages(["We will open the\nnew unit in", "spring 2025.\nNext thing."])
    assert text == "We will open the new unit in spring 2025. Next thing."
    assert text[offsets[1] :].startswith("spring")


def test_hyphenated_word_over_a_page_break_is_joined():
    text, _ = normalise_pages(["the transfor-", "mation of care"])
    assert text == "the transformation of care"


def test_empty_pages_get_offsets_and_empty_input_gives_empty_text():
    text, offsets = normalise_pages(["One.", "", "Two."])
    assert text == "One. Two." and offsets == [0, 5, 5]
    assert normalise_pages([]) == ("", [])
    assert normalise_pages(["", " \n "]) == ("", [0, 0])


# --- rendered dates and chrome -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Printed on 12/03/2024 10:31",
        "Generated on 2024-03-12T10:31:00Z",
        "Downloaded 12 March 2024",
        "Date printed: 1st April 2024",
        "Page last reviewed: 12 March 2024",
        "Next review due: 12 March 2027",
        "Media last reviewed: 16 November 2023",
        "This page was last updated on 3 May 2024",
        "Last updated: March 2024",
        "Last updated",
    ],
)
def test_rendered_date_lines_are_removed(line):
    assert normalise_text(f"Our plan.\n\n{line}\n\nEnd.") == "Our plan.\n\nEnd."


def test_rendered_date_phrase_is_removed_but_the_rest_of_the_line_stays():
    assert normalise_text("Board papers. Printed on 12/03/2024 10:31 by the clerk") == "Board papers. by the clerk"


def test_dates_that_are_content_are_kept():
    text = "The plan was published on 12 March 2024 and last updated the bed model in 2023."
    assert normalise_text(text) == text


@pytest.mark.parametrize(
    "line",
    [
        "We use some essential cookies to make this website work.",
        "Accept all cookies",
        "Reject additional cookies",
        "Cookie settings",
        "You've accepted additional cookies. You can change your cookie settings at any time.",
        "Skip to main content",
        "Back to top",
        "Show all updates",
        "- Hide all updates",
        "+",
        "Help us improve our website",
        "Can you answer a 5 minute survey about your visit today?",
        "Take our survey",
    ],
)
def test_chrome_lines_are_dropped(line):
    assert normalise_text(f"Plan text.\n\n{line}\n\nMore text.") == "Plan text.\n\nMore text."


def test_gov_uk_show_all_updates_toggle_variants_normalise_the_same():
    """Real GOV.UK noise from the corpus: '+ / show all updates' became '— / Show all updates'."""
    before = "Guidance text.\n+\nshow all updates\nMore guidance."
    after = "Guidance text.\n\u2014\n\nShow all updates\nMore guidance."
    assert normalise_text(before).split() == normalise_text(after).split()


def test_cookie_word_in_content_is_kept():
    text = "We use cookies-style tokens in the discharge system, the report says."
    assert normalise_text(text) == text


# --- no reflow (spreadsheets) ------------------------------------------------------------------------


def test_no_reflow_keeps_rows_and_tabs():
    text = "Sheet: Beds\nSite\tBeds\nQEQM\t  120\n\n\n\nSheet: Staff\n"
    assert normalise_text(text, reflow=False) == "Sheet: Beds\nSite\tBeds\nQEQM\t 120\n\nSheet: Staff"


# --- speed -------------------------------------------------------------------------------------------


def test_plan_sized_text_normalises_well_under_a_second():
    para = (
        "The integrated care board will reduce acute bed occupancy to 92% by 2025/26, transfor-\n"
        "ming urgent care \u2013 with \u201cvirtual wards\u201d \ufb01nanced by \u00a33.2m.\n"
    )
    pages = [f"Kent and Medway JFP\n{para * 30}\nPage {i} of 330" for i in range(330)]
    assert sum(len(p) for p in pages) > 1_400_000
    text, offsets = normalise_pages(pages)  # speed: bench/bench_extract.py
    assert len(offsets) == 330 and "transforming" in text


ADVERSARIAL = st.lists(
    st.sampled_from(list("aA1 -.\n\t:/|") + ["\x02", "\u00ad", "\uf0b7", "\u2022", "printed on ", "page ", "we use cookies "]),
    max_size=3000,
).map("".join)


@settings(max_examples=80, deadline=None)
@given(ADVERSARIAL)
def test_adversarial_text_normalises_fast(text):
    start = time.process_time()
    normalise_text(text)
    normalise_pages([text, text, text])
    assert time.process_time() - start < 0.5


@pytest.mark.parametrize(
    "evil",
    [
        "Printed on " + "1" * 50_000,
        "Page " * 50_000,
        "we use cookies " + "a " * 200_000,
        "-" * 100_000 + "\n" + "a-\n" * 30_000,
        "1." * 50_000 + " A",
        "Last updated " + "12/" * 30_000,
    ],
)
def test_pathological_strings_do_not_backtrack(evil):
    """Catastrophic backtracking would take minutes; linear work on these ~100k-line inputs takes < 1 s."""
    start = time.process_time()
    normalise_text(evil)
    normalise_pages([evil] * 3)
    assert time.process_time() - start < 3.0


# --- council committee packs (ModernGov, CMIS) -------------------------------------------------------

from tracker.meaning.normalise import strip_pack_boilerplate  # noqa: E402

COVER = ["Direct Dial/Ext: 03000 416892", "e-mail: clerk@council.example", "Ask for: A Clerk", "Date: 13 March 2025",
         "Dear Member", "COUNTY COUNCIL - THURSDAY, 13 MARCH 2025", "Agenda Item No", "6 Questions (Pages 1 - 18)",
         "Yours sincerely", "A Solicitor", "General Counsel"]


def test_pack_cover_letter_stamps_and_blank_pages_are_not_content():
    paper = ["Question 1", "The council is asked whether the home", "education service includes sufficient",
             "challenge and progression for every child."]
    packed = [COVER, ["This page is intentionally left blank"],
              paper[:3] + ["Page 1", "Agenda Item 6"] + paper[3:], ["Page 2 Agenda Item 6"]]
    assert normalise_pages(["\n".join(p) for p in packed])[0] == normalise_pages(["\n".join(paper)])[0]
    assert normalise_pages(["\n".join(paper)])[0].endswith("sufficient challenge and progression for every child.")


def test_a_letter_that_is_the_content_is_kept():
    # No pack page references: a letter from NHS England to an ICB is the document, not a cover.
    letter = ["Dear Colleague", "We write to confirm your allocation for 2025/26.", "Yours sincerely", "Regional Director"]
    assert strip_pack_boilerplate([letter]) == [letter]
    # and a cover page only counts at the start: the same page later in a document is kept
    assert strip_pack_boilerplate([["Intro text of the paper."], COVER])[1] == COVER


def test_agenda_frontsheet_at_the_start_of_a_pack_is_dropped():
    frontsheet = ["Cabinet", "Thursday 4 March 2025", "1. Apologies (Pages 1 - 2)", "2. Minutes (Pages 3 - 10)",
                  "3. Budget update (Pages 11 - 40)"]
    out = strip_pack_boilerplate([frontsheet, ["The budget update paper."]])
    assert out == [[], ["The budget update paper."]]
