"""What an operator reads: `status` at a glance and at 80 columns, tables that fit, help as written, one error line,
start-up warnings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage import Archive

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "tracker.cli"]
NAMES = [f"council-{chr(97 + i % 26)}{i:03d}-committee-papers" for i in range(308)]


def cli(*args: str, columns: int = 80, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "COLUMNS": str(columns), **(env or {})}
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=environ)


@pytest.fixture
def many(tmp_path: Path) -> Path:
    """A home with 308 sources crawled once: every fifth failed (DNS)."""
    home = tmp_path / "home"
    with Archive(home) as archive:
        crawl = archive.start_crawl(NAMES)
        for i, name in enumerate(NAMES):
            archive.upsert_source(name, footprint="QF7", kind="moderngov", official=False, config={})
            ok = i % 5 != 0
            archive.note_source_result(name, crawl, ok, None if ok else
                                       f"unreachable: DNS lookup failed for democracy.{name}.gov.uk")
        archive.finish_crawl(crawl, {})
    return home


def fits(text: str, width: int = 80) -> list[str]:
    lines = text.splitlines()
    assert lines and max(len(line) for line in lines) <= width, max(lines, key=len)
    return lines


def test_status_is_one_screen_at_80_columns(many: Path) -> None:
    result = cli("--home", str(many), "status")
    assert result.returncode == 0, result.stderr
    lines = fits(result.stdout)
    assert len(lines) <= 24, result.stdout
    assert lines[0].startswith("daemon: not running")
    assert "sources: 308: 246 ok, 62 failing" in result.stdout
    assert "alerts: none waiting" in result.stdout
    failing = NAMES[::5]
    shown = [name for name in failing if any(line.startswith(name + " ") for line in lines)]
    assert len(shown) == 12  # names whole, one row each
    assert "... and 50 more: stp-tracker status --failing" in result.stdout


def test_status_all_failing_and_json(many: Path) -> None:
    every = fits(cli("--home", str(many), "status", "--all").stdout)
    assert all(any(line.startswith(name + " ") for line in every) for name in NAMES)
    assert len(every) <= 308 + 8  # one line per source, never one word per line
    failing = fits(cli("--home", str(many), "status", "--failing").stdout)
    assert all(any(line.startswith(name + " ") for line in failing) for name in NAMES[::5])
    assert not any(line.startswith(NAMES[1] + " ") for line in failing)
    wide = cli("--home", str(many), "status", columns=160).stdout
    assert "failing since" in wide and "failing since" not in cli("--home", str(many), "status").stdout
    report = json.loads(cli("--home", str(many), "status", "--json").stdout)
    assert len(report["sources"]) == 308 and {"name", "last_ok", "last_error", "next_due"} <= set(report["sources"][0])


def test_listings_fit_80_columns(many: Path) -> None:
    footprints = cli("footprints")
    assert footprints.returncode == 0, footprints.stderr
    rows = len(json.loads(cli("footprints", "--json").stdout))
    lines = fits(footprints.stdout)
    assert len(lines) <= 3 * rows, footprints.stdout
    header = lines[0]
    assert header.index("type") - header.index("name") >= 24  # names wrap in a wide column, never word by word
    listing = cli("--home", str(many), "sources", "list")
    assert listing.returncode == 0, listing.stderr
    count = len(json.loads(cli("--home", str(many), "sources", "list", "--json").stdout))
    lines = fits(listing.stdout)
    assert len(lines) <= 1.25 * count + 2, "sources take more than one line each at 80 columns"
    assert lines[0].index("kind") - lines[0].index("name") >= 30  # a long name wraps once, never word by word


def test_events_documents_and_history_fit_80_columns(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    assert cli("demo", "--home", str(home)).returncode == 0
    events = cli("--home", str(home), "events")
    lines = fits(events.stdout)
    count = len(json.loads(cli("--home", str(home), "events", "--json").stdout))
    assert count and len(lines) <= 6 * count + 2, events.stdout  # was 10 lines an event

    documents = json.loads(cli("--home", str(home), "documents", "--json").stdout)
    listing = fits(cli("--home", str(home), "documents").stdout)
    assert documents and len(listing) <= 4 * len(documents) + 2, "\n".join(listing)
    ids = {line.split()[0] for line in listing[2:] if line.split() and line.split()[0].isdigit()}
    assert ids == {str(d["id"]) for d in documents}  # one row per document, each starting with its id
    plan = max(documents, key=lambda d: d["versions"])
    history = cli("--home", str(home), "history", str(plan["id"]))
    assert history.returncode == 0, history.stderr
    shown = fits(history.stdout)
    versions = json.loads(cli("--home", str(home), "history", str(plan["id"]), "--json").stdout)
    assert all(any(line.split()[:1] == [str(v["version_id"])] for line in shown) for v in versions), history.stdout
    assert len(json.loads(cli("--home", str(home), "documents", "--json").stdout)) == len(documents)


def test_help_keeps_brackets_and_names_values_in_words() -> None:
    preserve = cli("preserve", "--help", columns=120).stdout
    assert "Needs [preserve] enabled." in preserve
    crawl = cli("crawl", "--help", columns=120).stdout
    assert "([[source]] tables)" in crawl and "PATH" in crawl
    for args in (["--help"], ["subscribe", "--help"], ["status", "--help"], ["events", "--help"]):
        text = cli(*args, columns=120).stdout
        assert "<bool>" not in text and "<list[" not in text and "<str>" not in text and "<path>" not in text, text


def test_subscribe_without_smtp_says_its_error_once(tmp_path: Path) -> None:
    result = cli("--home", str(tmp_path / "h"), "subscribe", "reader@example.org")
    assert result.returncode == 1
    assert result.stderr.count("no SMTP server configured") == 1, result.stderr


def test_startup_warnings(tmp_path: Path) -> None:
    from tracker.daemon.checks import smtp_problem, startup_warnings

    said = startup_warnings(None, environ={"STP_TRACKER_TESSERACT": str(tmp_path / "no-such-tesseract")})
    assert any("STP_TRACKER_CONTACT is not set" in s for s in said)
    assert any(s.startswith("optional tools not installed: tesseract (reading scanned PDFs") for s in said)
    assert not any("STP_TRACKER_CONTACT" in s for s in startup_warnings(None, environ={
        "STP_TRACKER_CONTACT": "mailto:ops@example.org"}))
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        assert "cannot connect to 127.0.0.1" in (smtp_problem("127.0.0.1", port) or "")
        s.listen()
        assert smtp_problem("127.0.0.1", port) is None


def test_status_says_whether_ocr_is_installed_and_how_to_install_it(many: Path) -> None:
    """Without tesseract scanned PDFs are recorded unread: status says so, with the command that fixes it."""
    missing = cli("--home", str(many), "status", env={"STP_TRACKER_TESSERACT": str(many / "no-such-tesseract")})
    line = next(line for line in missing.stdout.splitlines() if line.startswith("tools: "))
    assert "tesseract not installed" in line and "apt-get install tesseract-ocr" in line, missing.stdout
    present = cli("--home", str(many), "status", env={"STP_TRACKER_TESSERACT": sys.executable})
    line = next(line for line in present.stdout.splitlines() if line.startswith("tools: "))
    assert "tesseract" in line and "not installed (reading scanned" not in line, present.stdout
    report = json.loads(cli("--home", str(many), "status", "--json",
                            env={"STP_TRACKER_TESSERACT": str(many / "no-such-tesseract")}).stdout)
    assert {"tool": "tesseract", "installed": False} == {k: report["tools"][0][k] for k in ("tool", "installed")}
