"""The ModernGov spider on real Kingston ModernGov pages and council PDFs, served at ModernGov's own URLs.

Each crawl runs in a subprocess (as in test_crawler.py); the window of meetings is set relative to today so that
the real meeting dates (Sep 2024 - Jun 2026) fall in and out of it the same way whenever the test runs.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from crawler.links import canonical
from crawler.sources import Source, SourceError
from fixtureweb import FixtureWeb
from storage import Archive

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
KINGSTON = SHARED / "corpus" / "html-versions" / "uk-kingston-moderngov"
PDFS = SHARED / "corpus" / "pdf"
PDF = "application/pdf"
FAST = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "RETRY_TIMES": 0, "DOWNLOAD_TIMEOUT": 5,
        "DNS_TIMEOUT": 5}
# The runner with the committee spiders registered (crawler/spiders/__init__.py may not import them yet).
RUNNER = ("import sys, crawler.spiders.moderngov, crawler.spiders.cmis; from crawler.runner import main; "
          "sys.exit(main(sys.argv[1:]))")

needs_corpus = pytest.mark.skipif(not KINGSTON.is_dir(), reason=f"shared corpus not found at {KINGSTON}")


# -- helpers shared with test_cmis.py ------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)  # strings, numbers and booleans are written alike in JSON and TOML


def crawl(home: Path, sources: list[dict[str, Any]], **settings: Any) -> dict[str, Any]:
    """One crawl in a fresh process; returns its summary (CrawlSummary.as_dict())."""
    lines = []
    for source in sources:
        lines.append("[[source]]")
        lines += [f"{key} = {toml_value(value)}" for key, value in source.items()]
    file = home.parent / "sources.toml"
    file.write_text("\n".join(lines) + "\n")
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, "--home", str(home), "--sources", str(file),
         "--settings", json.dumps({**FAST, **settings})],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def route(web: FixtureWeb, href: str) -> str:
    """The path (and query) at which a crawler asks for `href`, as the fixture web sees it (canonical form)."""
    parts = urlsplit(canonical(web.url("/" + href.lstrip("/"))))
    return parts.path + (f"?{parts.query}" if parts.query else "")


def asked(web: FixtureWeb) -> set[str]:
    return {r.path for r in web.requests}


def months_back_to(year: int, month: int, today: dt.date | None = None) -> int:
    """A lookback_months whose window starts in (year, month), or on the 1st-2nd of the month after."""
    today = today or dt.date.today()
    months = (today.year - year) * 12 + today.month - month
    return months - 1 if today.day <= 2 else months


# -- the Kingston site -------------------------------------------------------------------------------------

ICS_ROW = """
<tr><td class="mgItemNumberCell"><p class="mgAiTitleTxt"><a name="AI99001"></a>64.</p></td>
<td><p class="mgAiTitleTxt"><a class="mgAiTitleLnk" href="documents/s120001/Integrated Care Strategy delivery plan Report.pdf"
   title="Link to document">Adoption of the Integrated Care Strategy delivery plan
   <span class="mgFileSize"><img src="mgimages/logo-pdf-1.gif" alt=""/> PDF 600 KB</span></a></p>
<div class="mgWordPara"><p>To adopt the council's delivery plan for the shared ICS strategy.</p></div>
<p class="mgSubItemTitleTxt">Additional documents:</p>
<ul class="mgBulletList"><li><a href="documents/s120002/Appendix B - priorities and measures.pdf">Appendix B -
   priorities and measures <span class="mgHide">, item 64.</span> <span class="mgFileSize">PDF 713 KB</span></a></li></ul>
<p><a href="mgAi.aspx?ID=99001">view the full minutes text for item 64.</a></p>
</td></tr>
"""

ITEM_PAGE = """<html><head><title>Agenda item - Adoption of the Integrated Care Strategy delivery plan</title></head>
<body><div id="modgov"><h2 class="mgSubTitleTxt">Agenda item - Adoption of the Integrated Care Strategy delivery plan</h2>
<ul class="mgBulletList"><li><a href="documents/s120003/EqIA.pdf">Equality impact assessment
<span class="mgFileSize">PDF 70 KB</span></a></li></ul></div></body></html>"""


def serve_kingston(web: FixtureWeb) -> dict[str, str]:
    """The real Kingston pages at ModernGov's paths (one plan item added to a real agenda); paths by name."""
    page = lambda name: (KINGSTON / name).read_text(encoding="utf-8")  # noqa: E731
    agenda = page("ieListDocuments-CId711-MId10221.html")
    end = agenda.rindex("</table>")  # the item table's own end (rows hold nested tables of their own)
    assert agenda.index('id="mgItemTable"') < end
    agenda = agenda[:end] + ICS_ROW + agenda[end:]
    paths = {
        "structure": route(web, "mgCommitteeStructure.aspx"),
        "meetings": route(web, "ieListMeetings.aspx?CId=711"),
        "agenda": route(web, "ieListDocuments.aspx?CId=711&MId=10221&Ver=4"),
        "nov": route(web, "ieListDocuments.aspx?CId=711&MId=10220&Ver=4"),
        "cancelled": route(web, "ieListDocuments.aspx?CId=711&MId=10161&Ver=4"),
        "item": route(web, "mgAi.aspx?ID=99001"),
        "ics": route(web, "documents/s120001/Integrated Care Strategy delivery plan Report.pdf"),
        "appendix": route(web, "documents/s120002/Appendix B - priorities and measures.pdf"),
        "eqia": route(web, "documents/s120003/EqIA.pdf"),
        "zebra": route(web, "documents/s112215/Coombe Lane West Zebra Crossing consultation results.pdf"),
        "petition": route(web, "documents/s112217/Petition TMO Manorgate Rd Report.pdf"),
    }
    web.set(paths["structure"], page("mgCommitteeStructure.html"))
    web.set(paths["meetings"], page("ieListMeetings-CommitteeId711.html"))
    web.set(paths["agenda"], agenda)
    web.set(paths["nov"], page("ieListDocuments-meeting-2025-11-18.html"))
    web.set(paths["cancelled"], page("ieListDocuments-CId711-MId10161-cancelled.html"))
    web.set(paths["item"], ITEM_PAGE)
    ics = PDFS / "uk-kcc" / "ics"
    web.set(paths["ics"], (ics / "24-00115-Integrated-Care-Strategy-delivery-plan-Report.pdf").read_bytes(), PDF)
    web.set(paths["appendix"], (ics / "24-00115-Appendix-B-KCC-ICS-priorities-measures.pdf").read_bytes(), PDF)
    web.set(paths["eqia"], (ics / "24-00115-EqIA.pdf").read_bytes(), PDF)
    web.set(paths["zebra"], (PDFS / "uk-kingston-ZebraCrossing.pdf").read_bytes(), PDF)
    web.set(paths["petition"], (PDFS / "uk-kingston-ManorgatePetition.pdf").read_bytes(), PDF)
    return paths


@pytest.mark.corpus
@needs_corpus
def test_kingston_plan_items_are_fetched_and_the_rest_skipped(web: FixtureWeb, home: Path) -> None:
    paths = serve_kingston(web)
    # Window from October 2025: the meetings of 18 Nov 2025 onwards are in it, 2 Oct 2025 and earlier are not.
    lookback = months_back_to(2025, 10)
    source = {"name": "council-kingston", "kind": "moderngov", "footprint": "QWE", "start_urls": [web.url("/")],
              "options": {"lookback_months": lookback, "committees": ["Kingston and North Kingston"],
                          "council_names": ["Kingston upon Thames"]}}
    summary = crawl(home, [source])
    result = summary["sources"]["council-kingston"]
    assert result["ok"], result
    requested = asked(web)

    # The committee list: mgListCommittees.aspx is missing here, so the spider fell back to the structure page.
    assert route(web, "mgListCommittees.aspx?bcr=1") in requested and paths["structure"] in requested
    # Focus committees (full Council, health scrutiny, the JHOSC) and the one named in options are visited ...
    for cid in (137, 233, 575, 711):
        assert route(web, f"ieListMeetings.aspx?CId={cid}") in requested, cid
    # ... other committees are not.
    for cid in (706, 702, 138, 294, 179):
        assert route(web, f"ieListMeetings.aspx?CId={cid}") not in requested, cid

    # Meetings inside the window are visited, older ones are not, nor the "Earlier meetings" page.
    for mid in (10337, 10163, 10162, 10221, 10161, 10220):
        assert route(web, f"ieListDocuments.aspx?CId=711&MId={mid}&Ver=4") in requested, mid
    for mid in (10160, 10159, 10219, 10158, 9957, 9956, 9955, 9954, 9983):
        assert route(web, f"ieListDocuments.aspx?CId=711&MId={mid}&Ver=4") not in requested, mid
    assert not any("Act=earlier" in path or "Act=later" in path for path in requested)

    # The plan item's documents (and its agenda item page, and the document linked there) are fetched ...
    for name in ("ics", "appendix", "item", "eqia"):
        assert paths[name] in requested, name
    # ... the zebra crossing, the petition and the other items' papers and item pages are not.
    assert paths["zebra"] not in requested and paths["petition"] not in requested
    assert not any(p.startswith("/documents/s11") for p in requested)
    assert not any(p.startswith(("/mgIssueHistoryHome.aspx", "/mgChooseDocPack.aspx", "/documents/g")) or
                   p in ("/mgAi.aspx?ID=51902", "/mgAi.aspx?ID=51903") for p in requested)

    with Archive(home) as archive:
        rows = {row["url"]: row for row in archive.fetches(crawl_id=summary["crawl_id"])}
    ics = rows[web.url(paths["ics"])]
    assert (ics["status"], ics["kind"]) == (200, "document")
    assert "Integrated Care Strategy delivery plan" in ics["link_text"]
    assert ics["referer"] == web.url(paths["agenda"])
    appendix = rows[web.url(paths["appendix"])]
    assert "(Adoption of the Integrated Care Strategy delivery plan)" in appendix["link_text"]  # the item it is for
    agenda = rows[web.url(paths["agenda"])]
    assert (agenda["status"], agenda["kind"]) == (200, "page")  # the agenda page itself is archived
    assert rows[web.url(paths["nov"])]["status"] == 200
    assert result["counts"]["documents"] == 3


def test_committee_options_are_checked() -> None:
    from crawler.spiders.moderngov import committee_options, document_key

    good = Source(name="c", kind="moderngov", start_urls=["https://democracy.example.gov.uk/"],
                  options={"lookback_months": 6, "committees": "Adults", "keywords": ["Fit for the Future"]})
    options = committee_options(good)
    assert (options.lookback_months, options.committees, options.keywords) == (6, ("Adults",), ("Fit for the Future",))
    assert committee_options(Source(name="d", kind="moderngov", start_urls=good.start_urls)).lookback_months == 18
    bad = Source(name="c", kind="moderngov", start_urls=good.start_urls, options={"lookback_months": "two years"})
    with pytest.raises(SourceError, match=r"source 'c': options.lookback_months: must be a whole number"):
        committee_options(bad)
    assert document_key("https://x.example/documents/s112217/Petition%20Report.pdf") == "s112217"
    assert document_key("https://x.example/mgAi.aspx?ID=5") is None


def test_unknown_options_of_a_council_source_are_refused() -> None:
    from crawler.sources import source_from_dict

    raw = {"name": "c", "kind": "cmis", "start_urls": ["https://c.cmis.example/cmis5/"], "options": {"lookbak": 3}}
    with pytest.raises(SourceError, match=r"options.lookbak: not an option of a 'cmis' source"):
        source_from_dict(raw)


# -- a small hand-made ModernGov site: the RSS feed, and paging back through a committee's meetings ---------


def test_rss_feed_and_earlier_meetings_pages(web: FixtureWeb, home: Path) -> None:
    today = dt.date.today()
    recent = today - dt.timedelta(days=20)
    older = today - dt.timedelta(days=100)
    ancient = today - dt.timedelta(days=900)
    fmt = lambda d: d.strftime("%d %b %Y") + " 2:00 pm"  # noqa: E731
    d_param = older.strftime("%Y%m%d") + "1400"
    web.set(route(web, "mgListCommittees.aspx?bcr=1"), """<html><body>
        <a href="mgCommitteeDetails.aspx?ID=40">Health and Wellbeing Board</a>
        <a href="mgCommitteeDetails.aspx?ID=41">Licensing Sub-Committee</a></body></html>""")
    web.set(route(web, "ieListMeetings.aspx?CId=40"), f"""<html><body><table>
        <tr><td><a href="ieListDocuments.aspx?CId=40&amp;MId=501&amp;Ver=4">{fmt(recent)}</a></td></tr></table>
        <a href="ieListMeetings.aspx?Act=earlier&amp;CId=40&amp;D={d_param}&amp;MD=ielistmeetings">Earlier meetings</a>
        </body></html>""")
    web.set(route(web, f"ieListMeetings.aspx?Act=earlier&CId=40&D={d_param}&MD=ielistmeetings"), f"""<html><body>
        <ul><li><a href="ieListDocuments.aspx?CId=40&amp;MId=480&amp;Ver=4">{fmt(older)}</a></li>
        <li><a href="ieListDocuments.aspx?CId=40&amp;MId=300&amp;Ver=4">{fmt(ancient)}</a></li></ul></body></html>""")
    agenda = """<html><body><h2 class="mgSubTitleTxt">Health and Wellbeing Board - {day}</h2>
        <table class="mgItemTable"><tr><td class="mgItemNumberCell"><p class="mgAiTitleTxt">1.</p></td>
        <td><p class="mgAiTitleTxt"><a href="documents/s{n}/Report.pdf">{title}</a></p></td></tr></table></body></html>"""
    web.set(route(web, "ieListDocuments.aspx?CId=40&MId=501&Ver=4"),
            agenda.format(day=fmt(recent), n=9001, title="Business case for the new hospital"))
    web.set(route(web, "ieListDocuments.aspx?CId=40&MId=480&Ver=4"),
            agenda.format(day=fmt(older), n=9002, title="Pharmacy opening hours"))
    # The feed announces a Cabinet meeting and a document of another committee (outside the committee walk).
    web.set(route(web, "mgRss.aspx?XXR=0"), f"""<?xml version="1.0"?><rss version="2.0"><channel><title>What's new</title>
        <item><title>Cabinet - {fmt(recent)}</title><link>{web.url('/ieListDocuments.aspx?CId=7&amp;MId=777')}</link></item>
        <item><title>Cabinet - {fmt(ancient)}</title><link>{web.url('/ieListDocuments.aspx?CId=7&amp;MId=100')}</link></item>
        <item><title>Joint Forward Plan 2026 refresh</title><link>{web.url('/documents/s9100/JFP.pdf')}</link></item>
        <item><title>Parking charges review</title><link>{web.url('/documents/s9101/Parking.pdf')}</link></item>
        </channel></rss>""", content_type="application/rss+xml")
    for n in (9001, 9002, 9100, 9101):
        web.set(route(web, f"documents/s{n}/" + ("JFP.pdf" if n == 9100 else "Parking.pdf" if n == 9101 else
                                                 "Report.pdf")), b"%PDF-1.4 fake " + str(n).encode(), PDF)
    source = {"name": "mg", "kind": "moderngov", "start_urls": [web.url("/")], "options": {"lookback_months": 12}}
    summary = crawl(home, [source])
    assert summary["sources"]["mg"]["ok"]
    requested = asked(web)
    assert route(web, f"ieListMeetings.aspx?Act=earlier&CId=40&D={d_param}&MD=ielistmeetings") in requested
    assert route(web, "ieListDocuments.aspx?CId=40&MId=480&Ver=4") in requested  # on the earlier page, in window
    assert route(web, "ieListDocuments.aspx?CId=40&MId=300&Ver=4") not in requested  # too old
    assert route(web, "ieListMeetings.aspx?CId=41") not in requested  # licensing: not watched
    # In a health committee a hospital business case is a plan item; pharmacy hours are not.
    assert route(web, "documents/s9001/Report.pdf") in requested
    assert route(web, "documents/s9002/Report.pdf") not in requested
    # From the feed: the recent Cabinet meeting and the plan document, not the old meeting or parking charges.
    assert route(web, "ieListDocuments.aspx?CId=7&MId=777") in requested
    assert route(web, "ieListDocuments.aspx?CId=7&MId=100") not in requested
    assert route(web, "documents/s9100/JFP.pdf") in requested
    assert route(web, "documents/s9101/Parking.pdf") not in requested

    # A second crawl re-checks the documents it holds (conditionally), not the agenda pages of old meetings.
    web.clear_log()
    web.set(route(web, "ieListMeetings.aspx?CId=40"), "<html><body>no meetings listed</body></html>")
    crawl(home, [source])
    again = {r.path: r for r in web.requests}
    assert route(web, "documents/s9001/Report.pdf") in again
    assert again[route(web, "documents/s9001/Report.pdf")].status == 304
    assert route(web, "ieListDocuments.aspx?CId=40&MId=480&Ver=4") not in again


# -- the site spider's path_prefixes (how the registry keeps NHS England sources inside the plan pages) ----


def test_site_spider_follows_only_pages_under_path_prefixes(web: FixtureWeb, home: Path) -> None:
    web.set("/integratedcare/stps/", """<a href="/integratedcare/stps/view/">View STPs</a>
        <a href="/news/">News</a> <a href="/wp-content/uploads/2016/11/stp-summary.pdf">STP summary</a>
        <a href="/long-read/jfp-guidance/">JFP guidance</a>""")
    web.set("/integratedcare/stps/view/", '<a href="/wp-content/uploads/2017/01/stp-list.pdf">List</a>')
    web.set("/news/", '<a href="/news/2/">More news</a>')
    web.set("/long-read/jfp-guidance/", "<p>guidance</p>")
    for path in ("/wp-content/uploads/2016/11/stp-summary.pdf", "/wp-content/uploads/2017/01/stp-list.pdf"):
        web.set(path, b"%PDF-1.4 " + path.encode(), PDF)
    source = {"name": "nhse", "start_urls": [web.url("/integratedcare/stps/")], "max_depth": 3,
              "options": {"path_prefixes": ["/integratedcare/", "/long-read/"]}}
    summary = crawl(home, [source])
    assert summary["sources"]["nhse"]["ok"]
    requested = asked(web)
    assert {"/integratedcare/stps/view/", "/long-read/jfp-guidance/"} <= requested
    assert "/news/" not in requested and "/news/2/" not in requested  # outside the prefixes: not followed
    # Documents linked from pages under the prefixes are fetched wherever they live on the site.
    assert {"/wp-content/uploads/2016/11/stp-summary.pdf", "/wp-content/uploads/2017/01/stp-list.pdf"} <= requested

    bad = {**source, "name": "bad", "options": {"path_prefixes": ["integratedcare"]}}
    summary = crawl(home, [bad])
    assert not summary["sources"]["bad"]["ok"]
    assert "options.path_prefixes: must be a list of URL paths starting with '/'" in summary["sources"]["bad"]["error"]


def test_feed_entries_are_read_with_lxml_alone() -> None:
    # The spider reads the feed without feedparser (a test-only package): RSS 2.0, Atom, and no feed at all.
    from crawler.spiders.moderngov import feed_entries

    rss = (b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>Cabinet - 1 May 2026</title>'
           b'<link>https://mg.example/ieListDocuments.aspx?MId=1</link></item><item><title>no link</title></item>'
           b'</channel></rss>')
    assert feed_entries(rss) == [("https://mg.example/ieListDocuments.aspx?MId=1", "Cabinet - 1 May 2026")]
    atom = (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>JFP &amp; refresh</title>'
            b'<link rel="alternate" href="https://mg.example/documents/s1/JFP.pdf"/></entry></feed>')
    assert feed_entries(atom) == [("https://mg.example/documents/s1/JFP.pdf", "JFP & refresh")]
    assert feed_entries(b"<html><body>Service unavailable</body></html>") is None
    assert feed_entries(b"") is None


def test_a_committee_system_that_leads_to_no_meeting_says_so(web: FixtureWeb, home: Path) -> None:
    """A council that left ModernGov: its old address now answers with the new site's home page (200, no committee,
    no meeting). That is a failing source with the reason, not "ok, nothing new" for ever."""
    moved = ("<html><body><h1>Welcome to our new democracy pages</h1><p>Find <a href='/news/'>news</a> and "
             "<a href='/contact/'>contact us</a>.</p></body></html>")
    web.set(route(web, "mgListCommittees.aspx?bcr=1"), moved)
    web.set("/news/", "<html><body><p>News</p></body></html>")
    summary = crawl(home, [{"name": "moved-council", "kind": "moderngov", "start_urls": [web.url("/")]}])
    result = summary["sources"]["moved-council"]
    assert result["ok"] is False and result["error"].startswith("no meetings found"), result
    with Archive(home) as archive:
        row = next(r for r in archive.sources() if r["name"] == "moved-council")
    assert row["last_error"].startswith("no meetings found") and row["consecutive_failures"] == 1
