"""A web as messy as the real one, for tests/test_messy_world.py and bench/bench_events.py.

An ICB site of 60+ pages (paginated news lists whose items rotate, monthly board papers that are not plans, an
endless calendar, `;jsessionid=` in links, a cookie banner with a random id, "Page last reviewed: <today>", PDFs
with running headers and footers), the footprint's old 2016 partnership domain (which moves: every path 301s to
the ICB site), and two councils' ModernGov-shaped committee papers in two footprints (QYG and QF7). Each host is
its own MessyWeb on its own loopback address. STATES are the story, each with the alert events it must raise.

Run alone: python -m tests.messy_world [--json]   (crawls every state once, prints what each raised)
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from messyweb import MessyWeb  # noqa: E402
from tracker.demo.web import make_pdf  # noqa: E402

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# -- the plans' texts ---------------------------------------------------------------------------------------

FYP = """Cheshire and Merseyside Five Year Strategic Plan 2019/20 - 2023/24
Our response to the NHS Long Term Plan
Foreword
This plan sets out how the Cheshire and Merseyside Health and Care Partnership will meet the ambitions of the
NHS Long Term Plan over the five years from 2019/20 to 2023/24.
Our vision is that everyone in Cheshire and Merseyside lives a longer and healthier life.
We will reduce the financial gap of £1.1bn that we would face if we did nothing by 2023/24.
Acute bed occupancy will fall to 92% as community services grow by £48m a year.
We will open four urgent treatment centres in Halton, Knowsley, Wirral and Warrington by March 2021.
Mental health spending will rise by £62m, reaching 1,200 more people with talking therapies.
Primary care networks will cover every practice, with 310 more clinical pharmacists in post.
Our priorities are cancer, mental health, cardiovascular disease and the health of children.
We will become an integrated care system by April 2021, working with our nine places.
The financial tests of the Long Term Plan are met in every year of this plan."""

FYP_MORE = [
    f"In {place}, the place partnership will lead work on {topic}, with a shared budget agreed by the board."
    for place in ("Cheshire East", "Cheshire West", "Halton", "Knowsley", "Liverpool", "Sefton", "St Helens",
                  "Warrington", "Wirral")
    for topic in ("frailty", "children's services", "population health")
]

JFP_DRAFT = """NHS Cheshire and Merseyside Joint Forward Plan 2023-28
DRAFT v0.7 - not for publication
Foreword
This plan is our first Joint Forward Plan as a statutory integrated care board, for 2023/24 to 2027/28.
It responds to the Health and Care Act 2022 and the four core purposes of integrated care systems.
Our ambitions are to tackle health inequalities and to improve outcomes in population health.
We will reduce the elective waiting list by 40% and hold 18-week waits in 65% of specialties.
Acute beds will reduce from 5,400 to 5,150 as virtual wards grow to 800 beds.
Spending on community services will grow by £35m each year of this plan.
We will close the Liverpool Womens Hospital maternity unit and move it to the Royal site by 2026.
Our workforce plan needs 1,400 more nurses and a 10% cut in agency spending.
The Joint Capital Resource Use Plan sets out £410m of capital schemes."""

JFP_FINAL = (JFP_DRAFT.replace("DRAFT v0.7 - not for publication\n", "Published 30 June 2023\n")
             .replace("reduce the elective waiting list by 40%", "reduce the elective waiting list by 35%")
             .replace("£35m each year", "£38m each year"))
JFP_REVISED = JFP_FINAL.replace("from 5,400 to 5,150", "from 5,400 to 4,900").replace(
    "£410m of capital", "£455m of capital")

SCP = """NHS Cheshire and Merseyside Strategic Commissioning Plan 2026/27 - 2029/30
Our five year strategic commissioning plan
Foreword
This is our plan as a strategic commissioner under the 10 Year Health Plan and the medium term planning framework.
It is built on the three shifts: hospital to community, analogue to digital, and sickness to prevention.
Neighbourhood health teams will cover all nine places by 2028, each with a shared budget.
We will commission 1,100 virtual ward beds and reduce outpatient follow-ups by 25%.
The financial gap of £390m will be closed by 2029/30 through productivity and estate savings.
We will merge the commissioning functions of Cheshire and Merseyside with a board in common."""

SYB_JFP_DRAFT = """NHS South Yorkshire Joint Forward Plan 2023-28
Draft for the Health and Wellbeing Board - not for publication
Foreword
This Joint Forward Plan sets out how the South Yorkshire integrated care board will meet the needs of its people
from 2023/24 to 2027/28, in line with the Health and Care Act 2022.
Our priorities are to reduce health inequalities across Barnsley, Doncaster, Rotherham and Sheffield.
We will reduce acute beds at Sheffield Teaching Hospitals by 120 and open two community diagnostic centres.
Our mental health investment grows by £21m, and 600 more people will get early intervention in psychosis.
The Joint Capital Resource Use Plan includes £150m for the Doncaster Royal Infirmary rebuild."""

STP_2016 = """Cheshire and Merseyside Sustainability and Transformation Plan
October 2016 submission
This Sustainability and Transformation Plan sets out how our footprint will close a £999m financial gap by 2020/21.
Our vision is a health and care system that is sustainable for 2016/17 to 2020/21.
We propose to consolidate specialist services onto fewer sites and to reduce acute beds by 400.
The STP footprint brings together twelve CCGs, twenty providers and nine councils."""

AGENDA = "Wirral Council Health and Wellbeing Board\nAgenda\nApologies for absence\nDeclarations of interest\nMinutes of the previous meeting"


def plan_pages(text: str, *, lines_per_page: int, header: str, footer: str, number_at: str = "bottom",
               extra: list[str] | None = None) -> list[str]:
    """A plan's lines laid out on pages with a running header, footer and page numbers (where a producer puts
    them: at the bottom, the top, or between header and body)."""
    lines = [w for para in text.split("\n") for w in _wrap(para, 88)] + [w for p in (extra or []) for w in _wrap(p, 88)]
    pages = []
    for n, start in enumerate(range(0, len(lines), lines_per_page), start=1):
        body = lines[start:start + lines_per_page]
        if number_at == "top":
            pages.append("\n".join([str(n), header, *body, footer]))
        else:
            pages.append("\n".join([header, *body, footer, f"Page {n}"]))
    return pages


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


def pdf(text: str, *, title: str, producer: str = "Microsoft Word for Microsoft 365", lines_per_page: int = 8,
        header: str = "Cheshire and Merseyside", footer: str = "Working together for health",
        number_at: str = "bottom", extra: list[str] | None = None, doc_id: str | None = None) -> bytes:
    return make_pdf(plan_pages(text, lines_per_page=lines_per_page, header=header, footer=footer,
                               number_at=number_at, extra=extra), title=title, producer=producer, doc_id=doc_id)


def docx(text: str, title: str) -> bytes:
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(f"<w:p><w:r><w:t xml:space='preserve'>{line.replace('&', '&amp;')}</w:t></w:r></w:p>"
                   for line in text.split("\n"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        zf.writestr("word/document.xml", f'<?xml version="1.0"?><w:document xmlns:w="{ns}"><w:body>{body}</w:body></w:document>')
        zf.writestr("docProps/core.xml", '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
                    f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title></cp:coreProperties>')
    return out.getvalue()


# -- the ICB site ------------------------------------------------------------------------------------------

NEWS = [(f"news-{i:02d}", f"{topic} update", f"{topic}: what the board heard this month, and what comes next for "
         f"patients in Cheshire and Merseyside.")
        for i, topic in enumerate(["Winter vaccination", "Urgent care", "Dental access", "Pharmacy first",
                                   "Community diagnostic centre", "Cancer screening", "Mental health crisis line",
                                   "Children's hearing service", "Maternity survey", "Digital records",
                                   "Volunteer awards", "Hospital discharge", "Stroke care", "GP access",
                                   "Carers week", "Health inequalities fund", "Eye care", "Falls prevention"])]


def page(title: str, body: str, *, nav: bool = True) -> str:
    links = ("<nav><a href='/'>Home</a> <a href='/our-plans/'>Our plans</a> <a href='/news/'>News</a> "
             "<a href='/board/{{SESSION}}'>Board meetings</a> <a href='/events/2025/06/'>Events</a> "
             "<a href='/about/our-history/'>Our history</a></nav>") if nav else ""
    return ("<!doctype html><html><head><title>" + title + " | NHS Cheshire and Merseyside</title></head><body>"
            "<div class='cookie-banner' id='cc-{{COOKIE}}'>We use cookies to improve your experience of our website."
            " <button>Accept all cookies</button></div>" + links +
            f"<main><h1>{title}</h1>{body}<p>Page last reviewed: {{{{TODAY}}}}</p></main>"
            "<footer>NHS Cheshire and Merseyside Integrated Care Board</footer></body></html>")


def icb_site(web: MessyWeb, state: "State") -> None:
    web.routes.clear()
    web.outage = 503 if state.outage else None
    plans = [("/publications/five-year-plan-2019.pdf", "Five Year Strategic Plan 2019-24 (PDF)")] if state.fyp else []
    if state.fyp and state.fyp_docx:
        plans.append(("/publications/five-year-plan-2019-accessible.docx", "Five Year Strategic Plan (accessible version)"))
    plans.append(("/publications/archive/cm-stp-2016.pdf", "Sustainability and Transformation Plan 2016 (archived)"))
    if state.jfp:
        plans.append(("/publications/jfp-2023-28.pdf", "Joint Forward Plan 2023-28"))
    if state.scp:
        plans.append(("/publications/strategic-commissioning-plan-2026-30.pdf", "Strategic Commissioning Plan 2026-30"))
    items = "".join(f"<li><a href='{h}'>{t}</a></li>" for h, t in plans)
    web.set("/", page("Home", "<p>NHS Cheshire and Merseyside plans and buys health services for 2.7 million people."
                              "</p><p><a href='/our-plans/'>Read our plans</a> <a href='/news/'>Latest news</a></p>"))
    web.set("/our-plans/", page("Our plans", "<p>Our plans and strategies, including our Joint Forward Plan, our "
                                             "Five Year Strategic Plan and the Sustainability and Transformation Plan "
                                             f"of 2016.</p><ul>{items}</ul>"))
    if state.jfp:
        web.set("/our-plans/joint-forward-plan/", page("Joint Forward Plan", "<p>Our Joint Forward Plan 2023-28 sets "
                "out how we will meet the needs of our population over five years. Read the Joint Forward Plan "
                "(<a href='/publications/jfp-2023-28.pdf'>PDF</a>).</p><p>Have your say on our plans.</p>"))
    # news: a paginated list whose items rotate (the newest first, a new one each crawl)
    news = list(NEWS)
    if state.jfp:
        news.insert(0, ("jfp-published", "Our Joint Forward Plan is published", "The Joint Forward Plan 2023-28 for "
                        "Cheshire and Merseyside is published today. <a href='/publications/jfp-2023-28.pdf'>Read the "
                        "Joint Forward Plan</a>. It sets out our ambitions and the integrated care board's priorities."))
    if state.moved:
        news.insert(0, ("partnership-site-closed", "Our partnership website has closed", "The Cheshire and "
                        "Merseyside Health and Care Partnership website, home of our 2016 Sustainability and "
                        "Transformation Plan, has closed; its pages now come here."))
    shift = state.number % len(NEWS)
    rotated = news[:2] + news[2:][shift:] + news[2:][:shift]
    per = 5
    pages_n = (len(rotated) + per - 1) // per
    for p in range(pages_n):
        chunk = "".join(f"<li><a href='/news/{slug}/?utm_source=list&amp;utm_medium=web'>{t}</a></li>"
                        for slug, t, _ in rotated[p * per:(p + 1) * per])
        nav = (f"<a href='/news/?page={p}'>Newer</a> " if p else "") + (
            f"<a href='/news/?page={p + 2}'>Older</a>" if p + 1 < pages_n else "")
        web.set("/news/" if p == 0 else f"/news/?page={p + 1}", page("News", f"<ul>{chunk}</ul>{nav}"))
    for slug, t, text in news:
        web.set(f"/news/{slug}/", page(t, f"<p>Posted on 3 June 2025.</p><p>{text}</p>"))
    # board meetings: monthly pages with papers that are not plans, links with session ids
    months = [f"2024-{m:02d}" for m in range(7, 13)] + [f"2025-{m:02d}" for m in range(1, 7)]
    web.set("/board/", page("Board meetings", "<ul>" + "".join(
        f"<li><a href='/board/{m}/{{{{SESSION}}}}'>Board meeting {m}</a></li>" for m in months) + "</ul>"))
    for m in months:
        web.set(f"/board/{m}/", page(f"Board meeting {m}", f"<p>Papers for the board meeting of {m}.</p><ul>"
                f"<li><a href='/board/{m}/papers.pdf{{{{SESSION}}}}'>Board papers {m}</a></li>"
                f"<li><a href='/board/{m}/minutes.pdf{{{{SESSION}}}}'>Minutes {m}</a></li></ul>"))
        web.set(f"/board/{m}/papers.pdf", make_pdf([f"NHS Cheshire and Merseyside Board\nMeeting of {m}\nAgenda\n"
                f"Apologies for absence\nDeclarations of interest\nReport of the Chief Executive\nPurpose of the "
                f"report: to update the board on finance.\nRecommendations: the board is asked to note the report."],
                title=f"Board papers {m}"), PDF)
        web.set(f"/board/{m}/minutes.pdf", make_pdf([f"Minutes of the board meeting of {m}\nPresent: the chair and "
                f"members\nApologies for absence were received.\nMinutes of the previous meeting were agreed."],
                title=f"Minutes {m}"), PDF)
    # an endless calendar: every month links to the one before and after
    for y in range(2015, 2036):
        for mo in range(1, 13):
            prev = (y, mo - 1) if mo > 1 else (y - 1, 12)
            nxt = (y, mo + 1) if mo < 12 else (y + 1, 1)
            web.set(f"/events/{y}/{mo:02d}/", page(f"Events {y}-{mo:02d}",
                    f"<p>No events this month.</p><a href='/events/{prev[0]}/{prev[1]:02d}/'>Previous month</a> "
                    f"<a href='/events/{nxt[0]}/{nxt[1]:02d}/'>Next month</a>"))
    web.set("/about/our-history/", page("Our history", "<p>Our history: in 2016 the Cheshire and Merseyside "
            "Health and Care Partnership wrote our Sustainability and Transformation Plan; in 2019 our Five Year "
            "Strategic Plan answered the NHS Long Term Plan; in 2022 the integrated care board took over, and "
            "its Joint Forward Plan followed.</p>"))
    web.set("/about/", page("About us", "<p>Who we are: the integrated care board for nine places.</p>"))
    for name in ("contact", "accessibility", "privacy", "cookies", "freedom-of-information", "complaints",
                 "careers", "get-involved", "your-health", "places", "primary-care", "mental-health"):
        web.set(f"/{name}/", page(name.replace("-", " ").capitalize(), f"<p>About {name.replace('-', ' ')}.</p>"))
    # the plans
    if state.fyp:
        web.set("/publications/five-year-plan-2019.pdf", state.fyp_bytes, PDF)
        if state.fyp_docx:
            web.set("/publications/five-year-plan-2019-accessible.docx", docx("\n".join([FYP, *FYP_MORE]),
                    "Five Year Strategic Plan 2019-24"), DOCX)
    web.set("/publications/archive/cm-stp-2016.pdf", STP_PDF, PDF)
    if state.jfp:
        web.set("/publications/jfp-2023-28.pdf", pdf(state.jfp, title="C&M Joint Forward Plan 2023-28",
                header="Joint Forward Plan 2023-28", footer="NHS Cheshire and Merseyside"), PDF)
    if state.scp:
        web.set("/publications/strategic-commissioning-plan-2026-30.pdf", pdf(SCP, title="Strategic Commissioning Plan",
                header="Strategic Commissioning Plan", footer="NHS Cheshire and Merseyside"), PDF)


STP_PDF = pdf(STP_2016, title="Cheshire and Merseyside STP", header="Cheshire and Merseyside STP",
              footer="October 2016", lines_per_page=3)
FYP_PDF = pdf(FYP, title="Five Year Strategic Plan 2019-24", extra=FYP_MORE)
# The same plan regenerated by another producer on another page size: other page breaks, the page number at the
# top, the header now "- OFFICIAL".
FYP_REGENERATED = pdf(FYP, title="Five Year Strategic Plan 2019-24", producer="Adobe PDF Library 23.1",
                      lines_per_page=13, header="Cheshire and Merseyside - OFFICIAL", number_at="top", extra=FYP_MORE)


def old_site(web: MessyWeb, state: "State", icb: MessyWeb) -> None:
    web.routes.clear()
    web.move_to = icb.url("") if state.moved else None
    web.move_map = {"/wp-content/uploads/2016/11/cm-stp.pdf": "/publications/archive/cm-stp-2016.pdf",
                    "/our-history/": "/about/our-history/", "*": "/"}

    def old(title: str, body: str) -> str:
        return (f"<html><head><title>{title} | Cheshire and Merseyside Health and Care Partnership</title></head>"
                f"<body><nav><a href='/'>Home</a> <a href='/our-plan/'>Our plan</a> <a href='/news/'>News</a> "
                f"<a href='/our-history/'>Our history</a></nav><main><h1>{title}</h1>{body}</main></body></html>")
    web.set("/", old("Cheshire and Merseyside Health and Care Partnership", "<p>Working together.</p>"))
    web.set("/our-plan/", old("Our plan", "<p>Our Sustainability and Transformation Plan (STP), October 2016: "
            "<a href='/wp-content/uploads/2016/11/cm-stp.pdf'>read the STP</a>.</p>"))
    web.set("/news/", old("News", "<ul><li><a href='/news/stp-published/'>Our STP is published</a></li></ul>"))
    web.set("/news/stp-published/", old("Our STP is published", "<p>News: the Cheshire and Merseyside "
            "Sustainability and Transformation Plan was published today.</p>"))
    web.set("/our-history/", old("Our history", "<p>Our history: the partnership was formed in 2016 to write the "
            "Sustainability and Transformation Plan.</p>"))
    web.set("/wp-content/uploads/2016/11/cm-stp.pdf", STP_PDF, PDF)


def council_site(web: MessyWeb, *, name: str, leak: tuple[str, bytes] | None) -> None:
    """ModernGov's shapes: a committee's meetings, an agenda page per meeting, documents under /documents/sNNNN/."""
    web.routes.clear()
    meetings = [(10200 + i, f"2025-{i + 1:02d}-14") for i in range(6)]
    web.set("/mgCommitteeDetails.aspx?ID=150", "<html><body><h2>Health and Wellbeing Board</h2><ul>" + "".join(
        f"<li><a href='/ieListDocuments.aspx?CId=150&amp;MId={mid}'>{day}</a></li>" for mid, day in meetings)
        + "</ul></body></html>")
    for i, (mid, day) in enumerate(meetings):
        docs = [(f"/documents/s{5000 + i}/Agenda {day}.pdf", f"Agenda {day}")]
        if leak and i == len(meetings) - 1:
            docs.append(leak[:1] + ("Appendix A - Joint Forward Plan",))
        web.set(f"/ieListDocuments.aspx?CId=150&MId={mid}", f"<html><body><h2>{name} Health and Wellbeing Board, "
                f"{day}</h2><ul>" + "".join(f"<li><a href='{h}'>{t}</a></li>" for h, t in docs) + "</ul></body></html>")
        web.set(f"/documents/s{5000 + i}/Agenda {day}.pdf".replace(" ", "%20"),
                make_pdf([AGENDA.replace("Wirral", name) + f"\n{day}"], title=f"Agenda {day}"), PDF)
    if leak:
        web.set(leak[0].replace(" ", "%20"), leak[1], PDF)


LEAK_QYG = ("/documents/s5099/Appendix A - Draft JFP.pdf",
            pdf(JFP_DRAFT, title="Microsoft Word - C&M JFP 2023-28 DRAFT v0.7.docx", header="Joint Forward Plan 2023-28",
                footer="DRAFT - not for publication"))
LEAK_QF7 = ("/documents/s7099/Appendix 2 - SYB JFP draft.pdf",
            pdf(SYB_JFP_DRAFT, title="SYB JFP draft v3.docx", header="South Yorkshire JFP", footer="Draft"))

# -- the story -----------------------------------------------------------------------------------------------


@dataclass
class State:
    number: int
    name: str
    expect: list[tuple[str, str, str]]  # (kind, footprint, generation) of every alert event
    fyp: bool = True
    fyp_bytes: bytes = FYP_PDF
    fyp_docx: bool = False
    jfp: str | None = None
    scp: bool = False
    leaks: bool = False
    moved: bool = False
    outage: bool = False


def states() -> list[State]:
    after_leak = dict(leaks=True, fyp_docx=True)
    published = dict(after_leak, jfp=JFP_FINAL)
    moved = dict(published, moved=True)
    revised = dict(moved, jfp=JFP_REVISED)
    replaced = dict(revised, scp=True)
    return [
        State(0, "baseline", []),
        State(1, "noise only", [], fyp_bytes=FYP_REGENERATED, fyp_docx=True),
        State(2, "leak", [("leaked", "QYG", "2022-joint-forward-plan"), ("leaked", "QF7", "2022-joint-forward-plan")],
              **after_leak),
        State(3, "publication", [("replaced", "QYG", "2022-joint-forward-plan")], **published),
        State(4, "domain move", [], **moved),
        State(5, "revision", [("revised", "QYG", "2022-joint-forward-plan")], **revised),
        State(6, "outage", [], outage=True, **revised),
        State(7, "replacement", [("replaced", "QYG", "2025-strategic-commissioning")], **replaced),
        State(8, "withdrawal, first crawl", [], **dict(replaced, fyp=False)),
        State(9, "withdrawal, second crawl", [("withdrawn", "QYG", "2019-five-year")], **dict(replaced, fyp=False)),
        State(10, "reinstatement", [("reinstated", "QYG", "2019-five-year")], **replaced),
    ]


class World:
    """The four hosts, started; `apply(state)` sets every one of them up for a state."""

    def __init__(self) -> None:
        self.icb, self.old, self.wirral, self.sheffield = (MessyWeb(f"127.0.0.{n}") for n in (1, 2, 3, 4))
        self.icb.start()
        # The old domain on the ICB's port (another address): as on the real web, where both are port 443, a
        # redirect from one to the other is to a host the source names on a port it uses (crawler/guard.py).
        self.old.bind_port = self.icb.port
        for web in (self.old, self.wirral, self.sheffield):
            web.start()

    def stop(self) -> None:
        for web in (self.icb, self.old, self.wirral, self.sheffield):
            web.stop()

    def apply(self, state: State) -> None:
        icb_site(self.icb, state)
        old_site(self.old, state, self.icb)
        council_site(self.wirral, name="Wirral", leak=LEAK_QYG if state.leaks else None)
        council_site(self.sheffield, name="Sheffield", leak=LEAK_QF7 if state.leaks else None)

    def sources(self) -> list[dict]:
        return [
            {"name": "cm-icb", "footprint": "QYG", "kind": "site", "official": True,
             "start_urls": [self.icb.url("/")], "max_depth": 4},
            {"name": "cm-partnership-2016", "footprint": "QYG", "kind": "site", "official": True,
             "start_urls": [self.old.url("/")], "max_depth": 3,
             # where its moved paths redirect (loopback here, so it must be named: private hosts are refused)
             "document_hosts": [self.icb.host]},
            {"name": "wirral-council", "footprint": "QYG", "kind": "site", "official": False,
             "start_urls": [self.wirral.url("/mgCommitteeDetails.aspx?ID=150")], "max_depth": 2},
            {"name": "sheffield-council", "footprint": "QF7", "kind": "site", "official": False,
             "start_urls": [self.sheffield.url("/mgCommitteeDetails.aspx?ID=150")], "max_depth": 2},
        ]


TEST_SETTINGS = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "DOWNLOAD_TIMEOUT": 5, "DNS_TIMEOUT": 5,
                 "RETRY_TIMES": 1, "CONCURRENT_REQUESTS_PER_DOMAIN": 8}


def run(home: Path, *, settings: dict | None = None, only: list[int] | None = None) -> list[dict]:
    """Crawl every state once (one reactor, one process); per state: events, known URLs per source, seconds."""
    from crawler import run_on_reactor, sources_from_dicts
    from crawler.runner import run_crawl
    from storage import Archive
    from tracker.analysis import analyse_crawl
    from tracker.workers import ExtractionPool

    world = World()
    pool = ExtractionPool(workers=2)
    results: list[dict] = []

    async def main() -> None:
        with Archive(home) as archive:
            sources = sources_from_dicts(world.sources())
            for state in states():
                if only is not None and state.number not in only:
                    continue
                world.apply(state)
                started = time.monotonic()
                summary = await run_crawl(sources, archive, settings={**TEST_SETTINGS, **(settings or {})})
                crawl_seconds = time.monotonic() - started
                analysis = analyse_crawl(archive, summary.crawl_id, pool=pool)
                events = [archive.event(i) for i in analysis.events]
                results.append({
                    "state": state.number, "name": state.name, "crawl_id": summary.crawl_id,
                    "expect": [list(e) for e in state.expect],
                    "events": [{"kind": e.kind, "alert": e.alert, "footprint": e.footprint, "generation": e.generation,
                                "summary": e.summary, "document_id": e.document_id, "source": e.source,
                                "changes": e.changes} for e in events],
                    "known_urls": {s.name: len(archive.known_urls(s.name)) for s in sources},
                    "fetches": {name: r.counts.get("fetches", 0) for name, r in summary.sources.items()},
                    "source_errors": {name: r.error for name, r in summary.sources.items() if r.error},
                    "crawl_seconds": round(crawl_seconds, 2),
                })

    try:
        run_on_reactor(main)
    finally:
        pool.close()
        world.stop()
    return results


def score(results: list[dict]) -> tuple[int, int, int, list[str]]:
    """(true positives, false positives, false negatives, disagreements) of alert events against the labels."""
    from collections import Counter

    tp = fp = fn = 0
    misses = []
    for r in results:
        want = Counter(tuple(e) for e in r["expect"])
        got = Counter((e["kind"], e["footprint"], e["generation"]) for e in r["events"] if e["alert"])
        hit = sum((want & got).values())
        tp, fp, fn = tp + hit, fp + sum(got.values()) - hit, fn + sum(want.values()) - hit
        if want != got:
            misses.append(f"state {r['state']} ({r['name']}): expected {sorted(want)}, got {sorted(got)}")
    return tp, fp, fn, misses


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        out = run(Path(tmp) / "home")
    if "--json" in sys.argv:
        print(json.dumps(out, indent=1, default=str))
    else:
        for r in out:
            print(r["state"], r["name"], r["crawl_seconds"], "s", r["known_urls"], r["source_errors"])
            for e in r["events"]:
                print("   ", "ALERT" if e["alert"] else "quiet", e["kind"], e["footprint"], e["generation"],
                      e["summary"][:150])
        print(score(out)[:3], *score(out)[3], sep="\n")
