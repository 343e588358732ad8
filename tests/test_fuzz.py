"""Hostile documents: fuzzed extraction, normalisation and diffs never crash or hang, and the extraction pool
records a job that hangs, dies or eats memory, then keeps working.

Hypothesis runs derandomised (the same examples every run), so CI is reproducible and a red build is a real
regression, not a lucky draw; STP_FUZZ_EXAMPLES=N (e.g. 5000) runs N random examples per test for a longer
local fuzzing session, printing the seed of any failure. The deadline is a hang detector, not a speed check:
one example takes milliseconds, the deadline is seconds.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from storage import BlobStore, Extraction
from test_extract import CORPUS, check_recorded, needs_corpus
from tests.faulty_tasks import faulty_task
from tracker.workers import ExtractionPool
from tracker.meaning.diff import TWO_LEVEL_FROM, Change, canonical_whitespace, diff_texts
from tracker.meaning.extract import STATUSES, Limits, extract
from tracker.meaning.normalise import normalise_pages, normalise_text

ROOT = Path(__file__).resolve().parents[1]
_RANDOM_EXAMPLES = int(os.environ.get("STP_FUZZ_EXAMPLES", "0"))
FUZZ_TIMEOUT = max(120, _RANDOM_EXAMPLES // 10)  # seconds for a whole fuzzing test: a hang fails it


def fuzz(examples: int) -> settings:
    """Per-test settings: `examples` derandomised in CI, or STP_FUZZ_EXAMPLES random ones when asked."""
    return settings(
        max_examples=_RANDOM_EXAMPLES or examples,
        derandomize=not _RANDOM_EXAMPLES,
        print_blob=True,
        deadline=timedelta(seconds=10),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# --- what every extraction must be ----------------------------------------------------------------------------


def check_storable(result: Extraction) -> None:
    """check_recorded (a known status, text or a reason), and what the archive and the pool need of it:
    text, title and error encode as UTF-8 (SQLite and the text hash) and the result pickles (worker -> parent)."""
    check_recorded(result)
    assert result.status in STATUSES
    for value in (result.text, result.title or "", result.error or ""):
        value.encode("utf-8")
    pickle.loads(pickle.dumps(result))
    json.dumps(result.meta)


# --- mutated real documents ---------------------------------------------------------------------------------

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SEEDS = {
    "pdf/pdfminer-simple1.pdf": "application/pdf",
    "pdf/pysf-libreoffice-writer.pdf": "application/pdf",
    "office/docx-blk-paras-and-tables.docx": DOCX,
    "office/xlsx-merge_cells.xlsx": XLSX,
    "html-versions/uk-kingston-moderngov/ieListDocuments-CId711-MId10161-cancelled.html": "text/html",
    "html-versions/edge-cases/noaa-unknown-encoding.html": "text/html",
}
_seed_cache: dict[str, bytes] = {}


def seed(name: str) -> bytes:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS} (tests need ../shared)")
    if name not in _seed_cache:
        _seed_cache[name] = (CORPUS / name).read_bytes()
    return _seed_cache[name]


# Tokens that mean something to a PDF, XML or HTML parser: inserting them reaches deeper than random bytes.
TOKENS = [
    b"obj", b"endobj", b"stream\n", b"endstream", b"xref\n0 1\n", b"trailer", b"%%EOF", b"/Length 99999999",
    b"<<", b">>", b"/Encrypt", b"[[[[[[[[", b"((((", b"/Type /Page", b"/Kids [1 0 R]", b"1 0 R", b"-1",
    b"/Filter /FlateDecode", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"<w:p>", b"</w:p>", b"<w:t>", b"<w:ins>",
    b"<w:del>", b"<c r=\"XFD1048576\"><v>1</v></c>", b"<!DOCTYPE x [<!ENTITY a \"aaaaaaaa\">]>", b"&a;",
    b"<![CDATA[", b"<!--", b"<script>", b"<table><tr><td>", b"<meta charset=\"utf-16\">",
    b"<meta charset=\"x-no-such\">", b"<p>", b"</div>", b"\r\n", b"\xc3\x28", b"\xed\xa0\x80",
]  # fmt: skip


@st.composite
def mutate(draw: st.DrawFn, data: bytes, other: bytes) -> bytes:
    """Up to six byte-level edits: flip, overwrite, insert (bytes or a parser token), delete, duplicate a
    range, truncate, or splice with another file."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "overwrite", "insert", "token", "delete", "repeat", "truncate", "splice"]))
        pos = draw(st.integers(0, len(out)))
        if op == "flip" and pos < len(out):
            out[pos] ^= draw(st.integers(1, 255))
        elif op == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=64))
            out[pos : pos + len(chunk)] = chunk
        elif op == "insert":
            out[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif op == "token":
            out[pos:pos] = draw(st.sampled_from(TOKENS)) * draw(st.integers(1, 50))
        elif op == "delete":
            del out[pos : pos + draw(st.integers(1, 512))]
        elif op == "repeat":
            end = draw(st.integers(pos, min(len(out), pos + 256)))
            out[end:end] = out[pos:end] * draw(st.integers(1, 20))
        elif op == "truncate":
            del out[pos:]
        elif op == "splice":
            cut = draw(st.integers(0, len(other)))
            out = out[:pos] + bytearray(other[cut:])
    return bytes(out)


@st.composite
def mutated_document(draw: st.DrawFn) -> tuple[bytes, str, str]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    other = draw(st.sampled_from(sorted(SEEDS)))
    return draw(mutate(seed(name), seed(other))), SEEDS[name], name


@needs_corpus
@pytest.mark.corpus
@pytest.mark.timeout(FUZZ_TIMEOUT)
@fuzz(300)
@given(mutated_document())
def test_mutated_real_documents_give_a_recorded_status(doc: tuple[bytes, str, str]) -> None:
    data, content_type, name = doc
    check_storable(extract(data, content_type, name))


@st.composite
def mutated_package(draw: st.DrawFn) -> tuple[bytes, str, str]:
    """A DOCX or XLSX with one XML member mutated and the package re-zipped: the XML parsers see the damage
    (byte edits to the compressed file mostly stop at the zip layer)."""
    name = draw(st.sampled_from([n for n in sorted(SEEDS) if n.endswith(("docx", "xlsx"))]))
    with zipfile.ZipFile(io.BytesIO(seed(name))) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    parts = sorted(m for m in members if m.endswith((".xml", ".rels")))
    main = [m for m in parts if m in ("word/document.xml", "xl/sharedStrings.xml") or m.startswith("xl/worksheets/")]
    target = draw(st.one_of(st.sampled_from(main), st.sampled_from(parts)))  # half the time, where the text is
    members[target] = draw(mutate(members[target], members[draw(st.sampled_from(sorted(members)))]))
    if draw(st.booleans()):
        del members[draw(st.sampled_from(sorted(members)))]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, content in members.items():
            zf.writestr(member, content)
    return buf.getvalue(), SEEDS[name], f"{name}:{target}"


@needs_corpus
@pytest.mark.corpus
@pytest.mark.timeout(FUZZ_TIMEOUT)
@fuzz(200)
@given(mutated_package())
def test_office_packages_with_mutated_xml_give_a_recorded_status(doc: tuple[bytes, str, str]) -> None:
    data, content_type, name = doc
    check_storable(extract(data, content_type, name))


@needs_corpus
@pytest.mark.corpus
@fuzz(100)
@given(st.text(max_size=40))
def test_any_css_selector_gives_a_recorded_status(selector: str) -> None:
    page = "html-versions/uk-kingston-moderngov/ieListDocuments-CId711-MId10161-cancelled.html"
    result = extract(seed(page), "text/html", "https://example.org/page", css_selector=selector or None)
    check_storable(result)
    assert result.status in ("ok", "empty", "broken")


# --- arbitrary bytes under every content type ------------------------------------------------------------

CONTENT_TYPES = [
    None, "", "application/pdf", DOCX, XLSX, "application/msword", "application/vnd.ms-excel", "text/html",
    "text/html; charset=utf-16", "text/html; charset=no-such-charset", "text/plain; charset=shift_jis",
    "text/csv", "application/xhtml+xml", "application/octet-stream", "image/png", ";;;charset=",
    "text/html; charset=\"",
]  # fmt: skip
URLS = [None, "https://example.org/plan.pdf", "plan.docx", "https://example.org/a.xls?x=1", "https://e.org/", "://"]
MAGIC = [
    b"", b"%PDF-1.7\n", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"<!doctype html><p>",
    b"<?xml version=\"1.0\"?>", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"<html><meta charset=utf-7>", b"<!--",
]  # fmt: skip


@fuzz(400)
@given(st.sampled_from(MAGIC), st.binary(max_size=3000), st.sampled_from(CONTENT_TYPES), st.sampled_from(URLS))
@example(b"PK\x03\x04", b"\x00" * 26, DOCX, "plan.docx")
def test_arbitrary_bytes_under_any_content_type_give_a_recorded_status(
    magic: bytes, body: bytes, content_type: str | None, url: str | None
) -> None:
    check_storable(extract(magic + body, content_type, url))


@fuzz(100)
@given(st.sampled_from(MAGIC), st.binary(min_size=1, max_size=3000), st.integers(1, 400))
def test_tiny_limits_give_too_large_or_a_recorded_status(magic: bytes, body: bytes, cap: int) -> None:
    limits = Limits(max_bytes=cap * 8, max_pages=1, max_chars=cap, max_unzipped=cap * 8, max_cells=cap)
    result = extract(magic + body, None, None, limits=limits)
    check_storable(result)
    assert len(result.text) <= cap


# --- the normaliser -----------------------------------------------------------------------------------------

# Every code point, lone surrogates included, weighted towards what documents are made of.
ANY_CHAR = st.characters(codec=None, exclude_categories=())
DOC_PIECES = st.sampled_from([
    "\n", "\n\n", " ", "\t", "\r\n", "-\n", "\x02", "\x02\n", "\u00ad\n", "\u2022", "\uf0b7", "\x0c", "\u2029",
    "1.2 The", "Page 3", "printed on 1/2/2024", "a", "B", "-", "|", "é",
])  # fmt: skip
NORM_TEXT = st.lists(st.one_of(DOC_PIECES, st.text(ANY_CHAR, max_size=8)), max_size=80).map("".join)
_BAD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200d\u2060\ufeff\ue000-\uf8ff]")
_ONLY_SYMBOLS = re.compile(r"[-+|*]+")


def check_normalised(text: str, reflow: bool) -> None:
    """Rules 1, 2 and 5 of tracker/normalise.py as a user sees them in stored text."""
    assert not _BAD_CHARS.search(text), "control, zero-width, soft hyphen or private-use character left"
    assert "\r" not in text and "\x02" not in text
    if reflow:
        assert "\t" not in text and "\n\n\n" not in text
        assert text == text.strip()
    for line in text.split("\n"):
        assert line == line.strip(" "), "untrimmed line"
        assert "  " not in line, "whitespace not collapsed"
        assert not _ONLY_SYMBOLS.fullmatch(line), f"line of only symbols kept: {line!r}"


@fuzz(400)
@given(NORM_TEXT, st.booleans())
@example("\x02", True)  # pypdfium2's line-end hyphen alone on a line came out as a line "-"
@example("\u00ad\n", True)  # the same, from a soft hyphen at a line end
@example("\x021.2 The", False)  # with no reflow (spreadsheets) the \x02 itself was kept
def test_normalised_text_keeps_the_character_and_line_rules(text: str, reflow: bool) -> None:
    out = normalise_text(text, reflow=reflow)
    check_normalised(out, reflow)


@fuzz(200)
@given(st.lists(NORM_TEXT, max_size=8))
@example(["\x02", "\x02", "\x02"])
def test_normalised_pages_keep_the_rules_and_give_one_ordered_offset_per_page(pages: list[str]) -> None:
    text, offsets = normalise_pages(pages)
    check_normalised(text, reflow=True)
    assert len(offsets) == len(pages)
    assert offsets == sorted(offsets) and all(0 <= o <= len(text) for o in offsets)


# Not tested: normalise_text(normalise_text(x)) == normalise_text(x). The module does not promise it and it
# does not hold: "Printed on Printed on 12/03/2024 12/03/2024" loses one rendered-date stamp per pass.


# --- the diff -----------------------------------------------------------------------------------------------

PARAS = st.lists(st.text(ANY_CHAR, min_size=1, max_size=30), min_size=TWO_LEVEL_FROM + 1, max_size=TWO_LEVEL_FROM + 20)


def _rebuild(ops: list[tuple[int, str]]) -> tuple[str, str]:
    return "".join(t for op, t in ops if op <= 0), "".join(t for op, t in ops if op >= 0)


def check_change(a: str, b: str, change: Change) -> None:
    """Equal + deleted ops rebuild canonical a, equal + inserted canonical b; every output renders."""
    if change.ops:
        assert _rebuild(change.ops) == (canonical_whitespace(a), canonical_whitespace(b))
    assert change.is_empty() == (canonical_whitespace(a) == canonical_whitespace(b))
    assert change.words_added >= 0 and change.words_removed >= 0 and change.summary
    json.dumps(change.to_json(max_equal=None))
    change.to_text()
    change.to_html(side_by_side=True)


@fuzz(100)
@given(PARAS, st.data())
def test_long_texts_diffed_paragraph_first_rebuild_both_sides(paragraphs: list[str], data: st.DataObject) -> None:
    """Texts over TWO_LEVEL_FROM paragraphs take the paragraph-first path, which the short-text
    properties in test_diff.py rarely reach."""
    edited = list(paragraphs)
    for _ in range(data.draw(st.integers(1, 5))):
        i = data.draw(st.integers(0, len(edited) - 1))
        edited[i] = data.draw(st.sampled_from(["", "beds 180", edited[i][::-1], edited[i] + " new"]))
    a, b = "\n\n".join(paragraphs), "\n\n".join(edited)
    check_change(a, b, diff_texts(a, b))
    assert diff_texts(a, a).is_empty()


@fuzz(100)
@given(NORM_TEXT, NORM_TEXT, st.integers(1, 12))
def test_coarser_diffs_when_words_do_not_fit_still_rebuild_both_sides(a: str, b: str, capacity: int) -> None:
    change = diff_texts(a, b, max_distinct_tokens=capacity)
    check_change(a, b, change)


@fuzz(150)
@given(NORM_TEXT, NORM_TEXT)
def test_normalised_texts_diff_cleanly_and_rewrapping_is_no_change(a: str, b: str) -> None:
    """The pipeline's real inputs: normalised texts. Re-wrapping one (spaces to line breaks) is no change."""
    na, nb = normalise_text(a), normalise_text(b)
    check_change(na, nb, diff_texts(na, nb))
    rewrapped = na.replace(" ", "\n", 3)
    assert diff_texts(na, rewrapped).is_empty()


# --- the extraction pool under fault ------------------------------------------------------------------------


NOTE = "The plan closes 180 beds at the county hospital: {name}."


def _jobs(store: BlobStore, *names: str) -> list[tuple[str, str | None, str | None, str | None]]:
    """One plain-text job per name (quick to read in a fresh worker), at URL https://example.org/<name>."""
    jobs = []
    for name in names:
        sha, _ = store.put(NOTE.format(name=name).encode())
        jobs.append((sha, "text/plain", f"https://example.org/{name}", None))
    return jobs


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs", fsync=False)


@pytest.mark.timeout(120)
def test_a_hung_job_is_recorded_as_timed_out_and_the_pool_keeps_working(store: BlobStore) -> None:
    pool = ExtractionPool(workers=2, task=faulty_task)
    try:
        jobs = _jobs(store, "hang", "one", "two")
        results = pool.run(jobs, str(store.root), timeout=5)
        hung = results[jobs[0][0]]
        assert hung.status == "broken" and "timed out after 5 s" in (hung.error or "")
        assert [(results[j[0]].status, results[j[0]].error) for j in jobs[1:]] == [("ok", None)] * 2
        later = _jobs(store, "three")
        assert pool.run(later, str(store.root), timeout=5)[later[0][0]].status == "ok"
    finally:
        pool.close()


@pytest.mark.timeout(120)
def test_a_killed_worker_is_recorded_against_its_job_only_and_the_pool_keeps_working(store: BlobStore) -> None:
    """A dead worker fails every job in flight; only the one that dies again on its own is blamed."""
    pool = ExtractionPool(workers=2, task=faulty_task)
    try:
        jobs = _jobs(store, "slow", "die", "two", "three")
        results = pool.run(jobs, str(store.root), timeout=60)
        died = results[jobs[1][0]]
        assert died.status == "broken"
        assert "worker process died" in (died.error or "") and "memory" in (died.error or "")
        assert [(results[j[0]].status, results[j[0]].error) for j in jobs if j is not jobs[1]] == [("ok", None)] * 3
        later = _jobs(store, "four")
        assert pool.run(later, str(store.root))[later[0][0]].status == "ok"
    finally:
        pool.close()


@pytest.mark.timeout(120)
def test_a_job_that_allocates_without_end_is_too_large_and_the_pool_keeps_working(store: BlobStore) -> None:
    pool = ExtractionPool(workers=1, memory_mb=1024, task=faulty_task)
    try:
        jobs = _jobs(store, "limit", "eat", "one")
        results = pool.run(jobs, str(store.root), timeout=60)
        assert results[jobs[0][0]].text == str(1024 * 1024 * 1024)
        eaten = results[jobs[1][0]]
        assert eaten.status == "too_large" and "memory" in (eaten.error or "") and "1024 MB" in (eaten.error or "")
        assert results[jobs[2][0]].status == "ok"
    finally:
        pool.close()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_real_document_too_big_for_the_memory_cap_is_too_large(store: BlobStore) -> None:
    """8 MB of short lines needs some 170 MB to normalise: under a 128 MB cap (a text worker starts at some
    50 MB) the real extraction runs out of memory, which is recorded, and the pool reads the next document."""
    big = b"".join(b"w%d x\n" % i for i in range(8 * 1024 * 1024 // 10))
    sha, _ = store.put(big)
    small = _jobs(store, "one")
    pool = ExtractionPool(workers=1, memory_mb=128)
    try:
        results = pool.run([(sha, "text/plain", "https://example.org/big.txt", None), *small], str(store.root))
        assert results[sha].status == "too_large" and "memory" in (results[sha].error or ""), results[sha].error
        assert results[small[0][0]].status == "ok"
    finally:
        pool.close()


def test_memory_cap_comes_from_the_environment() -> None:
    code = "from tracker.workers import ExtractionPool as P; print(P().memory_mb, P(memory_mb=0).memory_mb)"
    env = {**os.environ, "STP_TRACKER_EXTRACT_MEMORY_MB": "300"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["300", "0"], out.stderr
