"""Board packs: one large PDF of a board meeting's papers. A plan inside one (a JFP draft as an appendix) is filed
as that plan, so a leak in board papers is seen, and the plan published on its own later is the same document."""

from __future__ import annotations

import random

import pytest

from pdfgen import make_pdf
from replay import Capture, Replayer
from storage import Archive
from tracker.meaning.filing import pack_parts
from tracker.meaning.identity import containment, fingerprint

WORDS = ("care community hospital services patients primary neighbourhood workforce prevention digital urgent "
         "mental health outcomes access waiting elective discharge estates capital partners carers children "
         "frailty pathways beds clinics staff quality safety finance deficit efficiency").split()


def jfp_pages(draft: bool, seed: int = 3, pages: int = 6) -> list[str]:
    """A South Yorkshire Joint Forward Plan: a cover, then pages of plan text (the same words each time)."""
    rng = random.Random(seed)
    cover = ("DRAFT v0.4 - NOT FOR PUBLICATION\n" if draft else "") + (
        "NHS South Yorkshire Integrated Care Board\nJoint Forward Plan 2026/27 - 2030/31\n\nForeword\n"
        "This is our Joint Forward Plan, prepared under the Health and Care Act 2022 with our partners in the\n"
        "South Yorkshire Integrated Care Partnership. It describes how the ICB and its partner trusts will deliver\n"
        "the Integrated Care Strategy and the four core purposes of an integrated care system.\n"
        "The acute bed base will reduce by 120 beds by 2028 as neighbourhood health grows.")
    body = []
    for n in range(pages):
        lines = [" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(30)]
        body.append(f"Section {n + 1}\n" + "\n".join(lines))
    return [cover, *body]


def pack_pdf(with_plan: bool, draft: bool = True) -> bytes:
    """Papers of a meeting in public: agenda, minutes, a finance report, and (maybe) the JFP draft as Appendix 2."""
    agenda = ("NHS South Yorkshire Integrated Care Board\nBoard meeting in public\nAgenda\n"
              "1. Apologies for absence\n2. Declarations of interest\n3. Minutes of the previous meeting\n"
              "4. Finance report month 9\n5. Joint Forward Plan 2026/27: draft for comment (Appendix 2)")
    minutes = ("Item 3\nMinutes of the meeting held on 14 January 2027\nPRESENT: the Chair, the Chief Executive\n"
               "RESOLVED that the minutes of the meeting held on 12 November 2026 are a correct record.")
    finance = ("Appendix 1\nFinance report month 9\nThe ICB reports a year to date deficit of 4.1 million pounds\n"
               "against plan. Efficiency delivery is 82 per cent of the target.")
    pages = [agenda, minutes, finance]
    if with_plan:
        plan = jfp_pages(draft)
        pages += ["Appendix 2\n" + plan[0], *plan[1:]]
    pages.append("Item 6\nAny other business\nNone was notified.")
    return make_pdf(pages, title="Board papers 11 March 2027")


@pytest.fixture
def archive(home):
    with Archive(home) as archive:
        yield archive


def test_a_jfp_draft_in_board_papers_is_a_leak_and_the_published_plan_the_same_document(archive) -> None:
    board = Replayer(archive, "board-qf7", official=True, footprint="QF7")
    site = Replayer(archive, "site-southyorkshire.icb.nhs.uk", official=True, footprint="QF7")
    pack_url = "https://southyorkshire.icb.nhs.uk/our-information/meetings-and-papers/board-papers-march-2027.pdf"
    first = board.crawl([Capture("https://southyorkshire.icb.nhs.uk/our-information/meetings-and-papers/"
                                 "board-papers-jan-2027.pdf", pack_pdf(with_plan=False))])
    assert not [e for e in first if e.kind in ("leaked", "published")]  # papers, no plan
    site.crawl([Capture("https://southyorkshire.icb.nhs.uk/about/", b"<html><body><h1>About us</h1>"
                        b"<p>We plan and buy health services.</p></body></html>", "text/html", kind="page")])

    # The March pack carries the draft JFP as Appendix 2: the plan is seen, marked draft: a leak.
    events = board.crawl([Capture(pack_url, pack_pdf(with_plan=True, draft=True))])
    leaked = [e for e in events if e.kind == "leaked"]
    assert len(leaked) == 1, [(e.kind, e.summary) for e in events]
    document = archive.document(leaked[0].document_id)
    assert document["kind"] == "plan" and document["draft"] and document["footprint"] == "QF7"
    assert document["generation"] == "2022-joint-forward-plan"
    pack = document["meta"]["pack"]
    assert pack["pages"][0] == 4 and pack["of"] >= 10  # Appendix 2 starts on page 4 of the pack
    version = archive.version(leaked[0].version_after)
    text = archive.text(version["text_sha256"])
    assert text.startswith("Appendix 2") and "Minutes of the meeting" not in text  # the plan's part, not the pack

    # Three months later the ICB publishes the final plan on its own: the same document, now published.
    final = make_pdf(jfp_pages(draft=False), title="Joint Forward Plan 2026/27 - 2030/31")
    events = site.crawl([Capture("https://southyorkshire.icb.nhs.uk/about/joint-forward-plan.pdf", final)])
    published = [e for e in events if e.kind == "published"]
    assert len(published) == 1 and published[0].document_id == leaked[0].document_id, \
        [(e.kind, e.document_id, e.summary) for e in events]


def test_a_pack_containing_a_known_plan_is_a_version_of_it_not_a_new_document(archive) -> None:
    site = Replayer(archive, "site-southyorkshire.icb.nhs.uk", official=True, footprint="QF7")
    board = Replayer(archive, "board-qf7", official=True, footprint="QF7")
    site.crawl([Capture("https://southyorkshire.icb.nhs.uk/about/", b"<html><body><p>About</p></body></html>",
                        "text/html", kind="page")])
    board.crawl([Capture("https://southyorkshire.icb.nhs.uk/papers/jan.pdf", pack_pdf(with_plan=False))])
    final = make_pdf(jfp_pages(draft=False), title="Joint Forward Plan 2026/27 - 2030/31")
    events = site.crawl([Capture("https://southyorkshire.icb.nhs.uk/about/joint-forward-plan.pdf", final)])
    (published,) = [e for e in events if e.kind == "published"]
    plans_before = len(archive.documents(kind="plan"))
    events = board.crawl([Capture("https://southyorkshire.icb.nhs.uk/papers/march.pdf",
                                  pack_pdf(with_plan=True, draft=False))])
    assert len(archive.documents(kind="plan")) == plans_before  # no second plan
    assert not [e for e in events if e.kind in ("leaked", "published")]
    urls = {u["url"] for u in archive.document_urls(published.document_id)}
    assert "https://southyorkshire.icb.nhs.uk/papers/march.pdf" in urls  # the pack is where the plan was seen too


def test_a_pack_without_a_plan_is_an_ordinary_paper(archive) -> None:
    board = Replayer(archive, "board-qf7", official=True, footprint="QF7")
    board.crawl([Capture("https://x.nhs.uk/jan.pdf", pack_pdf(with_plan=False))])
    board.crawl([Capture("https://x.nhs.uk/feb.pdf", pack_pdf(with_plan=False) + b"\n% re-saved")])
    assert archive.documents(kind="plan") == []


def test_pack_parts_and_containment_of_a_short_text_in_a_long_one() -> None:
    text = "Agenda\n1. Apologies\n\x0cItem 3\nMinutes\n\x0cAppendix 2\nJoint Forward Plan\n"
    starts = [0, text.index("Item 3"), text.index("Appendix 2")]
    parts = pack_parts(text, starts)
    assert [text[a:b].split("\n", 1)[0] for a, b in parts] == ["Agenda", "Item 3", "Appendix 2"]
    assert pack_parts(text, starts[:2]) == []  # fewer than three pages: not a pack
    plan = " ".join(random.Random(1).choice(WORDS) for _ in range(1500))  # whole fingerprint (< 2,000 shingles)
    pack = " ".join(random.Random(2).choice(WORDS) for _ in range(30000)) + " " + plan  # sampled fingerprint
    assert containment(fingerprint(plan), fingerprint(pack)) > 0.9
    assert containment(fingerprint(plan), fingerprint(" ".join(random.Random(4).choice(WORDS) for _ in range(30000)))) < 0.3
