"""PDF extraction speed: our extractor (pypdfium2 + normalisation) against pdfminer.six, same files, same run.

Run: .venv/bin/python bench/bench_extract.py [--rounds N] [--corpus DIR]
Uses the valid, text-bearing PDFs of ../shared/corpus/pdf (those our extractor reads with status "ok").
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.meaning.extract import extract  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "pdf"


def text_bearing_pdfs(corpus: Path) -> list[tuple[Path, bytes, int]]:
    """(path, bytes, pages) of every PDF our extractor reads as "ok" (pdfminer reads all of those here)."""
    chosen = []
    for path in sorted(corpus.rglob("*.pdf")):
        data = path.read_bytes()
        result = extract(data, "application/pdf", path.name)
        if result.status != "ok" or not result.pages:
            continue
        chosen.append((path, data, result.pages))
    return chosen


def timed(label: str, fn, files: list[tuple[Path, bytes, int]], rounds: int) -> float:
    pages = sum(p for _, _, p in files) * rounds
    start = time.perf_counter()
    for _ in range(rounds):
        for path, data, _ in files:
            fn(path, data)
    elapsed = time.perf_counter() - start
    rate = pages / elapsed
    print(f"{label:<34} {pages:>6} pages in {elapsed:7.2f} s = {rate:8.1f} pages/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="passes over the files (default 1)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of PDFs (searched recursively)")
    args = parser.parse_args()
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    if not args.corpus.is_dir():
        sys.exit(f"no PDF corpus at {args.corpus}: pass --corpus DIR")

    from pdfminer.high_level import extract_text

    files = text_bearing_pdfs(args.corpus)
    total_pages = sum(p for _, _, p in files)
    total_mb = sum(len(d) for _, d, _ in files) / 1e6
    print(f"{len(files)} text-bearing PDFs, {total_pages} pages, {total_mb:.1f} MB, {args.rounds} round(s)")
    ours = timed("stp-tracker extract (pypdfium2)", lambda path, data: extract(data, "application/pdf"), files, args.rounds)
    theirs = timed("pdfminer.six extract_text", lambda path, data: extract_text(path), files, args.rounds)
    print(f"ratio: ours is {ours / theirs:.1f}x pdfminer.six")


if __name__ == "__main__":
    main()
