"""Load: crawl overhead, analysis time per new version, search latency and peak memory on a 100,000-version archive.

    .venv/bin/python bench/bench_load.py [--versions 100000] [--chars 10000] [--dir DIR] [--keep]
    .venv/bin/python bench/bench_load.py --versions 2000          # smoke run: well under a minute

Three archives are measured in the same run: an empty one (the baseline for crawl and analysis), one of a tenth
of the versions (the baseline for search: 10,000 versions by default, the size bench_search.py measures) and the
big one. The big ones are generated straight through storage.Archive, shaped like what crawls leave: the 44 STP
footprints, two sources each, documents of 1-19 versions (plans 30 %, board papers and other files 50 %, watched
pages 20 %), one fetch with a stored body per version plus a 304 re-fetch, crawls marked analysed. Then, on each
archive, in child processes (each one's peak RSS is its VmHWM, polled from /proc):

  crawl    `python -m crawler.runner` over a local site of 40 pages and 20 plan PDFs naming one footprint (QF7),
           a new source to the archive; then the site is revised (12 PDFs, 10 pages) and crawled again
  analyse  tracker.analysis.analyse_crawl of each crawl: extraction, filing (the plan-matching search over the
           footprint's plans), events
  search   Archive.search_filtered (what `stp-tracker search` calls) over bench_search.py's 10 queries

and prints each figure with its ratio to the baseline. --dir keeps (and with --keep reuses) the generated
archives; every run uses fresh text on its local site, so a reused archive measures the same things.
--skip-search measures crawl and analysis only; --repeat N measures them N times (the archives in turn each time,
fresh text each time) and ends with each time's filing ratios, to show their spread.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_search import QUERIES, paragraph, percentile, plan_text, revise, vocabulary  # noqa: E402
from storage import GENERATIONS  # noqa: E402

FAST = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "RETRY_TIMES": 0, "DOWNLOAD_TIMEOUT": 10}
LOAD_GENERATIONS = GENERATIONS[:4]  # the four the load was first measured with (figures in bench/README.md)
KINDS = [("plan", 0.3), ("other", 0.5), ("page", 0.2)]
TYPES = {"plan": ("pdf", "application/pdf"), "other": ("pdf", "application/pdf"), "page": ("html", "text/html")}


def footprint_codes() -> list[str]:
    from crawler.registry import footprints

    codes = [f.code for f in footprints().values() if f.is_stp_2016]
    return codes[:44]


# -- generating an archive ---------------------------------------------------------------------------------------


def build(home: Path, versions: int, chars: int, seed: int = 11) -> float:
    """An archive of `versions` versions shaped like crawls leave them; returns the seconds it took."""
    from storage import Archive, BlobStore, Extraction, Fetch

    rng = random.Random(seed)
    words = vocabulary(rng)
    pool = [paragraph(rng, words) for _ in range(5000)]
    codes = footprint_codes()
    sources = [(f"{code.lower()}-{side}", code, side == "ics") for code in codes for side in ("ics", "trust")]
    started = time.perf_counter()
    made = doc_no = 0
    with Archive(home) as archive:
        archive.blobs = BlobStore(archive.blobs.root, fsync=False)  # generation only: measured crawls fsync
        for name, code, official in sources:
            archive.upsert_source(name, footprint=code, kind="site", official=official, config={})
        while made < versions:
            with archive.transaction():
                crawl_id = archive.start_crawl([s[0] for s in sources])
                target = min(versions, made + 500)
                while made < target:
                    doc_no += 1
                    made += _document(archive, rng, pool, words, chars, sources, doc_no, crawl_id,
                                      min(rng.randint(1, 19), target - made), Extraction, Fetch)
                archive.finish_crawl(crawl_id, {})
                archive.mark_crawl_analysed(crawl_id)
                for name, _, _ in sources:
                    archive.note_source_result(name, crawl_id, True)
            if made % 5000 < 500 or made == versions:
                rate = made / (time.perf_counter() - started)
                print(f"  {home.name}: {made}/{versions} versions ({rate:.0f}/s)", file=sys.stderr, flush=True)
        # No FTS 'optimize' and no ANALYZE: nothing in stp-tracker runs them, so a real archive has neither.
    return time.perf_counter() - started


def _document(archive: Any, rng: random.Random, pool: list[str], words: list[str], chars: int,
              sources: list[tuple[str, str, bool]], doc_no: int, crawl_id: int, count: int,
              extraction_cls: type, fetch_cls: type) -> int:
    """One document with `count` versions, each fetched (body stored, text extracted) and re-fetched with a 304."""
    source, code, _ = rng.choice(sources)
    kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
    generation = rng.choice(LOAD_GENERATIONS) if kind == "plan" else None
    ext, ctype = TYPES[kind]
    url = f"https://{source}.example.nhs.uk/{kind}s/{doc_no}.{ext}"
    title = f"{code} {generation or kind} document {doc_no}"
    day = rng.randint(0, 3000)
    size = chars if kind != "page" else max(500, chars // 5)
    text = plan_text(rng, pool, words, size, title)
    document_id = None
    for k in range(count):
        if k:
            text = revise(rng, text, words, edits=rng.randint(1, 6))
        seen = _date(day + 7 * k)
        body = text.encode()
        fetch_id = archive.record_fetch(fetch_cls(
            url=url, source=source, crawl_id=crawl_id, status=200, headers={"Content-Type": ctype},
            body=body, fetched_at=seen, kind="document" if ext == "pdf" else "page"))
        blob = hashlib.sha256(body).hexdigest()
        text_sha = archive.record_extraction(blob, extraction_cls(status="ok", extractor="bench",
                                                                  extractor_version="1", text=text, title=title))
        if document_id is None:
            document_id = archive.create_document(title=title, kind=kind, footprint=code, generation=generation,
                                                  draft=False, seen_at=seen, source=source,
                                                  meta={"announced": "baseline-official"} if kind == "plan" else {})
        version_id, _ = archive.add_version(document_id, text_sha256=text_sha, blob_sha256=blob, fetch_id=fetch_id,
                                            crawl_id=crawl_id, seen_at=seen)
        archive.add_document_url(document_id, source, url, seen)
        archive.update_document(document_id, last_seen_at=seen, current_version_id=version_id)
        archive.mark_fetch_analysed(fetch_id, document_id, version_id)
        again = archive.record_fetch(fetch_cls(url=url, source=source, crawl_id=crawl_id, status=304,
                                               not_modified=True, fetched_at=_date(day + 7 * k + 3),
                                               kind="document" if ext == "pdf" else "page"))
        archive.mark_fetch_analysed(again, document_id, version_id)
    return count


def _date(days: int) -> str:
    import datetime as dt

    return (dt.datetime(2016, 6, 1, 9, tzinfo=dt.timezone.utc) + dt.timedelta(days=days)).isoformat()


# -- the local site crawled into each archive ----------------------------------------------------------------------


PLAN_LINES = [
    "South Yorkshire and Bassetlaw Sustainability and Transformation Plan 2016/17 to 2020/21",
    "Our Five Year Plan for South Yorkshire and Bassetlaw: the NHS Long Term Plan locally, 2019/20 to 2023/24",
    "South Yorkshire Joint Forward Plan 2023/24 to 2027/28: NHS South Yorkshire Integrated Care Board",
]


def site_content(nonce: str, revision: int) -> dict[str, tuple[bytes, str]]:
    """Path -> (body, content type): 40 pages and 20 plan PDFs; revision 1 changes 12 PDFs and 10 pages."""
    from tracker.demo.web import make_pdf

    rng = random.Random(nonce)
    words = vocabulary(rng, 2000)
    files: dict[str, tuple[bytes, str]] = {}
    links = []
    for i in range(20):
        head = PLAN_LINES[i % 3]
        pages = [f"{head} (part {i}, {nonce})", f"The partnership will reduce acute beds by {100 + i} and save "
                 f"£{40 + i} million; Bassetlaw A&E will close overnight from April {2017 + i % 5}."]
        pages += [paragraph(random.Random(f"{nonce}-{i}-{p}"), words) for p in range(6)]
        if revision and i < 12:
            pages.append(f"Revision {revision}: the maternity unit at Rotherham will now close in {2027 + i}.")
        files[f"/plans/plan-{i}.pdf"] = (make_pdf(pages, title=f"{head} {i}"), "application/pdf")
        links.append(f'<a href="/plans/plan-{i}.pdf">Plan {i}</a>')
    for i in range(40):
        body = " ".join(paragraph(random.Random(f"{nonce}-page-{i}"), words) for _ in range(3))
        if revision and i < 10:
            body += f" Updated in revision {revision}."
        files[f"/news/{i}.html"] = (f"<html><head><title>News {i} {nonce}</title></head><body><h1>News {i}</h1>"
                                    f"<p>{body}</p></body></html>".encode(), "text/html; charset=utf-8")
        links.append(f'<a href="/news/{i}.html">News {i}</a>')
    files["/"] = ("<html><body><h1>South Yorkshire plans</h1>" + " ".join(links) + "</body></html>").encode(), \
        "text/html; charset=utf-8"
    return files


# -- child processes: one measurement each, peak RSS from /proc -------------------------------------------------------


def wait_peak(proc: subprocess.Popen) -> tuple[int, float]:
    """Wait for `proc`; return its exit code and peak RSS in MB (VmHWM from /proc, polled).

    Not wait4's ru_maxrss: on Linux a child starts with its parent's high-water mark at fork, so every child
    would look at least as big as this script."""
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    return proc.returncode, peak / 1024


def run_child(args: list[str]) -> tuple[dict[str, Any], float, float]:
    """Run a child; return its JSON output, wall seconds and peak RSS in MB."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=err)
        _, peak = wait_peak(proc)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"{' '.join(args[:5])} failed ({proc.returncode}):\n{err.read().decode()[-3000:]}")
        return json.loads(out.read()), seconds, peak


def child_analyse(home: Path, crawl_id: int) -> dict[str, Any]:
    from storage import Archive
    from tracker.analysis import analyse_crawl

    marks: dict[str, float] = {}

    def progress(step: str, done: int, total: int) -> None:
        marks.setdefault(f"{step}_first", time.perf_counter())
        marks[f"{step}_last"] = time.perf_counter()

    with Archive(home) as archive:
        t0 = time.perf_counter()
        summary = analyse_crawl(archive, crawl_id, on_progress=progress)
        end = time.perf_counter()
    filing_start = marks.get("extract_last", t0)
    filed = marks.get("file_last", filing_start)
    return {"seconds": end - t0, "extract_s": filing_start - t0, "file_s": filed - filing_start,
            "events_s": end - filed, "fetches": summary.fetches, "new_documents": summary.new_documents,
            "new_versions": summary.new_versions, "events": len(summary.events)}


def child_search(home: Path, runs: int) -> dict[str, Any]:
    """search_filtered (what `stp-tracker search` calls), then the same queries through the CLI command (in this
    process: its own cost, not Python's start-up) and the web app's /search page; filtered and unfiltered apart.
    The CLI figure includes Typer building the whole command tree (every command's signature, ~20 ms) on each
    invocation, which a real process does once at start-up (bench_cli.py measures that): "CLI, tree built" is the
    same command with the tree built once."""
    import click.testing
    import typer.main
    from starlette.testclient import TestClient
    from typer.testing import CliRunner

    from storage import Archive
    from tracker.cli import app
    from tracker.web import create_app

    Archive(home).close()  # bring an archive built by an older release up to date (its migrations) first
    times: list[float] = []
    split: dict[str, list[float]] = {"unfiltered": [], "filtered": []}
    per_query: dict[str, float] = {}
    with Archive(home, readonly=True) as archive:
        counts = archive.counts()
        # bench_search's footprint (QF1) is not one of the generated archive's: use its largest real footprint.
        largest = archive._one("SELECT footprint FROM documents WHERE footprint IS NOT NULL GROUP BY footprint "
                               "ORDER BY count(*) DESC LIMIT 1")
        queries = [(label, query, {**filters, "footprint": largest["footprint"]} if "footprint" in filters and largest
                    else filters) for label, query, filters in QUERIES]
        for label, query, filters in queries:
            archive.search_filtered(query, limit=20, **filters)  # warm-up
            mine = []
            for _ in range(runs):
                t0 = time.perf_counter()
                archive.search_filtered(query, limit=20, **filters)
                mine.append((time.perf_counter() - t0) * 1000)
            per_query[label] = statistics.median(mine)
            times += mine
            split["filtered" if filters else "unfiltered"] += mine
    flags = {"footprint": "--footprint", "generation": "--generation", "seen_from": "--from", "seen_to": "--to"}
    web_names = {"footprint": "footprint", "generation": "generation", "seen_from": "from", "seen_to": "to"}
    runner, client = CliRunner(), TestClient(create_app(home))
    cli: dict[str, list[float]] = {"unfiltered": [], "filtered": []}
    built_cli, tree = click.testing.CliRunner(), typer.main.get_command(app)
    built: dict[str, list[float]] = {"unfiltered": [], "filtered": []}
    web: dict[str, list[float]] = {"unfiltered": [], "filtered": []}
    for _ in range(max(3, runs // 2)):
        for _, query, filters in queries:
            key = "filtered" if filters else "unfiltered"
            argv = ["--home", str(home), "search", query, "--json"]
            for name, value in filters.items():
                argv += [flags[name], value]
            t0 = time.perf_counter()
            result = runner.invoke(app, argv)
            cli[key].append((time.perf_counter() - t0) * 1000)
            assert result.exit_code == 0, result.output
            t0 = time.perf_counter()
            result = built_cli.invoke(tree, argv)
            built[key].append((time.perf_counter() - t0) * 1000)
            assert result.exit_code == 0, result.output
            t0 = time.perf_counter()
            answer = client.get("/search", params={"q": query, **{web_names[k]: v for k, v in filters.items()}})
            web[key].append((time.perf_counter() - t0) * 1000)
            assert answer.status_code == 200, answer.status_code

    def figures(values: list[float]) -> dict[str, float]:
        return {"median_ms": statistics.median(values), "p95_ms": percentile(values, 95)}

    return {"versions": counts["versions"], "median_ms": statistics.median(times), "p95_ms": percentile(times, 95),
            "per_query": per_query, "split": {k: figures(v) for k, v in split.items()},
            "cli": {k: figures(v) for k, v in cli.items()},
            "cli_built": {k: figures(v) for k, v in built.items()}, "web": {k: figures(v) for k, v in web.items()}}


def fill_fingerprints(home: Path) -> tuple[float, int]:
    """Store the fingerprint of every plan's current text, as filing does when it meets them (an archive built
    straight through storage has none)."""
    from storage import Archive
    from tracker.meaning import identity
    from tracker.meaning.filing import Fingerprints

    started = time.perf_counter()
    made = 0
    with Archive(home) as archive:
        prints = Fingerprints(archive)
        with archive.transaction():
            plans = archive._rows("SELECT v.text_sha256 FROM documents d JOIN versions v ON v.id = "
                                  "d.current_version_id WHERE d.kind = 'plan'")
            shas = [row["text_sha256"] for row in plans]
            stored = archive.text_fingerprint_summaries(shas, identity.METHOD)
            todo = [sha for sha in shas if sha not in stored or stored[sha]["sketch"] is None]
            prints.summaries_of(todo)
            made = len(todo)
    return time.perf_counter() - started, made


# -- measuring ---------------------------------------------------------------------------------------------------


def measure(home: Path, label: str, runs: int, nonce: str, search: bool = True) -> dict[str, Any]:
    from fixtureweb import FixtureWeb

    from crawler.sources import Source  # noqa: F401  (fails early if the package is broken)

    me = [sys.executable, str(Path(__file__).resolve())]
    result: dict[str, Any] = {"label": label}
    if search and (home / "archive.db").exists():
        result["search"], _, result["search_rss"] = run_child([*me, "--child", "search", "--home", str(home),
                                                               "--runs", str(runs)])
    web = FixtureWeb().start()
    try:
        sources = home.parent / f"{home.name}-sources.toml"
        name = f"bench-load-{nonce}"
        sources.write_text(f'[[source]]\nname = "{name}"\nkind = "site"\nfootprint = "QF7"\nofficial = true\n'
                           f'start_urls = ["{web.url("/")}"]\nmax_depth = 2\n')
        for revision in (0, 1):
            for path, (body, ctype) in site_content(nonce, revision).items():
                web.set(path, body, ctype)
            summary, crawl_s, crawl_rss = run_child([sys.executable, "-m", "crawler.runner", "--home", str(home),
                                                     "--sources", str(sources), "--settings", json.dumps(FAST)])
            analysis, _, analyse_rss = run_child([*me, "--child", "analyse", "--home", str(home),
                                                  "--crawl-id", str(summary["crawl_id"])])
            result[f"crawl{revision}"] = {"seconds": crawl_s, "fetches": summary["totals"]["fetches"],
                                         "rss": crawl_rss, "analysis": analysis, "analyse_rss": analyse_rss}
    finally:
        web.stop()
    return result


def report(results: list[dict[str, Any]]) -> None:
    """One line per archive and crawl; x = ratio to the empty archive (crawl, filing) or to the mid one (search)."""
    base = results[0]
    print(f"\n{'archive, crawl':<28}{'crawl s':>8}{'x':>6}{'MB':>5}{'extract s':>10}{'file ms/fetch':>14}{'x':>6}"
          f"{'events s':>9}{'x':>6}{'analyse MB':>11}")
    for r in results:
        for revision in (0, 1):
            c, b = r[f"crawl{revision}"], base[f"crawl{revision}"]
            a, ab = c["analysis"], b["analysis"]
            file_ms, base_ms = 1000 * a["file_s"] / a["fetches"], 1000 * ab["file_s"] / ab["fetches"]
            print(f"{r['label'] + (', first' if revision == 0 else ', revised'):<28}"
                  f"{c['seconds']:>8.2f}{c['seconds'] / b['seconds']:>6.2f}{c['rss']:>5.0f}{a['extract_s']:>10.2f}"
                  f"{file_ms:>14.1f}{file_ms / base_ms:>6.2f}{a['events_s']:>9.2f}"
                  f"{a['events_s'] / max(ab['events_s'], 1e-3):>6.2f}{c['analyse_rss']:>11.0f}")
    for r in results:
        for revision in (0, 1):
            a = r[f"crawl{revision}"]["analysis"]
            print(f"  {r['label']}, crawl {revision}: {r[f'crawl{revision}']['fetches']} fetches, "
                  f"{a['new_documents']} new documents, {a['new_versions']} new versions, {a['events']} events; "
                  f"analysis {a['seconds']:.2f} s = {1000 * a['seconds'] / max(1, a['new_versions']):.0f} ms "
                  f"per new version")
    searched = [r for r in results if r.get("search")]
    if searched:
        print(f"\n{'search (median ms)':<22}" + "".join(f"{r['label']:>18}" for r in searched))
        for label in searched[0]["search"]["per_query"]:
            print(f"{label:<22}" + "".join(f"{r['search']['per_query'][label]:>18.1f}" for r in searched))
        print(f"{'all: median':<22}" + "".join(f"{r['search']['median_ms']:>18.1f}" for r in searched))
        print(f"{'all: p95':<22}" + "".join(f"{r['search']['p95_ms']:>18.1f}" for r in searched))
        for way in ("split", "cli", "cli_built", "web"):
            for key in ("unfiltered", "filtered"):
                if way not in searched[0]["search"]:
                    continue
                name = {"split": "search_filtered", "cli": "CLI search", "cli_built": "CLI, tree built",
                        "web": "web /search"}[way]
                print(f"{name + ' ' + key[:5] + '.':<22}" + "".join(
                    f"{r['search'][way][key]['median_ms']:>9.1f} /{r['search'][way][key]['p95_ms']:>6.1f}"
                    for r in searched) + "   (median / p95 ms)")
        print(f"{'peak RSS MB':<22}" + "".join(f"{r['search_rss']:>18.0f}" for r in searched))
    if len(searched) == 2:
        mid, big = searched[0]["search"], searched[1]["search"]
        print(f"search at {big['versions']} vs {mid['versions']} versions: median x{big['median_ms'] / mid['median_ms']:.2f},"
              f" p95 x{big['p95_ms'] / mid['p95_ms']:.2f}")


def filing_ratios(results: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Filing ms a fetch of each archive over the empty archive's, first crawl and revised."""
    def per_fetch(r: dict[str, Any], revision: int) -> float:
        a = r[f"crawl{revision}"]["analysis"]
        return a["file_s"] / a["fetches"]

    return {r["label"]: (per_fetch(r, 0) / per_fetch(results[0], 0), per_fetch(r, 1) / per_fetch(results[0], 1))
            for r in results[1:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[4:]))
    parser.add_argument("--versions", type=int, default=100_000, help="versions in the big archive (default 100000)")
    parser.add_argument("--chars", type=int, default=10_000,
                        help="characters per plan or file version (pages a fifth of it; default 10000)")
    parser.add_argument("--dir", type=Path, help="where to build the archives (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the archives in --dir, and reuse them next time")
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each search query (default 10)")
    parser.add_argument("--skip-search", action="store_true", help="measure crawl and analysis only")
    parser.add_argument("--repeat", type=int, default=1, help="measure crawl and analysis this many times (default 1)")
    parser.add_argument("--child", choices=["search", "analyse"], help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--crawl-id", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "search":
        print(json.dumps(child_search(args.home, args.runs)))
        return 0
    if args.child == "analyse":
        print(json.dumps(child_analyse(args.home, args.crawl_id)))
        return 0

    base = args.dir or Path(tempfile.mkdtemp(prefix="stp-bench-load-"))
    base.mkdir(parents=True, exist_ok=True)
    nonce = f"{random.randrange(16**8):08x}"
    mid_n = max(1, args.versions // 10)
    homes = [("empty archive", base / "empty", 0), (f"{mid_n:,} versions", base / f"v{mid_n}", mid_n),
             (f"{args.versions:,} versions", base / f"v{args.versions}", args.versions)]
    print(f"df before: {shutil.disk_usage(base).free / 1e9:.1f} GB free in {base}", file=sys.stderr)
    try:
        for _, home, n in homes:
            if n and not (home / "archive.db").exists():
                print(f"building {n} versions of ~{args.chars:,} characters in {home} ...", file=sys.stderr)
                took = build(home, n, args.chars)
                mb = (home / "archive.db").stat().st_size / 1e6
                blobs = sum(f.stat().st_size for f in (home / "blobs").rglob("*.gz")) / 1e6
                print(f"built {n} versions in {took:.0f} s ({n / took:.0f}/s): archive.db {mb:.0f} MB, "
                      f"blobs {blobs:.0f} MB", flush=True)
        for _, home, n in homes:
            if n:
                took, made = fill_fingerprints(home)
                if made:
                    print(f"fingerprinted {made} plan texts in {home.name} (what filing stores as it goes; once, on "
                          f"an archive made before issue 19): {took:.1f} s", flush=True)
        ratios = []
        for repeat in range(args.repeat):
            results = []
            for label, home, _ in homes:
                print(f"measuring: {label} ...", file=sys.stderr, flush=True)
                results.append(measure(home, label, args.runs, nonce, search=not args.skip_search and not repeat))
            report(results)
            ratios.append(filing_ratios(results))
            nonce = f"{random.randrange(16**8):08x}"
            shutil.rmtree(base / "empty", ignore_errors=True)  # each time's baseline an empty archive again
        if args.repeat > 1:
            print("\nfiling ms a fetch, ratio to the empty archive in the same time (first crawl; revised):")
            for label, _, _ in homes[1:]:
                print(f"  {label}: " + ", ".join(f"x{r[label][0]:.2f}; x{r[label][1]:.2f}" for r in ratios))
    finally:
        shutil.rmtree(base / "empty", ignore_errors=True)
        if not args.keep:
            for _, home, _ in homes:
                shutil.rmtree(home, ignore_errors=True)
            if not args.dir:
                shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
