"""The CMIS spider on a small hand-made CMIS-like site (DNN path URLs, opaque Document.ashx links)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fixtureweb import FixtureWeb
from storage import Archive
from tracker.cli import app
from test_moderngov import PDF, asked, crawl, route

MEETINGS = "cmis5/Meetings/tabid/70/ctl/ViewMeetingPublic/mid/397"
COMMITTEE = "cmis5/Committees/tabid/62/ctl/ViewCMIS_CommitteeDetails/mid/383/id/{}/Default.aspx"


def document(token: str) -> str:
    """A CMIS document link: opaque, URL-encoded tokens, no readable id."""
    return (f"/CMIS5/Document.ashx?czJKcaeAi5tUFL1DTL2UE4zNRBcoShgo={token}%2bQkqSmXVp%3d%3d"
            "&rUzwRPf%2bZ3zd4E7Ikn8Lyw%3d%3d=pwRE6AGJFLDN%3d%3d")


def meeting_page(committee: str, when: dt.date) -> str:
    return f"""<html><head><title>{committee} - {when:%d %B %Y}</title></head><body>
      <div id="dnn_ContentPane"><h1>{committee}</h1>
      <p>Agenda reports pack: <a class="TitleLink" href="{document('PACK')}">Agenda Reports Pack {when:%d %B %Y}</a></p>
      <table class="MeetingAgenda">
        <tr class="AgendaItem"><td class="AgendaItemNumber">5.</td>
          <td><span class="AgendaItemTitle">NHS Joint Forward Plan 2026/27: refresh</span>
            <div class="AgendaItemDescription">The ICB asks the Board to comment on the refreshed plan.</div>
            <ol class="DocumentList">
              <li class="DocumentListItem"><a class="TitleLink" href="{document('JFPREPORT')}">Report</a></li>
              <li class="DocumentListItem"><a class="TitleLink" href="{document('JFPAPPX')}">Appendix 1</a></li>
            </ol></td></tr>
        <tr class="AgendaItem"><td class="AgendaItemNumber">6.</td>
          <td><span class="AgendaItemTitle">Leisure centre opening hours</span>
            <ol class="DocumentList">
              <li class="DocumentListItem"><a class="TitleLink" href="{document('LEISURE')}">Report</a></li>
            </ol></td></tr>
      </table></div></body></html>"""


def test_cmis_fetches_the_plan_item_and_skips_the_rest(web: FixtureWeb, home: Path) -> None:
    today = dt.date.today()
    recent, ancient = today - dt.timedelta(days=30), today - dt.timedelta(days=1500)
    web.set("/cmis5/", f"""<html><body><a href="/cmis5/Committees.aspx">Committees</a>
        <a href="/{MEETINGS}/Meeting/501/Committee/7/Default.aspx">Next meeting</a></body></html>""")
    web.set("/cmis5/Committees.aspx", f"""<html><body><ul>
        <li><a href="/{COMMITTEE.format(7)}">Health and Wellbeing Board</a></li>
        <li><a href="/{COMMITTEE.format(9)}">Planning Committee</a></li></ul></body></html>""")
    web.set(route(web, COMMITTEE.format(7)), f"""<html><body><table>
        <tr><td>{recent:%d %b %Y} 10:00</td><td><a href="/{MEETINGS}/Meeting/501/Committee/7/Default.aspx">Agenda</a></td></tr>
        <tr><td>{ancient:%d %b %Y} 10:00</td><td><a href="/{MEETINGS}/Meeting/320/Committee/7/Default.aspx">Agenda</a></td></tr>
        </table></body></html>""")
    web.set(route(web, f"{MEETINGS}/Meeting/501/Committee/7/Default.aspx"), meeting_page("Health and Wellbeing Board", recent))
    for token in ("JFPREPORT", "JFPAPPX", "LEISURE", "PACK"):
        web.set(route(web, document(token)), b"%PDF-1.4 " + token.encode(), PDF)

    source = {"name": "council-cmis", "kind": "cmis", "start_urls": [web.url("/cmis5/")],
              "options": {"lookback_months": 6}}
    summary = crawl(home, [source])
    assert summary["sources"]["council-cmis"]["ok"]
    requested = asked(web)
    assert route(web, COMMITTEE.format(7)) in requested
    assert route(web, COMMITTEE.format(9)) not in requested  # planning: not a committee where plans surface
    assert route(web, f"{MEETINGS}/Meeting/320/Committee/7/Default.aspx") not in requested  # outside the window
    assert route(web, document("JFPREPORT")) in requested and route(web, document("JFPAPPX")) in requested
    assert route(web, document("LEISURE")) not in requested and route(web, document("PACK")) not in requested
    assert not any("MeetingCalendarPublicNoJava" in p for p in requested)  # the committee list was enough

    with Archive(home) as archive:
        rows = {r["url"]: r for r in archive.fetches(crawl_id=summary["crawl_id"])}
    report = next(r for url, r in rows.items() if "JFPREPORT" in url)
    assert (report["status"], report["kind"]) == (200, "document")
    assert report["link_text"] == "Report (NHS Joint Forward Plan 2026/27: refresh)"  # what the bare "Report" is


def test_cmis_walks_the_month_calendar_when_there_is_no_committee_list(web: FixtureWeb, home: Path) -> None:
    today = dt.date.today()
    web.set("/cmis5/", f"""<html><body><h1>Meetings</h1>
        <a href="/{MEETINGS}/Meeting/900/Committee/3/Default.aspx">Latest meeting</a></body></html>""")
    calendar = f"cmis5/Meetings/tabid/70/ctl/MeetingCalendarPublicNoJava/mid/397/Date/{today.replace(day=1)}/Default.aspx"
    web.set(route(web, calendar), f"""<html><body><table class="rgMasterTable">
        <tr class="rgRow"><td class="SimpleCalendarDate">{today:%A}, {today.day} {today:%B}</td>
        <td><p class="Meeting"><a href="/{MEETINGS}/Meeting/900/Committee/3/Default.aspx">10:00 Health Scrutiny Committee</a></p>
            <p class="Meeting"><a href="/{MEETINGS}/Meeting/901/Committee/4/Default.aspx">14:00 Licensing Sub-Committee A</a></p>
        </td></tr></table></body></html>""")
    web.set(route(web, f"{MEETINGS}/Meeting/900/Committee/3/Default.aspx"), meeting_page("Health Scrutiny Committee", today))
    for token in ("JFPREPORT", "JFPAPPX", "LEISURE", "PACK"):
        web.set(route(web, document(token)), b"%PDF-1.4 " + token.encode(), PDF)
    source = {"name": "cal", "kind": "cmis", "start_urls": [web.url("/cmis5/")],
              "options": {"lookback_months": 1, "lookahead_days": 0}}
    summary = crawl(home, [source])
    assert summary["sources"]["cal"]["ok"]
    requested = asked(web)
    months = [p for p in requested if "MeetingCalendarPublicNoJava" in p]
    assert route(web, calendar) in requested and len(months) == 2  # last month and this one
    assert route(web, f"{MEETINGS}/Meeting/900/Committee/3/Default.aspx") in requested
    assert route(web, f"{MEETINGS}/Meeting/901/Committee/4/Default.aspx") not in requested  # licensing
    assert route(web, document("JFPREPORT")) in requested and route(web, document("LEISURE")) not in requested


# -- real Birmingham CMIS pages (DemocracyClub/LGSF fixtures), served at their own paths on 127.0.0.1 ----------

BIRMINGHAM = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "councils" / "lgsf-birmingham-cmis"
needs_birmingham = pytest.mark.skipif(not BIRMINGHAM.is_dir(), reason=f"shared corpus not found at {BIRMINGHAM}")
BHAM_MEETING = "birmingham/Meetings/tabid/70/ctl/ViewMeetingPublic/mid/397/Meeting/{}/Committee/{}/{}Default.aspx"


def birmingham(web: FixtureWeb, name: str, **replace: str) -> str:
    """A corpus page with its absolute links pointed at the fixture web (nothing else changed, unless asked)."""
    text = (BIRMINGHAM / name).read_text(encoding="utf-8")
    for old, new in replace.items():
        text = text.replace(old, new)
    return text.replace("https://birmingham.cmis.uk.com/", web.url("/")).replace("http://birmingham.cmis.uk.com/",
                                                                                 web.url("/"))


def serve_birmingham(web: FixtureWeb, summary_committee: str = "Licensing Sub-Committee A") -> None:
    web.set("/birmingham/Meetings.aspx", birmingham(web, "cmis_base.html"))  # postback buttons only
    web.set("/birmingham/Meetings.aspx?ctl=MeetingCalendarListView&mid=397", birmingham(web, "cmis_listview.html"))
    month = "birmingham/Meetings/tabid/70/ctl/MeetingCalendarPublicNoJava/mid/397/Date/2026-06-01/Default.aspx"
    web.set("/" + month, birmingham(web, "cmis_calendar_month.html",
                                    **{"10:00 Licensing Sub-Committee A": f"10:00 {summary_committee}"}))
    web.set("/" + BHAM_MEETING.format(15042, 4, "SelectedTab/Documents/"), birmingham(web, "cmis_detail_with_minutes.html"))
    web.set("/" + BHAM_MEETING.format(15115, 38, "SelectedTab/Documents/"), birmingham(web, "cmis_detail_no_minutes.html"))
    web.set("/" + BHAM_MEETING.format(15028, 6, "SelectedTab/Documents/"), birmingham(
        web, "cmis_meeting_summary.html", **{"Licensing Sub-Committee A</div>": f"{summary_committee}</div>"}))
    for token in ("id=abc123", "id=def456", "id=xyz789", "czJKcaeAi5tUFL1DTL2UE4sOqCLHzE2A"):
        web.set(f"/Birmingham/Document.ashx?{token}", b"%PDF-1.4 " + token.encode(), PDF)
        web.set(f"/birmingham/Document.ashx?{token}", b"%PDF-1.4 " + token.encode(), PDF)


@needs_birmingham
def test_cmis_reaches_birminghams_meetings_through_postback_only_pages(web: FixtureWeb, home: Path) -> None:
    serve_birmingham(web)
    # Every committee (Birmingham's pages hold planning, standards and licensing meetings), documents whose names
    # speak of agendas: what matters here is that the spider gets to them at all.
    source = {"name": "bham", "kind": "cmis", "start_urls": [web.url("/birmingham/Meetings.aspx")],
              "options": {"lookback_months": 240, "lookahead_days": 730, "all_committees": True,
                          "keywords": ["Agenda Reports", "Agenda Contents", "previous meeting"]}}
    summary = crawl(home, [source])
    assert summary["sources"]["bham"]["ok"], summary["sources"]["bham"]
    requested = {r.path for r in web.requests}
    # the module id read from dnn$ctr397$MeetingCalendarPublic$btnButtonListView gives the list view
    assert "/birmingham/Meetings.aspx?ctl=MeetingCalendarListView&mid=397" in requested
    # the list view's meeting links are requested, not only used to guess the calendar
    assert "/" + BHAM_MEETING.format(15042, 4, "SelectedTab/Documents/") in requested
    assert "/" + BHAM_MEETING.format(15115, 38, "SelectedTab/Documents/") in requested
    # the month calendar is walked from a meeting link's tabid and module id, and its meetings visited
    assert any("/ctl/MeetingCalendarPublicNoJava/mid/397/Date/2026-06-01/" in p for p in requested)
    assert "/" + BHAM_MEETING.format(15028, 6, "SelectedTab/Documents/") in requested
    # documents in the flat ol.DocumentList, by their own names; the minutes are not a plan paper
    assert "/Birmingham/Document.ashx?id=def456" in requested  # Final Agenda Reports - 9th July 2026
    assert "/Birmingham/Document.ashx?id=xyz789" in requested  # Agenda Contents
    assert "/Birmingham/Document.ashx?id=abc123" not in requested  # Final Planning Minutes
    # a bare opaque token is requested exactly as linked (no "=" added) and archived under that URL
    assert "/birmingham/Document.ashx?czJKcaeAi5tUFL1DTL2UE4sOqCLHzE2A" in requested
    with Archive(home) as archive:
        fetches = archive.fetches(crawl_id=summary["crawl_id"])
    token = next(f for f in fetches if "czJK" in f["url"])
    assert token["url"].endswith("Document.ashx?czJKcaeAi5tUFL1DTL2UE4sOqCLHzE2A") and token["status"] == 200
    # the committee comes from div.Value.Committee, not the "Meeting Details" heading
    assert token["link_text"] == "Minutes of the previous meeting (Licensing Sub-Committee A)"


@needs_birmingham
def test_cmis_flat_documents_of_a_health_committee_are_judged_with_its_committee(web: FixtureWeb, home: Path) -> None:
    serve_birmingham(web, summary_committee="Health and Wellbeing Board")  # the real pages, one name changed
    source = {"name": "bham", "kind": "cmis", "start_urls": [web.url("/birmingham/Meetings.aspx")],
              "options": {"lookback_months": 240, "lookahead_days": 730}}  # the focus committees only
    summary = crawl(home, [source])
    assert summary["sources"]["bham"]["ok"]
    requested = {r.path for r in web.requests}
    assert "/" + BHAM_MEETING.format(15028, 6, "SelectedTab/Documents/") in requested
    assert "/" + BHAM_MEETING.format(15042, 4, "SelectedTab/Documents/") not in requested  # planning: not watched
    # no agenda item wraps the document: the meeting's committee (a health committee) says it is worth fetching
    assert "/birmingham/Document.ashx?czJKcaeAi5tUFL1DTL2UE4sOqCLHzE2A" in requested


def test_cmis_pages_that_offer_no_way_to_meetings_report_no_meetings_found(web: FixtureWeb, home: Path) -> None:
    web.set("/cmis/", "<html><body><h1>Welcome</h1><p>Council meetings are held in the Council House.</p>"
                      "<form><input type='submit' name='dnn$ctr12$Search$btnGo' value='Go'></form></body></html>")
    summary = crawl(home, [{"name": "nothing", "kind": "cmis", "start_urls": [web.url("/cmis/")]}])
    result = summary["sources"]["nothing"]
    assert result["ok"] is False and result["error"].startswith("no meetings found")
    runner = CliRunner()
    listed = runner.invoke(app, ["--home", str(home), "sources", "list", "--json"], catch_exceptions=False)
    # the source is not in the registry or home sources.toml; its archive row still carries the verdict
    with Archive(home) as archive:
        row = next(r for r in archive.sources() if r["name"] == "nothing")
    assert row["last_error"].startswith("no meetings found") and row["consecutive_failures"] == 1
    assert listed.exit_code == 0
    from tracker.cli.sources import source_health

    assert source_health(row, {"pages": 1})["health"] == "no-meetings"
