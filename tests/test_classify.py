"""The plan classifier: plan or not, footprint, generation and draft, on realistic texts and real council PDFs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracker.meaning.classify import GENERATIONS, UNKNOWN_GENERATION, classify

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
KCC_REPORT = CORPUS / "pdf" / "uk-kcc" / "ics" / "24-00115-Integrated-Care-Strategy-delivery-plan-Report.pdf"
ZEBRA = CORPUS / "pdf" / "uk-kingston-ZebraCrossing.pdf"

STP_2016_DRAFT = """CONFIDENTIAL – NOT FOR PUBLICATION
DRAFT v0.9

South Yorkshire and Bassetlaw
Sustainability and Transformation Plan
October 2016 submission to NHS England

Contents
Foreword
1. Our vision
2. Closing the three gaps
3. Finance

Foreword
This plan sets out how the health and care organisations of South Yorkshire and Bassetlaw will work together
between 2016/17 and 2020/21. If we do nothing, the financial gap across the footprint will reach £571 million by
2020/21. Our STP builds on the Five Year Forward View and on our acute services review. It proposes to reduce bed
days and to concentrate some specialist services on fewer sites.
"""

FIVE_YEAR_PLAN_2019 = """Kent and Medway
Our Five Year Plan 2019/20 – 2023/24
Our response to the NHS Long Term Plan

November 2019

Introduction
Kent and Medway Sustainability and Transformation Partnership has developed this five year strategic plan in
response to the NHS Long Term Plan and the Long Term Plan Implementation Framework. Our ambition is to become an
integrated care system by April 2021, with primary care networks at the heart of local care. This plan sets out how
we will meet the financial tests and return the system to financial balance.
"""

JFP_2023 = """NHS Gloucestershire Integrated Care Board
One Gloucestershire
Joint Forward Plan 2023/24 – 2027/28

Foreword
This is our first Joint Forward Plan, prepared under the Health and Care Act 2022 with our partners in the
Gloucestershire Integrated Care Partnership. An earlier draft of this plan was shared with the Health and Wellbeing
Board in March. It describes how the ICB and its partner trusts will deliver the Integrated Care Strategy and the
four core purposes of an integrated care system. The plan will be refreshed before the start of each financial year.
"""

COMMISSIONING_2026 = """NHS Norfolk and Waveney Integrated Care Board
5-year strategic commissioning plan 2026/27 – 2030/31

Our plan responds to the 10 Year Health Plan and its three shifts: hospital to community, analogue to digital,
sickness to prevention. As a strategic commissioner we will grow neighbourhood health across Norfolk and Waveney.
"""

STP_UPDATE_REPORT_2016 = """London Borough of Havering
Health and Wellbeing Board, 14 September 2016
Report of: Director of Public Health
Subject: Update on Sustainability and Transformation Plan (STP)
Purpose of the report
To update the Board on the North East London Sustainability and Transformation Plan, which is due to be submitted
to NHS England on 21 October 2016. The cover report and STP narrative are attached.
Recommendations: the Board is asked to note the update.
"""

AGENDA = """Health and Wellbeing Board
Agenda
Date: Wednesday 14 September 2016  Time: 2.00 pm
Venue: Committee Room 1, Town Hall
1. Apologies for absence
2. Declarations of interest
3. Minutes of the previous meeting
4. Better Care Fund quarterly return
5. Healthwatch annual report
6. Pharmaceutical needs assessment
7. Any other business
"""

MINUTES = """MINUTES of a meeting of the CABINET held on Thursday 30 January 2025
PRESENT: Mr R Gough (Chairman), Mr P Oakford, Mrs C Bell
1. Apologies for absence
Apologies were received from Mr D Watkins.
2. Declarations of interest
There were no declarations of interest.
3. Minutes of the previous meeting
RESOLVED that the minutes of the meeting held on 9 January 2025 are a correct record.
4. Highways term maintenance contract
RESOLVED that the contract be extended for two years.
"""


def pdf_text(path: Path) -> str:
    """All text of a PDF, extracted with pypdfium2 directly."""
    if not path.is_file():
        pytest.skip(f"corpus file not found: {path} (needs the /work/shared checkout)")
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        pages = []
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "\n".join(pages)
    finally:
        pdf.close()


def test_2016_stp_draft_marked_confidential() -> None:
    result = classify(STP_2016_DRAFT, title="SYB STP draft October 2016")
    assert result.is_plan and result.category == "plan"
    assert result.footprint == "QF7"
    assert result.generation == "2016-stp"
    assert result.draft
    assert any("not for publication" in e.lower() for e in result.draft_evidence)


def test_2019_five_year_plan() -> None:
    result = classify(FIVE_YEAR_PLAN_2019, source_footprint="QKS", published="2019-11-27")
    assert result.is_plan
    assert result.footprint == "QKS"
    assert result.generation == "2019-five-year"
    assert not result.draft


def test_2022_joint_forward_plan_named_in_text_and_not_a_draft() -> None:
    result = classify(JFP_2023, url="https://www.example.nhs.uk/about-us/joint-forward-plan/")
    assert result.is_plan
    assert result.footprint == "QR1"  # found by name without a source footprint
    assert result.generation == "2022-joint-forward-plan"
    assert not result.draft  # "an earlier draft of this plan" in prose is not a draft marking


def test_2025_strategic_commissioning_plan() -> None:
    result = classify(COMMISSIONING_2026)
    assert result.is_plan
    assert result.generation == "2025-strategic-commissioning"
    assert result.footprint == "QMM"


def test_council_update_report_is_plan_related_not_a_plan() -> None:
    result = classify(STP_UPDATE_REPORT_2016, title="Update on Sustainability and Transformation Plan (STP)",
                      source_footprint="QMF")
    assert not result.is_plan and result.plan_related and result.category == "plan-related"
    assert result.generation == "2016-stp"
    assert result.footprint == "QMF"


def test_agenda_and_minutes_are_not_plans() -> None:
    agenda = classify(AGENDA, title="Agenda for Health and Wellbeing Board on Wednesday 14 September 2016",
                      source_footprint="QMF")
    minutes = classify(MINUTES, title="Printed minutes 30th-Jan-2025 Cabinet", source_footprint="QKS")
    for result in (agenda, minutes):
        assert not result.is_plan and not result.plan_related
        assert result.plan_score < 0
        assert result.generation == "unknown"
        assert not result.draft
    assert agenda.footprint == "QMF" and minutes.footprint == "QKS"


@pytest.mark.corpus
def test_zebra_crossing_report_is_not_a_plan() -> None:
    text = pdf_text(ZEBRA)
    assert "Zebra Crossing" in text
    result = classify(text, title="Coombe Lane West Zebra Crossing - Local Consultation Results",
                      url="https://moderngov.kingston.gov.uk/documents/s1234/ZebraCrossing.pdf",
                      source_footprint="QWE")
    assert not result.is_plan and not result.plan_related
    assert any("roads or traffic" in r for r in result.reasons)
    assert result.footprint == "QWE"  # Kingston's council source
    assert result.generation == "unknown"
    assert not result.draft


@pytest.mark.corpus
def test_kent_ics_delivery_plan_report() -> None:
    """A Kent County Council cabinet report adopting its delivery plan for the Kent and Medway Integrated Care
    Strategy: a council paper about the footprint's plan (plan-related), for Kent and Medway (QKS), of the
    integrated-care-strategy / JFP generation (January 2025), and unrestricted (not a draft)."""
    text = pdf_text(KCC_REPORT)
    title = "24-00115 - Adoption of Integrated Care Strategy delivery plan - Report"
    from_source = classify(text, title=title, source_footprint="QKS",
                           url="https://democracy.kent.gov.uk/documents/s128000/24-00115%20Report.pdf")
    by_name = classify(text, title=title)
    for result in (from_source, by_name):
        assert result.plan_related and not result.is_plan and result.category == "plan-related"
        assert result.footprint == "QKS"
        assert result.generation == "2022-joint-forward-plan"
        assert not result.draft
        assert any("report" in r for r in result.reasons)
    assert any("kent and medway" in e for e in by_name.footprint_evidence)


def test_source_footprint_is_kept_for_a_passing_mention() -> None:
    text = JFP_2023.replace("Gloucestershire", "Kent and Medway").replace("One Kent and Medway", "Kent and Medway")
    text += "\nWe have learned from the approach taken in Surrey Heartlands."
    result = classify(text, source_footprint="QKS")
    assert result.footprint == "QKS"
    assert result.footprint_evidence[0].startswith("inherited")


def test_document_naming_another_footprint_overrides_the_source() -> None:
    # a leaked SYB plan found on a Kent council site belongs to South Yorkshire and Bassetlaw
    result = classify(STP_2016_DRAFT + "\nKent County Council received this paper for information.",
                      title="South Yorkshire and Bassetlaw STP", source_footprint="QKS")
    assert result.footprint == "QF7"
    assert "over the source's QKS" in result.footprint_evidence[0]


def test_pre_2018_northern_stp_is_found_by_name() -> None:
    text = ("Northumberland, Tyne and Wear and North Durham Sustainability and Transformation Plan\n"
            "Draft for discussion\nThe Northumberland, Tyne and Wear and North Durham STP covers 2016/17 to 2020/21.")
    result = classify(text, source_footprint="QHM")
    assert result.footprint == "STP-E54000046"
    assert result.generation == "2016-stp" and result.draft


def test_national_page_naming_many_footprints_gets_none() -> None:
    text = ("STPs by region. " + "; ".join(["Kent and Medway", "Devon", "Somerset", "Dorset", "Lincolnshire",
                                             "South Yorkshire and Bassetlaw", "Greater Manchester"]) * 2)
    result = classify(text, url="https://www.england.nhs.uk/integratedcare/stps/view-stps/")
    assert result.footprint is None


@pytest.mark.parametrize("text, kwargs", [
    ("", {}),
    ("\x00\x02 ���", {"title": "", "url": "not a url", "published": "yesterday"}),
    ("plan " * 50_000, {"published": "2019-13-45", "source_footprint": "nowhere"}),
])
def test_bad_input_never_crashes(text: str, kwargs: dict) -> None:
    result = classify(text, **kwargs)
    assert result.generation in (*GENERATIONS, UNKNOWN_GENERATION)
    json.dumps(result.to_json())
    if kwargs.get("source_footprint") == "nowhere":
        assert result.footprint is None
        assert any("not in the registry" in e for e in result.footprint_evidence)


def test_to_json_round_trips() -> None:
    data = classify(FIVE_YEAR_PLAN_2019, source_footprint="QKS").to_json()
    again = json.loads(json.dumps(data))
    assert again["is_plan"] is True and again["footprint"] == "QKS" and again["generation"] == "2019-five-year"
    assert {"plan_score", "reasons", "footprint_evidence", "draft", "category"} <= set(again)


def test_classify_reads_a_bounded_opening() -> None:
    """Its work is bounded: what lies far past the opening does not change the verdict (speed: bench/)."""
    long_text = (FIVE_YEAR_PLAN_2019 + STP_UPDATE_REPORT_2016) * 200
    verdict = classify(long_text, title="Our Five Year Plan", source_footprint="QKS").to_json()
    padded = classify(long_text + " Sheffield Bassetlaw maternity closure" * 20_000, title="Our Five Year Plan",
                      source_footprint="QKS").to_json()
    assert padded == verdict


def test_literal_prefilter_never_hides_a_match() -> None:
    """Rules skip their regex when none of their literal words is present; that must never lose a match."""
    import importlib

    module = importlib.import_module("tracker.meaning.classify")  # the module (tracker.meaning.classify is the function)

    rules = [r[1] for r in module.PLAN_SIGNALS + module.NOT_PLAN_SIGNALS + module.GENERATION_WORDING]
    rules += [r[1] for r in module.GENERATION_SPANS + module.DRAFT_PATTERNS + module.PLAN_BODY_SIGNALS]
    rules += list(module.REPORT_MARKERS)
    texts = [STP_2016_DRAFT, FIVE_YEAR_PLAN_2019, JFP_2023, COMMISSIONING_2026, STP_UPDATE_REPORT_2016, AGENDA,
             MINUTES, "Draft v0.3 - not for circulation. JFP 2024-2029. EqIA. e-petition. PCBC", "DMBC 2019-2024"]
    if KCC_REPORT.is_file():
        texts.append(pdf_text(KCC_REPORT)[:12_000])
    matched = 0
    for text in texts:
        wrapped = module._Text(text)
        for rule in rules:
            direct = rule.pattern.search(text if rule.exact else text.lower())
            assert bool(direct) == bool(rule.search(wrapped)), (rule.pattern.pattern, text[:60])
            matched += bool(direct)
    assert matched > 40
