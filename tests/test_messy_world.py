"""The messy world (tests/messy_world.py) through every state: each expected event at the first crawl after its
state, with the right footprint and generation, and no other alert event; URLs stay flat; an outage stops early."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from storage import Archive

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> list[dict]:
    home = tmp_path_factory.mktemp("messy") / "home"
    script = ("import json, sys; from pathlib import Path; from tests.messy_world import run; "
              "print(json.dumps(run(Path(sys.argv[1])), default=str))")
    proc = subprocess.run([sys.executable, "-c", script, str(home)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for r in out:
        r["home"] = str(home)
    return out


def test_every_expected_event_and_no_other_alert(results) -> None:
    from tests.messy_world import score

    tp, fp, fn, misses = score(results)
    assert (fp, fn) == (0, 0), "\n".join(misses)
    assert tp == 7


def test_the_official_copy_of_a_leak_is_one_event_naming_the_leak_and_the_plan_it_supersedes(results) -> None:
    leak = next(r for r in results if r["name"] == "leak")
    publication = next(r for r in results if r["name"] == "publication")
    [event] = [e for e in publication["events"] if e["alert"]]
    leaked = next(e for e in leak["events"] if e["footprint"] == "QYG")
    assert event["document_id"] == leaked["document_id"]
    assert "draft was first seen" in event["summary"] and "Five Year Strategic Plan" in event["summary"]
    assert event["changes"]["replaces"]["generation"] == "2019-five-year"
    assert any("35%" in str(f["after"]) or "38m" in str(f["after"]) for f in event["changes"]["figures"])


def test_titles_are_ones_a_person_reads(results) -> None:
    for r in results:
        for e in r["events"]:
            assert "Microsoft Word" not in e["summary"] and ".docx" not in e["summary"], e["summary"]


def test_a_domain_move_is_recorded_not_alerted(results) -> None:
    move = next(r for r in results if r["name"] == "domain move")
    assert [e["kind"] for e in move["events"]] == ["moved"]
    later = [e for r in results[results.index(move):] for e in r["events"]]
    assert not [e for e in later if e["kind"] == "withdrawn" and e["source"] == "cm-partnership-2016"]


def test_known_urls_stay_flat_and_carry_no_session_ids(results) -> None:
    tail = [r["known_urls"] for r in results if r["state"] >= 7]
    assert all(k == tail[0] for k in tail), tail
    with Archive(results[0]["home"]) as archive:
        urls = [k.url for k in archive.known_urls("cm-icb")]
    assert len(urls) >= 60
    assert not [u for u in urls if "jsessionid" in u.lower() or "utm_" in u]


def test_an_outage_stops_each_source_early(results) -> None:
    outage = next(r for r in results if r["name"] == "outage")
    assert "stopped early" in outage["source_errors"]["cm-icb"]
    assert outage["fetches"]["cm-icb"] <= 8
    assert outage["events"] == []
