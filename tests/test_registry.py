"""The built-in registry: footprints, official publishers, councils and the default sources built from them."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.registry import (
    DEFAULT_SCHEDULES, UnknownFootprint, councils, current_footprints, default_sources, find_footprint, footprints,
    places, publishers, resolve_footprint, search_footprints,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
REGISTRY_CSV = SHARED / "registry"
BUILD = ROOT / "tools" / "build_registry.py"
SOURCE_KEYS = {"name", "footprint", "kind", "official", "start_urls", "allowed_domains", "max_depth", "schedule",
               "document_hosts", "options"}


def shared_or_skip() -> Path:
    if not (REGISTRY_CSV / "council_democracy_platforms.csv").is_file():
        pytest.skip(f"shared registry CSVs not found at {REGISTRY_CSV} (needs the /work/shared checkout)")
    return REGISTRY_CSV


def test_44_stp_footprints_and_42_icbs() -> None:
    fps = footprints()
    stps = [fp for fp in fps.values() if "stp-2016" in fp.types]
    icbs = [fp for fp in fps.values() if "icb-2022" in fp.types]
    assert len(stps) == 44
    assert len(icbs) == 42
    # 41 codes carried over from STP to ICB; QHM is ICB-only; three pre-2018 STPs have synthetic keys
    assert sum(1 for fp in fps.values() if {"stp-2016", "icb-2022"} <= set(fp.types)) == 41
    synthetic = sorted(code for code, fp in fps.items() if fp.synthetic_code)
    assert synthetic == ["STP-E54000045", "STP-E54000046", "STP-E54000047"]
    for code in synthetic:
        assert fps[code].types == ("stp-2016",) and not fps[code].is_current
        assert any("synthetic key" in note for note in fps[code].notes)
        assert any(link["to"] == "QHM" and link["when"] == "2018-08" for link in fps[code].successors)


def test_36_icbs_of_2026_with_mergers_and_clusters() -> None:
    fps = footprints()
    icbs26 = {code for code, fp in fps.items() if "icb-2026" in fp.types}
    assert len(icbs26) == 36
    new = {code for code in icbs26 if "icb-2022" not in fps[code].types}
    assert new == {"S1Y5D", "D7T5G", "T6Y0W", "Z9B2Z", "S0E4D", "S9B9J"}
    gone = {code for code, fp in fps.items() if "icb-2022" in fp.types and not fp.is_current}
    assert gone == {"QH8", "QHG", "QJG", "QM7", "QMJ", "QMM", "QNQ", "QNX", "QRV", "QU9", "QUE", "QXU"}
    central_east = fps["S1Y5D"]
    assert central_east.name == "NHS Central East Integrated Care Board"
    assert {p["from"] for p in central_east.predecessors} == {"QHG", "QUE", "QM7"}
    assert all(p["when"] == "2026-04" for p in central_east.predecessors)
    assert any(s["to"] == "S1Y5D" and s["part"].startswith("whole") for s in fps["QHG"].successors)
    # Suffolk and North East Essex split in two; Frimley in three (HIOW took its Hampshire part)
    assert {s["to"] for s in fps["QJG"].successors if s["when"] == "2026-04"} == {"D7T5G", "T6Y0W"}
    assert {s["to"] for s in fps["QNQ"].successors if s["when"] == "2026-04"} == {"S0E4D", "S9B9J", "QRL"}
    assert fps["QT1"].cluster == fps["QJ2"].cluster == fps["QJM"].cluster == "DLN"
    assert fps["QF7"].is_current and fps["QF7"].cluster is None


def test_footprint_records_carry_history_and_boundary_moves() -> None:
    syb = footprints()["QF7"]
    assert syb.ons_codes == ("E54000009", "E54000061")
    assert syb.region_code == "Y63"
    assert "02P" in syb.sub_icb_locations  # a Sheffield-area CCG code
    bassetlaw = [s for s in syb.successors if s["to"] == "QT1"]
    assert bassetlaw and bassetlaw[0]["lsoa"] == 70 and "Bassetlaw" in bassetlaw[0]["part"]
    moves = {(f, s["to"]) for f, fp in footprints().items() for s in fp.successors if s["when"] == "2022-07"}
    assert moves == {("QF7", "QT1"), ("QUA", "QHL"), ("QOP", "QJ2"), ("QUE", "QPM")}  # the four 2022 moves
    assert any(p["from"] == "QNX" and "East Surrey" in p["part"] for p in footprints()["QXU"].predecessors)
    assert footprints()["QNX"].ons_codes[-1] == "E54000064"  # 2024 code kept as history


def test_every_footprint_has_an_official_publisher() -> None:
    pubs = publishers()
    for code, fp in footprints().items():
        assert fp.official_publishers, code
        for name in fp.official_publishers:
            assert pubs[name]["official"] is True
            assert code in pubs[name]["footprints"]
        own_site = any(pubs[n]["role"] in ("icb", "partnership") for n in fp.official_publishers)
        assert (fp.site_gap is None) == own_site, code  # a missing ICB site is a marked gap, not a guess
    assert "site-kentandmedway.icb.nhs.uk" in footprints()["QKS"].official_publishers
    assert all(host.endswith("england.nhs.uk") for host in pubs["nhse-integrated-care"]["allowed_domains"])


@pytest.mark.parametrize("query, code", [
    ("QF7", "QF7"),
    ("qf7", "QF7"),
    ("South Yorkshire and Bassetlaw", "QF7"),
    ("south yorkshire & bassetlaw STP", "QF7"),
    ("SYB", "QF7"),  # alias
    ("NHS South Yorkshire Integrated Care Board", "QF7"),
    ("E54000009", "QF7"),  # ONS code of 2017
    ("E54000061", "QF7"),  # ONS code of the ICB
    ("Together We're Better", "QNC"),  # brand name, straight apostrophe
    ("together we’re better", "QNC"),  # curly apostrophe
    ("Joined Up Care Derbyshire", "QJ2"),
    ("Kent & Medway", "QKS"),
    ("Milton Keynes, Bedfordshire and Luton", "QHG"),  # 2016 name
    ("Bedfordshire, Luton and Milton Keynes", "QHG"),  # later name
    ("Cumbria and North East", "QHM"),
    ("NTWND", "STP-E54000046"),
    ("E54000045", "STP-E54000045"),
    ("02P", "QF7"),  # sub-ICB location (old CCG code)
    ("Sheffield", "QF7"),  # a place lying in one footprint
    ("Sheffield City Council", "QF7"),  # a council
    ("Humber, Coast and Vale", "QOQ"),  # 2016 STP name
    ("Central East", "S1Y5D"),  # 2026 ICB
    ("NHS Surrey and Sussex Integrated Care Board", "S9B9J"),
    ("W&NL ICB", "Z9B2Z"),  # 2026 alternative name
])
def test_find_footprint(query: str, code: str) -> None:
    found = find_footprint(query)
    assert found is not None and found.code == code


@pytest.mark.parametrize("query", ["", "   ", "Narnia", "QZZ", "x" * 1000])
def test_find_footprint_unknown(query: str) -> None:
    assert find_footprint(query) is None


def test_resolve_footprint_refuses_unknown_names_with_suggestions() -> None:
    assert resolve_footprint("south yorkshire and bassetlaw").code == "QF7"
    with pytest.raises(UnknownFootprint) as caught:
        resolve_footprint("South Yorkshre and Basetlaw")
    assert caught.value.suggestions[0] == ("QF7", "South Yorkshire and Bassetlaw")
    assert "did you mean QF7, South Yorkshire and Bassetlaw" in str(caught.value)
    with pytest.raises(ValueError):  # UnknownFootprint is a ValueError
        resolve_footprint("XXX")


def test_search_footprints_by_part_of_a_name() -> None:
    assert [fp.code for fp in search_footprints("Sheffield")] == ["QF7"]
    assert {fp.code for fp in search_footprints("yorkshire")} >= {"QF7", "QOQ", "QWO"}
    assert search_footprints("Narnia") == []


def test_current_footprints_follow_mergers_and_splits() -> None:
    assert current_footprints("QF7") == ("QF7",)
    assert current_footprints("QHG") == ("S1Y5D",)
    assert set(current_footprints("QNQ")) == {"S0E4D", "S9B9J", "QRL"}
    assert set(current_footprints("STP-E54000045")) == {"QHM", "QOQ"}  # 2018 merger, then a 2020 move
    assert current_footprints("nothing") == ()


def test_councils_are_english_and_never_official() -> None:
    all_councils = councils()
    assert len(all_councils) > 300
    assert all(c.official is False for c in all_councils)
    fps = footprints()
    for council in all_councils:
        assert council.footprints, council.id
        assert all(code in fps for code in council.all_footprints()), council.id


def test_county_councils_map_through_their_districts() -> None:
    by_id = {c.id: c for c in councils()}
    assert by_id["KEN-kent"].footprints == ("QKS",)
    surrey = by_id["SRY-surrey"]
    assert surrey.footprints[0] == "QXU" and "QNQ" in surrey.footprints  # split with Frimley
    essex = by_id["ESS-essex"]
    assert set(essex.footprints) == {"QH8", "QM7", "QJG"}
    bassetlaw = by_id["BAE-bassetlaw"]
    assert bassetlaw.footprints == ("QT1",)
    assert [e["footprint"] for e in bassetlaw.stp2016] == ["QF7"]  # in SYB in 2016
    assert "BAE-bassetlaw" in footprints()["QF7"].councils


def test_abolished_councils_are_marked_and_not_crawled() -> None:
    by_id = {c.id: c for c in councils()}
    for cid in ("AYL", "CMA", "ALL-allerdale", "NTH-northamptonshire"):
        council = by_id[cid]
        assert council.abolished and council.end_date
        assert council.crawl_by_default is False
    assert by_id["AYL"].primary_footprint == "QU9"  # through its successor, Buckinghamshire
    crawled = {cid for s in default_sources() for cid in s["options"].get("councils", [])}
    assert not crawled & {"AYL", "CMA", "ALL-allerdale"}
    with_old = {cid for s in default_sources(include_abolished=True) for cid in s["options"].get("councils", [])}
    assert "ALL-allerdale" in with_old


@pytest.mark.corpus
def test_every_live_english_committee_council_maps_to_a_footprint() -> None:
    shared = shared_or_skip()
    with (shared / "council_democracy_platforms.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_id = {c.id: c for c in councils()}
    live = [r for r in rows if r["territory"] == "ENG" and r["cms_type"] in ("ModernGov", "CMIS") and not r["end_date"]]
    assert len(live) > 250
    crawled = {cid for s in default_sources() for cid in s["options"].get("councils", [])}
    for row in live:
        council = by_id.get(row["slug"])
        assert council is not None, row["slug"]
        assert council.footprints, row["slug"]
        assert row["slug"] in crawled, row["slug"]
    foreign = {r["slug"] for r in rows if r["territory"] != "ENG"}
    assert foreign and not foreign & set(by_id)  # Welsh, Scottish and NI councils are left out


def test_default_sources_shape() -> None:
    sources = default_sources()
    names = [s["name"] for s in sources]
    assert len(names) == len(set(names))
    for source in sources:
        assert set(source) == SOURCE_KEYS
        assert source["start_urls"] and all(u.startswith(("http://", "https://")) for u in source["start_urls"])
        assert source["allowed_domains"] and all("/" not in d for d in source["allowed_domains"])
        assert source["kind"] in ("site", "moderngov", "cmis")
        assert source["official"] is (source["kind"] == "site")
        assert source["schedule"] == DEFAULT_SCHEDULES[source["kind"]]
    covered = {code for s in sources if s["official"] for code in s["options"]["footprints"]}
    assert covered == set(footprints())
    kent = next(s for s in sources if "KEN-kent" in s["options"].get("councils", []))
    assert kent["kind"] == "moderngov" and kent["footprint"] == "QKS" and kent["official"] is False
    assert kent["start_urls"] == ["https://democracy.kent.gov.uk/"]
    icb = next(s for s in sources if s["name"] == "site-kentandmedway.icb.nhs.uk")
    assert icb["footprint"] == "QKS" and icb["official"] is True
    # councils are polled more often than NHS sites
    hours = {k: int(v.rstrip("h")) for k, v in DEFAULT_SCHEDULES.items()}
    assert hours["moderngov"] < hours["site"] and hours["cmis"] < hours["site"]
    shared_site = next(s for s in sources if "WOT-worthing" in s["options"].get("councils", []))
    assert "ADU-adur" in shared_site["options"]["councils"]  # one source for a shared committee site
    cmis = next(s for s in sources if "CAM" in s["options"].get("councils", []))
    assert cmis["kind"] == "cmis" and cmis["start_urls"] == ["https://cambridgeshire.cmis.uk.com/ccc_live/"]


def test_default_sources_load_as_sources() -> None:
    import crawler.sources as sources_mod
    loaded = 0
    for raw in default_sources():
        if raw["kind"] not in sources_mod.KINDS:
            continue  # council kinds are registered by the committee-system spiders
        source = sources_mod.source_from_dict(raw, origin="<built-in registry>")
        assert source.name == raw["name"]
        loaded += 1
    assert loaded >= 15


def test_places_point_at_one_footprint() -> None:
    table = places()
    assert table["Kent"] == "QKS" and table["Medway"] == "QKS" and table["Sheffield"] == "QF7"
    assert "Reading" not in table  # an English word: never footprint evidence
    assert "Essex" not in table  # split between three ICBs


@pytest.mark.corpus
def test_build_registry_check_passes() -> None:
    shared = shared_or_skip()
    done = subprocess.run([sys.executable, str(BUILD), "--shared", str(shared), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.corpus
def test_build_registry_is_deterministic_and_check_detects_drift(tmp_path: Path) -> None:
    shared = shared_or_skip()
    cmd = [sys.executable, str(BUILD), "--shared", str(shared), "--out", str(tmp_path)]
    assert subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0
    for name in ("footprints.json", "councils.json"):
        shipped = (ROOT / "crawler" / "registry" / name).read_bytes()
        assert (tmp_path / name).read_bytes() == shipped, name
    (tmp_path / "councils.json").write_text("{}\n", encoding="utf-8")
    drift = subprocess.run(cmd + ["--check"], capture_output=True, text=True, timeout=60)
    assert drift.returncode == 1 and "councils.json" in drift.stderr
    missing = subprocess.run([sys.executable, str(BUILD), "--shared", str(tmp_path / "nowhere"), "--check"],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "--shared" in missing.stderr


def test_history_domains_are_in_source_options_and_the_registry() -> None:
    """The contract with web-archive backfill: options["history_domains"], a list of hostnames, never live scope."""
    from crawler.registry import history_domains
    from crawler.sources import sources_from_dicts

    sources = {s.name: s for s in sources_from_dicts([d for d in default_sources() if d["kind"] == "site"])}
    with_history = {n: s for n, s in sources.items() if s.options.get("history_domains")}
    assert len(with_history) >= 10
    for source in with_history.values():
        domains = source.options["history_domains"]
        assert isinstance(domains, list) and all(isinstance(d, str) and "/" not in d and "." in d for d in domains)
        assert not any(source.in_scope(f"https://{d}/") for d in domains)  # history: not crawled live
    assert "devon.icb.nhs.uk" in history_domains("QJK")
    assert {"bedfordshirelutonandmiltonkeynes.icb.nhs.uk", "cpics.org.uk"} <= set(history_domains("S1Y5D"))
    assert set(history_domains()) >= set(history_domains("QJK"))


def test_board_papers_and_trusts_are_official_sources_scoped_to_their_pages() -> None:
    sources = {s["name"]: s for s in default_sources()}
    board = sources["board-qf7"]
    assert board["official"] and board["footprint"] == "QF7"
    assert board["options"]["path_prefixes"] == ["/our-information/meetings-and-papers"]
    assert "syics.co.uk" in board["document_hosts"]  # South Yorkshire's packs are served from there
    assert set(board["options"]["evidence"]) == set(board["start_urls"])
    cluster = sources["board-cluster-sw-pen"]
    assert set(cluster["options"]["footprints"]) == {"QJK", "QT6"} and cluster["footprint"] is None
    trusts = [s for s in sources.values() if s["options"].get("role") == "trust-board"]
    assert len(trusts) == 206  # every trust in trust_urls.csv with a board-papers page (K0N6A has none)
    assert all(s["official"] and s["options"]["footprints"] for s in trusts)
    ambulance = sources["trust-rx7"]  # North West Ambulance Service: every ICB of its region
    assert {"QYG", "QOP", "QE1"} <= set(ambulance["options"]["footprints"])
