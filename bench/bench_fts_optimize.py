"""FTS5 'optimize': search over an archive before and after merging its full-text index into one segment.

    .venv/bin/python bench/bench_fts_optimize.py HOME [--runs 5]

Works on a copy of HOME's archive.db (HOME itself is never written): bench_search.py's queries (footprint filter
on the archive's smallest footprint), median and p95 before, the time `optimize` takes and the index size, then
the same queries after. Build a HOME with bench_load.py --dir DIR --keep.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_search import QUERIES, percentile  # noqa: E402


def timings(home: Path, runs: int) -> list[float]:
    from storage import Archive

    with Archive(home) as archive:
        smallest = archive._one("SELECT footprint FROM documents WHERE footprint IS NOT NULL GROUP BY footprint "
                                "ORDER BY count(*) LIMIT 1")
        times = []
        for _, query, filters in QUERIES:
            if "footprint" in filters and smallest:
                filters = {**filters, "footprint": smallest["footprint"]}
            archive.search_filtered(query, limit=20, **filters)
            for _ in range(runs):
                started = time.perf_counter()
                archive.search_filtered(query, limit=20, **filters)
                times.append((time.perf_counter() - started) * 1000)
    return times


def segments(db: Path) -> tuple[int, float]:
    con = sqlite3.connect(db)
    rows = con.execute("SELECT count(*), sum(length(block)) FROM texts_fts_data").fetchone()
    con.close()
    return rows[0], (rows[1] or 0) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.home.parent) as tmp:
        copy = Path(tmp)
        shutil.copy2(args.home / "archive.db", copy / "archive.db")
        (copy / "blobs").mkdir()
        before = timings(copy, args.runs)
        rows, mb = segments(copy / "archive.db")
        con = sqlite3.connect(copy / "archive.db")
        started = time.perf_counter()
        con.execute("INSERT INTO texts_fts(texts_fts) VALUES ('optimize')")
        con.commit()
        took = time.perf_counter() - started
        con.close()
        rows_after, mb_after = segments(copy / "archive.db")
        after = timings(copy, args.runs)
    print(f"index: {rows} rows, {mb:.0f} MB before; optimize took {took:.1f} s; {rows_after} rows, {mb_after:.0f} MB after")
    for label, values in (("before", before), ("after optimize", after)):
        print(f"{label:<15} median {statistics.median(values):7.1f} ms  p95 {percentile(values, 95):7.1f} ms")
    print(f"after / before: median x{statistics.median(after) / statistics.median(before):.2f}, "
          f"p95 x{percentile(after, 95) / percentile(before, 95):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
