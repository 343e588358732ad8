"""Real version pairs and series from ../shared/corpus with the outcome a campaigner would expect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storage import Archive
from tests.replay import Capture, Replayer
from tracker.workers import ExtractionPool

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"
KCC = CORPUS / "pdf" / "uk-kcc"
SERIES = CORPUS / "html-versions" / "nhs-page-text-series"

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not CORPUS.is_dir(), reason="needs ../shared/corpus (present in CI)"),
]


@pytest.fixture(scope="module")
def pool():
    pool = ExtractionPool(workers=2)
    yield pool
    pool.close()


def alerting(events):
    return sorted(e.kind for e in events if e.alert)


def replay_pair(tmp_path, pool, first: Path, second: Path, *, same_url: bool = True, kind: str = "site"):
    archive = Archive(tmp_path / "home")
    replayer = Replayer(archive, "kent-cc", official=True, kind=kind, pool=pool)
    url_a = "https://democracy.kent.gov.uk/documents/s1/paper.pdf"
    url_b = url_a if same_url else "https://democracy.kent.gov.uk/documents/s2/paper-again.pdf"
    replayer.crawl([Capture("https://democracy.kent.gov.uk/", b"<html><body><p>Papers</p></body></html>",
                            "text/html", kind="page")])  # the source's baseline crawl
    first_events = replayer.crawl([Capture(url_a, first.read_bytes())])
    second_events = replayer.crawl([Capture(url_b, second.read_bytes())])
    return archive, first_events, second_events


@pytest.mark.parametrize("a,b", [
    ("LabourAltBudget-amendment-a.pdf", "LabourAltBudget-amendment-b.pdf"),
    ("Minutes-2025-01-09-as-printed-minutes.pdf", "Minutes-2025-01-09-as-next-agenda-item.pdf"),
])
def test_same_paper_downloaded_twice_is_one_version_and_no_event(tmp_path, pool, a, b):
    first, second = KCC / "duplicates" / a, KCC / "duplicates" / b
    assert first.read_bytes() != second.read_bytes()  # the bytes really differ (trailer /ID)
    archive, _, second_events = replay_pair(tmp_path, pool, first, second, same_url=False)
    assert second_events == []
    fetches = [f for f in archive.fetches() if f["url"].endswith(".pdf")]
    assert len({f["blob_sha256"] for f in fetches}) == 2, "both original bodies are kept"
    assert len({f["version_id"] for f in fetches}) == 1, "one text, one version"
    assert len({f["document_id"] for f in fetches}) == 1, "the copy at a new URL is the same document"


def test_reserves_policy_cabinet_to_council_is_one_version_its_appendix_label_a_running_header(tmp_path, pool):
    """SOURCES.md calls this pair a substantive rewording (~146 changed lines), but those lines are re-flowed text:
    pypdfium2 and pdfminer.six both find the same 1,821 words with only the running header "Appendix G" ->
    "Appendix H" changed (the pack each copy was attached to). Running headers are dropped whatever their wording,
    so it is one version, and raises no alert."""
    v1 = KCC / "versions" / "ReservesPolicy-v1-cabinet-2025-01-30.pdf"
    v2 = KCC / "versions" / "ReservesPolicy-v2-council-2025-02-13.pdf"
    archive, first, second = replay_pair(tmp_path, pool, v1, v2, kind="page")
    document_id = [f for f in archive.fetches() if f["url"].endswith(".pdf")][0]["document_id"]
    assert len(archive.versions_of(document_id)) == 1
    assert alerting(second) == []


def test_investment_strategy_relabelled_appendix_is_cosmetic(tmp_path, pool):
    v1 = KCC / "versions" / "InvestmentStrategy-v1-cabinet-2025-01-30.pdf"
    v2 = KCC / "versions" / "InvestmentStrategy-v2-council-2025-02-13.pdf"
    _, _, second = replay_pair(tmp_path, pool, v1, v2, kind="page")
    # Appendix letters M->N and a spacing change: archived as a version, but not news.
    assert alerting(second) == [], [e.summary for e in second]


def replay_series(tmp_path, pool, name: str):
    """Crawl a real monthly series of a watched NHS page; returns {snapshot date: events}."""
    folder = SERIES / name
    series = json.loads((folder / "series.json").read_text())
    archive = Archive(tmp_path / name)
    replayer = Replayer(archive, "nhs-page", official=True, kind="page", footprint=None, pool=pool)
    outcome = {}
    for snap in series["snapshots"]:
        body = (folder / snap["text_file"]).read_bytes() if snap["text_file"] else None
        status = snap["http_status"]
        capture = Capture(series["url"], body if status == 200 else b"Access denied", "text/plain; charset=utf-8",
                          status=status, kind="page", fetched_at=snap["commit_date"])
        outcome[snap["commit_date"][:10]] = alerting(replayer.crawl([capture]))
    return outcome


def test_burns_and_scalds_clinical_change_is_a_change(tmp_path, pool):
    outcome = replay_series(tmp_path, pool, "www-nhs-uk-conditions-burns-and-scalds")
    assert outcome["2026-03-01"] == [] and outcome["2026-04-01"] == [] and outcome["2026-06-01"] == []
    assert outcome["2026-05-01"] == ["revised"]  # the page rewritten
    assert outcome["2026-07-01"] == ["revised"]  # "at least 15 minutes" -> "15 to 30 minutes" of cool water


def test_bot_block_months_are_not_a_withdrawal(tmp_path, pool):
    outcome = replay_series(tmp_path, pool, "www-healthiertogether-nhs-uk-professional-croup")
    assert outcome["2026-03-01"] == [] and outcome["2026-04-01"] == []  # 403 twice: transient, never "withdrawn"
    assert "withdrawn" not in sum(outcome.values(), [])
    assert "reinstated" not in sum(outcome.values(), [])


@pytest.mark.parametrize("name", [
    "www-gov-uk-guidance-general-information-assessing-fitness-to-drive",  # "+ show all updates" widget text
    "www-nhs-uk-conditions-broken-finger",  # a word split by markup, then a survey footer
])
def test_boilerplate_only_changes_are_not_events(tmp_path, pool, name):
    outcome = replay_series(tmp_path, pool, name)
    assert sum(outcome.values(), []) == [], outcome


PAIRS = CORPUS / "pairs"


def labelled_pairs():
    import csv

    if not (PAIRS / "labels.csv").is_file():
        return []
    return list(csv.DictReader((PAIRS / "labels.csv").open()))


@pytest.mark.slow
@pytest.mark.parametrize("row", labelled_pairs(), ids=lambda r: r["pair"])
def test_labelled_pair_verdict(tmp_path, pool, row):
    """../shared/corpus/pairs/labels.csv: alert or not, for the same paper seen twice at one URL."""
    _, _, second = replay_pair(tmp_path, pool, PAIRS / row["file_a"], PAIRS / row["file_b"], kind="page")
    expected = ["revised"] if row["label"] == "alert" else []
    assert alerting(second) == expected, [e.summary for e in second]
    for event in second:
        summary = event.summary.split(". ", 1)[-1]
        assert len(summary) < 300 and "changed from" not in summary


def test_paper_republished_in_a_moderngov_pack_is_not_an_alert_and_recommendation_change_is_named(tmp_path, pool):
    _, _, packed = replay_pair(tmp_path / "p22", pool, PAIRS / "P22-a.pdf", PAIRS / "P22-b.pdf", kind="page")
    assert alerting(packed) == []  # cover letter, "Page 1 Agenda Item 6" stamps, blank-page notices only
    _, _, report = replay_pair(tmp_path / "p25", pool, PAIRS / "P25-a.pdf", PAIRS / "P25-b.pdf", kind="page")
    [event] = [e for e in report if e.alert]
    assert "ENDORSE -> ADOPT" in event.summary
    assert "March 2025" not in event.summary  # the dates of the meetings the paper went to are not figures
    assert event.changes["decisions"][0].startswith("Recommendation (iii): ENDORSE -> ADOPT")


def test_capital_table_total_leads_the_summary_with_its_row_and_column(tmp_path, pool):
    archive, _, second = replay_pair(tmp_path, pool, PAIRS / "P01-a.pdf", PAIRS / "P01-b.pdf", kind="page")
    [event] = [e for e in second if e.alert]
    assert "Total Cost (£000s), Total Cash Limit: 2,007,750 -> 2,002,563" in event.summary
    first = event.changes["figures"][0]
    assert (first["row"], first["column"], first["total"]) == ("Total Cash Limit", "Total Cost (£000s)", True)
    structure = archive.version_structure(event.version_after)
    assert any(b["type"] == "table" for b in structure["blocks"])


def test_revenue_plan_summary_says_the_years_totals_under_one_column_and_not_their_parts(tmp_path, pool):
    """P04: a 3-year revenue plan whose Core / External / Total columns repeat under each year. The summary leads
    with the year's totals (the net budget, the spending and savings totals), the column said once; the Core and
    External parts of a total and the same line in later years stay in the event's `changes`."""
    _, _, second = replay_pair(tmp_path, pool, PAIRS / "P04-a.pdf", PAIRS / "P04-b.pdf", kind="page")
    [event] = [e for e in second if e.alert]
    summary = event.summary.split(". ", 1)[-1]
    assert summary.startswith("2025-26 Total (£000s) — NET BUDGET: 1,529,659.5 -> 1,530,923.8; ")
    assert "TOTAL SAVINGS, INCOME & GRANT: -86,785.9 -> -90,557.8" in summary  # labels.csv's savings/grant total
    assert "Core (£000s)" not in summary and "External (£000s)" not in summary
    assert len(summary) < 300
    figures = event.changes["figures"]
    pay = [f for f in figures if f.get("row") == "Pay" and f["column"] == "2025-26 Total (£000s)"]
    assert [(f["before"], f["after"]) for f in pay] == [("22,272.6", "22,472.6")]  # the pay line, in the list
    leading = [f for f in figures if f.get("total")]
    assert all("Core" not in f["column"] and "External" not in f["column"] for f in leading)
    assert len({f["row"] for f in leading}) == len(leading)  # one headline per total row, not one per year


def test_budget_templates_pair_rows_by_label_and_header_and_rewrapped_lines_are_not_rows_removed(tmp_path, pool):
    """P06: 25 pages of 10-column budget templates, each closed by a "TOTAL ..." row, their descriptions wrapped
    over two or three lines, wrapped differently in the second version. Rows pair by label and column header
    (the k-th "TOTAL PRICES" with the k-th), so one template's total is never paired with another's; a
    description re-wrapped is the same row; what is left is what labels.csv says changed."""
    _, _, second = replay_pair(tmp_path, pool, PAIRS / "P06-a.pdf", PAIRS / "P06-b.pdf", kind="page")
    [event] = [e for e in second if e.alert]
    figures = event.changes["figures"]
    described = [(f.get("row") or "", f["before"], f["after"]) for f in figures]
    assert not [d for d in described if d[0] == "TOTAL PRICES"]  # 41,407.1 and 1,944.4 are two templates' totals
    assert len(figures) < 40  # it was 180: rows "removed" and "added" because their descriptions wrapped anew
    removed = [r for r, before, after in described if after is None]
    added = [(r, after) for r, before, after in described if before is None]
    assert any("Community Wardens Pension strain" in r for r in removed)  # labels.csv: wardens lines removed
    assert any("Community Safety" in r and "Wardens Service ceases" in r for r in removed)
    assert any("unavoidable impacts from policy savings" in r and a == "262.5" for r, a in added)  # the new line
    assert "section removed: MEMORANDUM: CORE (5 rows)" in [
        f"section removed: {f['row']}" for f in figures if f["after"] is None]  # a recap dropped: said once
