"""Requests a full pass costs: the ModernGov spider on a replica of a real council site, crawled twice, then the
registry's committee sources counted, for an estimate of one full pass of the built-in registry.

    .venv/bin/python bench/bench_pass.py [--lookback-from 2025-10]

The replica is the real Kingston ModernGov pages and council PDFs (../shared/corpus, as tests/test_moderngov.py
serves them) on 127.0.0.1, with ETag and Last-Modified on every route. Pass 1 is a first crawl; pass 2 the same
site unchanged, as every later scheduled crawl sees it. Each pass prints its requests by kind, how many were
conditional (If-None-Match / If-Modified-Since) and how many were answered 304, and which agenda (meeting) pages
outside the look-back window were asked for (none should be). The estimate multiplies pass 2 by the registry's
committee-system sources and says so: a council with more focus committees or meetings costs more.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lookback-from", default="2025-10", help="first month of the look-back window (YYYY-MM)")
    args = parser.parse_args()
    from fixtureweb import FixtureWeb
    from test_moderngov import crawl, months_back_to, serve_kingston

    from crawler.registry import default_sources

    year, month = (int(x) for x in args.lookback_from.split("-"))
    lookback = months_back_to(year, month)
    with FixtureWeb() as web, tempfile.TemporaryDirectory() as tmp:
        serve_kingston(web)
        home = Path(tmp) / "home"
        source = {"name": "council-kingston", "kind": "moderngov", "footprint": "QWE", "start_urls": [web.url("/")],
                  "options": {"lookback_months": lookback, "committees": ["Kingston and North Kingston"],
                              "council_names": ["Kingston upon Thames"]}}
        per_pass = []
        for number in (1, 2):
            web.clear_log()
            summary = crawl(home, [source])
            counts = summary["sources"]["council-kingston"]["counts"]
            requests = [r for r in web.requests if r.path != "/robots.txt"]
            kinds = collections.Counter(
                "meeting" if "ieListDocuments" in r.path else "document" if "/documents/" in r.path else "page"
                for r in requests)
            conditional = sum(1 for r in requests if r.headers.get("If-None-Match") or r.headers.get("If-Modified-Since"))
            meetings = [r.path for r in requests if "ieListDocuments" in r.path]
            print(f"pass {number}: {len(requests)} requests ({dict(kinds)}), {conditional} conditional, "
                  f"{counts['not_modified']} answered 304, {counts['new_blobs']} new bodies stored; "
                  f"{len(meetings)} meeting pages asked for (window from {args.lookback_from}, {lookback} months)")
            per_pass.append(len(requests))
    registry = collections.Counter(s["kind"] for s in default_sources())
    committees = registry["moderngov"] + registry["cmis"]
    print(f"registry on this branch: {sum(registry.values())} sources ({dict(registry)})")
    print(f"estimate of one full pass of its committee sources at this council's size: {committees} x "
          f"{per_pass[1]} = {committees * per_pass[1]:,} requests (a first pass: {committees * per_pass[0]:,})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
