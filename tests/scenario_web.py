"""The story the scenario test drives: an ICS's own site, a council's committee papers and a campaign site.

Each state is a function that sets up the three fixture servers; the texts read like the real documents
(footprint QF7, South Yorkshire and Bassetlaw)."""

from __future__ import annotations

from tests.pdfgen import make_pdf

FOOTER_2016 = "NHS South Yorkshire and Bassetlaw. Page printed on 03/11/2016 09:14."
FOOTER_LATER = "NHS South Yorkshire and Bassetlaw. Page printed on 17/02/2017 16:40."

STP_DRAFT = [
    "CONFIDENTIAL - DRAFT FOR DISCUSSION - NOT FOR PUBLICATION",
    "South Yorkshire and Bassetlaw Sustainability and Transformation Plan",
    "Draft submission to NHS England, October 2016",
    "Our footprint serves 1.5 million people across Barnsley, Bassetlaw, Doncaster, Rotherham and Sheffield.",
    "If we do nothing, the gap between funding and demand will reach £571m by 2020/21.",
    "We propose an acute bed reduction of 180 beds across the five district general hospitals.",
    "Hyper acute stroke services will be consolidated onto three sites.",
    "Children's surgery and anaesthesia will be centralised in Sheffield.",
]

STP_PUBLISHED = [
    "South Yorkshire and Bassetlaw Sustainability and Transformation Plan",
    "October 2016 submission to NHS England. Public summary",
    "Our footprint serves 1.5 million people across Barnsley, Bassetlaw, Doncaster, Rotherham and Sheffield.",
    "If we do nothing, the gap between funding and demand will reach £600m by 2020/21.",
    "We propose an acute bed reduction of 180 beds across the five district general hospitals.",
    "Hyper acute stroke services will be consolidated onto three sites.",
    "Children's surgery and anaesthesia will be centralised in Sheffield.",
]

STP_REVISED = [line.replace("180 beds", "320 beds") for line in STP_PUBLISHED] + [
    "Bassetlaw A&E will close overnight from April 2017.",
]

FIVE_YEAR_PLAN = [
    "South Yorkshire and Bassetlaw Integrated Care System",
    "Five Year Plan 2019/20 to 2023/24",
    "Our response to the NHS Long Term Plan, November 2019.",
    "This plan sets out how the system will meet the commitments of the Long Term Plan.",
    "Mental health investment will grow by £42m over five years.",
    "We will deliver 120 additional community nursing posts by 2023/24.",
]

ANNUAL_REPORT = [
    "Sheffield Clinical Commissioning Group",
    "Annual Report and Accounts 2015/16",
    "This report describes the group's governance, membership and financial statements for the year.",
]

AGENDA = [
    "Sheffield City Council",
    "Health and Wellbeing Board",
    "Agenda. Thursday 27 October 2016, 2.00 pm, Town Hall",
    "1. Apologies for absence. 2. Declarations of interest. 3. Minutes of the previous meeting.",
]


def _pdf(lines, *, title, doc_id="scenario-1", creation="D:20161103091400"):
    return make_pdf(["\n".join(lines)], title=title, doc_id=doc_id, creation_date=creation)


def _page(title: str, body: str, footer: str = FOOTER_2016, cookie: str = "We use cookies to improve your experience.") -> bytes:
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body>"
        f"<div class='cookie-banner'>{cookie} <button>Accept all cookies</button></div>"
        f"<nav><a href='/'>Home</a> <a href='/plans/'>Our plans</a> <a href='/news/'>News</a></nav>"
        f"<main><h1>{title}</h1>{body}</main><footer>{footer}</footer></body></html>"
    ).encode()


def official_site(web, *, plans: list[tuple[str, str]], footer=FOOTER_2016, cookie="We use cookies to improve your experience.") -> None:
    links = "".join(f"<li><a href='{href}'>{text}</a></li>" for href, text in plans)
    web.set("/", _page("South Yorkshire and Bassetlaw ICS", "<p>Working together for health and care.</p>"
                       "<p><a href='/plans/'>Read our plans</a></p>", footer, cookie), content_type="text/html")
    web.set("/plans/", _page("Our plans", f"<p>Our strategy and plans.</p><ul>{links}</ul>", footer, cookie),
            content_type="text/html")


def council_site(web, *, documents: list[tuple[str, str]]) -> None:
    links = "".join(f"<li><a href='{href}'>{text}</a></li>" for href, text in documents)
    web.set("/", _page("Sheffield City Council - Health and Wellbeing Board", f"<p>Meeting papers.</p><ul>{links}</ul>"),
            content_type="text/html")


def campaign_site(web, *, posts: list[tuple[str, str]]) -> None:
    links = "".join(f"<li><a href='{href}'>{text}</a></li>" for href, text in posts)
    web.set("/", _page("Save Our NHS Sheffield", f"<p>News from the campaign.</p><ul>{links}</ul>"),
            content_type="text/html")
