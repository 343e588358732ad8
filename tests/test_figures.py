"""Figures, services and sites found in text; how a change moved them; the summary and significance rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.meaning.diff import diff_texts
from tracker.meaning.figures import (
    FigureChange,
    compare_figures,
    find_figures,
    find_service_changes,
    summarise,
)
from tracker.meaning.significance import is_significant, significance


@pytest.mark.parametrize(
    "text, kind, value",
    [
        ("£571m", "money", 571e6),
        ("£1.2bn", "money", 1.2e9),
        ("£571 million", "money", 571e6),
        ("571 million pounds", "money", 571e6),
        ("£20,000", "money", 20_000.0),
        ("£3.5 billion", "money", 3.5e9),
        ("180 beds", "beds", 180.0),
        ("120 acute beds", "beds", 120.0),
        ("bed base of 180", "beds", 180.0),
        ("reduce beds by 120", "beds", 120.0),
        ("45 WTE", "posts", 45.0),
        ("120 posts", "posts", 120.0),
        ("30 FTE", "posts", 30.0),
        ("12%", "percent", 12.0),
        ("12 per cent", "percent", 12.0),
        ("April 2017", "date", "2017-04"),
        ("1 April 2019", "date", "2019-04-01"),
        ("31/03/2021", "date", "2021-03-31"),
        ("2017/18", "date", "2017/18"),
        ("2019-2020", "date", "2019/20"),
    ],
)
def test_find_figures_kinds_and_values(text: str, kind: str, value: float | str) -> None:
    sentence = f"The plan includes {text} in the footprint."
    figures = find_figures(sentence)
    assert [(f.kind, f.value, f.text) for f in figures] == [(kind, value, text)]
    assert sentence[figures[0].start : figures[0].end] == text


@pytest.mark.parametrize("text", ["in 2017 we", "we may 2017 see", "2017/99 code", "page 12 of 40", "10 bedrooms"])
def test_find_figures_does_not_invent_figures(text: str) -> None:
    assert find_figures(text) == []


def test_money_scale_needs_a_word_boundary() -> None:
    assert [(f.text, f.value) for f in find_figures("costs £5 more or less")] == [("£5", 5.0)]


def test_figures_in_a_sentence_do_not_overlap() -> None:
    text = "A bed base of 180 and 120 acute beds, costing £12.5m (8%) from 1 April 2019."
    assert [f.text for f in find_figures(text)] == ["bed base of 180", "120 acute beds", "£12.5m", "8%", "1 April 2019"]


def _ops(before: str, after: str) -> list[tuple[int, str]]:
    return diff_texts(before, after).ops


def test_figure_in_an_unchanged_passage_is_not_a_change() -> None:
    before = "Acute bed reduction of 180 beds. The partnership will consult widely."
    after = "Acute bed reduction of 180 beds. The partnership will consult widely in 2017/18 with the public."
    changes = compare_figures(before, after, _ops(before, after))
    assert [(c.before, c.after) for c in changes] == [(None, "2017/18")]


def test_figure_paired_with_its_counterpart_by_context() -> None:
    before = "Acute bed reduction of 180 beds. Community beds: 90 beds. Savings of £571m by 2020/21."
    after = "Acute bed reduction of 320 beds. Community beds: 90 beds. Savings of £600m by 2020/21."
    changes = compare_figures(before, after, _ops(before, after))
    assert [(c.kind, c.before, c.after, c.context) for c in changes] == [
        ("beds", "180 beds", "320 beds", "Acute beds to be cut"),  # named by what it measures
        ("money", "£571m", "£600m", "Savings by 2020/21"),
    ]


def test_reworded_figure_with_the_same_value_is_not_a_change() -> None:
    before = "The financial gap is £571m by 2020/21."
    after = "By 2020/21 the system faces a financial gap of £571 million."
    assert [c for c in compare_figures(before, after, _ops(before, after)) if c.kind == "money"] == []


def test_added_and_removed_figures_have_one_side_none() -> None:
    before = "We will recruit 45 WTE nurses. Maternity services stay as they are."
    after = "Maternity services stay as they are. Savings of £20,000 a year."
    changes = compare_figures(before, after, _ops(before, after))
    assert ("posts", "45 WTE", None) in [(c.kind, c.before, c.after) for c in changes]
    assert ("money", None, "£20,000") in [(c.kind, c.before, c.after) for c in changes]
    assert FigureChange("money", None, "£20,000", "Savings").to_json() == {
        "before": None, "after": "£20,000", "context": "Savings", "kind": "money",
    }  # fmt: skip


def test_compare_figures_uses_the_ops_texts_when_given_raw_texts() -> None:
    before = "Acute bed\nreduction of 180\nbeds."
    after = "Acute bed reduction of 320 beds."
    changes = compare_figures(before, after, _ops(before, after))
    assert [(c.before, c.after, c.context) for c in changes] == [("180 beds", "320 beds", "Acute beds to be cut")]


# -- services and sites -----------------------------------------------------------------------------------------


def test_service_changes_new_removed_changed() -> None:
    added = [
        "Bassetlaw A&E to close overnight from April 2017.",
        "The midwife-led unit at Barnsley will be consolidated with Rotherham.",
        "We will improve stroke outcomes.",  # a service but no action
        "Activity will reduce through prevention.",  # an action but no service
    ]
    removed = ["The midwife-led unit at Barnsley will be consolidated with Doncaster.", "Paediatric inpatient care will transfer to Sheffield."]
    assert find_service_changes(added, removed) == [
        "new: Bassetlaw A&E to close overnight from April 2017.",
        "changed: The midwife-led unit at Barnsley will be consolidated with Rotherham.",
        "removed: Paediatric inpatient care will transfer to Sheffield.",
    ]


@pytest.mark.parametrize(
    "passage",
    [
        "Closure of the emergency department at night.",
        "Obstetric services will be centralised at one site.",
        "Hyper-acute stroke units will merge.",
        "Two community hospitals are to be downgraded.",
        "Reduce beds by 120.",
        "Urgent treatment centres will relocate.",
        "Neonatal services will be suspended.",
        "We will centralize paediatric surgery.",
    ],
)
def test_service_vocabulary(passage: str) -> None:
    assert find_service_changes([passage], []) == [f"new: {passage}"]


# -- summary ----------------------------------------------------------------------------------------------------


def test_summary_for_figure_and_service_change() -> None:
    before = "Acute bed reduction: 180 beds.\n\nBassetlaw A&E remains open."
    after = "Acute bed reduction: 320 beds.\n\nBassetlaw A&E to close overnight from April 2017."
    change = diff_texts(before, after)
    assert change.summary == (
        "Acute beds to be cut: 180 beds -> 320 beds; new: Bassetlaw A&E to close overnight from April 2017."
    )


def test_summary_without_figures_or_services_counts_words_and_quotes() -> None:
    before = "The partnership will engage with patients.\n\nGovernance arrangements are set out below."
    after = "The partnership will engage with patients, carers and the voluntary sector.\n\nGovernance arrangements are set out below."
    change = diff_texts(before, after)
    assert change.summary == (
        '5 words added, 0 removed; first added: "The partnership will engage with patients, carers and the voluntary sector."'
    )


def test_summary_of_nothing_and_of_many_figures() -> None:
    assert summarise([], [], [], []) == "No changes."
    many = [FigureChange("beds", f"{n} beds", f"{n + 1} beds", f"Ward {n}") for n in range(5)]
    text = summarise(many, [], [], [])
    assert text == (
        "Ward 0: 0 beds -> 1 beds; Ward 1: 1 beds -> 2 beds; Ward 2: 2 beds -> 3 beds; Ward 3: 3 beds -> 4 beds; "
        "Ward 4: 4 beds -> 5 beds."
    )


def test_summary_leaves_out_page_review_stamps() -> None:
    stamp = FigureChange("date", "23 June 2022", "31 March 2026", "Page last reviewed")
    assert summarise([stamp], ["Page last reviewed: 31 March 2026"], [], [], words_added=4, words_removed=4) == (
        '4 words added, 4 removed; first added: "Page last reviewed: 31 March 2026"'
    )


# -- significance -----------------------------------------------------------------------------------------------

BASE = (
    "Our plan for South Yorkshire and Bassetlaw.\n\n"
    "We will move care closer to home and invest in general practice across the footprint.\n\n"
    "Page last reviewed: 31 March 2026"
)


@pytest.mark.parametrize(
    "after, expected, reason",
    [
        (BASE.replace("home and", "home  and\n"), False, "no change"),
        (BASE.replace("home and", "home, and").replace("We will", "we will"), False, "only cosmetic edits (spacing, punctuation, letter case, split words) changed"),
        (BASE.replace("general practice", "gene ral practice"), False, "only cosmetic edits (spacing, punctuation, letter case, split words) changed"),
        (BASE.replace("31 March 2026", "1 May 2026") + "\n\nMedia review due: 9 March 2026", False, "only boilerplate (page dates, cookie or survey text) changed"),
        (BASE.replace("31 March 2026", "12 June 2026"), False, "only boilerplate (page dates, cookie or survey text) changed"),
        (BASE + "\n\nWe use cookies to improve your experience. Accept all cookies", False, "only boilerplate (page dates, cookie or survey text) changed"),
        (BASE.replace("invest in", "invest heavily in"), False, "minor wording change (heavily)"),
        (BASE + "\n\nWe will invest £2.5m in 2018.", True, "figure changed: We will invest: £2.5m (new)"),
        (BASE.replace("move care", "close Bassetlaw A&E and move care"), True, "service or site change: new: We will close Bassetlaw A&E and move care closer to home and invest in general practice across the footprint."),
        (BASE.replace("general practice", "community pharmacy and digital services for older people"), True, "8 content words changed"),
        (BASE.replace("the footprint", "the 5 places"), True, "a number changed: 5"),
    ],
)
def test_significance_rule(after: str, expected: bool, reason: str) -> None:
    change = diff_texts(BASE, after)
    assert significance(change) == (expected, reason)
    assert is_significant(change) is expected


# -- real pages and papers --------------------------------------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SERIES = CORPUS / "html-versions" / "nhs-page-text-series"


def _corpus(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"corpus file not found: {path} (shared/ sits beside the project)")
    return path


@pytest.mark.corpus
@pytest.mark.parametrize(
    "page, a, b, expected, reason_start",
    [
        ("www-nhs-uk-conditions-burns-and-scalds", "2026-05-01", "2026-07-01", True, "a number changed: 30"),
        ("www-nhs-uk-conditions-broken-finger", "2026-02-01", "2026-05-01", False, "only cosmetic edits"),  # "paracetamo l"
        ("www-nhs-uk-conditions-broken-finger", "2026-05-01", "2026-07-01", False, "only boilerplate"),  # survey box
        ("www-gov-uk-guidance-general-information-assessing-fitness-to-drive", "2026-02-01", "2026-07-01", False, "only cosmetic edits"),
        ("www-nhs-uk-medicines-paracetamol-for-adults-how-and-when-to-take-paracetamol-for-adults", "2026-02-01", "2026-05-01", True, "a number changed"),
        ("www-nhs-uk-pregnancy-related-conditions-common-symptoms-vaginal-bleeding", "2026-04-01", "2026-06-01", True, "20 content words changed"),  # a video added
    ],
)
def test_real_nhs_page_changes(page: str, a: str, b: str, expected: bool, reason_start: str) -> None:
    before = _corpus(SERIES / page / f"{a}.txt").read_text(encoding="utf-8")
    after = _corpus(SERIES / page / f"{b}.txt").read_text(encoding="utf-8")
    significant, reason = significance(diff_texts(before, after))
    assert significant is expected and reason.startswith(reason_start), reason


@pytest.mark.corpus
def test_real_council_paper_with_relabelled_appendix_is_not_significant() -> None:
    import pypdfium2 as pdfium
    folder = CORPUS / "pdf" / "uk-kcc" / "versions"

    def text(name: str) -> str:
        pdf = pdfium.PdfDocument(str(_corpus(folder / name)))
        try:
            return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        finally:
            pdf.close()

    change = diff_texts(text("InvestmentStrategy-v1-cabinet-2025-01-30.pdf"), text("InvestmentStrategy-v2-council-2025-02-13.pdf"))
    assert "[-M -]{+N +}" in change.to_text().replace("\n", " ") or "APPENDIX [-M" in change.to_text()
    assert change.figures == []
    assert significance(change) == (False, "minor wording change (only stop words or single letters)")


# --- tables, decisions, dates of letters, summaries a campaigner reads ---------------------------------

from tracker.meaning.diff import diff_texts  # noqa: E402
from tracker.meaning.extract import extract  # noqa: E402
from tracker.meaning.figures import SUMMARY_CHARS, compare_tables, find_decision_changes  # noqa: E402
from tests.pdfgen import make_pdf  # noqa: E402

HOSPITALS = ["Northern General Hospital", "Royal Hallamshire Hospital", "Barnsley Hospital", "Rotherham Hospital",
             "Doncaster Royal Infirmary", "Bassetlaw Hospital", "Montagu Hospital"]


def bed_plan(beds_2023: list[int], caption: str = "Table 3: Acute beds by hospital") -> bytes:
    rows = [f"{name}\t{700 - 20 * k}\t{650 - 20 * k}\t{n}" for k, (name, n) in enumerate(zip(HOSPITALS, beds_2023))]
    total = sum(beds_2023)
    totals = f"Total\t{sum(700 - 20 * k for k in range(7)):,}\t{sum(650 - 20 * k for k in range(7)):,}\t{total:,}"
    page = ["Our acute bed plan", "", caption, "Hospital\t2021\t2022\t2023", *rows, totals, "",
            "We will consult on these changes in the spring of next year."]
    return make_pdf(["\n".join(page)])


def test_every_changed_table_cell_is_a_figure_with_its_row_and_column_and_the_total_leads():
    before_beds = [600, 580, 560, 540, 520, 500, 480]
    after_beds = [n - 50 for n in before_beds]  # seven hospitals each losing 50 beds
    a, b = extract(bed_plan(before_beds)), extract(bed_plan(after_beds))
    change = diff_texts(a.text, b.text, before_structure=a.structure, after_structure=b.structure)
    cells = [f for f in change.figures if f.kind == "table"]
    assert len(cells) == 8  # seven hospitals and the total
    assert cells[0].describe() == "Acute beds 2023, Total: 3,780 -> 3,430"  # the total sums the rows: it leads
    assert "Acute beds 2023, Northern General Hospital: 600 -> 550" in [c.describe() for c in cells]
    assert change.summary.startswith("Acute beds 2023, Total: 3,780 -> 3,430; Acute beds 2023, Northern General")
    assert len(change.summary) < SUMMARY_CHARS and change.summary.endswith(".")
    # the flattened text's numbers ("648 608 558 Royal ...") are not paired up as figures as well
    assert not [f for f in change.figures if f.kind not in ("table", "row")]
    assert change.to_json()["figures"][0]["row"] == "Total"


def test_a_row_taken_out_of_a_table_is_reported_once():
    before = {"version": 1, "source": "xlsx", "blocks": [{"type": "table", "page": 1, "header_rows": 1, "rows": [
        ["Project", "2025-26 £000s"], ["Community Wardens pension strain", "1,200"], ["Highways", "9,000"],
        ["Total", "10,200"]]}]}
    after = {"version": 1, "source": "xlsx", "blocks": [{"type": "table", "page": 1, "header_rows": 1, "rows": [
        ["Project", "2025-26 £000s"], ["Highways", "9,000"], ["Total", "9,000"]]}]}
    changes = compare_tables(before, after, "Community Wardens pension strain 1,200", "Highways 9,000")
    assert [c.describe() for c in changes] == [
        "2025-26 £000s, Total: 10,200 -> 9,000",
        "row removed: Community Wardens pension strain (2025-26 £000s 1,200)",
    ]


def test_changed_recommendation_verbs_are_named():
    before = ("Recommendation(s): Cabinet is asked to (i) NOTE the Inspector's Report; (ii) NOTE the appraisal; "
              "and, (iii) ENDORSE the proposal to recommend the Local Plan to County Council for adoption.")
    after = ("Recommendation(s): County Council is asked to: (i) NOTE the Inspector's Report; (ii) NOTE the "
             "appraisal; and, (iii) ADOPT the Local Plan as set out in Appendix B; and (iv) DELEGATE authority to "
             "the Corporate Director to approve non-material changes.")
    assert find_decision_changes(before, after) == [
        "Recommendation (iii): ENDORSE -> ADOPT the Local Plan as set out in Appendix B",
        "new recommendation: DELEGATE authority to the Corporate Director to approve non-material changes",
    ]
    change = diff_texts(before, after)
    assert change.summary.startswith("Recommendation (iii): ENDORSE -> ADOPT the Local Plan")
    board_before = "The Board is asked to note the five year plan and its financial gap."
    board_after = "The Board is asked to approve the five year plan and its financial gap."
    assert find_decision_changes(board_before, board_after) == [
        "Recommendation: note -> approve the five year plan and its financial gap"]


def test_dates_of_letters_and_meetings_are_not_figures_but_service_dates_are():
    before = "To: Cabinet - 4 March 2025\n\nSubject: The plan\n\nThe ward will stay open."
    after = "To: County Council 13th March 2025\n\nSubject: The plan\n\nThe ward will close from April 2026."
    change = diff_texts(before, after)
    news = [f for f in change.figures if not f.stamp]
    assert [f.after for f in news] == ["April 2026"]
    assert all("March" in (f.after or f.before) for f in change.figures if f.stamp)


def test_summary_is_short_has_no_duplicates_and_never_cuts_a_word():
    before = " ".join(f"Ward {k} will have {10 * k} beds." for k in range(40))
    after = " ".join(f"Ward {k} will have {10 * k + 5} beds." for k in range(40))
    summary = diff_texts(before, after).summary
    assert len(summary) < SUMMARY_CHARS and summary.endswith("more changes.")
    parts = summary.split("; ")
    assert len(parts) == len(set(parts))
    long_passage = "Bassetlaw A&E will close overnight " + "and the urgent care centre will be reduced " * 10 + "."
    summary = diff_texts("The plan.", "The plan. " + long_passage).summary
    assert len(summary) < SUMMARY_CHARS
    assert all(word in long_passage.replace("will", "to") or word.rstrip("…;.") in long_passage
               for word in summary.replace("new: ", "").split())


def _table(rows, header_rows=1, page=1):
    return {"type": "table", "page": page, "header_rows": header_rows, "rows": rows}


def _structure(*tables):
    return {"version": 1, "source": "pdf", "blocks": list(tables)}


def test_a_total_row_repeated_in_several_templates_pairs_only_with_its_own_template():
    """Two budget templates each closed by "TOTAL PRICES"; the second version drops the first template. Its
    total is not paired with the other template's (41,407.1 -> 1,944.4 would be a change nobody made)."""
    head = ["Line", "2025-26 £000's"]
    adults = _table([head, ["Adult social care prices", "39,462.7"], ["Care home fees", "1,944.4"],
                     ["TOTAL PRICES", "41,407.1"]])
    children = _table([head, ["Children's placements", "1,944.4"], ["TOTAL PRICES", "1,944.4"]], page=2)
    children_revised = _table([head, ["Children's placements", "2,000.0"], ["TOTAL PRICES", "2,000.0"]], page=2)
    both, one = _structure(adults, children), _structure(children_revised)
    changes = compare_tables(both, one, "Adult social care prices Care home fees", "Children's placements")
    assert "2025-26 £000's, TOTAL PRICES: 41,407.1 -> 2,000.0" not in [c.describe() for c in changes]
    assert not [c for c in changes if c.kind == "table" and c.row == "TOTAL PRICES"]
    # with both templates on both sides the k-th total pairs with the k-th
    changes = compare_tables(both, _structure(adults, children_revised))
    assert [c.describe() for c in changes if c.row == "TOTAL PRICES"] == ["2025-26 £000's, TOTAL PRICES: 1,944.4 -> 2,000.0"]


def test_a_description_wrapped_differently_is_the_same_row_and_its_figure_change_is_a_cell_change():
    head = ["Category", "Description", "2025-26", "Service"]
    before = _structure(_table([head,
        ["Prices", "Provision for contractual and negotiated price increases across", "16,500.0", "Adults"],
        ["", "all adult social care packages", "", ""],
        ["Pay", "Pay award for staff", "12,400.0", "Unallocated"]]))
    after = _structure(_table([head,
        ["Prices", "Provision for contractual and negotiated price increases", "16,900.0", "Adults"],
        ["", "across all adult social care packages including nursing", "", ""],
        ["Pay", "Pay award for staff", "12,400.0", "Unallocated"]]))
    changes = compare_tables(before, after)
    assert [c.kind for c in changes] == ["table"]  # not a row removed and a row added
    assert changes[0].before == "16,500.0" and changes[0].after == "16,900.0"
    assert "including nursing" in changes[0].row  # the label is the whole description, both lines
    # one word put for another is another row ("SEN - Cost" is not "SEN - Demand")
    swapped = _structure(_table([head,
        ["Prices", "Provision for contractual and negotiated price decreases across", "16,500.0", "Adults"],
        ["", "all adult social care packages", "", ""],
        ["Pay", "Pay award for staff", "12,400.0", "Unallocated"]]))
    kinds = sorted(c.describe().split(":")[0] for c in compare_tables(before, swapped, "", ""))
    assert kinds == ["row added", "row removed"]


def test_the_total_column_of_a_year_leads_its_core_and_external_parts():
    rows = [["", "2025-26", "", "", "2026-27", "", ""], ["", "Core", "External", "Total", "Core", "External", "Total"],
            ["Pay", "100.0", "10.0", "110.0", "100.0", "10.0", "110.0"],
            ["NET BUDGET", "1,000.0", "50.0", "1,050.0", "1,100.0", "50.0", "1,150.0"]]
    revised = [r[:] for r in rows]
    revised[3] = ["NET BUDGET", "1,020.0", "60.0", "1,080.0", "1,120.0", "60.0", "1,180.0"]
    changes = compare_tables(_structure(_table(rows, 2)), _structure(_table(revised, 2)))
    assert changes[0].describe() == "2025-26 Total, NET BUDGET: 1,050.0 -> 1,080.0"
    assert [c.column for c in changes if c.total] == ["2025-26 Total"]  # the parts and 2026-27 follow, as details
    assert len(changes) == 6
