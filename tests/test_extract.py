"""Extraction on real files (the shared corpus) and on small files built here: statuses, text, flags, limits."""

from __future__ import annotations

import concurrent.futures
import ctypes
import io
import multiprocessing
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from storage.models import Extraction
from tracker.meaning.extract import EXTRACTORS, STATUSES, Extractor, Limits, Source, decode_text, extract, extractor_for, sniff

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"
DATA = Path(__file__).resolve().parent / "data" / "extract"

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not found at {CORPUS} (tests need ../shared)")


def corpus_files(folder: str, pattern: str) -> list[Path]:
    root = CORPUS / folder
    return sorted(root.rglob(pattern)) if root.is_dir() else []


def read(relative: str) -> bytes:
    return (CORPUS / relative).read_bytes()


def check_recorded(result: Extraction) -> None:
    """What every extraction must give a user: a known status, and text or a reason."""
    assert isinstance(result, Extraction)
    assert result.status in STATUSES
    assert result.extractor and result.extractor_version
    if result.status in ("ok", "truncated"):
        assert result.text.strip(), "status ok but no text"
    else:
        assert result.error and len(result.error) > 10, f"status {result.status} without a reason"
        assert result.text == ""


# --- PDF: the whole corpus ---------------------------------------------------------------------------

PDFS = corpus_files("pdf", "*.pdf")


@needs_corpus
@pytest.mark.corpus
@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", PDFS, ids=[str(p.relative_to(CORPUS)) for p in PDFS])
def test_every_corpus_pdf_gives_text_or_a_recorded_status(path):
    result = extract(path.read_bytes(), "application/pdf", path.name)
    check_recorded(result)
    if result.status in ("ok", "truncated"):
        assert result.pages and len(result.page_offsets) == result.pages
        assert result.page_offsets == sorted(result.page_offsets)
        assert all(0 <= o <= len(result.text) for o in result.page_offsets)
        assert "\x02" not in result.text and "\r" not in result.text


@needs_corpus
@pytest.mark.corpus
def test_pdf_encrypted_with_empty_password_yields_text():
    result = extract(read("pdf/edgi-encrypted_with_empty_password.pdf"))
    assert result.status == "ok" and result.text.strip()
    assert result.title == "Empty Password Title Field"


@needs_corpus
@pytest.mark.corpus
@pytest.mark.parametrize("name", ["pdfminer-aes-256-r6.pdf", "pysf-libreoffice-writer-password.pdf", "pdfminer-rc4-40.pdf"])
def test_pdf_with_a_user_password_is_encrypted(name):
    result = extract(read(f"pdf/{name}"), "application/pdf", f"https://example.org/{name}")
    assert result.status == "encrypted"
    assert result.error.startswith("cannot read PDF (encrypted, no password)")
    assert name in result.error


@needs_corpus
@pytest.mark.corpus
def test_blank_pdf_is_empty():
    result = extract(read("pdf/pdfjs-empty.pdf"))
    assert (result.status, result.pages) == ("empty", 1)


@needs_corpus
@pytest.mark.corpus
@pytest.mark.parametrize("name", ["pysf-imagemagick-images.pdf", "pysf-imagemagick-CCITTFaxDecode.pdf"])
def test_image_only_pdf_is_no_text_layer(name):
    result = extract(read(f"pdf/{name}"))
    assert result.status == "no_text_layer"
    assert "no text layer" in result.error and "OCR" in result.error


@needs_corpus
@pytest.mark.corpus
def test_scan_with_an_ocr_layer_is_ok():
    """The Vicksburg sample is page images plus invisible OCR text: that text is the document's text."""
    result = extract(read("pdf/pypdf-Seige_of_Vicksburg_Sample_OCR.pdf"))
    assert result.status == "ok" and result.pages == 6 and len(result.text) > 10_000


@needs_corpus
@pytest.mark.corpus
def test_pdf_without_eof_marker_yields_text_flagged_truncated():
    result = extract(read("pdf/edgi-no_eof_marker.pdf"))
    assert result.status == "truncated" and "truncated" in result.flags
    assert result.text.strip()
    assert "truncated" in result.error


@needs_corpus
@pytest.mark.corpus
def test_junk_after_eof_is_not_truncation():
    result = extract(read("pdf/pdfjs-scan-bad.pdf"))
    assert result.status == "ok" and "truncated" not in result.flags


@needs_corpus
@pytest.mark.corpus
@pytest.mark.parametrize("name", ["pdfjs-REDHAT-1531897-0.pdf", "pysf-unreadable-metadata.pdf", "pdfjs-poppler-937-0-fuzzed.pdf"])
def test_unreadable_pdf_is_broken_with_both_parsers_named(name):
    result = extract(read(f"pdf/{name}"))
    assert result.status == "broken"
    assert "pypdfium2" in result.error and "pypdf" in result.error


@needs_corpus
@pytest.mark.corpus
def test_pdf_ligatures_and_pdfium_hyphens_are_normalised():
    result = extract(read("pdf/pdfjs-tracemonkey.pdf"))
    assert result.status == "ok" and result.pages == 14
    assert "alternative compilation technique" in result.text  # pdfium gave "al\x02ternative"
    assert "\ufb01" not in result.text and "\ufb02" not in result.text


@needs_corpus
@pytest.mark.corpus
@pytest.mark.parametrize(
    "a, b",
    [
        ("LabourAltBudget-amendment-a.pdf", "LabourAltBudget-amendment-b.pdf"),
        ("Minutes-2025-01-09-as-printed-minutes.pdf", "Minutes-2025-01-09-as-next-agenda-item.pdf"),
    ],
)
def test_kent_duplicates_that_differ_only_in_trailer_id_give_identical_text(a, b):
    ra = extract(read(f"pdf/uk-kcc/duplicates/{a}"))
    rb = extract(read(f"pdf/uk-kcc/duplicates/{b}"))
    assert read(f"pdf/uk-kcc/duplicates/{a}") != read(f"pdf/uk-kcc/duplicates/{b}")
    assert ra.status == rb.status == "ok"
    assert ra.text == rb.text and ra.page_offsets == rb.page_offsets


@needs_corpus
@pytest.mark.corpus
def test_kent_reserves_policy_versions_give_the_same_text():
    """v1 and v2 differ (in words) only by the running header "Appendix G" -> "Appendix H" (the pack each was
    attached to): running headers are found by repetition and dropped whatever their wording, so the two are one
    text."""
    v1 = extract(read("pdf/uk-kcc/versions/ReservesPolicy-v1-cabinet-2025-01-30.pdf"))
    v2 = extract(read("pdf/uk-kcc/versions/ReservesPolicy-v2-council-2025-02-13.pdf"))
    assert read("pdf/uk-kcc/versions/ReservesPolicy-v1-cabinet-2025-01-30.pdf") != read(
        "pdf/uk-kcc/versions/ReservesPolicy-v2-council-2025-02-13.pdf")
    assert "Appendix G" not in v1.text and "Appendix H" not in v2.text
    assert v1.text == v2.text


@needs_corpus
@pytest.mark.corpus
def test_kent_page_numbers_and_running_headers_are_not_in_the_text():
    result = extract(read("pdf/uk-kcc/versions/ReservesPolicy-v1-cabinet-2025-01-30.pdf"))
    assert result.pages == 4
    lines = result.text.split("\n")
    assert not any(line.strip().isdigit() for line in lines)


# --- PDF: built here ---------------------------------------------------------------------------------


def make_pdf(paragraphs: list[str], width: int, lines_per_page: int = 40) -> bytes:
    """A real PDF with the paragraphs wrapped at `width` columns, written by PDFium itself."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    lines: list[str] = []
    for para in paragraphs:
        lines += textwrap.wrap(para, width) + [""]
    doc = pdfium.PdfDocument.new()
    font = pdfium_c.FPDFText_LoadStandardFont(doc, b"Helvetica")
    for start in range(0, len(lines), lines_per_page):
        page = doc.new_page(612, 792)
        for row, line in enumerate(lines[start : start + lines_per_page]):
            if line:
                obj = pdfium_c.FPDFPageObj_CreateTextObj(doc, font, 10.0)
                buf = ctypes.create_string_buffer((line + "\0").encode("utf-16-le"))
                pdfium_c.FPDFText_SetText(obj, ctypes.cast(buf, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
                pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 50, 740 - row * 16)
                pdfium_c.FPDFPage_InsertObject(page, obj)
        pdfium_c.FPDFPage_GenerateContent(page)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


PLAN = [
    "The Kent and Medway integrated care board will reduce acute bed occupancy to 92 per cent by March 2026 "
    "and open two virtual wards in Medway and Swale, funded from the recurrent allocation. " * 3,
    "Mental health services will be transformed over five years, with community teams in every district and "
    "a crisis line that answers within one minute, as the board agreed in public. " * 4,
]


def test_same_text_rendered_at_two_widths_extracts_identically():
    narrow, wide = make_pdf(PLAN, 55, lines_per_page=12), make_pdf(PLAN, 110, lines_per_page=30)
    a, b = extract(narrow), extract(wide)
    assert a.status == b.status == "ok" and a.pages != b.pages
    assert a.text == b.text
    assert "reduce acute bed occupancy to 92 per cent" in a.text


def test_an_edited_sentence_changes_the_text():
    edited = [PLAN[0].replace("92 per cent", "95 per cent", 1), PLAN[1]]
    assert extract(make_pdf(PLAN, 80)).text != extract(make_pdf(edited, 80)).text


def test_pdf_limits_name_the_limit():
    pdf = make_pdf(PLAN, 40, lines_per_page=5)
    pages = extract(pdf, limits=Limits(max_pages=2))
    assert pages.status == "too_large" and "Limits.max_pages" in pages.error
    chars = extract(pdf, limits=Limits(max_chars=200))
    assert chars.status == "too_large" and "Limits.max_chars" in chars.error
    size = extract(pdf, limits=Limits(max_bytes=100))
    assert size.status == "too_large" and "Limits.max_bytes" in size.error


def test_truncated_download_of_a_pdf_is_recorded():
    pdf = make_pdf(PLAN, 80)
    result = extract(pdf[: len(pdf) // 2], "application/pdf", "https://example.org/plan.pdf")
    check_recorded(result)
    assert result.status in ("truncated", "broken", "empty")


def test_extract_runs_in_a_forkserver_process_pool():
    pdfs = [make_pdf(PLAN, w) for w in (50, 70, 90)]
    context = multiprocessing.get_context("forkserver")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context, max_tasks_per_child=10) as pool:
        results = list(pool.map(extract, pdfs, ["application/pdf"] * 3, ["a.pdf", "b.pdf", "c.pdf"]))
    assert [r.status for r in results] == ["ok"] * 3
    assert results[0].text == results[1].text == results[2].text == extract(pdfs[0]).text


# --- sniffing: the bytes decide ----------------------------------------------------------------------


def test_html_served_as_pdf_is_read_as_html_and_flagged():
    html = (DATA / "nhs-like-page.html").read_bytes()
    result = extract(html, "application/pdf", "https://example.org/plan.pdf")
    assert result.status == "ok" and "virtual wards" in result.text
    assert "type_mismatch" in result.flags and result.meta["declared_type"] == "pdf"


def test_pdf_served_as_html_is_read_as_pdf():
    result = extract(make_pdf(PLAN, 80), "text/html; charset=utf-8", "https://example.org/page.html")
    assert result.status == "ok" and result.meta["format"] == "pdf" and "type_mismatch" in result.flags


def test_pdf_header_after_leading_junk_is_found():
    assert sniff(b"\r\n\x00junk" + make_pdf(PLAN, 80))[0] == "pdf"


@pytest.mark.parametrize(
    "data, content_type, status",
    [
        (bytes(range(256)) * 20, "text/html", "unsupported"),
        (b"\x89PNG\r\n\x1a\n" + bytes(2000), None, "unsupported"),
        (b"PK\x03\x04" + bytes(100), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "broken"),
        (b"", "text/html", "empty"),
        (b"   \n\n  ", "text/plain", "empty"),
    ],
)
def test_junk_gives_a_clear_status(data, content_type, status):
    result = extract(data, content_type, "https://example.org/x")
    assert result.status == status and result.error
    check_recorded(result)


def test_plain_text_served_as_html_is_text():
    result = extract(b"The plan was withdrawn.\nSee the board papers.", "text/html", "https://example.org/")
    assert result.status == "ok" and result.text == "The plan was withdrawn. See the board papers."


def test_registry_has_one_shape_and_adding_a_class_registers_it():
    for kind, cls in EXTRACTORS.items():
        assert cls.kind == kind and cls.version and cls.reads
        assert cls.help() and (cls.__doc__ or "").strip() == cls.help()  # one line: the user's help
    assert extractor_for(Source(data=b"%PDF-", kind="pdf")).kind == "pdf"
    assert list(EXTRACTORS)[-1] == "unsupported"

    class RtfExtractor(Extractor):
        """Rich text (test only)."""

        kind = "rtf"
        reads = ("rtf",)
        version = "0"

    try:
        assert EXTRACTORS["rtf"] is RtfExtractor
        assert isinstance(extractor_for(Source(data=b"{\\rtf1", kind="rtf")), RtfExtractor)
        assert extractor_for(Source(data=b"{\\rtf1", kind="rtf")).result("ok", "x").extractor == "rtf"
    finally:
        del EXTRACTORS["rtf"]


# --- HTML --------------------------------------------------------------------------------------------


def test_html_main_text_without_chrome():
    result = extract((DATA / "nhs-like-page.html").read_bytes(), "text/html; charset=utf-8", "https://www.kmhealthandcare.uk/jfp")
    assert result.status == "ok"
    assert result.title == "Joint Forward Plan 2023 to 2028 - NHS Kent and Medway"
    assert "recruit 400 more nurses by March 2026" in result.text
    assert "1.9 million people over the next five years" in result.text  # inline link stays inline
    for chrome in ("cookies", "Skip to main content", "About us", "Page last reviewed", "Next review due", "window.dataLayer"):
        assert chrome not in result.text


def test_css_selector_takes_only_that_element():
    html = (DATA / "nhs-like-page.html").read_bytes()
    result = extract(html, "text/html", css_selector="#plan-summary")
    assert (result.status, result.text) == ("ok", "Summary: fewer waits, more community care.")
    missing = extract(html, "text/html", "https://x.org/p", css_selector="#nothing-here")
    assert missing.status == "empty" and "#nothing-here" in missing.error
    bad = extract(html, "text/html", css_selector="div[[")
    assert bad.status == "broken" and "invalid CSS selector" in bad.error


def test_html_title_falls_back_to_og_title():
    html = b'<html><head><meta property="og:title" content="Plan page"></head><body><p>' + b"Text of the plan. " * 20 + b"</p></body></html>"
    assert extract(html, "text/html").title == "Plan page"


def test_decode_text_handles_declared_meta_unknown_and_bad_bytes():
    assert decode_text("café".encode("cp1252"), "iso-8859-1") == ("café", "cp1252")
    assert decode_text(b'<meta charset="windows-1252"><p>caf\xe9', None)[0].endswith("café")
    assert decode_text("café".encode("utf-8"), "who-knows-what-i-am") == ("café", "utf-8")
    text, how = decode_text("café £5m".encode("utf-8") + b" \xff", None)  # UTF-8 with a damaged byte
    assert text.startswith("café £5m") and "\ufffd" in text and "replacement" in how
    # Undeclared and not UTF-8 at all: windows-1252, as a browser reads it (the same page re-served in
    # windows-1252 must give the same text, not a revision with "\ufffd" in place of "£").
    assert decode_text("café £571m – ‘gap’".encode("cp1252"), None) == ("café £571m – ‘gap’",
                                                                         "windows-1252 (undeclared, not UTF-8)")
    assert decode_text("plan".encode("utf-16"), None)[0] == "plan"


HTML_FILES = corpus_files("html-versions", "*.html")


@needs_corpus
@pytest.mark.corpus
@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", HTML_FILES, ids=[str(p.relative_to(CORPUS)) for p in HTML_FILES])
def test_every_corpus_html_page_gives_text_or_a_recorded_status(path):
    result = extract(path.read_bytes(), "text/html", path.name)
    check_recorded(result)
    assert result.status == "ok" and result.title


@needs_corpus
@pytest.mark.corpus
def test_noaa_page_with_unknown_charset_is_read():
    result = extract(read("html-versions/edge-cases/noaa-unknown-encoding.html"), "text/html; charset=who-knows-what-i-am")
    assert result.status == "ok" and "Radar" in result.text
    assert "\ufffd" not in result.text


@needs_corpus
@pytest.mark.corpus
def test_kuhn_utf8_stress_test_decodes_with_replacement_characters():
    result = extract(read("html-versions/edge-cases/utf8-stress-test-kuhn.txt"), "text/plain", "poorly_encoded_utf8.txt")
    assert result.status == "ok" and "\ufffd" in result.text
    assert "replacement" in result.meta["encoding"]
    # the same bytes served as HTML: still text, never a traceback
    check_recorded(extract(read("html-versions/edge-cases/utf8-stress-test-kuhn.txt"), "text/html"))


@needs_corpus
@pytest.mark.corpus
def test_edgi_fema_versions_differ_and_each_is_stable():
    v1 = read("html-versions/edgi-fema-hurricane-maria/v1-f2d5d701.html")
    v2 = read("html-versions/edgi-fema-hurricane-maria/v2-fc74d750.html")
    assert extract(v1, "text/html").text != extract(v2, "text/html").text
    assert extract(v1, "text/html").text == extract(v1, "text/html").text


@needs_corpus
@pytest.mark.corpus
def test_moderngov_agenda_lists_its_items():
    result = extract(read("html-versions/uk-kingston-moderngov/ieListDocuments-CId711-MId10221.html"), "text/html")
    assert result.status == "ok" and "Kingston" in result.title and len(result.text) > 1000


# --- DOCX --------------------------------------------------------------------------------------------

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)


def make_docx(body: str, title: str | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("word/document.xml", f'<?xml version="1.0"?><w:document xmlns:w="{W_NS}"><w:body>{body}</w:body></w:document>')
        if title is not None:
            zf.writestr(
                "docProps/core.xml",
                '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
                f'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title></cp:coreProperties>',
            )
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out.getvalue()


TRACKED = (
    "<w:p><w:r><w:t>We will open </w:t></w:r>"
    '<w:del w:id="1" w:author="Finance" w:date="2024-01-05T10:00:00Z"><w:r><w:delText>three</w:delText></w:r></w:del>'
    '<w:ins w:id="2" w:author="Finance" w:date="2024-01-05T10:00:00Z"><w:r><w:t>two</w:t></w:r></w:ins>'
    "<w:r><w:t xml:space=\"preserve\"> community hospitals.</w:t></w:r></w:p>"
    "<w:p><w:r><w:t>Beds</w:t></w:r><w:r><w:tab/><w:t>120</w:t></w:r></w:p>"
    "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Site</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Beds</w:t></w:r></w:p></w:tc></w:tr>"
    "<w:tr><w:tc><w:p><w:r><w:t>QEQM</w:t></w:r></w:p></w:tc><w:tc><w:p>"
    '<w:del w:id="3" w:author="Ops" w:date="2024-01-06T09:00:00Z"><w:r><w:delText>300</w:delText></w:r></w:del>'
    '<w:ins w:id="4" w:author="Ops" w:date="2024-01-06T09:00:00Z"><w:r><w:t>250</w:t></w:r></w:ins></w:p></w:tc></w:tr></w:tbl>'
)


def test_docx_tracked_changes_are_read_and_text_has_them_accepted():
    result = extract(make_docx(TRACKED, title="Draft STP"), None, "https://example.org/draft.docx")
    assert result.status == "ok" and result.title == "Draft STP"
    assert result.text == "We will open two community hospitals.\n\nBeds 120\n\nSite | Beds\n\nQEQM | 250"
    assert "tracked_changes" in result.flags
    changes = result.meta["tracked_changes"]
    assert [c["text"] for c in changes["insertions"]] == ["two", "250"]
    assert [c["text"] for c in changes["deletions"]] == ["three", "300"]
    assert changes["deletions"][0]["author"] == "Finance" and changes["deletions"][1]["date"] == "2024-01-06T09:00:00Z"


def test_docx_without_tracked_changes_has_no_flag():
    result = extract(make_docx("<w:p><w:r><w:t>Final plan.</w:t></w:r></w:p>"))
    assert (result.status, result.text, result.flags) == ("ok", "Final plan.", [])


def test_docx_zip_bomb_is_too_large_quickly():
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("word/document.xml", b"<w:document>" + b" " * (60 * 1024 * 1024) + b"</w:document>")
    data = bomb.getvalue()
    assert len(data) < 200_000
    start = time.perf_counter()
    result = extract(data, None, "bomb.docx")
    assert result.status == "too_large" and "zip bomb" in result.error and "Limits.max_zip_ratio" in result.error
    assert time.perf_counter() - start < 1.0


def test_docx_total_unzipped_size_is_capped():
    result = extract(make_docx(TRACKED), limits=Limits(max_unzipped=1000))
    assert result.status == "too_large" and "Limits.max_unzipped" in result.error


def test_docx_with_an_external_entity_does_not_read_it(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    body = f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
    body += f'<w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>Plan &x;</w:t></w:r></w:p></w:body></w:document>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("word/document.xml", body)
    result = extract(out.getvalue())
    assert "TOP SECRET" not in result.text
    check_recorded(result)


OFFICE = corpus_files("office", "*")


@needs_corpus
@pytest.mark.corpus
@pytest.mark.timeout(60)
@pytest.mark.parametrize("path", OFFICE, ids=[p.name for p in OFFICE])
def test_every_corpus_office_file_gives_text_or_a_recorded_status(path):
    check_recorded(extract(path.read_bytes(), None, path.name))


@needs_corpus
@pytest.mark.corpus
def test_docx_tables_and_paragraphs_in_document_order():
    result = extract(read("office/docx-blk-paras-and-tables.docx"), None, "x.docx")
    assert result.status == "ok"
    text = result.text
    assert text.index("Lorem ipsum") < text.index("Text before Table") < text.index("Donec semper")


@needs_corpus
@pytest.mark.corpus
def test_password_protected_xlsx_is_encrypted():
    result = extract(read("office/xlsx-pass_protected.xlsx"), None, "pass_protected.xlsx")
    assert result.status == "encrypted" and "password" in result.error


@needs_corpus
@pytest.mark.corpus
def test_legacy_xls_is_unsupported_with_a_reason():
    result = extract(read("office/xls-malformed_format.xls"), "application/vnd.ms-excel", "malformed_format.xls")
    assert result.status == "unsupported" and "Excel .xls" in result.error


@needs_corpus
@pytest.mark.corpus
def test_text_behind_an_xls_url_is_read_as_text_and_flagged():
    result = extract(read("office/xls-too_small.xls"), "application/vnd.ms-excel", "too_small.xls")
    assert result.status == "ok" and "not found" in result.text
    assert "type_mismatch" in result.flags and result.meta["declared_type"] == "xls"


@needs_corpus
@pytest.mark.corpus
def test_xlsx_sheets_are_headed_and_rows_keep_their_cells():
    result = extract(read("office/xlsx-hyperlinks.xlsx"), None, "hyperlinks.xlsx")
    assert result.status == "ok" and result.meta["sheets"] == 2
    lines = result.text.split("\n")
    assert lines[0] == "Sheet: Links" and "Sheet: Sheet2" in lines
    assert "calamine repo\tmail link" in lines


@needs_corpus
@pytest.mark.corpus
def test_strict_ooxml_xlsx_is_unsupported_not_silently_empty():
    result = extract(read("office/xlsx-strict_iso_paths.xlsx"), None, "strict.xlsx")
    assert result.status == "unsupported" and "Strict OOXML" in result.error


@needs_corpus
@pytest.mark.corpus
def test_xlsx_cell_cap_is_a_flag():
    result = extract(read("office/xlsx-minimal_package.xlsx"), None, "m.xlsx", limits=Limits(max_cells=50))
    assert result.status == "ok" and "cells_capped" in result.flags


# --- structure: headings, paragraphs, lists, tables (tracker/meaning/layout.py) ------------------------

from tests.pdfgen import make_pdf as write_pdf  # noqa: E402

BED_TABLE = [
    "Acute bed plan", "",
    "Table 3: acute beds by hospital",
    "Hospital\t2021\t2022\t2023",
    "Northern General Hospital\t648\t608\t558",
    "Royal Hallamshire Hospital\t512\t480\t462",
    "Total\t1,160\t1,088\t1,020", "",
    "We will consult on these changes in the spring of next year.",
]


def tables_of(structure):
    return [b for b in structure["blocks"] if b["type"] == "table"]


def test_pdf_table_comes_out_as_rows_and_cells_with_its_header_row():
    result = extract(write_pdf(["\n".join(BED_TABLE)]), "application/pdf")
    assert result.status == "ok" and result.structure["source"] == "pdf" and result.structure["pages"] == 1
    [table] = tables_of(result.structure)
    rows = table["rows"]
    assert ["Hospital", "2021", "2022", "2023"] in rows
    assert ["Northern General Hospital", "648", "608", "558"] in rows
    assert ["Total", "1,160", "1,088", "1,020"] in rows
    assert rows[table["header_rows"]] == ["Northern General Hospital", "648", "608", "558"]
    paragraphs = [b["text"] for b in result.structure["blocks"] if b["type"] == "paragraph"]
    assert "We will consult on these changes in the spring of next year." in paragraphs
    # the version's text is what it was: structure is stored beside it, not instead of it
    assert "Northern General Hospital 648 608 558" in result.text


def test_pdf_prose_lines_are_paragraphs_not_tables_and_pages_are_numbered():
    pages = ["Our plan\n\nWe will open two community hospitals in 2024 and\nclose one ward in 2025.",
             "Second page\n\n- first point of the list\n- second point of the list"]
    result = extract(write_pdf(pages), "application/pdf")
    blocks = result.structure["blocks"]
    assert not tables_of(result.structure)
    assert {"type": "paragraph", "page": 1,
            "text": "We will open two community hospitals in 2024 and close one ward in 2025."} in blocks
    [listing] = [b for b in blocks if b["type"] == "list"]
    assert listing["page"] == 2 and listing["items"] == ["- first point of the list", "- second point of the list"]


@needs_corpus
@pytest.mark.corpus
def test_kent_capital_summary_table_has_its_rows_and_column_headers():
    result = extract((CORPUS / "pairs" / "P01-a.pdf").read_bytes(), "application/pdf")
    [table, *_] = tables_of(result.structure)
    header = table["rows"][: table["header_rows"]]
    assert any("Total Cost" in row for row in header) and any("Prior Years Spend" in row for row in header)
    total = next(row for row in table["rows"] if "Total Cash Limit" in row)
    assert "2,007,750" in total  # the figure "1,288,680" that PDFium splits into four runs is one cell
    assert any("1,288,680" in row for row in table["rows"])


def test_docx_structure_has_headings_lists_and_table_cells():
    body = ('<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Our beds</w:t></w:r></w:p>'
            "<w:p><w:r><w:t>We plan fewer beds.</w:t></w:r></w:p>"
            '<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>Close ward A</w:t></w:r></w:p>'
            '<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>Open hub B</w:t></w:r></w:p>')
    result = extract(make_docx(body + TRACKED), None, "x.docx")
    blocks = result.structure["blocks"]
    assert blocks[0] == {"type": "heading", "page": 1, "level": 1, "text": "Our beds"}
    assert {"type": "list", "page": 1, "items": ["Close ward A", "Open hub B"]} in blocks
    [table] = tables_of(result.structure)
    assert table["rows"] == [["Site", "Beds"], ["QEQM", "250"]] and table["header_rows"] == 1


def test_html_structure_from_the_main_content():
    html = (b"<html><head><title>T</title></head><body><nav><a href='/'>Home</a></nav><main><h1>Bed plan</h1>"
            b"<p>We propose to cut beds across the region this year in the plan.</p>"
            b"<ul><li>Close ward A</li><li>Open hub B</li></ul><table><tr><th>Hospital</th><th>2021</th></tr>"
            b"<tr><td>Northern General Hospital</td><td>648</td></tr></table>"
            b"<p>More text follows here, describing the plan at some length for the extractor.</p></main></body></html>")
    result = extract(html, "text/html")
    blocks = result.structure["blocks"]
    assert blocks[0] == {"type": "heading", "page": 1, "level": 1, "text": "Bed plan"}
    assert {"type": "list", "page": 1, "items": ["Close ward A", "Open hub B"]} in blocks
    [table] = tables_of(result.structure)
    assert table["rows"] == [["Hospital", "2021"], ["Northern General Hospital", "648"]]
    assert not any("Home" in (b.get("text") or "") for b in blocks)


@needs_corpus
@pytest.mark.corpus
def test_xlsx_structure_is_a_table_per_sheet():
    result = extract(read("office/xlsx-hyperlinks.xlsx"), None, "hyperlinks.xlsx")
    blocks = result.structure["blocks"]
    assert blocks[0]["type"] == "heading" and tables_of(result.structure)
    assert all(len(set(map(len, t["rows"]))) == 1 for t in tables_of(result.structure))


def test_structure_is_stored_with_the_extraction_and_read_by_version(tmp_path):
    from storage import Archive
    from storage.schema import MIGRATIONS

    archive = Archive(tmp_path / "home")
    assert archive.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    data = write_pdf(["\n".join(BED_TABLE)])
    result = extract(data, "application/pdf")
    assert archive.text_structure("nothing") is None
    archive.db.execute("INSERT INTO blobs (sha256, size, first_seen_at) VALUES (?, ?, ?)", ["b" * 64, len(data), "2026-01-01"])
    text_sha = archive.record_extraction("b" * 64, result)
    assert archive.text_structure(text_sha) == result.structure
    assert archive.blob_info("b" * 64)["structure"] == result.structure
    archive.close()


# --- scans read by OCR (Tesseract, Debian's tesseract-ocr) ---------------------------------------------

import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402

from tests.pdfgen import make_scanned_pdf  # noqa: E402

SCANNED_LINES = ["Confidential draft plan", "", "We propose an acute bed reduction of 180 beds.",
                 "Bassetlaw A&E will close overnight from April 2017."]


@pytest.fixture(scope="module")
def tesseract_installed():
    """Debian's tesseract-ocr, installed with apt when missing (as root), as test_browser.py does for chromium."""
    if shutil.which("tesseract"):
        return shutil.which("tesseract")
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("tesseract is missing and cannot be installed here (needs root and apt-get): "
                    "run `apt-get install -y tesseract-ocr`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "tesseract-ocr"]
    done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0:  # no package lists yet: update once, then try again
        subprocess.run(["apt-get", "update"], capture_output=True, text=True, env=env, timeout=900)
        done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=900)
    if done.returncode != 0 or not shutil.which("tesseract"):
        pytest.skip(f"cannot install tesseract-ocr: {done.stderr.strip()[-300:]}")
    return shutil.which("tesseract")


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_scanned_pdf_is_read_by_ocr_and_marked_with_its_confidence(tesseract_installed):
    result = extract(make_scanned_pdf(["\n".join(SCANNED_LINES)]), "application/pdf")
    assert result.status == "ok" and "ocr" in result.flags
    assert "acute bed reduction of 180 beds" in result.text and "Bassetlaw A&E will close" in result.text
    assert result.meta["ocr"]["pages"] == [1] and result.meta["ocr"]["confidence"] > 70
    assert result.structure["source"] == "ocr"
    assert all(b["ocr"] and b["confidence"] > 70 for b in result.structure["blocks"])


def test_scan_without_tesseract_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv("STP_TRACKER_TESSERACT", "/nonexistent/tesseract")
    result = extract(make_scanned_pdf(["\n".join(SCANNED_LINES)]), "application/pdf")
    assert result.status == "no_text_layer"
    assert "apt-get install tesseract-ocr" in result.error and "not installed" in result.error


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_ocr_text_is_not_compared_word_for_word_with_a_text_layer(tesseract_installed):
    from tracker.meaning.diff import diff_texts
    from tracker.meaning.significance import significance

    scan = extract(make_scanned_pdf(["\n".join(SCANNED_LINES)]), "application/pdf")
    typed = extract(write_pdf(["\n".join(SCANNED_LINES).replace("180", "181")]), "application/pdf")
    change = diff_texts(typed.text, scan.text, before_structure=typed.structure, after_structure=scan.structure)
    assert change.is_empty() and significance(change)[0] is False
    assert "read by OCR" in change.summary and "not compared word for word" in change.summary


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_plan_rescanned_is_archived_but_no_revision_alert(tesseract_installed, tmp_path):
    """Through the real pipeline (extraction worker pool, archive, event rules): a typed plan and then a scan of
    the same plan at the same URL are two versions, and no alert says every word changed."""
    from storage import Archive
    from tests.replay import Capture, Replayer
    from tracker.workers import ExtractionPool

    pool = ExtractionPool(workers=1)
    try:
        archive = Archive(tmp_path / "home")
        replayer = Replayer(archive, "ics", official=True, kind="page", pool=pool)
        url = "https://ics.example/docs/plan.pdf"
        replayer.crawl([Capture("https://ics.example/", b"<html><body><p>Plans</p></body></html>", "text/html", kind="page")])
        replayer.crawl([Capture(url, write_pdf(["\n".join(SCANNED_LINES)]))])
        events = replayer.crawl([Capture(url, make_scanned_pdf(["\n".join(SCANNED_LINES)]))])
        assert [e.kind for e in events if e.alert] == []
        scan = [f for f in archive.fetches() if f["url"] == url][-1]
        info = archive.blob_info(scan["blob_sha256"])
        assert info["extraction_status"] == "ok" and "ocr" in info["flags"], info  # read in a pool worker
        assert info["structure"]["source"] == "ocr" and info["meta"]["ocr"]["confidence"] > 70
        archive.close()
    finally:
        pool.close()
