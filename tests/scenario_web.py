"""The story the scenario test drives: an ICS's own site, a council's committee papers and a campaign site.

Each state is a function that sets up the three fixture servers; the texts read like the real documents
(footprint QF7, South Yorkshire and Bassetlaw)."""

from __future__ import annotations

from tests.pdfgen import make_pdf
from tracker.demo.run import AGENDA, ANNUAL_REPORT, DRAFT, FIVE_YEAR, PUBLISHED, REVISED

FOOTER_2016 = "NHS South Yorkshire and Bassetlaw. Page printed on 03/11/2016 09:14."
FOOTER_LATER = "NHS South Yorkshire and Bassetlaw. Page printed on 17/02/2017 16:40."

# The story's documents are the demo's (tracker/demo.py): one copy of the texts.
STP_DRAFT, STP_PUBLISHED, STP_REVISED = DRAFT, PUBLISHED, REVISED
FIVE_YEAR_PLAN = FIVE_YEAR


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
