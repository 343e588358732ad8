"""`stp-tracker sources list|show|check` and `footprints`, through typer's CliRunner, on real archives and servers."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fixtureweb import FixtureWeb
from storage import Archive, Fetch
from tracker.cli import app

runner = CliRunner()


def run(home: Path, *args: str) -> Any:
    return runner.invoke(app, ["--home", str(home), *args], catch_exceptions=False)


def as_json(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)  # the whole of stdout is one JSON array
    assert isinstance(data, list)
    return data


def test_footprints(home: Path) -> None:
    rows = as_json(run(home, "footprints", "--json"))
    by_code = {r["code"]: r for r in rows}
    assert len(rows) == 51  # 44 STPs, 42 ICBs of 2022, 36 of 2026, sharing codes where they carried over
    syb = by_code["QF7"]
    assert syb["name"] == "NHS South Yorkshire Integrated Care Board"
    assert syb["types"] == ["stp-2016", "icb-2022", "icb-2026"]
    assert syb["successors"][0] == "QF7" and "QT1" in syb["successors"]  # Bassetlaw moved to Nottinghamshire
    assert syb["publishers"] >= 1 and syb["councils"] >= 4
    stps = {r["code"]: r for r in as_json(run(home, "footprints", "--json", "--type", "stp-2016"))}
    assert "QHM" not in stps and stps["STP-E54000045"]["successors"][0] == "QHM"
    table = run(home, "footprints", "--type", "icb-2022")
    assert table.exit_code == 0 and "QHM" in table.stdout and "STP-E54000045" not in table.stdout
    bad = run(home, "footprints", "--type", "stp-2019")
    assert bad.exit_code == 2 and "use stp-2016, icb-2022, icb-2026" in bad.stderr
    assert "Example: stp-tracker footprints" in run(home, "footprints", "--help").stdout


@pytest.mark.parametrize("query, code", [("Sheffield", "QF7"), ("Humber, Coast and Vale", "QOQ"), ("qf7", "QF7"),
                                         ("Together We're Better", "QNC"), ("Central East", "S1Y5D")])
def test_footprints_by_any_name(home: Path, query: str, code: str) -> None:
    (row,) = as_json(run(home, "footprints", query, "--json"))
    assert row["code"] == code
    table = run(home, "footprints", query)
    assert table.exit_code == 0 and code in table.stdout


def test_footprints_json_carries_names_and_succession(home: Path) -> None:
    (syb,) = as_json(run(home, "footprints", "QF7", "--json"))
    assert syb["stp_2016_name"] == "South Yorkshire and Bassetlaw" and "SYB" in syb["aliases"]
    (hcv,) = as_json(run(home, "footprints", "QOQ", "--json"))
    assert hcv["stp_2016_name"] == "Humber, Coast and Vale"
    assert any(p["from"] == "QWO" for p in hcv["predecessor_links"])  # Harrogate came over in 2020
    (blmk,) = as_json(run(home, "footprints", "QHG", "--json"))
    assert blmk["current"] is False and blmk["current_footprints"] == ["S1Y5D"]
    assert "S1Y5D" in blmk["successors"]
    (central,) = as_json(run(home, "footprints", "S1Y5D", "--json"))
    assert set(central["predecessors"]) == {"QHG", "QUE", "QM7"} and central["types"] == ["icb-2026"]
    several = as_json(run(home, "footprints", "yorkshire", "--json"))
    assert {"QF7", "QOQ", "QWO"} <= {r["code"] for r in several}
    none = run(home, "footprints", "South Yorkshre")
    assert none.exit_code == 1 and "did you mean QF7" in none.stderr


def test_footprint_options_take_names_and_refuse_unknown_ones(home: Path) -> None:
    sources = as_json(run(home, "sources", "list", "--footprint", "Sheffield", "--json"))
    assert sources and all("QF7" in s["footprints"] for s in sources)
    for command in (["events"], ["documents"], ["search", "plan"], ["feed"], ["sources", "list"],
                    ["subscribe", "x@example.org"]):
        bad = run(home, *command, "--footprint", "South Yorkshre and Basetlaw")
        assert bad.exit_code == 2, command
        assert "did you mean QF7, South Yorkshire and Bassetlaw" in bad.stderr, command
    assert run(home, "init").exit_code == 0
    assert as_json(run(home, "events", "--footprint", "qf7", "--json")) == []
    assert as_json(run(home, "documents", "--footprint", "South Yorkshire and Bassetlaw", "--json")) == []


def _set_up_health(home: Path) -> None:
    """Four sources in an archive: one serving documents, one serving only pages, one failing, one failing 8 days."""
    now = dt.datetime.now(dt.timezone.utc)
    with Archive(home) as archive:
        crawl = archive.start_crawl(["good", "empty", "failing", "stale"])
        for name in ("good", "empty", "failing", "stale"):
            archive.upsert_source(name, footprint="QF7", kind="site", official=False, config={})
        archive.record_fetch(Fetch(url="http://a.example/plan.pdf", source="good", crawl_id=crawl, status=200,
                                   headers={"Content-Type": "application/pdf"}, body=b"%PDF-1.4 plan", kind="document"))
        archive.record_fetch(Fetch(url="http://b.example/", source="empty", crawl_id=crawl, status=200,
                                   headers={"Content-Type": "text/html"}, body=b"<p>nothing</p>"))
        for name in ("failing", "stale"):
            archive.record_fetch(Fetch(url=f"http://{name}.example/", source=name, crawl_id=crawl,
                                       error="DNS lookup failed for x.example", kind="page"))
        archive.note_source_result("good", crawl, True)
        archive.note_source_result("empty", crawl, True)
        archive.note_source_result("failing", crawl, False, "unreachable: DNS lookup failed for failing.example")
        archive.note_source_result("stale", crawl, True)
        archive.note_source_result("stale", crawl, False, "unreachable: connection refused by stale.example")
        archive.db["sources"].update("stale", {"last_success_at": (now - dt.timedelta(days=8)).isoformat()})
        archive.finish_crawl(crawl, {})


SOURCES_TOML = """
[[source]]
name = "good"
footprint = "QF7"
start_urls = ["http://a.example/"]

[[source]]
name = "empty"
footprint = "QF7"
start_urls = ["http://b.example/"]

[[source]]
name = "failing"
footprint = "QF7"
start_urls = ["http://failing.example/"]

[[source]]
name = "stale"
footprint = "QKS"
start_urls = ["http://stale.example/"]

[[source]]
name = "council-bns-barnsley"
kind = "moderngov"
footprint = "QF7"
start_urls = ["https://democracy.barnsley.example/"]
options = { lookback_months = 6 }
"""


def test_sources_list_shows_health(home: Path) -> None:
    (home / "sources.toml").write_text(SOURCES_TOML)
    _set_up_health(home)
    rows = {r["name"]: r for r in as_json(run(home, "sources", "list", "--json"))}
    assert len(rows) > 300  # the built-in registry, plus the user's file
    assert rows["good"]["health"] == "ok" and rows["good"]["documents"] == 1 and rows["good"]["last_success_at"]
    assert rows["empty"]["health"] == "no-documents" and rows["empty"]["pages"] == 1  # reachable, publishes nothing
    failing = rows["failing"]
    assert failing["health"] == "failing" and failing["consecutive_failures"] == 1
    assert failing["last_error"].startswith("unreachable: DNS lookup failed") and not failing["failing_for_a_week"]
    assert rows["stale"]["health"] == "failing-7d" and rows["stale"]["failing_for_a_week"]
    assert rows["nhse-integrated-care"]["health"] == "never-crawled" and rows["nhse-integrated-care"]["origin"] == "built-in"
    barnsley = rows["council-bns-barnsley"]  # the user's file overrides the built-in source of that name
    assert barnsley["start_urls"] == ["https://democracy.barnsley.example/"] and "overrides built-in" in barnsley["origin"]

    qf7 = {r["name"] for r in as_json(run(home, "sources", "list", "--json", "--footprint", "QF7"))}
    assert {"good", "empty", "failing", "council-bns-barnsley", "nhse-integrated-care"} <= qf7 and "stale" not in qf7
    by_name = {r["name"] for r in as_json(run(home, "sources", "list", "--json", "--footprint", "South Yorkshire"))}
    assert by_name == qf7
    cmis = as_json(run(home, "sources", "list", "--json", "--kind", "cmis"))
    assert cmis and all(r["kind"] == "cmis" for r in cmis)

    table = run(home, "sources", "list", "--footprint", "QF7")
    assert table.exit_code == 0
    lines = {line.split()[0]: line for line in table.stdout.splitlines() if line.strip()}
    assert "reachable, publishes nothing" in lines["empty"] and "failing" in lines["failing"]
    stale = run(home, "sources", "list", "--kind", "site")
    assert "FAILING FOR A WEEK" in stale.stdout and "failing for a week or more" in stale.stderr
    assert run(home, "sources", "list", "--kind", "ftp").exit_code == 2
    assert run(home, "sources", "list", "--footprint", "Atlantis").exit_code == 2


def test_sources_show(home: Path) -> None:
    (home / "sources.toml").write_text(SOURCES_TOML + '\n[[source]]\nname = "broken"\nkind = "moderngov"\n'
                                       'start_urls = ["https://x.example/"]\noptions = { lookback_months = 0 }\n')
    _set_up_health(home)
    (info,) = as_json(run(home, "sources", "show", "good", "--json"))
    assert info["config"]["start_urls"] == ["http://a.example/"] and info["footprint_names"]["QF7"].startswith("NHS South")
    assert info["latest_fetches"][0]["url"] == "http://a.example/plan.pdf" and info["health"] == "ok"
    (council,) = as_json(run(home, "sources", "show", "council-bns-barnsley", "--json"))
    assert council["committee_options"]["lookback_months"] == 6 and council["config_error"] is None
    (broken,) = as_json(run(home, "sources", "show", "broken", "--json"))
    assert "options.lookback_months: must be a whole number from 1 to 240" in broken["config_error"]
    text = run(home, "sources", "show", "failing")
    assert text.exit_code == 0 and "health: failing" in text.stdout and "last error: unreachable" in text.stdout
    missing = run(home, "sources", "show", "goood")
    assert missing.exit_code == 1 and "no source named 'goood' (did you mean good?)" in missing.stderr


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def blocked_web() -> Any:
    server = FixtureWeb(host="127.0.0.2").start()
    try:
        yield server
    finally:
        server.stop()


def test_sources_check(home: Path, web: FixtureWeb, blocked_web: FixtureWeb) -> None:
    web.set("/", "<p>council papers</p>")
    web.set("/private/", "<p>no bots</p>", status=403)
    blocked_web.set("/", "<p>hello</p>")
    blocked_web.set_robots("User-agent: stp-tracker\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    (home / "sources.toml").write_text(f"""
[[source]]
name = "reachable"
start_urls = ["{web.url('/')}"]
[[source]]
name = "forbidden"
start_urls = ["{web.url('/private/')}"]
[[source]]
name = "robots"
start_urls = ["{blocked_web.url('/')}"]
[[source]]
name = "closed"
start_urls = ["http://127.0.0.1:{_closed_port()}/"]
""")
    result = run(home, "sources", "check", "reachable", "forbidden", "robots", "closed", "--json", "--timeout", "3")
    assert result.exit_code == 1  # not every source is ok
    verdicts = {r["name"]: r for r in as_json(result)}
    assert verdicts["reachable"]["ok"] and verdicts["reachable"]["verdict"] == "ok"
    assert verdicts["reachable"]["urls"][0]["status"] == 200 and verdicts["reachable"]["urls"][0]["tcp"]
    assert verdicts["forbidden"]["verdict"].startswith("HTTP 403")
    assert verdicts["robots"]["verdict"].startswith("blocked by robots.txt")
    assert not blocked_web.requests_for("/")  # a disallowed start URL is not fetched, even to check it
    assert verdicts["closed"]["verdict"].startswith("unreachable: connection refused by 127.0.0.1:")
    # The request carried our User-Agent.
    assert web.requests_for("/")[0].headers["User-Agent"].startswith("stp-tracker/")

    lines = run(home, "sources", "check", "reachable", "robots").stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["reachable", "robots"]
    assert lines[0].split()[1] == "ok" and "blocked by robots.txt" in lines[1]
    assert run(home, "sources", "check", "reachable").exit_code == 0
    assert run(home, "sources", "check", "nope").exit_code == 1


def test_every_sources_command_has_an_example(home: Path) -> None:
    for command in ("list", "show", "check"):
        help_text = run(home, "sources", command, "--help").stdout
        assert f"Example: stp-tracker sources {command}" in help_text, command


def test_sources_list_official_covers_every_icb_of_2022_and_2026(home: Path) -> None:
    """Target of issue 14: at least one official source of the ICB's own (site, board papers) for each of the 42
    ICBs of 2022 and the 36 of 2026, not only NHS England's national pages."""
    from crawler.registry import footprints

    rows = as_json(run(home, "sources", "list", "--official", "--json"))
    assert rows and all(r["official"] for r in rows)
    own = [r for r in rows if r["role"] in ("icb", "icb-board", "cluster-board")]
    covered = {code for r in own for code in r["footprints"]}
    fps = footprints()
    icbs22 = {c for c, fp in fps.items() if "icb-2022" in fp.types}
    icbs26 = {c for c, fp in fps.items() if "icb-2026" in fp.types}
    assert len(icbs22) == 42 and len(icbs26) == 36
    assert icbs22 - covered == set() and icbs26 - covered == set()
    for r in own + [r for r in rows if r["role"] == "trust-board"]:
        assert set(r["evidence"]) == set(r["start_urls"]), r["name"]  # every URL cites its evidence row
        assert all(e.startswith(("icb_websites.csv", "nhs-board-papers/")) for e in r["evidence"].values()), r["name"]
    # every NHS trust with a known board-papers page is an official source of its footprint
    trusts = [r for r in rows if r["role"] == "trust-board"]
    assert len(trusts) >= 200
    sheffield = next(r for r in trusts if r["name"] == "trust-rhq")  # Sheffield Teaching Hospitals
    assert sheffield["footprint"] == "QF7"
    # a merged ICB keeps its predecessors' sites as history (for web-archive backfill), not as live scope
    central = next(r for r in rows if r["name"] == "board-s1y5d")
    assert "bedfordshirelutonandmiltonkeynes.icb.nhs.uk" in central["history_domains"]
    devon = [r for r in own if "QJK" in r["footprints"] and r["history_domains"]]
    assert devon and "devon.icb.nhs.uk" in devon[0]["history_domains"]
    unofficial = as_json(run(home, "sources", "list", "--unofficial", "--kind", "cmis", "--json"))
    assert unofficial and not any(r["official"] for r in unofficial)
