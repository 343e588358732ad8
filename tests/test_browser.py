"""The web app in a real headless browser (Debian's chromium driven by Playwright): a person's path through it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")
playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (never `playwright install`)")

try:
    from test_web import HOSTILE_TITLE, Built, build_archive, server  # noqa: F401  (server is a fixture)
except ImportError:  # tests/ imported as a package
    from tests.test_web import HOSTILE_TITLE, Built, build_archive, server  # noqa: F401

# Installing chromium on a fresh machine takes minutes: more than the default per-test limit.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT = Path(os.environ.get("STP_TRACKER_SCREENSHOT", "")) if os.environ.get("STP_TRACKER_SCREENSHOT") else None


def _ensure_chromium() -> str:
    """Debian's chromium, installed with apt when missing (as root); a skip with the reason otherwise."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get): "
                    "run `apt-get install -y chromium`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            pytest.skip(f"cannot install chromium with {' '.join(command)}: {done.stderr.strip()[-300:]}")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"apt-get installed chromium but {CHROMIUM} is not there")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser():
    executable = _ensure_chromium()
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture()
def built(tmp_path: Path) -> Built:
    return build_archive(tmp_path / "home")


def test_open_a_document_compare_versions_and_search(browser, server: str, built: Built, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))

    # Home: follow the plan to its timeline
    page.goto(server + "/")
    assert page.title().startswith("NHS plans by footprint")
    page.get_by_role("link", name=HOSTILE_TITLE).first.click()
    page.wait_for_url(f"**/documents/{built.doc}")
    assert page.locator("h1").inner_text() == HOSTILE_TITLE  # shown as text, never run
    assert page.locator("table.versions tbody tr").count() == 2

    # Its life leads the page; pick two versions with the radio buttons and compare them (no script)
    assert page.locator("ol.life li").count() == 2
    page.check(f"input[name=a][value='{built.v1}']")
    page.check(f"input[name=b][value='{built.v2}']")
    page.get_by_role("button", name="Compare the two chosen versions").click()
    page.wait_for_url(f"**/diff/{built.v1}/{built.v2}")
    assert page.locator("mark.diff-figure").count() >= 1
    assert page.locator("del.diff-del").first.is_visible() and page.locator("ins.diff-ins").first.is_visible()
    assert "320" in page.locator("table.figures").inner_text()
    deleted_colour = page.locator("del.diff-del").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert deleted_colour == "rgb(255, 221, 221)"  # the diff stylesheet is served and applied (CSP allows 'self')
    if SCREENSHOT:
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.screenshot(path=str(tmp_path / "diff.png"), full_page=True)
    assert (tmp_path / "diff.png").stat().st_size > 10_000
    page.get_by_role("link", name="side by side").click()
    assert page.locator("table.diff-sbs tbody tr").count() >= 2

    # Search from the header box
    page.fill("header input[name=q]", "maternity")
    page.press("header input[name=q]", "Enter")
    page.wait_for_url("**/search?q=maternity*")
    results = page.locator("ol.results > li")
    assert results.count() == 2  # the plan (its v1 and v2 under it) and the Joint Forward Plan
    assert page.locator("ol.results ul.hits li").count() == 3
    assert page.locator("ol.results mark").first.inner_text().lower() == "maternity"

    # The original bytes of a version download, they do not open in the app's origin
    page.goto(f"{server}/versions/{built.v1}")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="download the bytes as fetched").click()
    download = download_info.value
    assert Path(download.path()).read_bytes() == built.bodies["page_v1"]

    assert problems == []  # no script ran: no dialog, no CSP violation, no console error
    page.close()


PAGES = {  # every kind of page, by a path built from the test archive
    "home": lambda b: "/",
    "footprint": lambda b: "/footprints/QF7",
    "document": lambda b: f"/documents/{b.doc}",
    "version": lambda b: f"/versions/{b.v1}",
    "diff": lambda b: f"/diff/{b.v1}/{b.v2}",
    "search": lambda b: "/search?q=beds",
    "events": lambda b: "/events",
    "feed": lambda b: "/feed",
}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_reads_at_desktop_and_phone_widths(browser, server: str, built: Built, tmp_path: Path,
                                                      width: int) -> None:
    """At 390 px nothing scrolls sideways and no date or URL breaks one character per line; every page kind
    renders without a console error. With STP_TRACKER_SCREENSHOTS=1 the screenshots go to docs/screenshots/."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    for name, path in PAGES.items():
        page.goto(server + path(built))
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} at {width}px scrolls sideways by {overflow}px"
        # A <time> is one line; a table cell is never squeezed to a few characters wide.
        tall = page.evaluate("""() => [...document.querySelectorAll('time')].filter(
            t => t.getBoundingClientRect().height > 2.2 * parseFloat(getComputedStyle(t).lineHeight || 20)).length""")
        assert tall == 0, f"{name} at {width}px: a date wraps over several lines"
        narrow = page.evaluate("""() => [...document.querySelectorAll('td')].filter(
            td => td.innerText.trim().length > 12 && td.getBoundingClientRect().width < 60).length""")
        assert narrow == 0, f"{name} at {width}px: table cells squeezed to a few characters"
        shot = tmp_path / f"{name}-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 5_000
        if os.environ.get("STP_TRACKER_SCREENSHOTS"):
            DOCS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(DOCS / f"{name}-{'phone' if width < 600 else 'desktop'}.png"), full_page=False)
    assert problems == []
    page.close()
