"""Search latency (median, p95) over a generated archive, and the time to render the diff page of two long plans.

Usage: .venv/bin/python bench/bench_search.py [--versions 10000] [--chars 100000] [--home DIR] [--small]
  The default archive has 10,000 versions of about 100,000 characters each (~1 GB of text) and takes a few
  minutes to build; --small builds 500 versions of 20,000 characters in seconds. --home reuses an archive
  built before (it is built there when empty). Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage import Archive, Extraction  # noqa: E402

PLACES = ["Sheffield", "Rotherham", "Doncaster", "Barnsley", "Bassetlaw", "Leeds", "Bradford", "Wakefield", "Kent",
          "Medway", "Norfolk", "Waveney", "Cumbria", "Durham", "Devon", "Cornwall", "Dorset", "Bristol", "Leicester"]
SERVICES = ["maternity unit", "stroke service", "accident and emergency department", "urgent care centre",
            "community hospital", "mental health inpatient ward", "children's ward", "hyper-acute stroke unit",
            "minor injuries unit", "GP practice", "walk-in centre", "cancer centre", "renal dialysis unit"]
VERBS = ["reduce", "consolidate", "transform", "reconfigure", "invest in", "close", "centralise", "expand",
         "review", "integrate", "redesign", "protect"]
SYLLABLES = ["ca", "re", "ho", "spi", "tal", "com", "mu", "ni", "ty", "ser", "vi", "ce", "pa", "ti", "ent", "pro",
             "vi", "der", "sys", "tem", "work", "force", "fi", "nan", "cial", "gap", "pri", "ma", "ry", "acu", "te",
             "bed", "ward", "clin", "ic", "al", "stra", "te", "gy", "de", "li", "ve", "ry"]


def vocabulary(rng: random.Random, size: int = 40_000) -> list[str]:
    """Invented words (varied vocabulary for the index) plus the words plans really use."""
    words = {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(size)}
    real = ("the of and to in for will we our care health services patients system plan partnership "
            "sustainability transformation integrated primary community acute hospital workforce funding "
            "deficit efficiency prevention population outcomes quality access waiting times beds "
            "capacity demand social council local people digital estate finance").split()
    return real * 40 + sorted(words)


def paragraph(rng: random.Random, words: list[str]) -> str:
    sentences = []
    for _ in range(rng.randint(3, 7)):
        kind = rng.random()
        if kind < 0.25:
            sentences.append(f"We will {rng.choice(VERBS)} the {rng.choice(SERVICES)} at {rng.choice(PLACES)} "
                             f"by {rng.randint(2017, 2030)}, saving £{rng.randint(1, 90)} million and "
                             f"{rng.choice(['reducing', 'adding'])} {rng.randint(10, 400)} beds.")
        else:
            body = " ".join(rng.choice(words) for _ in range(rng.randint(12, 28)))
            sentences.append(body[0].upper() + body[1:] + ".")
    return " ".join(sentences)


def plan_text(rng: random.Random, pool: list[str], words: list[str], chars: int, title: str) -> str:
    parts = [title]
    size = len(title)
    while size < chars:
        piece = rng.choice(pool) if rng.random() < 0.7 else paragraph(rng, words)
        parts.append(piece)
        size += len(piece) + 2
    return "\n\n".join(parts)


def revise(rng: random.Random, text: str, words: list[str], edits: int) -> str:
    paragraphs = text.split("\n\n")
    for _ in range(edits):
        i = rng.randrange(1, len(paragraphs))
        if rng.random() < 0.5:
            paragraphs[i] = paragraph(rng, words)
        else:
            paragraphs.insert(i, paragraph(rng, words))
    return "\n\n".join(paragraphs)


def build(home: Path, versions: int, chars: int, seed: int = 7) -> dict[str, int]:
    """An archive of `versions` versions (10 per document) of about `chars` characters each."""
    rng = random.Random(seed)
    words = vocabulary(rng)
    pool = [paragraph(rng, words) for _ in range(5000)]
    generations = ["2016-stp", "2017-partnership", "2019-five-year", "2022-joint-forward-plan"]
    footprints = [f"Q{c}{d}" for c in "FHJKLMNOPRSTUVWXY" for d in "1234567"][:42]
    started = time.perf_counter()
    per_doc = 10
    made = 0
    with Archive(home) as archive:
        while made < versions:
            with archive.transaction():
                for _ in range(min(50, (versions - made + per_doc - 1) // per_doc)):
                    footprint = rng.choice(footprints)
                    generation = rng.choice(generations)
                    title = f"{rng.choice(PLACES)} {generation} plan for {footprint}"
                    seen = f"{rng.randint(2016, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                    doc = archive.create_document(title=title, kind="plan", footprint=footprint, generation=generation,
                                                  draft=False, seen_at=seen + "T09:00:00+00:00", source="bench")
                    text = plan_text(rng, pool, words, chars, title)
                    for k in range(min(per_doc, versions - made)):
                        if k:
                            text = revise(rng, text, words, edits=rng.randint(1, 6))
                        sha = archive.record_extraction("0" * 64, Extraction(
                            status="ok", extractor="bench", extractor_version="1", text=text))
                        archive.add_version(doc, text_sha256=sha, blob_sha256=None, fetch_id=None, crawl_id=None,
                                            seen_at=f"{seen}T{9 + k:02d}:00:00+00:00")
                        made += 1
            if made % 1000 < 50:
                rate = made / (time.perf_counter() - started)
                print(f"  built {made}/{versions} versions ({rate:.0f}/s)", file=sys.stderr, flush=True)
        long_a = plan_text(rng, pool, words, 900_000, "A long plan (about 300 pages)")
        # a typical revision (10 paragraphs changed or added) and a heavy one (60), both against long_a
        long_b = revise(rng, long_a, words, edits=10)
        long_c = revise(rng, long_a, words, edits=60)
        with archive.transaction():
            doc = archive.create_document(title="A long plan", kind="plan", footprint="QF7", generation="2016-stp",
                                          draft=False, seen_at="2016-11-07T09:00:00+00:00", source="bench")
            ids = []
            for i, text in enumerate((long_a, long_b, long_c)):
                sha = archive.record_extraction("0" * 64, Extraction(status="ok", extractor="bench",
                                                                     extractor_version="1", text=text, pages=300))
                ids.append(archive.add_version(doc, text_sha256=sha, blob_sha256=None, fetch_id=None, crawl_id=None,
                                               seen_at=f"2016-11-0{7 + i}T09:00:00+00:00")[0])
        archive.set_state("bench_long_versions", ids)
        archive.db.execute("INSERT INTO texts_fts(texts_fts) VALUES ('optimize')")
        archive.db.conn.commit()
    return {"seconds": int(time.perf_counter() - started)}


QUERIES = [
    ("common word", "care", {}),
    ("two words", "maternity reconfigure", {}),
    ("phrase", '"maternity unit"', {}),
    ("phrase AND word", '"stroke service" AND Rotherham', {}),
    ("prefix", "centralis*", {}),
    ("NOT", "beds NOT Sheffield", {}),
    ("rare word", "Waveney", {}),
    ("no match", "zzyzxqq", {}),
    ("footprint filter", "beds", {"footprint": "QF1"}),
    ("generation + dates", "hospital", {"generation": "2019-five-year", "seen_from": "2019-01-01",
                                        "seen_to": "2021-12-31"}),
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def bench(home: Path, runs: int) -> None:
    from starlette.testclient import TestClient

    from tracker.web import create_app

    with Archive(home, readonly=True) as archive:
        counts = archive.counts()
        size = archive.db.execute("SELECT SUM(length) FROM texts").fetchone()[0] or 0
        long_ids = archive.get_state("bench_long_versions")
    db_mb = (home / "archive.db").stat().st_size / 1e6
    print(f"archive: {counts['versions']} versions, {counts['documents']} documents, {size / 1e6:.0f} M characters "
          f"of text, archive.db {db_mb:.0f} MB")
    print(f"\nsearch: Archive.search_filtered, 20 results with snippets ({runs} runs each, after one warm-up)")
    print(f"{'query':<22}{'hits':>6}{'median ms':>12}{'p95 ms':>10}")
    everything: list[float] = []
    with Archive(home, readonly=True) as archive:
        for label, query, filters in QUERIES:
            hits = len(archive.search_filtered(query, limit=20, **filters))
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                archive.search_filtered(query, limit=20, **filters)
                times.append((time.perf_counter() - t0) * 1000)
            everything += times
            print(f"{label:<22}{hits:>6}{statistics.median(times):>12.1f}{percentile(times, 95):>10.1f}")
    print(f"{'all queries':<22}{'':>6}{statistics.median(everything):>12.1f}{percentile(everything, 95):>10.1f}")

    client = TestClient(create_app(home))
    page_times = []
    for _ in range(max(3, runs // 2)):
        for _, query, _ in QUERIES:
            t0 = time.perf_counter()
            assert client.get("/search", params={"q": query}).status_code == 200
            page_times.append((time.perf_counter() - t0) * 1000)
    print(f"\nGET /search page (rendered HTML): median {statistics.median(page_times):.1f} ms, "
          f"p95 {percentile(page_times, 95):.1f} ms over {len(page_times)} requests")

    a, b, c = long_ids
    with Archive(home, readonly=True) as archive:
        sizes = {v: len(archive.version_text(v) or "") for v in (a, b, c)}
    print(f"\nGET /diff of two ~300-page versions ({sizes[a]:,} characters before):")
    for label, after in (("typical revision, 10 paragraphs", b), ("heavy revision, 60 paragraphs", c)):
        t0 = time.perf_counter()
        first = client.get(f"/diff/{a}/{after}")
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.get(f"/diff/{a}/{after}?view=side")
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        whole = client.get(f"/diff/{a}/{after}?context=all")
        whole_time = time.perf_counter() - t0
        timed_out = "timed out" in first.text
        print(f"  {label}: {cold:.2f} s the first time (diff computed{', TIMED OUT' if timed_out else ''}; "
              f"{len(first.content) / 1e3:.0f} kB page), {warm * 1000:.0f} ms side by side from the cache, "
              f"{whole_time:.2f} s whole text ({len(whole.content) / 1e6:.1f} MB page)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--chars", type=int, default=100_000, help="characters per version (default 100,000)")
    parser.add_argument("--home", type=Path, help="build or reuse the archive here (default: a temporary folder)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--small", action="store_true", help="500 versions of 20,000 characters: seconds, not minutes")
    args = parser.parse_args()
    if args.small:
        args.versions, args.chars = 500, 20_000
    with tempfile.TemporaryDirectory(prefix="stp-bench-") as tmp:
        home = args.home or Path(tmp)
        if not (home / "archive.db").exists():
            print(f"building {args.versions} versions of ~{args.chars:,} characters in {home} ...", file=sys.stderr)
            took = build(home, args.versions, args.chars)
            print(f"built in {took['seconds']} s", file=sys.stderr)
        bench(home, args.runs)


if __name__ == "__main__":
    main()
