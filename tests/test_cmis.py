"""The CMIS spider on a small hand-made CMIS-like site (DNN path URLs, opaque Document.ashx links)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fixtureweb import FixtureWeb
from storage import Archive
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
