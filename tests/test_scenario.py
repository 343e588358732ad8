"""The whole flow through the real command line: a small web moves through a plan's life, and every event
(and every non-event) is checked. Three servers on three loopback addresses play an ICS's official site, a
council's committee papers and a campaign site."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clirun import run_cli

from tests import scenario_web as story
from tests.fixtureweb import FixtureWeb

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "tracker.cli"]
FAST_CRAWL = """
[crawl.scrapy]
AUTOTHROTTLE_ENABLED = false
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 5
RETRY_TIMES = 0
"""


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = run_cli(home, *args, timeout=240)
    if check and result.returncode != 0:
        raise AssertionError(f"stp-tracker {' '.join(args)} exited {result.returncode}\n{result.stderr}")
    return result


class Story:
    def __init__(self, home: Path, official: FixtureWeb, council: FixtureWeb, campaign: FixtureWeb):
        self.home, self.official, self.council, self.campaign = home, official, council, campaign
        self.seen: set[int] = set()
        self.sources = home / "sources.test.toml"
        self.sources.write_text(f"""
[[source]]
name = "syb-ics"
footprint = "QF7"
kind = "site"
official = true
start_urls = ["{official.url('/')}"]
max_depth = 2

[[source]]
name = "sheffield-council"
footprint = "QF7"
kind = "site"
official = false
start_urls = ["{council.url('/')}"]
max_depth = 1

[[source]]
name = "save-our-nhs"
footprint = "QF7"
kind = "site"
official = false
start_urls = ["{campaign.url('/')}"]
max_depth = 1
""")
        (home / "config.toml").write_text(FAST_CRAWL)

    def crawl(self) -> list[dict]:
        """Crawl every source once; return the events (all kinds) this crawl added."""
        run(self.home, "crawl", "--sources", str(self.sources))
        events = json.loads(run(self.home, "events", "--all", "--json").stdout)
        new = [e for e in events if e["id"] not in self.seen]
        self.seen |= {e["id"] for e in events}
        return new


@pytest.fixture
def webs():
    servers = [FixtureWeb(host=f"127.0.0.{n}") for n in (1, 2, 3)]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


def kinds(events: list[dict]) -> list[str]:
    return sorted(e["kind"] for e in events)


def test_a_plans_life_from_leak_to_reinstatement(tmp_path, webs):
    official, council, campaign = webs
    (tmp_path / "home").mkdir()
    s = Story(tmp_path / "home", official, council, campaign)

    # 1. Baseline: what exists is recorded, nothing is announced.
    story.official_site(official, plans=[("/docs/annual-report-2015-16.pdf", "Annual report 2015/16")])
    official.set("/docs/annual-report-2015-16.pdf", story._pdf(story.ANNUAL_REPORT, title="Annual report"),
                 content_type="application/pdf")
    story.council_site(council, documents=[("/documents/s1001/Agenda.pdf", "Agenda, 27 October 2016")])
    council.set("/documents/s1001/Agenda.pdf", story._pdf(story.AGENDA, title="Agenda"), content_type="application/pdf")
    story.campaign_site(campaign, posts=[])
    events = s.crawl()
    assert [e for e in events if e["alert"]] == [], events
    docs = json.loads(run(s.home, "documents", "--json").stdout)
    assert any("annual" in (d["url"] or "").lower() for d in docs)

    # 2. The draft surfaces in council papers: leaked, for QF7, 2016 generation, not official.
    council_docs = [("/documents/s1001/Agenda.pdf", "Agenda, 27 October 2016"),
                    ("/documents/s1002/Appendix%20A%20-%20Draft%20STP.pdf", "Appendix A - Draft STP")]
    story.council_site(council, documents=council_docs)
    council.set("/documents/s1002/Appendix%20A%20-%20Draft%20STP.pdf",
                story._pdf(story.STP_DRAFT, title="SYB STP draft"), content_type="application/pdf")
    events = s.crawl()
    assert kinds(events) == ["leaked"], events
    leak = events[0]
    assert leak["footprint"]["code"] == "QF7"
    assert leak["generation"] == "2016-stp"
    assert leak["official"] is False
    assert leak["source"] == "sheffield-council"

    # 3. Official publication (and a campaign copy in the same run): published, linked to the leak.
    published_pdf = story._pdf(story.STP_PUBLISHED, title="SYB STP public summary")
    story.official_site(official, plans=[("/docs/annual-report-2015-16.pdf", "Annual report 2015/16"),
                                         ("/docs/syb-stp-october-2016.pdf", "Our STP (October 2016)")])
    official.set("/docs/syb-stp-october-2016.pdf", published_pdf, content_type="application/pdf")
    story.campaign_site(campaign, posts=[("/files/stp-summary.pdf", "The STP is out: read it here")])
    campaign.set("/files/stp-summary.pdf", published_pdf, content_type="application/pdf")
    events = s.crawl()
    assert kinds(events) == ["published"], events
    pub = events[0]
    assert pub["document"]["id"] == leak["document"]["id"], "the published plan is the leaked plan"
    assert pub["official"] is True and pub["source"] == "syb-ics"
    assert pub["versions"]["before"] == leak["versions"]["after"]
    money = [(f["before"], f["after"]) for f in pub["changes"]["figures"]]
    assert any("571" in str(b) and "600" in str(a) for b, a in money), pub["changes"]

    # 4. Noise only: the PDF re-saved with new metadata, a new footer date, a new cookie banner.
    story.official_site(official, plans=[("/docs/annual-report-2015-16.pdf", "Annual report 2015/16"),
                                         ("/docs/syb-stp-october-2016.pdf", "Our STP (October 2016)")],
                        footer=story.FOOTER_LATER, cookie="This site uses cookies. Manage your preferences.")
    official.set("/docs/syb-stp-october-2016.pdf",
                 story._pdf(story.STP_PUBLISHED, title="SYB STP public summary", doc_id="resaved-2",
                            creation="D:20170217164000"), content_type="application/pdf")
    events = s.crawl()
    assert [e for e in events if e["alert"]] == [], events
    history = json.loads(run(s.home, "history", str(pub["document"]["id"]), "--json").stdout)
    assert len(history) == 2, "draft + published; the re-saved PDF is not a new version"

    # 5. A real revision: 180 beds become 320, and an A&E closes overnight.
    official.set("/docs/syb-stp-october-2016.pdf", story._pdf(story.STP_REVISED, title="SYB STP public summary"),
                 content_type="application/pdf")
    events = s.crawl()
    assert kinds(events) == ["revised"], events
    revised = events[0]
    figures = [(str(f["before"]), str(f["after"])) for f in revised["changes"]["figures"]]
    assert any("180" in b and "320" in a for b, a in figures), revised["changes"]
    assert "A&E" in revised["summary"] or any("A&E" in t for t in revised["changes"]["added"])
    diff = run(s.home, "diff", str(revised["versions"]["before"]), str(revised["versions"]["after"]))
    assert "320" in diff.stdout

    # 6. The successor plan: replaced, naming the STP; not also published.
    story.official_site(official, plans=[("/docs/annual-report-2015-16.pdf", "Annual report 2015/16"),
                                         ("/docs/syb-stp-october-2016.pdf", "Our STP (October 2016)"),
                                         ("/docs/syb-five-year-plan-2019.pdf", "Five Year Plan 2019-2024")])
    official.set("/docs/syb-five-year-plan-2019.pdf", story._pdf(story.FIVE_YEAR_PLAN, title="SYB Five Year Plan"),
                 content_type="application/pdf")
    events = s.crawl()
    assert kinds(events) == ["replaced"], events
    replaced = events[0]
    assert replaced["generation"] == "2019-five-year"
    assert replaced["changes"]["replaces"]["id"] == pub["document"]["id"]

    # 7. The STP vanishes from the official site; the five-year plan has a 503 hiccup: nothing yet.
    story.official_site(official, plans=[("/docs/annual-report-2015-16.pdf", "Annual report 2015/16"),
                                         ("/docs/syb-five-year-plan-2019.pdf", "Five Year Plan 2019-2024")])
    official.remove("/docs/syb-stp-october-2016.pdf")
    official.set("/docs/syb-five-year-plan-2019.pdf", b"Service Unavailable", content_type="text/plain", status=503)
    events = s.crawl()
    assert [e for e in events if e["alert"]] == [], events

    # 8. Gone again (the council's draft copy does not prevent it): withdrawn, from the official source only.
    official.set("/docs/syb-five-year-plan-2019.pdf", story._pdf(story.FIVE_YEAR_PLAN, title="SYB Five Year Plan"),
                 content_type="application/pdf")
    events = s.crawl()
    assert kinds(events) == ["withdrawn"], events
    assert events[0]["document"]["id"] == pub["document"]["id"] and events[0]["source"] == "syb-ics"

    # 9. Back again: reinstated.
    story.official_site(official, plans=[("/docs/annual-report-2015-16.pdf", "Annual report 2015/16"),
                                         ("/docs/syb-stp-october-2016.pdf", "Our STP (October 2016)"),
                                         ("/docs/syb-five-year-plan-2019.pdf", "Five Year Plan 2019-2024")])
    official.set("/docs/syb-stp-october-2016.pdf", story._pdf(story.STP_REVISED, title="SYB STP public summary"),
                 content_type="application/pdf")
    events = s.crawl()
    assert kinds(events) == ["reinstated"], events

    # Every alert-worthy event of the story, in order, and nothing else.
    alerts = json.loads(run(s.home, "events", "--json").stdout)
    assert [e["kind"] for e in alerts] == ["leaked", "published", "revised", "replaced", "withdrawn", "reinstated"]
    for event in alerts:  # each traces back to archived versions
        for vid in filter(None, event["versions"].values()):
            assert run(s.home, "show", str(vid)).stdout.strip()
