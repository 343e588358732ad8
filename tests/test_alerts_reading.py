"""Alert emails a person reads: changed figures highlighted word by word (not whole sentences underlined),
dates in words, and for a leaked or replaced plan an excerpt of what the plan says."""

from __future__ import annotations

import re

from alerts.render import marked, render_event

EVENT = {
    "id": 7, "kind": "revised", "detected_at": "2017-03-01T09:01:00+00:00",
    "footprint": {"code": "QF7", "name": "South Yorkshire and Bassetlaw"}, "generation": "2016-stp",
    "document": {"id": 1, "title": "SYB STP"}, "url": "https://example.nhs.uk/plan", "source": "syb-icb",
    "official": True, "summary": "Acute beds to be cut: 180 -> 320.",
    "changes": {"figures": [{"kind": "beds", "before": "180 beds", "after": "320 beds", "context": "acute beds"}],
                "added": ["Our plan will reduce acute beds by 320 beds across the footprint by 2021."],
                "removed": ["Our plan will reduce acute beds by 180 beds across the footprint by 2021."]},
    "versions": {"before": 1, "after": 2}, "alert": True, "historical": False, "crawl_id": 2,
}


def test_only_the_changed_figure_is_highlighted_and_nothing_looks_like_a_link():
    html = render_event(EVENT, "https://tracker.example", ref="r1").html
    added = html[html.index(">Added<"):html.index(">Removed<")]
    assert '<strong style="background:#c8ecc8;color:#060">320 beds</strong>' in added
    assert "Our plan will reduce acute beds by " in added and "<ins" not in html and "<u>" not in html
    removed = html[html.index(">Removed<"):]
    assert re.search(r"<s [^>]*>180 beds</s>", removed) and "<del" not in removed
    text = render_event(EVENT, "https://tracker.example", ref="r1").text
    assert "*320 beds*" in text and "*180 beds*" in text


def test_dates_in_words():
    message = render_event(EVENT, "https://tracker.example", ref="r1")
    assert "1 March 2017, 09:01 UTC" in message.html and "1 March 2017, 09:01 UTC" in message.text
    assert "2017-03-01T09:01:00" not in message.html


def test_a_leaked_plan_carries_an_excerpt_of_the_plan():
    leaked = {**EVENT, "kind": "leaked", "changes": {}, "versions": {"before": None, "after": 2}}
    opening = "This plan proposes to close the Bassetlaw A&E overnight from April 2017. \x1b[2J"
    message = render_event(leaked, "https://tracker.example", ref="r2", excerpt=opening)
    assert "What the plan says" in message.html and "close the Bassetlaw A&amp;E overnight" in message.html
    assert "\x1b" not in message.html and "\x1b" not in message.text
    revised = render_event(EVENT, "https://tracker.example", ref="r3", excerpt=opening)
    assert "What the plan says" not in revised.html  # a revision shows what changed, not the opening


def test_marked_pieces_rebuild_the_text():
    text = "from 180 beds to 320 beds, then 320 beds again"
    pieces = marked(text, ["320 beds", ""])
    assert "".join(p for p, _ in pieces) == text
    assert [p for p, changed in pieces if changed] == ["320 beds", "320 beds"]
    assert marked("plain", []) == [("plain", False)]


def test_the_delivered_message_takes_its_excerpt_from_the_archived_version(tmp_path):
    from alerts.delivery import _plan_opening
    from storage import Archive, Extraction, Fetch

    with Archive(tmp_path / "home") as archive:
        archive.upsert_source("s", footprint="QF7", kind="site", official=True, config={})
        crawl = archive.start_crawl(["s"])
        fid = archive.record_fetch(Fetch(crawl_id=crawl, fetched_at="2017-01-01T00:00:00+00:00", url="https://e/p.pdf",
                                         source="s", status=200, headers={"Content-Type": "application/pdf"},
                                         body=b"%PDF-1.4 plan", kind="document"))
        sha = archive.fetch(fid)["blob_sha256"]
        text = archive.record_extraction(sha, Extraction(status="ok", extractor="x", extractor_version="1",
                                                        text="We will close the maternity unit. " * 100))
        doc = archive.create_document(title="Plan", kind="plan", footprint="QF7", generation="2016-stp", draft=True,
                                      seen_at="2017-01-01T00:00:00+00:00", source="s")
        version, _ = archive.add_version(doc, text_sha256=text, blob_sha256=sha, fetch_id=fid, crawl_id=crawl,
                                         seen_at="2017-01-01T00:00:00+00:00")
        opening = _plan_opening(archive, {"versions": {"after": version}})
    assert opening.startswith("We will close the maternity unit.") and len(opening) <= 1200
