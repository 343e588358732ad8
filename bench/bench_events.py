"""Precision and recall of alert-worthy events over labelled real series, real pairs and a plan's life story.

Run: .venv/bin/python bench/bench_events.py [--shared ../shared]

Each case replays captured bodies into a fresh archive as crawls would record them (tests/replay.py), runs the
real analysis and event rules, and compares the alert-worthy events of every crawl with the expected ones.
A true positive is an expected event kind raised on the right crawl; an extra event is a false positive; a
missing one a false negative. Labels come from ../shared/corpus/SOURCES.md, checked against the raw text diffs
(e.g. a transition that only adds the "Help us improve our website" survey box is labelled "no event").
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage import Archive  # noqa: E402
from tests.replay import Capture, Replayer  # noqa: E402
from tests.scenario_web import FIVE_YEAR_PLAN, STP_DRAFT, STP_PUBLISHED, STP_REVISED  # noqa: E402
from tracker.workers import ExtractionPool  # noqa: E402
from tracker.demo.web import tiny_pdf  # noqa: E402

# Per series: the expected alert events of each snapshot's crawl, in order (the first crawl is the baseline).
# "R" = revised, "-" = nothing.
SERIES_LABELS = {
    "www-gov-uk-guidance-general-information-assessing-fitness-to-drive": "------",  # widget text only
    "www-healthiertogether-nhs-uk-professional-croup": "---RR-",  # two 403 months; edits; then a block notice
    "www-nhs-uk-conditions-back-pain": "--RR--",  # last: an "Overview" heading only
    "www-nhs-uk-conditions-broken-finger": "------",  # a word split by markup; then the survey box
    "www-nhs-uk-conditions-bronchiolitis": "-R----",  # last change: the survey box
    "www-nhs-uk-conditions-burns-and-scalds": "---R-R",  # rewrite; "at least 15" -> "15 to 30 minutes"
    "www-nhs-uk-conditions-cuts-and-grazes": "---R-R",
    "www-nhs-uk-conditions-head-injury-and-concussion": "----R-",
    "www-nhs-uk-medicines-chloramphenicol-how-and-when-to-use-chloramphenicol": "-R----",
    "www-nhs-uk-medicines-ibuprofen-for-adults-how-and-when-to-take-ibuprofen": "----R-",  # then the survey box
    "www-nhs-uk-medicines-paracetamol-for-adults-how-and-when-to-take-paracetamol-for-adults": "---RRR",
    "www-nhs-uk-pregnancy-related-conditions-common-symptoms-vaginal-bleeding": "--R-R-",
}
KINDS = {"R": ["revised"], "-": []}

PAIRS = [  # (first, second, same URL?, expected alert events of the second crawl)
    ("duplicates/LabourAltBudget-amendment-a.pdf", "duplicates/LabourAltBudget-amendment-b.pdf", False, []),
    ("duplicates/Minutes-2025-01-09-as-printed-minutes.pdf", "duplicates/Minutes-2025-01-09-as-next-agenda-item.pdf",
     False, []),
    # Only the appendix letter differs (G -> H, M -> N): archived as versions, not news.
    ("versions/ReservesPolicy-v1-cabinet-2025-01-30.pdf", "versions/ReservesPolicy-v2-council-2025-02-13.pdf", True, []),
    ("versions/InvestmentStrategy-v1-cabinet-2025-01-30.pdf", "versions/InvestmentStrategy-v2-council-2025-02-13.pdf",
     True, []),
]


class Score:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0
        self.misses: list[str] = []

    def add(self, case: str, expected: list[str], got: list[str]) -> None:
        e, g = Counter(expected), Counter(got)
        tp = sum((e & g).values())
        self.tp += tp
        self.fp += sum(g.values()) - tp
        self.fn += sum(e.values()) - tp
        if e != g:
            self.misses.append(f"{case}: expected {sorted(expected)}, got {sorted(got)}")


def alerting(events) -> list[str]:
    return sorted(e.kind for e in events if e.alert)


def run_series(shared: Path, pool: ExtractionPool, score: Score, work: Path) -> int:
    crawls = 0
    for name, labels in SERIES_LABELS.items():
        folder = shared / "corpus" / "html-versions" / "nhs-page-text-series" / name
        series = json.loads((folder / "series.json").read_text())
        archive = Archive(work / name)
        replayer = Replayer(archive, "nhs-page", official=True, kind="page", footprint=None, pool=pool)
        for snap, label in zip(series["snapshots"], labels, strict=True):
            ok = snap["http_status"] == 200
            body = (folder / snap["text_file"]).read_bytes() if ok else b"Access denied"
            events = replayer.crawl([Capture(series["url"], body, "text/plain; charset=utf-8",
                                             status=snap["http_status"], kind="page",
                                             fetched_at=snap["commit_date"])])
            score.add(f"{name} {snap['commit_date'][:10]}", KINDS[label], alerting(events))
            crawls += 1
        archive.close()
    return crawls


def run_pairs(shared: Path, pool: ExtractionPool, score: Score, work: Path) -> int:
    kcc = shared / "corpus" / "pdf" / "uk-kcc"
    for index, (first, second, same_url, expected) in enumerate(PAIRS):
        archive = Archive(work / f"pair-{index}")
        replayer = Replayer(archive, "kent-cc", official=True, kind="page", pool=pool)
        url = "https://democracy.kent.gov.uk/documents/s1/paper.pdf"
        replayer.crawl([Capture("https://democracy.kent.gov.uk/", b"<html><body>Papers</body></html>", "text/html",
                                kind="page")])
        replayer.crawl([Capture(url, (kcc / first).read_bytes())])
        events = replayer.crawl([Capture(url if same_url else url.replace("s1", "s2"), (kcc / second).read_bytes())])
        score.add(Path(second).name, expected, alerting(events))
        archive.close()
    return len(PAIRS) * 3


# What each alert's summary must name, written from labels.csv's "what changed" column (any one term of each
# pair is enough: a yardstick for "the summary names the change", not a rule the code knows about).
PAIR_NAMES = {
    "P01": ["2,002,563", "1,283,493"],  # total cash limit / GET capital figures
    "P04": ["22,472.6", "-90,557.8"],  # pay line / savings, income & grant total
    "P06": ["12,600", "Community Wardens", "262.5"],
    "P09": ["£269.7m", "£6.8m", "Employer NI"],
    "P25": ["ADOPT"],
    "P29": ["1,531,279.8", "4,685.8"],
}


def run_labelled_pairs(shared: Path, pool: ExtractionPool, score: Score, work: Path, named: list) -> int:
    """../shared/corpus/pairs: each pair as two crawls of one URL; the verdict against labels.csv, and whether
    the alert's summary names the labelled change (printed)."""
    import csv

    folder = shared / "corpus" / "pairs"
    rows = list(csv.DictReader((folder / "labels.csv").open()))
    for row in rows:
        archive = Archive(work / f"labelled-{row['pair']}")
        replayer = Replayer(archive, "kent-cc", official=True, kind="page", pool=pool)
        url = "https://democracy.kent.gov.uk/documents/s1/paper.pdf"
        replayer.crawl([Capture("https://democracy.kent.gov.uk/", b"<html><body>Papers</body></html>", "text/html",
                                kind="page")])
        replayer.crawl([Capture(url, (folder / row["file_a"]).read_bytes())])
        events = replayer.crawl([Capture(url, (folder / row["file_b"]).read_bytes())])
        expected = ["revised"] if row["label"] == "alert" else []
        score.add(row["pair"], expected, alerting(events))
        summary = next((e.summary for e in events if e.alert), "")
        terms = PAIR_NAMES.get(row["pair"], [])
        names = bool(summary) and any(t.lower() in summary.lower() for t in terms) if terms else None
        named.append((row["pair"], row["label"], names, summary))
        archive.close()
    return len(rows) * 3


def run_story(pool: ExtractionPool, score: Score, work: Path) -> int:
    """The scenario test's story (tests/test_scenario.py), replayed without HTTP: council, official and campaign."""
    archive = Archive(work / "story")
    council = Replayer(archive, "council", official=False, kind="site", footprint="QF7", pool=pool)
    official = Replayer(archive, "ics", official=True, kind="site", footprint="QF7", pool=pool)
    draft = tiny_pdf(STP_DRAFT, title="Appendix A")
    published = tiny_pdf(STP_PUBLISHED, title="Public summary")
    resaved = tiny_pdf(STP_PUBLISHED, title="Public summary (re-saved)")
    revised = tiny_pdf(STP_REVISED, title="Public summary")
    five_year = tiny_pdf(FIVE_YEAR_PLAN, title="Five Year Plan")
    stp, fyp, leak = "https://ics.example/docs/stp.pdf", "https://ics.example/docs/fyp.pdf", "https://council.example/s2/a.pdf"
    home = Capture("https://ics.example/", b"<html><body><p>Our plans</p></body></html>", "text/html", kind="page")
    steps = [  # (council captures, official captures, expected alert events of the official crawl)
        ([], [home], []),
        ([Capture(leak, draft)], [home], ["leaked"]),
        ([Capture(leak, draft)], [home, Capture(stp, published)], ["published"]),
        ([Capture(leak, draft)], [home, Capture(stp, resaved)], []),
        ([Capture(leak, draft)], [home, Capture(stp, revised)], ["revised"]),
        ([Capture(leak, draft)], [home, Capture(stp, revised), Capture(fyp, five_year)], ["replaced"]),
        ([Capture(leak, draft)], [home, Capture(stp, b"gone", "text/html", status=404),
                                  Capture(fyp, b"busy", "text/plain", status=503)], []),
        ([Capture(leak, draft)], [home, Capture(stp, b"gone", "text/html", status=404), Capture(fyp, five_year)],
         ["withdrawn"]),
        ([Capture(leak, draft)], [home, Capture(stp, revised), Capture(fyp, five_year)], ["reinstated"]),
    ]
    for number, (council_captures, official_captures, expected) in enumerate(steps, start=1):
        got = alerting(council.crawl(council_captures or [Capture("https://council.example/", b"<p>Papers</p>",
                                                                  "text/html", kind="page")]))
        got += alerting(official.crawl(official_captures))
        score.add(f"story step {number}", expected, got)
    archive.close()
    return len(steps) * 2


def run_messy_world(score: Score, work: Path) -> int:
    """tests/messy_world.py: an ICB site of 60+ pages, its old partnership domain, two councils; 11 labelled states."""
    from tests.messy_world import run, score as world_score

    results = run(work / "messy")
    tp, fp, fn, misses = world_score(results)
    score.tp, score.fp, score.fn = score.tp + tp, score.fp + fp, score.fn + fn
    score.misses += misses
    for r in results:
        print(f"  messy world state {r['state']:>2} {r['name']:26} crawl {r['crawl_seconds']:>5.2f} s  "
              f"known URLs {r['known_urls']}")
    return len(results)


def outage_with_production_settings(work: Path) -> None:
    """The outage state crawled with the real politeness settings (AutoThrottle from 1 s, 2 retries)."""
    import subprocess

    # Its own process: Twisted's reactor runs once per process, and run_messy_world used it.
    script = ("import json, sys; from pathlib import Path; from tests.messy_world import run; print(json.dumps(run("
              "Path(sys.argv[1]), settings={'AUTOTHROTTLE_ENABLED': True, 'DOWNLOAD_DELAY': 0.25, 'RETRY_TIMES': 2, "
              "'CONCURRENT_REQUESTS_PER_DOMAIN': 4}, only=[0, 6]), default=str))")
    proc = subprocess.run([sys.executable, "-c", script, str(work / "outage")], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    down = json.loads(proc.stdout.strip().splitlines()[-1])[-1]
    print(f"  outage crawl, production politeness: {down['crawl_seconds']:.1f} s, fetches {down['fetches']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--outage", action="store_true", help="also time the messy world's outage crawl with "
                        "production politeness (AutoThrottle, retries)")
    args = parser.parse_args()
    if not (args.shared / "corpus").is_dir():
        sys.exit(f"no corpus at {args.shared / 'corpus'}: pass --shared PATH")
    pool = ExtractionPool(workers=2)
    started = time.perf_counter()
    rows = []
    named: list = []
    total = Score()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for label, run in (("NHS page series (12 pages, 72 crawls)", lambda s: run_series(args.shared, pool, s, work)),
                               ("Kent council PDF pairs", lambda s: run_pairs(args.shared, pool, s, work)),
                               ("labelled pairs (corpus/pairs, 13)",
                                lambda s: run_labelled_pairs(args.shared, pool, s, work, named)),
                               ("plan story (leak .. reinstatement)", lambda s: run_story(pool, s, work)),
                               ("messy world (ICB, old domain, 2 councils)", lambda s: run_messy_world(s, work))):
                score = Score()
                crawls = run(score)
                rows.append((label, crawls, score))
                for attr in ("tp", "fp", "fn"):
                    setattr(total, attr, getattr(total, attr) + getattr(score, attr))
                total.misses += score.misses
            if args.outage:
                outage_with_production_settings(work)
    finally:
        pool.close()

    def pr(s: Score) -> tuple[str, str]:
        precision = s.tp / (s.tp + s.fp) if s.tp + s.fp else 1.0
        recall = s.tp / (s.tp + s.fn) if s.tp + s.fn else 1.0
        return f"{precision:.2f}", f"{recall:.2f}"

    print(f"{'case':42} {'crawls':>6} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>6}")
    for label, crawls, s in rows + [("all", sum(r[1] for r in rows), total)]:
        p, r = pr(s)
        print(f"{label:42} {crawls:>6} {s.tp:>4} {s.fp:>4} {s.fn:>4} {p:>9} {r:>6}")
    for miss in total.misses:
        print("  disagreement:", miss)
    alerts = [n for n in named if n[1] == "alert"]
    print(f"labelled alerts whose summary names the listed change: {sum(1 for n in alerts if n[2])}/{len(alerts)}")
    for pair, label, names, summary in named:
        mark = {True: "names it", False: "MISSES IT", None: "-"}[names]
        print(f"  {pair} ({label}, {mark}): {summary or '(no alert)'}")
    print(f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
