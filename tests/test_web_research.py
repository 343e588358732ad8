"""What a researcher does with the web app and the CLI: compare any two versions, read a plan's life and its
figures, read a version as a document, search by document, follow the feed (issue: researchers)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from xml.dom import minidom

import pytest
from starlette.testclient import TestClient

try:
    from test_web import Built, build_archive
except ImportError:  # tests/ imported as a package
    from tests.test_web import Built, build_archive

from tracker.web import create_app


@pytest.fixture()
def built(tmp_path: Path) -> Built:
    return build_archive(tmp_path / "home")


@pytest.fixture()
def client(built: Built) -> TestClient:
    return TestClient(create_app(built.home), follow_redirects=False)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_pick_any_two_versions_on_the_document_page_and_compare_them(client: TestClient, built: Built) -> None:
    page = client.get(f"/documents/{built.doc}").text
    form = page[page.index('<form class="compare"'):page.index("</form>", page.index('<form class="compare"'))]
    assert form.count('type="radio" name="a"') == 2 and form.count('type="radio" name="b"') == 2
    assert 'action="/compare" method="get"' in form and "<script" not in page
    answer = client.get(f"/compare?a={built.v2}&b={built.v1}")  # either order: older first
    assert answer.status_code == 303 and answer.headers["location"] == f"/diff/{built.v1}/{built.v2}"
    assert client.get(f"/compare?a={built.v1}&b={built.v1}").status_code == 400
    assert client.get("/compare?a=1").status_code == 400
    assert "/diff/A/B" not in page  # no more editing URLs by hand


def test_the_document_page_leads_with_the_plans_life(client: TestClient, built: Built) -> None:
    page = client.get(f"/documents/{built.doc}").text
    assert page.index('id="life"') < page.index('id="versions"')
    life = page[page.index('<ol class="life">'):page.index("</ol>", page.index('<ol class="life">'))]
    assert life.index("published") < life.index("revised")  # oldest first
    assert f'href="/versions/{built.v2}"' in life and f'href="/diff/{built.v1}/{built.v2}"' in life
    assert "official" in text_of(life)
    assert "revised since publication" in text_of(page)  # the state follows the latest official event
    versions = page[page.index('<table class="versions'):page.index("</table>", page.index('<table class="versions'))]
    assert re.search(rf'/versions/{built.v2}">version {built.v2}</a>.*?<span class="badge revised">revised', versions, re.S)
    assert "1 March 2017" in text_of(page)  # dates in words


def test_figures_across_versions_are_drawn_as_svg_charts(client: TestClient, built: Built) -> None:
    page = client.get(f"/documents/{built.doc}").text
    assert 'id="figures"' in page
    chart = page[page.index('<svg class="chart"'):page.index("</svg>", page.index('<svg class="chart"'))]
    assert "180 beds" in chart and "320 beds" in chart and "<polyline" in chart
    assert f'href="/versions/{built.v1}"' in chart and f'href="/versions/{built.v2}"' in chart


def test_captures_by_month(client: TestClient, built: Built) -> None:
    page = client.get(f"/documents/{built.doc}").text
    calendar = page[page.index('<table class="calendar">'):page.index("</table>", page.index('<table class="calendar">'))]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"<tr><th>(\d{4})</th>(.*?)</tr>", calendar, re.S)}
    assert set(rows) == {"2016", "2017"}
    cells_2017 = re.findall(r"<td[^>]*>(\d*)</td>", rows["2017"])
    assert cells_2017[2] == "1" and cells_2017[5] == "1" and cells_2017[0] == ""  # March and June 2017


def test_a_diff_across_two_documents_says_so_and_pairs_no_figures(client: TestClient, built: Built) -> None:
    page = client.get(f"/diff/{built.v1}/{built.pdf_version}").text
    assert "belong to different documents" in text_of(page)
    assert '<table class="figures">' not in page and 'class="diff-figure"' not in page
    same = client.get(f"/diff/{built.v1}/{built.v2}").text
    assert "different documents" not in same and 'class="diff-figure"' in same


def test_deleted_and_inserted_figures_stay_distinguishable(client: TestClient) -> None:
    css = client.get("/static/diff.css").text
    assert "del.diff-del mark.diff-figure{" in css and "ins.diff-ins mark.diff-figure{" in css
    deleted = re.search(r"del\.diff-del mark\.diff-figure\{([^}]*)\}", css).group(1)
    inserted = re.search(r"ins\.diff-ins mark\.diff-figure\{([^}]*)\}", css).group(1)
    assert "line-through" in deleted and "underline" in inserted and deleted != inserted


def test_a_version_reads_as_a_document_with_anchors_and_an_absolute_citation(client: TestClient, built: Built) -> None:
    page = client.get(f"/versions/{built.v1}").text
    article = page[page.index('<article class="document">'):page.index("</article>")]
    assert '<h3 id="p1" class="level-3">South Yorkshire and Bassetlaw Sustainability and Transformation Plan' in article
    assert re.search(r'<p id="p2">Our plan will reduce acute beds by 180 beds', article)
    assert "<script>alert" not in article and "&lt;script&gt;" in article
    cite = page[page.index('<div class="cite">'):page.index("</div>", page.index('<div class="cite">'))]
    from alerts import DEFAULT_BASE_URL  # no base_url configured and no server address: the documented default

    assert f"{DEFAULT_BASE_URL.rstrip('/')}/versions/{built.v1}" in cite and "7 November 2016" in text_of(cite)
    version = client.get(f"/api/versions/{built.v1}").json()
    assert version["text_sha256"] in cite
    plain = client.get(f"/versions/{built.v1}?view=text").text
    assert '<pre class="doctext">' in plain


def test_pdf_pages_have_anchors(client: TestClient, built: Built) -> None:
    from storage import Archive

    with Archive(built.home) as archive:  # a two-page text, as a PDF extractor records it
        archive.db.execute("UPDATE blobs SET page_offsets = ? WHERE sha256 = (SELECT blob_sha256 FROM versions "
                           "WHERE id = ?)", ["[0, 33]", built.pdf_version])
    page = client.get(f"/versions/{built.pdf_version}").text
    assert 'id="page-1"' in page and 'id="page-2"' in page


def test_search_results_are_grouped_by_document(client: TestClient, built: Built) -> None:
    page = client.get("/search", params={"q": "beds"}).text
    results = page[page.index('<ol class="results">'):]
    assert results.count('class="title"') == 2  # the plan page and the PDF, each once
    start = results.index(f'class="title" href="/documents/{built.doc}"')
    plan = results[start:results.index("</ul>", start)]
    assert f'href="/versions/{built.v1}"' in plan and f'href="/versions/{built.v2}"' in plan


def test_footprint_and_generation_are_choices_and_names_are_accepted(client: TestClient) -> None:
    page = client.get("/search").text
    assert re.search(r'<select name="footprint">.*<option value="QF7">[^<]*\(QF7\)</option>', page, re.S)
    by_name = client.get("/search", params={"q": "beds", "footprint": "South Yorkshire and Bassetlaw"}).text
    by_code = client.get("/search", params={"q": "beds", "footprint": "QF7"}).text
    assert 'class="title"' in by_name
    assert text_of(by_name[by_name.index("<main>"):]).split("Search every version", 1)[1].count("version") == \
        text_of(by_code[by_code.index("<main>"):]).split("Search every version", 1)[1].count("version")
    other = client.get("/search", params={"q": "beds", "footprint": "QE1"}).text  # another footprint
    assert 'class="title"' not in other


def test_the_feed_reads_in_a_browser_and_stays_a_feed(client: TestClient) -> None:
    import feedparser

    atom = client.get("/feed.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    assert b'<?xml-stylesheet type="text/xsl" href="/static/feed.xsl"?>' in atom.content
    minidom.parseString(atom.content)  # still well-formed XML
    assert feedparser.parse(atom.content).entries
    xsl = client.get("/static/feed.xsl")
    assert xsl.status_code == 200 and b"xsl:stylesheet" in xsl.content
    minidom.parseString(xsl.content)
    page = client.get("/feed", params={"footprint": "QF7"}).text
    from alerts import DEFAULT_BASE_URL

    assert f"{DEFAULT_BASE_URL.rstrip('/')}/feed.atom?footprint=QF7" in page and "revised" in page


def test_the_footprint_page_shows_its_plans_timelines_by_generation(client: TestClient, built: Built) -> None:
    page = client.get("/footprints/QF7").text
    section = page[page.index('id="timelines"'):page.index("<h2>Documents</h2>")]
    assert "<h3>2016-stp</h3>" in section and "<svg" in section
    assert section.count("<circle") >= 2 and "revised" in section


from clirun import run_cli  # noqa: E402


def test_cli_diff_ids_are_unambiguous_and_coloured_on_request(built: Built) -> None:
    plain = run_cli(built.home, "diff", "--versions", str(built.v1), str(built.v2), "--color", "never")
    assert plain.returncode == 0, plain.stderr
    assert "[-180-]" in plain.stdout.replace(" beds", "") or "[-180 -]" in plain.stdout or "[-180" in plain.stdout
    assert "{+320" in plain.stdout and "\x1b[" not in plain.stdout
    assert plain.stdout.count("\n\n") >= 1  # one paragraph per block, not the whole text on one line
    coloured = run_cli(built.home, "diff", str(built.v1), str(built.v2), "--color", "always")
    assert "\x1b[" in coloured.stdout and "[-" not in coloured.stdout
    document = run_cli(built.home, "diff", "--document", str(built.doc), "--format", "json")
    assert document.returncode == 0 and '"after": ' in document.stdout
    alone = run_cli(built.home, "diff", str(built.doc))
    assert alone.returncode == 2 and "--document" in alone.stderr
    across = run_cli(built.home, "diff", str(built.v1), str(built.pdf_version))
    assert across.returncode == 0 and "different documents" in across.stderr


def _structured_version(archive, doc, crawl, when, text, blocks, url="https://icb.example/plan.pdf"):
    from storage import Extraction, Fetch

    fid = archive.record_fetch(Fetch(crawl_id=crawl, fetched_at=when, url=url, source="syb-icb", status=200,
                                     headers={"Content-Type": "application/pdf"}, body=text.encode(), kind="document"))
    sha = archive.fetch(fid)["blob_sha256"]
    text_sha = archive.record_extraction(sha, Extraction(status="ok", extractor="pypdfium2", extractor_version="5",
                                                         text=text, pages=2, structure={
                                                             "version": 1, "source": "pdf", "pages": 2, "blocks": blocks}))
    version, _ = archive.add_version(doc, text_sha256=text_sha, blob_sha256=sha, fetch_id=fid, crawl_id=crawl,
                                     seen_at=when)
    return version


BEDS_TABLE = [["Acute beds", "2021", "2022"], ["Northern General Hospital", "648", "608"],
              ["Royal Hallamshire", "500", "450"], ["Total", "1,148", "1,058"]]


def test_a_structured_version_reads_with_its_tables_and_tables_diff_cell_by_cell(built: Built, client: TestClient):
    from storage import Archive

    changed = [row[:] for row in BEDS_TABLE]
    changed[1][2], changed[3][2] = "558", "1,008"
    blocks = lambda rows: [  # noqa: E731
        {"type": "heading", "page": 1, "level": 1, "text": "Bed base"},
        {"type": "paragraph", "page": 1, "text": "We will change the bed base."},
        {"type": "list", "page": 1, "items": ["NOTE the report", "ENDORSE the plan"]},
        {"type": "table", "page": 2, "header_rows": 1, "rows": rows}]
    with Archive(built.home) as archive:
        crawl = archive.start_crawl(["syb-icb"])
        doc = archive.create_document(title="Bed plan", kind="plan", footprint="QF7", generation="2016-stp",
                                      draft=False, seen_at="2018-01-01T00:00:00+00:00", source="syb-icb")
        one = _structured_version(archive, doc, crawl, "2018-01-01T00:00:00+00:00", "Bed base 648 608", blocks(BEDS_TABLE))
        two = _structured_version(archive, doc, crawl, "2018-02-01T00:00:00+00:00", "Bed base 648 558", blocks(changed))
    page = client.get(f"/versions/{one}").text
    article = page[page.index('<article class="document">'):page.index("</article>")]
    assert '<h3 id="p1" class="level-3">Bed base' in article and "<li>ENDORSE the plan</li>" in article
    assert '<th scope="row">Northern General Hospital</th><td>648</td><td>608</td>' in article
    assert 'id="page-2"' in article
    diff = client.get(f"/diff/{one}/{two}").text
    tables = diff[diff.index("Tables, cell by cell"):diff.index('<p class="views">')]
    assert "<del>608</del> <ins>558</ins>" in tables and "<del>1,058</del> <ins>1,008</ins>" in tables
    assert "<del>500</del>" not in tables  # an unchanged cell is shown as it is


def test_the_terminal_diff_lists_changed_cells_by_row_and_column(built: Built) -> None:
    from storage import Archive

    changed = [row[:] for row in BEDS_TABLE]
    changed[1][2], changed[3][2] = "558", "1,008"
    blocks = lambda rows: [{"type": "table", "page": 1, "header_rows": 1, "rows": rows}]  # noqa: E731
    flat = lambda rows: " ".join(" ".join(r) for r in rows)  # noqa: E731
    with Archive(built.home) as archive:
        crawl = archive.start_crawl(["syb-icb"])
        doc = archive.create_document(title="Bed plan", kind="plan", footprint="QF7", generation="2016-stp",
                                      draft=False, seen_at="2018-01-01T00:00:00+00:00", source="syb-icb")
        one = _structured_version(archive, doc, crawl, "2018-01-01T00:00:00+00:00", flat(BEDS_TABLE), blocks(BEDS_TABLE))
        two = _structured_version(archive, doc, crawl, "2018-02-01T00:00:00+00:00", flat(changed), blocks(changed))
    shown = run_cli(built.home, "diff", str(one), str(two), "--color", "never")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert any(line.startswith("what changed (") for line in lines), shown.stdout
    cell = [line for line in lines if "Northern General Hospital" in line and "608 -> 558" in line]
    assert cell and "2022" in cell[0], shown.stdout
    assert any("1,058 -> 1,008" in line for line in lines) and not any("500 ->" in line for line in lines)


def test_tables_diff_pairs_columns_by_header_when_a_column_is_inserted():
    """A year column put in between: each figure is compared with the same year's, not with its neighbour's."""
    from tracker.web.reading import table_diffs

    before = {"version": 1, "source": "pdf", "blocks": [{"type": "table", "page": 1, "header_rows": 1, "rows": [
        ["Hospital", "2021", "2023"], ["Northern General", "648", "558"], ["Royal Hallamshire", "500", "450"]]}]}
    after = {"version": 1, "source": "pdf", "blocks": [{"type": "table", "page": 1, "header_rows": 1, "rows": [
        ["Hospital", "2021", "2022", "2023"], ["Northern General", "648", "608", "540"],
        ["Royal Hallamshire", "500", "480", "450"]]}]}
    [table] = table_diffs(before, after)
    northern, royal = table["rows"]
    assert [(c["before"], c["after"], c["changed"]) for c in northern] == [
        ("Northern General", "Northern General", False), ("648", "648", False), (None, "608", True),
        ("558", "540", True)]
    assert [c["changed"] for c in royal] == [False, False, True, False]  # 450 stays 450 under 2023
