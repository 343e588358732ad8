"""Titles a person reads: never a file name or a word processor's artefact."""

from __future__ import annotations

import pytest

from tracker.meaning.titles import is_artefact_title, readable_title

COVER = "NHS Cheshire and Merseyside\nJoint Forward Plan 2023-28: draft for engagement\n\nForeword\n\nOur plan..."


@pytest.mark.parametrize("title", [
    "Microsoft Word - C&M JFP 2023-28 DRAFT v0.7.docx", "Microsoft PowerPoint - board.pptx", "untitled",
    "Untitled document", "JFP_2023-28_v0_7", "C:\\Users\\jsmith\\Desktop\\plan.doc", "/tmp/export/plan.pdf",
    "Document1", "plan final FINAL.pdf", "", "  ", None,
])
def test_artefact_titles(title) -> None:
    assert is_artefact_title(title)


@pytest.mark.parametrize("title", ["Joint Forward Plan 2023-28", "STP", "Annual report 2015/16", "Appendix A",
                                   "Our plans | NHS Cheshire and Merseyside"])
def test_titles_people_wrote(title) -> None:
    assert not is_artefact_title(title)


def test_an_artefact_title_gives_way_to_the_first_heading() -> None:
    got = readable_title("Microsoft Word - C&M JFP 2023-28 DRAFT v0.7.docx", COVER, "Appendix A", "https://c/a.pdf")
    assert got == "NHS Cheshire and Merseyside"


def test_a_pdf_cover_joined_into_one_paragraph_gives_its_first_sentence() -> None:
    text = ("Joint Forward Plan 2023-28. " + "This plan sets out what we will do over five years " * 10).strip()
    assert readable_title("untitled", text, None, "https://c/a.pdf") == "Joint Forward Plan 2023-28"


def test_link_text_when_there_is_no_heading_and_generic_links_are_skipped() -> None:
    assert readable_title("untitled", "", "Joint Forward Plan (PDF, 2 MB)", "https://c/a.pdf") == "Joint Forward Plan"
    assert readable_title(None, "", "Download", "https://c/docs/jfp.pdf") == "jfp.pdf"
    assert readable_title("Our Joint Forward Plan", COVER, "Download", "https://c/a.pdf") == "Our Joint Forward Plan"


def test_a_council_report_is_called_by_its_subject_not_its_memo_head() -> None:
    memo = ("From: Derek Murphy - Cabinet Member for Economic Development Simon Jones, Corporate Director To: "
            "County Council - 13 March 2025 Subject: Adoption of the Kent Minerals and Waste Local Plan 2024-2039 "
            "Decision No: 24/00112 Classification: Unrestricted\nSummary: the Plan was examined ...")
    assert readable_title(None, memo, None, "https://d/s1/paper.pdf") == \
        "Adoption of the Kent Minerals and Waste Local Plan 2024-2039"


def test_a_sheet_printed_to_pdf_is_called_by_its_title_row_not_its_first_row_of_figures() -> None:
    from tests.pdfgen import make_pdf
    from tracker.meaning.extract import extract

    rows = ["APPENDIX D - High Level Revenue Plan and Financing", "", "Line\t2025-26\t2026-27\t2027-28",
            "Original base budget\t1,429,506.8\t1,529,659.5\t1,603,904.1", "Pay\t22,272.6\t12,524.5\t11,863.6",
            "NET BUDGET\t1,529,659.5\t1,603,904.1\t1,679,556.0"]
    text = "Original base budget 1,429,506.8 1,529,659.5 1,603,904.1 Pay 22,272.6 12,524.5 11,863.6"
    assert readable_title(None, text, None, "https://d/s1/paper.pdf") == "paper.pdf"  # no line of figures
    result = extract(make_pdf(["\n".join(rows)]))
    assert readable_title(result.title, result.text, None, "https://d/s1/paper.pdf") == \
        "APPENDIX D - High Level Revenue Plan and Financing"
