"""Build the shipped registry tables (crawler/registry/*.json) from /work/shared/registry/*.csv and the hand-kept TOML.

Usage: .venv/bin/python tools/build_registry.py [--shared PATH] [--check] [--out DIR]
  --check  build in memory and exit 1 if the shipped files differ (nothing is written).
The output is deterministic: sorted keys, sorted lists where order carries no meaning, no timestamps.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
import tomllib
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "crawler" / "registry"
DEFAULT_SHARED = ROOT.parent / "shared" / "registry"
OUTPUTS = ("footprints.json", "councils.json")
CSV_FILES = (
    "stp44_to_icb42.csv",
    "icb22_codes.csv",
    "sicbl22_to_icb22.csv",
    "stp21_to_icb22_lsoa_overlap.csv",
    "ltla22_to_icb22.csv",
    "council_democracy_platforms.csv",
    "icb_websites.csv",
    "nhs-board-papers/icb_urls.csv",
    "nhs-board-papers/trust_urls.csv",
)
HAND_FILES = ("publishers.toml", "council_areas.toml", "boundaries.toml", "domains.toml")
SYNTHETIC_PREFIX = "STP-"  # key of a pre-2018 northern STP with no known ODS code: "STP-" + its 2017 ONS code
ONS_CODE = re.compile(r"E54\d{6}")
COMMITTEE_PLATFORMS = ("ModernGov", "CMIS")
# Custom-HTML rows whose URL is plainly a ModernGov install (DOMAIN.md 5: mg*.aspx pages, /moderngov paths).
MODERNGOV_URL_HINT = re.compile(r"/mg[A-Z]\w*\.aspx|/moderngov\b", re.IGNORECASE)
# CMIS base URLs in the CSV point at a councillors page; the site root is the path before it.
CMIS_PEOPLE_SEGMENT = re.compile(r"councillor|members", re.IGNORECASE)
OWN_SITE_ROLES = ("icb", "partnership", "icb-board", "cluster-board")  # an ICB's own publishing (not NHSE's)
ROLE_TITLES = {"icb": "ICB website", "partnership": "STP/ICS partnership website",
               "consultation": "NHS consultation website", "icb-2026-merged": "merged ICB website (2026)"}
# Single words that are LTLA names but also ordinary words or common place names elsewhere: never used as
# footprint evidence in documents (the full names of footprints still are).
AMBIGUOUS_PLACES = {"Reading", "Bury", "Hart", "Eden", "Rugby", "Boston", "Sutton", "Wyre", "Halton", "Ashford",
                    "Richmond", "Merton"}
PLACE_SHARE = 0.75  # a place counts as evidence for a footprint only if that footprint holds this share of it


FOOTPRINT_TYPES = ("stp-2016", "icb-2022", "icb-2026")
MERGER_WHEN = "2026-04"


class BuildError(Exception):
    """The inputs do not fit together; the message names the row and the fix."""


def read_csv(shared: Path, name: str) -> list[dict[str, str]]:
    path = shared / name
    if not path.is_file():
        raise BuildError(f"missing registry input {path}: pass --shared DIR pointing at the shared registry folder")
    with path.open(newline="", encoding="utf-8") as fh:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def read_toml(name: str) -> dict:
    with (REGISTRY / name).open("rb") as fh:
        return tomllib.load(fh)


def name_key(text: str) -> str:
    """Compare place names across CSVs: lower case, '&' = 'and', no punctuation, no ', City of' suffix."""
    text = text.lower().replace("&", " and ")
    text = re.sub(r",\s*(city|county) of$", "", text)
    text = re.sub(r"['’.]", "", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def short_icb_name(icb_name: str) -> str:
    """'NHS South Yorkshire Integrated Care Board' -> 'South Yorkshire'."""
    name = re.sub(r"^NHS\s+", "", icb_name)
    return re.sub(r"\s+(Integrated Care Board|ICB)$", "", name).strip()


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


# --------------------------------------------------------------------------- footprints

def build_footprints(shared: Path, publishers: dict, boundaries: dict, domains: dict) -> tuple[dict, dict]:
    stp44 = read_csv(shared, "stp44_to_icb42.csv")
    icb22 = read_csv(shared, "icb22_codes.csv")
    sicbl = read_csv(shared, "sicbl22_to_icb22.csv")
    overlap = read_csv(shared, "stp21_to_icb22_lsoa_overlap.csv")
    if len(stp44) != 44 or len(icb22) != 42:
        raise BuildError(f"expected 44 STP rows and 42 ICB rows, got {len(stp44)} and {len(icb22)}: check the CSVs")

    fps: dict[str, dict] = {}

    def blank(code: str) -> dict:
        return {
            "code": code, "synthetic_code": False, "types": [], "name": "", "names": [], "short_name": "",
            "ons_codes": [], "ons_history": [], "region": "", "region_code": "", "aliases": [],
            "brand_names": [], "predecessors": [], "successors": [], "boundary_notes": [],
            "sub_icb_locations": [], "official_publishers": [], "site_gap": None, "notes": [], "cluster": None,
        }

    for row in stp44:
        ods = row["stp_ods_code"]
        synthetic = ods.upper() == "UNKNOWN"
        code = SYNTHETIC_PREFIX + row["stp17_code"] if synthetic else ods
        fp = fps.setdefault(code, blank(code))
        fp["types"].append("stp-2016")
        fp["name"] = row["stp17_name"]
        fp["names"].append({"name": row["stp17_name"], "period": "2016/17 STP"})
        fp["region"], fp["region_code"] = row["nhse_region_2019"], row["region_code_2019"]
        fp["aliases"].extend(split_list(row["stp_aliases"]))
        history = row["ons_code_history"]
        fp["ons_history"].append(history)
        if synthetic:
            fp["synthetic_code"] = True
            fp["ons_codes"].append(row["stp17_code"])  # later codes belong to the merged footprint, not this one
            fp["notes"].append(
                f"No ODS Q-code is known for this pre-2018 STP ({row['q_code_confidence']}); "
                f"'{code}' is a stable synthetic key made from its 2017 ONS code, not an NHS code."
            )
        else:
            fp["ons_codes"].extend(ONS_CODE.findall(row["stp17_code"] + " " + history + " " + row["icb22_ons_code"]))
            fp["notes"].append(f"ODS code confidence: {row['q_code_confidence']}")
        if row["split_or_boundary_notes"]:
            fp["boundary_notes"].append(row["split_or_boundary_notes"])

    for row in icb22:
        code = row["icb22_code_h"]
        fp = fps.setdefault(code, blank(code))
        fp["types"].append("icb-2022")
        fp["names"].append({"name": row["icb22_name"], "period": "2022 ICB"})
        fp["name"] = row["icb22_name"]
        fp["short_name"] = short_icb_name(row["icb22_name"])
        fp["ons_codes"].append(row["icb22_code"])
        fp["aliases"].append(fp["short_name"])

    links: list[dict] = add_icbs_2026(shared, fps, blank, boundaries)

    # QHM (Cumbria and North East, then NENC) is not one of the 44: take its region from a predecessor.
    region_of: dict[str, tuple[str, str]] = {}
    for r in stp44:
        region_of.setdefault(r["icb22_ods_code"], (r["nhse_region_2019"], r["region_code_2019"]))
    for code, fp in fps.items():
        if not fp["region"]:
            fp["region"], fp["region_code"] = region_of.get(code, ("", ""))
        if not fp["short_name"]:
            fp["short_name"] = fp["name"]

    ons_owner: dict[str, str] = {}
    for code, fp in fps.items():
        for ons in fp["ons_codes"]:
            ons_owner.setdefault(ons, code)

    for row in overlap:  # STP names of April 2021 (often the partnership's brand) are aliases too
        owner = ons_owner.get(row["stp21_code"])
        if owner is None:
            raise BuildError(f"stp21 code {row['stp21_code']} ({row['stp21_name']}) matches no footprint: "
                             "add it to the ONS history in stp44_to_icb42.csv")
        fps[owner]["aliases"].append(row["stp21_name"])
        if row["stp21_code"] == "E54000050":
            fps[owner]["names"].append({"name": "Cumbria and North East", "period": "2018-2022 STP/ICS"})

    by_stp21: dict[str, list[dict]] = defaultdict(list)
    for row in overlap:
        by_stp21[row["stp21_code"]].append(row)
    for stp21, rows in by_stp21.items():
        source = ons_owner[stp21]
        note = "; ".join(fps[source]["boundary_notes"]) or "part of the footprint"
        for row in rows:
            if row["icb22_code_h"] != source:
                links.append({"from": source, "to": row["icb22_code_h"], "when": "2022-07",
                              "part": f"{row['n_lsoa']} LSOAs: {note}", "lsoa": int(row["n_lsoa"]),
                              "confidence": "D"})
    for move in boundaries.get("move", []):
        for end in (move["from"], move["to"]):
            if end not in fps:
                raise BuildError(f"boundaries.toml names unknown footprint {end!r}: use an ODS code or STP-E54... key")
        links.append({"from": move["from"], "to": move["to"], "when": move["when"], "part": move["part"],
                      "lsoa": None, "confidence": move.get("confidence", "K")})
    for link in links:
        fps[link["from"]]["successors"].append({k: link[k] for k in ("to", "when", "part", "lsoa", "confidence")})
        fps[link["to"]]["predecessors"].append(
            {"from": link["from"], "when": link["when"], "part": link["part"], "lsoa": link["lsoa"],
             "confidence": link["confidence"]})

    for row in sicbl:
        code = row["icb22_code_h"]
        if code not in fps:
            raise BuildError(f"sub-ICB location {row['sicbl22_code_h']} names unknown ICB {code}")
        fps[code]["sub_icb_locations"].append(row["sicbl22_code_h"])

    for code, entries in publishers.get("brands", {}).items():
        if code not in fps:
            raise BuildError(f"publishers.toml [brands] names unknown footprint {code!r}")
        fps[code]["brand_names"] = [{"name": name, "confidence": conf} for name, conf in entries]

    pubs = build_publishers(publishers, fps)
    nhs = build_nhs_publishers(shared, fps, domains)
    clash = sorted(set(pubs) & set(nhs))
    if clash:
        raise BuildError(f"publishers.toml lists {clash[0]} that the CSVs already give: drop it from publishers.toml")
    pubs.update(nhs)
    for code, fp in fps.items():
        brand_keys = {name_key(b["name"]) for b in fp["brand_names"]}
        seen: set[str] = {name_key(fp["name"])}
        aliases = []
        for alias in fp["aliases"]:
            key = name_key(alias)
            if key and key not in seen and key not in brand_keys:
                seen.add(key)
                aliases.append(alias)
        fp["aliases"] = sorted(aliases, key=str.lower)
        fp["ons_codes"] = list(dict.fromkeys(fp["ons_codes"]))
        fp["types"] = sorted(set(fp["types"]), key=list(FOOTPRINT_TYPES).index)
        fp["sub_icb_locations"].sort()
        fp["predecessors"].sort(key=lambda p: (p["when"], p["from"]))
        fp["successors"].sort(key=lambda s: (s["when"], s["to"]))
        fp["official_publishers"] = sorted(n for n, p in pubs.items() if code in p["footprints"])
        fp["history_domains"] = sorted({d for n in fp["official_publishers"] if pubs[n]["role"] in OWN_SITE_ROLES
                                        for d in pubs[n].get("history_domains", [])})
        if not any(pubs[n]["role"] in OWN_SITE_ROLES for n in fp["official_publishers"]):
            now = ", ".join(fp["successors"] and sorted({s["to"] for s in fp["successors"]}) or [])
            fp["site_gap"] = (
                f"No website of its own is known for {fp['name']}"
                + (f" (its area passed to {now})" if now else "")
                + ": only NHS England's pages are watched for it. If you know where its plans or board papers are "
                f"published, add a [[source]] with footprint = \"{code}\" and official = true to sources.toml in the "
                "data home (see `stp-tracker sources list --footprint " + code + "`).")
    return fps, pubs


def build_publishers(publishers: dict, fps: dict) -> dict[str, dict]:
    pubs: dict[str, dict] = {}
    national = publishers["national"]
    pubs[national["name"]] = {
        "name": national["name"], "title": national["title"], "role": "national", "kind": "site",
        "official": True, "start_urls": national["start_urls"], "allowed_domains": national["allowed_domains"],
        "path_prefixes": national.get("path_prefixes", []), "footprints": sorted(fps),
        "confidence": national.get("confidence", "K"), "note": national.get("note"),
    }
    for reg in publishers.get("regional", []):
        members = sorted(c for c, fp in fps.items() if fp["region"] == reg["region"])
        if not members:
            raise BuildError(f"regional publisher {reg['name']} names region {reg['region']!r} that no footprint has")
        pubs[reg["name"]] = {
            "name": reg["name"], "title": reg["title"], "role": "region", "kind": "site", "official": True,
            "start_urls": reg["start_urls"], "allowed_domains": reg["allowed_domains"],
            "path_prefixes": reg.get("path_prefixes", []), "footprints": members,
            "confidence": reg.get("confidence", "K"), "note": reg.get("note"),
        }
    for site in publishers.get("site", []):
        for code in site["footprints"]:
            if code not in fps:
                raise BuildError(f"publishers.toml [[site]] {site['start_urls'][0]} names unknown footprint {code!r}")
        host = host_of(site["start_urls"][0])
        name = "site-" + host
        if name in pubs:
            raise BuildError(f"publishers.toml lists {host} twice: merge the entries")
        first = fps[site["footprints"][0]]
        what = ROLE_TITLES.get(site["role"], site["role"] + " website")
        pubs[name] = {
            "name": name, "title": f"{first['short_name']}: {what} ({host})", "role": site["role"],
            "kind": "site", "official": True, "start_urls": site["start_urls"],
            "allowed_domains": sorted({host_of(u) for u in site["start_urls"]}), "path_prefixes": [],
            "footprints": list(site["footprints"]), "confidence": site.get("confidence", "V"),
            "note": site.get("note"),
        }
    return pubs


# --------------------------------------------------------------------------- the 36 ICBs of April 2026

def full_icb_name(name: str) -> str:
    """'Central East ICB' -> 'NHS Central East Integrated Care Board'."""
    core = re.sub(r"\s+ICB$", "", name.strip())
    return f"NHS {core} Integrated Care Board"


def add_icbs_2026(shared: Path, fps: dict, blank, boundaries: dict) -> list[dict]:
    """The 36 ICBs after the April 2026 mergers (nhs-board-papers/icb_urls.csv): new codes, names, clusters, and
    the succession links from the 12 ICBs that ceased (whole, or split between two successors)."""
    rows = read_csv(shared, "nhs-board-papers/icb_urls.csv")
    if len(rows) != 36:
        raise BuildError(f"expected 36 ICB rows in nhs-board-papers/icb_urls.csv, got {len(rows)}")
    successors_of: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        for pred in split_list(row["predecessor_codes"]):
            successors_of[pred].append(row["ods_code"])
    for move in boundaries.get("move", []):  # 2026 moves the CSV does not list (Frimley to HIOW, West Essex)
        if move["when"] == MERGER_WHEN:
            successors_of[move["from"]].append(move["to"])
    links = []
    for row in rows:
        code = row["ods_code"]
        new = code not in fps
        fp = fps.setdefault(code, blank(code))
        fp["types"].append("icb-2026")
        full = full_icb_name(row["name"])
        if full not in (n["name"] for n in fp["names"]):
            fp["names"].append({"name": full, "period": "2026 ICB"})
        fp["aliases"].extend([row["name"], *split_list(row["alt_names"])])
        fp["cluster"] = row["cluster_id"] or None
        if new:
            fp["name"] = full
            fp["short_name"] = short_icb_name(full)
            fp["region"] = row["region"]
            fp["aliases"].append(fp["short_name"])
            fp["notes"].append(f"ODS code from nhs-board-papers/icb_urls.csv ({code}); formed {row['merger_date']}")
        for pred in split_list(row["predecessor_codes"]):
            if pred not in fps:
                raise BuildError(f"icb_urls.csv: {code} names predecessor {pred!r} that is not a 2022 ICB")
            whole = len(successors_of[pred]) == 1
            part = ("whole ICB (merged " if whole else "part of the ICB (split ") + f"{row['merger_date']})"
            links.append({"from": pred, "to": code, "when": MERGER_WHEN, "part": part, "lsoa": None,
                          "confidence": "V", "evidence": f"nhs-board-papers/icb_urls.csv {code} predecessor_codes"})
    return links


# --------------------------------------------------------------------------- ICB and trust publishers

def url_prefix(url: str) -> str:
    """The path a source's crawl keeps to under a start URL: the URL's path ('/about/board-meetings/'), or its
    folder when it names a file ('/about/board.aspx' -> '/about/'); '' for a site root."""
    path = urlsplit(url).path or "/"
    if re.search(r"/[^/]+\.[a-z]{2,5}$", path, re.I):
        path = path.rsplit("/", 1)[0] + "/"
    return "" if path == "/" else path


def scope_domain(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


def _publisher(name: str, title: str, role: str, codes: list[str], urls: dict[str, str], *, depth: int,
               prefixes: bool, footprint: str | None = None, confidence: str = "V", note: str | None = None,
               history: list[str] = (), paper_hosts: list[str] = ()) -> dict:
    """An official site publisher: start URLs with the evidence row each comes from (urls: url -> evidence)."""
    start = list(urls)
    domains = sorted({scope_domain(host_of(u)) for u in start})
    paths = sorted({url_prefix(u) for u in start}) if prefixes else []
    if "" in paths:
        paths = []  # a site root among the start URLs: the depth bounds the crawl, not a path
    return {
        "name": name, "title": title, "role": role, "kind": "site", "official": True, "start_urls": start,
        "allowed_domains": domains, "path_prefixes": paths, "footprints": list(dict.fromkeys(codes)),
        "footprint": footprint, "confidence": confidence, "note": note, "max_depth": depth,
        "evidence": dict(urls), "history_domains": sorted({scope_domain(h) for h in history if h} - set(domains)),
        "document_hosts": sorted({scope_domain(h) for h in paper_hosts} - set(domains)),
    }


def _trust_footprints(ics: str, region: str, fps: dict, index: dict[str, str]) -> list[str]:
    """An ICS name as written in trust_urls.csv ('Frimley', 'Norfolk and Waveney; Cambridgeshire and ...') -> codes;
    a regional trust (ambulance, '-') -> every 2022 and 2026 ICB of its region."""
    if ics in ("", "-"):
        return sorted(c for c, fp in fps.items() if fp["region"] == region and
                      ("icb-2022" in fp["types"] or "icb-2026" in fp["types"]))
    codes = []
    for part in split_list(ics):
        code = index.get(name_key(part))
        if code is None:
            raise BuildError(f"trust_urls.csv names ICS {part!r} that matches no footprint name")
        codes.append(code)
    return codes


def _current(code: str, fps: dict) -> list[str]:
    """The 2026 ICBs that took over `code` (itself when it carried on)."""
    out, todo, seen = [], [code], set()
    while todo:
        c = todo.pop(0)
        if c in seen:
            continue
        seen.add(c)
        if "icb-2026" in fps[c]["types"]:
            out.append(c)
        else:
            todo.extend(s["to"] for s in fps[c]["successors"])
    return out


def build_nhs_publishers(shared: Path, fps: dict, domains: dict) -> dict[str, dict]:
    """Official sources from the CSVs: each ICB's website(s) and plans pages, its board-papers page(s), cluster
    boards, and every NHS trust's board-papers page; each URL with the row it comes from (`evidence`)."""
    sites22 = {r["ods_code"]: r for r in read_csv(shared, "icb_websites.csv")}
    icbs26 = {r["ods_code"]: r for r in read_csv(shared, "nhs-board-papers/icb_urls.csv")}
    trusts = read_csv(shared, "nhs-board-papers/trust_urls.csv")
    if len(sites22) != 42:
        raise BuildError(f"expected 42 ICB rows in icb_websites.csv, got {len(sites22)}")
    for code in [*sites22, *icbs26]:
        if code not in fps:
            raise BuildError(f"ICB {code} of the website CSVs is not a footprint: check icb22_codes.csv")
    history = {code: list(v["domains"]) for code, v in domains.get("history", {}).items()}
    paper_hosts = {code: list(v["hosts"]) for code, v in domains.get("paper_hosts", {}).items()}
    for table in (history, paper_hosts):
        for code in table:
            if code not in fps:
                raise BuildError(f"domains.toml names unknown footprint {code!r}")
    # A merged ICB's predecessors' sites are its history (they still host the old packs).
    for code, row in icbs26.items():
        for pred in split_list(row["predecessor_codes"]):
            pred_site = sites22.get(pred, {}).get("website")
            if pred_site:
                history.setdefault(code, []).append(host_of(pred_site))
            history.setdefault(code, []).extend(history.get(pred, []))

    def hosts_of(code: str) -> list[str]:
        urls = [sites22.get(code, {}).get(k, "") for k in ("website", "plans_page", "board_papers_page")]
        urls += [icbs26.get(code, {}).get(k, "") for k in ("url", "url_root")]
        return [host_of(u) for u in urls if u] + paper_hosts.get(code, [])

    def short(code: str) -> str:
        return fps[code]["short_name"]

    out: dict[str, dict] = {}
    site_urls: dict[str, dict[str, str]] = defaultdict(dict)  # host -> url -> evidence
    site_codes: dict[str, list[str]] = defaultdict(list)
    for code, row in sorted(sites22.items()):
        cite = f"icb_websites.csv {code}: {row['evidence']}"
        for key in ("website", "plans_page"):
            url = row[key]
            if url:
                site_urls[scope_domain(host_of(url))].setdefault(url, cite)
                site_codes[scope_domain(host_of(url))].append(code)
    for code, row in sorted(icbs26.items()):
        if row["url_root"] and "icb-2022" not in fps[code]["types"]:  # the new ICBs' sites; others are above
            host = scope_domain(host_of(row["url_root"]))
            site_urls[host].setdefault(row["url_root"], f"nhs-board-papers/icb_urls.csv {code}: url_root "
                                                        f"({row['validation_status'] or 'not validated'})")
            site_codes[host].append(code)
    for host, urls in sorted(site_urls.items()):
        codes = list(dict.fromkeys(site_codes[host]))
        root = [u for u in urls if not url_prefix(u)]
        plans = [u for u in urls if url_prefix(u)]
        # The site root, and the plans pages (crawled two links deep inside their paths); a root alone is read one
        # link deep, with every document it links.
        ordered = {u: urls[u] for u in root + plans}
        if not root:
            ordered = {f"https://{host}/": next(iter(urls.values())), **ordered}
        out["site-" + host] = _publisher(
            "site-" + host, f"{short(codes[0])}: ICB website ({host})", "icb", codes, ordered,
            depth=2 if plans else 1, prefixes=bool(plans), footprint=codes[0] if len(codes) == 1 else None,
            history=[d for c in codes for d in history.get(c, [])],
            paper_hosts=[h for c in codes for h in hosts_of(c)])

    board_urls: dict[str, dict[str, str]] = defaultdict(dict)  # code -> url -> evidence
    cluster_urls: dict[str, dict[str, str]] = defaultdict(dict)
    cluster_codes: dict[str, list[str]] = defaultdict(list)
    for code, row in sorted(sites22.items()):
        if row["board_papers_page"]:
            confidence = " (unvalidated)" if "unvalidated" in row["evidence"] else ""
            board_urls[code][row["board_papers_page"]] = f"icb_websites.csv {code} board_papers_page{confidence}: " \
                                                        f"{row['evidence']}"
    for code, row in sorted(icbs26.items()):
        status = f"{row['validation_status'] or 'not validated'}" + (f" {row['last_validated']}"
                                                                      if row["last_validated"] else "")
        if row["url"]:
            board_urls[code].setdefault(row["url"], f"nhs-board-papers/icb_urls.csv {code} url ({status})")
        if row["cluster_meeting_url"]:
            cluster_urls[row["cluster_id"]].setdefault(
                row["cluster_meeting_url"], f"nhs-board-papers/icb_urls.csv {code} cluster_meeting_url ({status})")
        if row["cluster_id"]:
            cluster_codes[row["cluster_id"]].append(code)
    cluster_pages = {u for urls in cluster_urls.values() for u in urls}
    for code, urls in sorted(board_urls.items()):
        urls = {u: e for u, e in urls.items() if u not in cluster_pages}
        if not urls:
            continue
        row26 = icbs26.get(code, {})
        playwright = row26.get("needs_playwright") == "True"
        note = "its papers are listed by JavaScript: a plain crawl may find few of them" if playwright else None
        out["board-" + code.lower()] = _publisher(
            "board-" + code.lower(), f"{short(code)}: ICB board papers", "icb-board", [code], urls, depth=2,
            prefixes=True, footprint=code, confidence="U" if all("unvalidated" in e for e in urls.values()) else "V",
            note=note, history=history.get(code, []), paper_hosts=hosts_of(code))
    for cluster, urls in sorted(cluster_urls.items()):
        codes = sorted(set(cluster_codes[cluster]))
        out["board-cluster-" + cluster.lower()] = _publisher(
            "board-cluster-" + cluster.lower(), f"{cluster} cluster: joint ICB board papers ("
            + ", ".join(short(c) for c in codes) + ")", "cluster-board", codes, urls, depth=2, prefixes=True,
            paper_hosts=[h for c in codes for h in hosts_of(c)])

    index: dict[str, str] = {}
    for code, fp in fps.items():
        if "icb-2022" in fp["types"] or "icb-2026" in fp["types"]:
            for text in [fp["short_name"], *fp["aliases"], *(n["name"] for n in fp["names"])]:
                index.setdefault(name_key(text), code)
    for row in trusts:
        if not row["url"]:
            continue  # K0N6A "The Online NHS Trust": no board page known
        codes = _trust_footprints(row["ics"], row["region"], fps, index)
        now = [c for code in codes for c in _current(code, fps)]
        all_codes = list(dict.fromkeys(codes + now))
        primary = now[0] if len(set(now)) == 1 and len(codes) == 1 else (codes[0] if len(codes) == 1 else None)
        status = f"{row['validation_status'] or 'not validated'}" + (f" {row['last_validated']}"
                                                                      if row["last_validated"] else "")
        name = "trust-" + row["ods_code"].lower()
        if name in out:
            raise BuildError(f"trust_urls.csv lists {row['ods_code']} twice")
        note = "its papers are listed by JavaScript: a plain crawl may find few of them" \
            if row["needs_playwright"] == "True" else None
        out[name] = _publisher(
            name, f"{row['name']}: board papers", "trust-board", all_codes,
            {row["url"]: f"nhs-board-papers/trust_urls.csv {row['ods_code']} url ({status}; ICS "
                         f"{row['ics'] or 'none'})"}, depth=2, prefixes=True, footprint=primary,
            confidence="V" if row["validation_status"] == "papers_found" else "K", note=note)
    return out


# --------------------------------------------------------------------------- councils

def council_root(platform: str, base_url: str) -> str | None:
    """The URL a committee-system spider starts from (site root with a trailing slash), or None."""
    if not base_url:
        return None
    parts = urlsplit(base_url)
    if not parts.hostname:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if platform == "CMIS" or MODERNGOV_URL_HINT.search(parts.path):
        kept = []
        for seg in segments:
            if CMIS_PEOPLE_SEGMENT.search(seg) or seg.lower().endswith(".aspx"):
                break
            kept.append(seg)
        segments = kept
    path = "/" + "/".join(segments) + ("/" if segments else "")
    return f"{parts.scheme or 'https'}://{parts.hostname.lower()}{path}"


def build_councils(shared: Path, areas_toml: dict, fps: dict) -> dict[str, dict]:
    rows = read_csv(shared, "council_democracy_platforms.csv")
    ltla_rows = read_csv(shared, "ltla22_to_icb22.csv")
    ltla_by_key: dict[str, list[dict]] = defaultdict(list)
    for row in ltla_rows:
        ltla_by_key[name_key(row["ltla22_name"])].append(row)
    manual = areas_toml.get("areas", {})
    names_fix = areas_toml.get("names", {})
    slugs = {row["slug"] for row in rows}
    for slug in list(manual) + list(names_fix):
        if slug not in slugs:
            raise BuildError(f"council_areas.toml names council {slug!r} that is not in council_democracy_platforms.csv")

    stp2016: dict[str, list[dict]] = defaultdict(list)
    for entry in areas_toml.get("stp2016", []):
        if entry["footprint"] not in fps:
            raise BuildError(f"council_areas.toml [[stp2016]] names unknown footprint {entry['footprint']!r}")
        for slug in entry["councils"]:
            if slug not in slugs:
                raise BuildError(f"council_areas.toml [[stp2016]] names unknown council {slug!r}")
            stp2016[slug].append({"footprint": entry["footprint"], "part": entry["part"],
                                  "confidence": entry["confidence"]})

    out: dict[str, dict] = {}
    unmatched = []
    for row in rows:
        if row["territory"] != "ENG":
            continue  # the NHS plans tracked here are England's
        slug = row["slug"]
        if slug in manual:
            keys = [name_key(n) for n in manual[slug]]
            missing = [n for n, k in zip(manual[slug], keys) if k not in ltla_by_key]
            if missing:
                raise BuildError(f"council_areas.toml: {slug} lists {missing} that are not LTLA22 names")
            match = "hand-kept area list"
        else:
            keys = [k for k in candidate_keys(slug, row["name"]) if k in ltla_by_key][:1]
            match = "name"
        if not keys:
            unmatched.append(f"{slug} ({row['name']})")
            continue
        shares: dict[str, int] = defaultdict(int)
        ltla_codes = set()
        for key in keys:
            for lrow in ltla_by_key[key]:
                shares[lrow["icb22_code_h"]] += int(lrow["n_lsoa"])
                ltla_codes.add(lrow["ltla22_code"])
        ranked = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
        platform, detected = row["cms_type"], False
        if platform not in COMMITTEE_PLATFORMS and MODERNGOV_URL_HINT.search(row["base_url"] or ""):
            platform, detected = "ModernGov", True
        live = not row["end_date"]
        root = council_root(platform, row["base_url"]) if platform in COMMITTEE_PLATFORMS else None
        out[slug] = {
            "id": slug, "code": row["code"], "name": names_fix.get(slug, row["name"]), "subtype": row["subtype"],
            "territory": row["territory"], "platform": platform or "unknown",
            "platform_from_url": detected, "base_url": row["base_url"] or None, "root_url": root,
            "end_date": row["end_date"] or None, "abolished": not live,
            "crawl_by_default": bool(live and root),
            "footprints": [code for code, _ in ranked],
            "lsoa_by_footprint": dict(ranked),
            "ltla22_codes": sorted(ltla_codes), "area_match": match,
            "stp2016": sorted(stp2016.get(slug, []), key=lambda e: e["footprint"]),
            "official": False,
        }
    if unmatched:
        raise BuildError("councils with no 2022 area: " + "; ".join(unmatched)
                         + ": add them to [areas] in crawler/registry/council_areas.toml")
    return out


def candidate_keys(slug: str, name: str) -> list[str]:
    """Name forms to look up in the LTLA22 table: the slug's place part, then the name without council words."""
    keys = []
    if "-" in slug:
        keys.append(name_key(slug.split("-", 1)[1].replace("-", " ")))
    stripped = name_key(name)
    stripped = re.sub(r"^(the |london borough of |royal borough of |borough of |council of the )", "", stripped)
    stripped = re.sub(r" (metropolitan (borough|district) council|city and district council|borough council|"
                      r"district council|city council|county council|council)$", "", stripped)
    keys.append(stripped)
    keys += [re.sub(r"^city of ", "", k) for k in keys]
    return list(dict.fromkeys(k for k in keys if k))


# --------------------------------------------------------------------------- places

COUNCIL_WORDS = re.compile(
    r"^(?:the |london borough of |royal borough of |borough of |council of the )|"
    r" (?:metropolitan (?:borough|district) council|city and district council|borough council|district council|"
    r"city council|county council|council)$", re.IGNORECASE)


def build_places(shared: Path, councils: dict) -> dict[str, str]:
    """Place name as written in documents -> footprint code, for places lying (mostly) in one footprint."""
    shares: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in read_csv(shared, "ltla22_to_icb22.csv"):
        name = re.sub(r",\s*(City|County) of$", "", row["ltla22_name"]).replace("St. ", "St ")
        shares[name][row["icb22_code_h"]] += int(row["n_lsoa"])
    for council in councils.values():
        name = council["name"]
        for _ in range(2):
            name = COUNCIL_WORDS.sub("", name).strip()
        name = re.sub(r"^City of ", "", name)
        if council["abolished"] or not name or name in shares:
            continue
        for code, n in council["lsoa_by_footprint"].items():
            shares[name][code] += n
    places = {}
    for name, by_fp in shares.items():
        total = sum(by_fp.values())
        code, n = max(by_fp.items(), key=lambda kv: (kv[1], kv[0]))
        if name not in AMBIGUOUS_PLACES and n / total >= PLACE_SHARE:
            places[name] = code
    return dict(sorted(places.items()))


# --------------------------------------------------------------------------- assemble

def build(shared: Path) -> dict[str, str]:
    """Return {file name: exact text} for every shipped table."""
    publishers = read_toml("publishers.toml")
    areas = read_toml("council_areas.toml")
    boundaries = read_toml("boundaries.toml")
    fps, pubs = build_footprints(shared, publishers, boundaries, read_toml("domains.toml"))
    councils = build_councils(shared, areas, fps)
    for slug, council in councils.items():
        for code in council["footprints"] + [e["footprint"] for e in council["stp2016"]]:
            fps[code].setdefault("councils", [])
            if slug not in fps[code]["councils"]:
                fps[code]["councils"].append(slug)
    for fp in fps.values():
        fp["councils"] = sorted(fp.get("councils", []))

    inputs = {name: sha256(shared / name) for name in CSV_FILES}
    inputs.update({f"crawler/registry/{name}": sha256(REGISTRY / name) for name in HAND_FILES})
    about = ("Generated by tools/build_registry.py from the shared registry CSVs and the hand-kept TOML beside "
             "this file. Do not edit: change the inputs and rebuild.")
    footprints_doc = {"about": about, "inputs": inputs, "synthetic_key_prefix": SYNTHETIC_PREFIX,
                      "footprints": fps, "publishers": pubs, "places": build_places(shared, councils),
                      "ambiguous_places": sorted(AMBIGUOUS_PLACES)}
    councils_doc = {"about": about, "inputs": inputs, "councils": councils}
    return {"footprints.json": dump(footprints_doc), "councils.json": dump(councils_doc)}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dump(doc: dict) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="folder holding the registry CSVs")
    parser.add_argument("--check", action="store_true", help="exit 1 if the shipped files are out of date")
    parser.add_argument("--out", type=Path, default=REGISTRY, help="folder of the shipped tables (default: %(default)s)")
    args = parser.parse_args(argv)
    out = args.out
    try:
        built = build(args.shared)
    except (BuildError, KeyError, ValueError, tomllib.TOMLDecodeError) as exc:
        print(f"build_registry: {exc}", file=sys.stderr)
        return 2
    stale = [name for name, text in built.items()
             if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text]
    if args.check:
        if stale:
            print("build_registry: out of date: " + ", ".join(stale)
                  + " (run .venv/bin/python tools/build_registry.py)", file=sys.stderr)
            return 1
        print("build_registry: shipped tables are up to date")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (out / name).write_text(built[name], encoding="utf-8")
    print(f"build_registry: wrote {', '.join(stale) or 'nothing (up to date)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
