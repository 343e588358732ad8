"""`stp-tracker demo`: the daemon's machinery driven through a plan's life on a local web, in under a minute."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from tracker.demo.web import PDF, DemoWeb, page, tiny_pdf

EXPECTED = ("leaked", "published", "revised", "replaced")

DRAFT = [
    "CONFIDENTIAL - DRAFT FOR DISCUSSION - NOT FOR PUBLICATION",
    "South Yorkshire and Bassetlaw Sustainability and Transformation Plan",
    "Draft submission to NHS England, October 2016",
    "Our footprint serves 1.5 million people across Barnsley, Bassetlaw, Doncaster, Rotherham and Sheffield.",
    "If we do nothing, the gap between funding and demand will reach £571m by 2020/21.",
    "We propose an acute bed reduction of 180 beds across the five district general hospitals.",
    "Hyper acute stroke services will be consolidated onto three sites.",
    "Children's surgery and anaesthesia will be centralised in Sheffield.",
]
PUBLISHED = [
    "South Yorkshire and Bassetlaw Sustainability and Transformation Plan",
    "October 2016 submission to NHS England. Public summary",
    "Our footprint serves 1.5 million people across Barnsley, Bassetlaw, Doncaster, Rotherham and Sheffield.",
    "If we do nothing, the gap between funding and demand will reach £600m by 2020/21.",
    "We propose an acute bed reduction of 180 beds across the five district general hospitals.",
    "Hyper acute stroke services will be consolidated onto three sites.",
    "Children's surgery and anaesthesia will be centralised in Sheffield.",
]
REVISED = [line.replace("180 beds", "320 beds") for line in PUBLISHED] + [
    "Bassetlaw A&E will close overnight from April 2017.",
]
FIVE_YEAR = [
    "South Yorkshire and Bassetlaw Integrated Care System",
    "Five Year Plan 2019/20 to 2023/24",
    "Our response to the NHS Long Term Plan, November 2019.",
    "This plan sets out how the system will meet the commitments of the Long Term Plan.",
    "Mental health investment will grow by £42m over five years.",
    "We will deliver 120 additional community nursing posts by 2023/24.",
]
AGENDA = [
    "Sheffield City Council", "Health and Wellbeing Board", "Agenda. Thursday 27 October 2016, 2.00 pm, Town Hall",
    "1. Apologies for absence. 2. Declarations of interest. 3. Minutes of the previous meeting.",
]
ANNUAL_REPORT = [
    "Sheffield Clinical Commissioning Group", "Annual Report and Accounts 2015/16",
    "This report describes the group's governance, membership and financial statements for the year.",
]

STP_PDF = "/ics/docs/syb-stp-october-2016.pdf"
FYP_PDF = "/ics/docs/syb-five-year-plan-2019.pdf"
DRAFT_PDF = "/council/documents/s1002/Appendix-A-Draft-STP.pdf"


@dataclass
class Step:
    title: str
    change: Callable[[DemoWeb], None]
    expect: tuple[str, ...]  # the alerting event kinds this step should raise


def _ics(web: DemoWeb, plans: list[tuple[str, str]]) -> None:
    web.set("/ics/", page("South Yorkshire and Bassetlaw ICS", "<p>Working together for health and care.</p>",
                          [("/ics/plans/", "Our plans")]))
    web.set("/ics/plans/", page("Our plans", "<p>Our strategy and plans.</p>", plans))


def _baseline(web: DemoWeb) -> None:
    _ics(web, [("/ics/docs/annual-report-2015-16.pdf", "Annual report 2015/16")])
    web.set("/ics/docs/annual-report-2015-16.pdf", tiny_pdf(ANNUAL_REPORT, title="Annual report"), PDF)
    web.set("/council/", page("Sheffield City Council - Health and Wellbeing Board", "<p>Meeting papers.</p>",
                              [("/council/documents/s1001/Agenda.pdf", "Agenda, 27 October 2016")]))
    web.set("/council/documents/s1001/Agenda.pdf", tiny_pdf(AGENDA, title="Agenda"), PDF)
    web.set("/campaign/", page("Save Our NHS Sheffield", "<p>News from the campaign.</p>"))


def _leak(web: DemoWeb) -> None:
    web.set("/council/", page("Sheffield City Council - Health and Wellbeing Board", "<p>Meeting papers.</p>",
                              [("/council/documents/s1001/Agenda.pdf", "Agenda, 27 October 2016"),
                               (DRAFT_PDF, "Appendix A - Draft STP")]))
    web.set(DRAFT_PDF, tiny_pdf(DRAFT, title="South Yorkshire and Bassetlaw STP"), PDF)
    web.set("/campaign/", page("Save Our NHS Sheffield", "<p>News from the campaign.</p>",
                               [("/campaign/files/leaked-stp.pdf", "Leaked: the secret plan for our hospitals")]))
    web.set("/campaign/files/leaked-stp.pdf", tiny_pdf(DRAFT, title="South Yorkshire and Bassetlaw STP"), PDF)


def _publish(web: DemoWeb) -> None:
    _ics(web, [("/ics/docs/annual-report-2015-16.pdf", "Annual report 2015/16"),
               (STP_PDF, "Our STP (October 2016)")])
    web.set(STP_PDF, tiny_pdf(PUBLISHED, title="SYB STP public summary"), PDF)


def _revise(web: DemoWeb) -> None:
    web.set(STP_PDF, tiny_pdf(REVISED, title="SYB STP public summary"), PDF)


def _successor(web: DemoWeb) -> None:
    _ics(web, [("/ics/docs/annual-report-2015-16.pdf", "Annual report 2015/16"),
               (STP_PDF, "Our STP (October 2016)"), (FYP_PDF, "Five Year Plan 2019-2024")])
    web.set(FYP_PDF, tiny_pdf(FIVE_YEAR, title="SYB Five Year Plan"), PDF)


STORY = [
    Step("Baseline: what is already there is recorded, nothing is announced", _baseline, ()),
    Step("A draft STP turns up in council papers and on a campaign site", _leak, ("leaked",)),
    Step("The ICS publishes the plan on its official site", _publish, ("published",)),
    Step("The plan is revised: 180 beds become 320, an A&E closes overnight", _revise, ("revised",)),
    Step("The 2019 five-year plan replaces the 2016 STP", _successor, ("replaced",)),
]


def demo_sources(web: DemoWeb) -> list[Any]:
    from crawler import sources_from_dicts

    return sources_from_dicts([
        {"name": "demo-ics", "footprint": "QF7", "kind": "site", "official": True,
         "start_urls": [web.url("/ics/")], "max_depth": 2},
        {"name": "demo-council", "footprint": "QF7", "kind": "site", "official": False,
         "start_urls": [web.url("/council/")], "max_depth": 1},
        {"name": "demo-campaign", "footprint": "QF7", "kind": "site", "official": False,
         "start_urls": [web.url("/campaign/")], "max_depth": 1},
    ], origin="<demo>")


def run_demo(home: Path | None = None, *, pause: float = 0.0, console: Console | None = None) -> int:
    """Run the story; print each step's events; write an Atom feed. Returns 0 if every expected event came."""
    from crawler import fast_test_settings

    from tracker.daemon import Daemon, DaemonSettings, configure_logging, run_on_reactor

    console = console or Console()
    verbose = logging.getLogger().level <= logging.INFO
    configure_logging("text", verbose=verbose)
    if not verbose:
        logging.getLogger("stp_tracker").setLevel(logging.WARNING)
    temporary = home is None
    home = Path(tempfile.mkdtemp(prefix="stp-demo-")) if home is None else Path(home)
    web = DemoWeb().start()
    started = time.monotonic()
    settings = DaemonSettings(scrapy=fast_test_settings(), heartbeat_seconds=2.0)
    daemon = Daemon(home, demo_sources(web), settings, mode="demo")
    seen: list[str] = []
    missing: list[str] = []

    async def story() -> None:
        import asyncio

        from tracker.daemon import install_stop_signals

        install_stop_signals(daemon)
        await daemon.start(schedule=False)
        try:
            console.print(f"[bold]stp-tracker demo[/bold]: a local web at {web.url('/')}, data home {home}",
                          highlight=False)
            for number, step in enumerate(STORY, start=1):
                if daemon.stopping:
                    break
                step.change(web)
                console.print(f"\n[bold]{number}. {step.title}[/bold]", highlight=False)
                result = await daemon.crawl_now(list(daemon.sources))
                if result.error:
                    console.print(f"   [red]crawl failed:[/red] {result.error}", highlight=False)
                raised = []
                for event_id in result.events:
                    event = daemon.archive.event(event_id)
                    if event is None:
                        continue
                    style = "green" if event.alert else "dim"
                    console.print(f"   [{style}]{event.kind:<10}[/{style}] {event.summary}", highlight=False)
                    if event.alert:
                        raised.append(event.kind)
                if not result.events:
                    console.print("   (no events)", style="dim")
                seen.extend(raised)
                missing.extend(k for k in step.expect if k not in raised)
                if pause:
                    await asyncio.sleep(pause)
            await daemon.drain()
            _write_feed(daemon.archive, home, console, temporary)
        finally:
            await daemon.shutdown()

    try:
        run_on_reactor(story)
    finally:
        web.stop()
        if temporary:
            shutil.rmtree(home, ignore_errors=True)
    seconds = time.monotonic() - started
    if missing:
        console.print(f"\n[red]demo incomplete:[/red] expected events that did not come: {', '.join(missing)} "
                      f"({seconds:.0f} s)", highlight=False)
        return 1
    console.print(f"\n[bold green]done[/bold green] in {seconds:.0f} s: " + ", ".join(seen)
                  + ("" if temporary else f". Explore it: stp-tracker --home {home} events"), highlight=False)
    return 0


def _write_feed(archive: Any, home: Path, console: Console, temporary: bool) -> None:
    from alerts import write_feed

    path = home / "feed.atom"
    size = write_feed(archive, path)
    console.print(f"\nAtom feed of these events: {path} ({size} bytes"
                  + ("; removed at exit: use --home DIR to keep it)" if temporary else ")"), highlight=False)
