"""Exports: CSV and JSON read back with the standard library; the WARC passes `warcio check` and `warcio index`."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from clirun import run_cli
from warcio.archiveiterator import ArchiveIterator

from storage import Archive

try:
    from test_web import PDF_URL, PLAN_URL, Built, build_archive
except ImportError:  # tests/ imported as a package
    from tests.test_web import PDF_URL, PLAN_URL, Built, build_archive

from tracker.research.export import export
from tracker.research.warc import export_warc

VENV_BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = VENV_BIN / name
    assert path.exists(), f"{name} (a script of warcio, a dependency) is not installed next to {sys.executable}"
    return str(path)


@pytest.fixture()
def built(tmp_path: Path) -> Built:
    return build_archive(tmp_path / "home")


def test_csv_export_reads_back(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "csv"
    with Archive(built.home, readonly=True) as archive:
        counts = export(archive, out, "csv", batch=2)  # small batches: the streaming path is exercised
    assert counts["documents"] == 2 and counts["versions"] == 3 and counts["events"] == 3 and counts["fetches"] == 8
    with (out / "fetches.csv").open(newline="", encoding="utf-8") as fh:
        fetches = list(csv.DictReader(fh))
    assert len(fetches) == 8 and [int(f["id"]) for f in fetches] == sorted(int(f["id"]) for f in fetches)
    assert {f["status"] for f in fetches} >= {"200", "304", "404", ""}
    assert json.loads(fetches[0]["headers"])["content-type"].startswith("text/html")
    with (out / "events.csv").open(newline="", encoding="utf-8") as fh:
        events = {e["kind"]: e for e in csv.DictReader(fh)}
    assert json.loads(events["revised"]["changes"])["figures"][0]["kind"] == "beds"
    with (out / "documents.csv").open(newline="", encoding="utf-8") as fh:
        titles = [d["title"] for d in csv.DictReader(fh)]
    assert titles[0] == "South Yorkshire STP <script>alert(1)</script>"  # data, exactly as archived
    footprints = (out / "footprints.csv").read_text(encoding="utf-8")
    if footprints:  # the built-in registry ships with the crawler package
        rows = list(csv.DictReader(footprints.splitlines()))
        assert any(r["code"] == "QF7" for r in rows)
    assert not list(out.glob("*.part"))


def test_json_export_reads_back(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "json"
    with Archive(built.home, readonly=True) as archive:
        counts = export(archive, out, "json", batch=3)
    events = json.loads((out / "events.json").read_text(encoding="utf-8"))
    assert len(events) == counts["events"] == 3
    revised = next(e for e in events if e["kind"] == "revised")  # THE event JSON, as `events --json` prints it
    assert revised["versions"] == {"before": built.v1, "after": built.v2}
    assert revised["footprint"]["code"] == "QF7" and revised["document"]["id"] == built.doc
    fetches = json.loads((out / "fetches.json").read_text(encoding="utf-8"))
    assert isinstance(fetches[0]["headers"], dict) and fetches[0]["not_modified"] is False
    assert sum(f["not_modified"] for f in fetches) == 1
    documents = json.loads((out / "documents.json").read_text(encoding="utf-8"))
    assert documents[0]["meta"]["withdrawn_from"]["sheffield-council"]["since"] == "2017-06-01"
    urls = json.loads((out / "document_urls.json").read_text(encoding="utf-8"))
    assert {u["url"] for u in urls} >= {PLAN_URL, PDF_URL}
    json.loads((out / "footprints.json").read_text(encoding="utf-8"))


def test_cli_export_writes_all_three(built: Built, tmp_path: Path) -> None:
    done = run_cli(built.home, "export", "--csv", str(tmp_path / "c"), "--json", str(tmp_path / "j"),
                   "--warc", str(tmp_path / "a.warc.gz"), code=0)
    assert (tmp_path / "c" / "versions.csv").exists() and (tmp_path / "j" / "versions.json").exists()
    assert "4 responses, 3 revisits" in done.stderr
    nothing = run_cli(built.home, "export")
    assert nothing.returncode == 2 and "nothing to export" in nothing.stderr


def test_warc_passes_check_and_index_with_revisits_for_repeats(built: Built, tmp_path: Path) -> None:
    warc = tmp_path / "stp.warc.gz"
    with Archive(built.home, readonly=True) as archive:
        stats = export_warc(archive, warc)
        blobs = {f["id"]: f["blob_sha256"] for f in archive.fetches()}
        stored = {sha: archive.blob(sha) for sha in set(blobs.values()) if sha}
    # page v1, pdf, page v2, the 404 page; the 304, page back to v1 and the council's copy of the pdf are revisits
    assert (stats.responses, stats.revisits, stats.requests, stats.skipped_no_body) == (4, 3, 7, 1)

    check = subprocess.run([_tool("warcio"), "check", "-v", str(warc)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    index = subprocess.run([_tool("warcio"), "index", "-f", "warc-type,warc-target-uri,http:status", str(warc)],
                           capture_output=True, text=True, timeout=60)
    assert index.returncode == 0, index.stderr
    lines = [json.loads(line) for line in index.stdout.splitlines()]
    assert len(lines) == stats.records == 15
    assert [line["warc-type"] for line in lines].count("revisit") == 3
    assert {line["warc-target-uri"] for line in lines if line["warc-type"] == "response"} >= {PLAN_URL, PDF_URL}

    responses, revisits = {}, []
    with warc.open("rb") as fh:
        for record in ArchiveIterator(fh):
            fetch_id = record.rec_headers.get_header("STP-Tracker-Fetch-Id")
            if record.rec_type == "response":
                payload = record.content_stream().read()
                assert payload == stored[blobs[int(fetch_id)]]  # the original bytes, exactly
                assert hashlib.sha256(payload).hexdigest() == blobs[int(fetch_id)]
                assert record.http_headers.get_header("Content-Length") == str(len(payload))
                assert record.http_headers.get_header("Content-Encoding") is None  # the body is stored decoded
                responses[record.rec_headers.get_header("WARC-Payload-Digest")] = record
            elif record.rec_type == "revisit":
                revisits.append(record)
            elif record.rec_type == "request":
                assert record.http_headers.protocol == "GET"
    page = next(r for r in responses.values() if r.rec_headers.get_header("WARC-Target-URI") == PLAN_URL)
    assert page.rec_headers.get_header("WARC-Date") == "2016-11-07T10:00:00Z"
    assert page.http_headers.statusline == "200 OK"
    assert page.http_headers.get_header("ETag") == '"p1"'
    for revisit in revisits:
        digest = revisit.rec_headers.get_header("WARC-Payload-Digest")
        original = responses[digest]  # every revisit points at a response holding the same bytes
        assert revisit.rec_headers.get_header("WARC-Profile").endswith("/revisit/identical-payload-digest")
        assert revisit.rec_headers.get_header("WARC-Refers-To-Target-URI") == original.rec_headers.get_header(
            "WARC-Target-URI")
        assert revisit.rec_headers.get_header("WARC-Refers-To-Date") == original.rec_headers.get_header("WARC-Date")
    not_modified = [r for r in revisits if r.rec_headers.get_header("STP-Tracker-HTTP-Status") == "304"]
    assert len(not_modified) == 1 and not_modified[0].rec_headers.get_header("WARC-Target-URI") == PDF_URL
    assert not_modified[0].rec_headers.get_header("WARC-Date") == "2017-03-01T09:00:04Z"
