"""Crawl speed: a bare Scrapy spider against our full pipeline (spider, Fetch items, archive writes) on one local site.

    .venv/bin/python bench/bench_crawl.py [--pages 2500] [--rounds 2]

A small asyncio HTTP server in a separate process serves a site of N generated HTML pages (about 3 KB each, a
tree of links plus cross-links, and a robots.txt); both crawlers run in this process on one asyncio reactor with
the same settings (AutoThrottle off, robots.txt obeyed, same concurrency). Prints pages/s for each and the ratio
(target: ours >= 0.85 x bare), and ours once more with the archive writes replaced by no-ops, to show what
dominates. Only traffic to 127.0.0.1; the server stops with this script.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FILLER = ("The partnership will improve outcomes for the population by joining up primary, community and acute "
          "services, and by moving care closer to home where that is safe and sensible. ") * 4


def page(i: int, total: int) -> bytes:
    children = [c for c in range(8 * i + 1, 8 * i + 9) if c < total]
    cross = [(i * 37 + 11) % total, (i * 101 + 7) % total, 0]
    links = "".join(f'<li><a href="/p/{c}.html">Page {c}</a></li>' for c in children + cross)
    return (f"<!doctype html><html><head><title>Page {i}</title></head><body><h1>Page {i}</h1>"
            f"<p>{FILLER}</p><ul>{links}</ul><p>{FILLER}</p></body></html>").encode()


async def serve(total: int) -> None:
    """Keep-alive HTTP/1.1 on 127.0.0.1 (free port printed on stdout); ends when stdin closes."""
    robots = b"User-agent: *\nDisallow: /private/\n"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                if path == "/robots.txt":
                    status, ctype, body = 200, "text/plain", robots
                elif path.startswith("/p/") and path.endswith(".html") and path[3:-5].isdigit() \
                        and int(path[3:-5]) < total:
                    status, ctype, body = 200, "text/html; charset=utf-8", page(int(path[3:-5]), total)
                else:
                    status, ctype, body = 404, "text/html", b"<h1>Not found</h1>"
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
                             .encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=256)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # the parent closes our stdin when it is done
    server.close()


class NullArchive:
    """The archive API with no writes: isolates what the spider and items cost from what storage costs."""

    class _Blobs:
        @staticmethod
        def put(data: bytes) -> tuple[str, bool]:
            return "", True

    blobs = _Blobs()

    def start_crawl(self, sources: list[str]) -> int:
        return 1

    def known_urls(self, source: str) -> list:
        return []

    def record_fetch(self, fetch: object) -> int:
        return 0

    def upsert_source(self, *args: object, **kwargs: object) -> None:
        pass

    note_source_result = finish_crawl = upsert_source


async def bench(base: str, total: int, rounds: int, where: str | None) -> list[tuple[str, int, float, float]]:
    import scrapy
    from scrapy.crawler import AsyncCrawlerRunner

    from crawler.runner import run_crawl
    from crawler.settings import crawl_settings
    from crawler.sources import Source
    from storage import Archive

    common = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "ROBOTSTXT_OBEY": True,
              "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 16, "RETRY_TIMES": 0}

    class BareSpider(scrapy.Spider):
        name = "bare"

        async def start(self):  # noqa: ANN202
            yield scrapy.Request(base + "/p/0.html")

        def parse(self, response):  # noqa: ANN001, ANN202
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href)

    results = []
    for round_ in range(rounds):
        runner = AsyncCrawlerRunner(crawl_settings(**common, ITEM_PIPELINES={}))
        crawler = runner.create_crawler(BareSpider)
        started, cpu = time.perf_counter(), time.process_time()
        await runner.crawl(crawler)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        pages = crawler.stats.get_value("response_received_count", 0) - 1  # less robots.txt
        results.append(("bare scrapy", pages, seconds, cpu))

        with tempfile.TemporaryDirectory(dir=where) as home, Archive(home) as archive:
            source = Source(name=f"bench-{round_}", start_urls=[base + "/p/0.html"], max_depth=20)
            started, cpu = time.perf_counter(), time.process_time()
            summary = await run_crawl([source], archive, settings=common)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            results.append(("stp-tracker", summary.totals["fetches"], seconds, cpu))

        source = Source(name=f"bench-null-{round_}", start_urls=[base + "/p/0.html"], max_depth=20)
        started, cpu = time.perf_counter(), time.process_time()
        summary = await run_crawl([source], NullArchive(), settings=common)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        results.append(("no archive", summary.totals["fetches"], seconds, cpu))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=2500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dir", help="where the measured data home goes (default: the system's temporary folder; "
                                      "creating files there may cost more than on the disk a real home is on)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return 0

    server = subprocess.Popen([sys.executable, __file__, "--serve", str(args.pages)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        logging.basicConfig(level=logging.WARNING)
        logging.getLogger("scrapy").setLevel(logging.ERROR)
        from scrapy.utils.defer import deferred_from_coro
        from scrapy.utils.reactor import install_reactor

        install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
        from twisted.internet import reactor

        out: dict = {}

        def start() -> None:
            d = deferred_from_coro(bench(f"http://127.0.0.1:{port}", args.pages, args.rounds, args.dir))
            d.addBoth(lambda result: (out.__setitem__("result", result), reactor.stop()))

        reactor.callLater(0, start)
        reactor.run()
        results = out["result"]
        if not isinstance(results, list):
            results.raiseException()
    finally:
        server.stdin.close()
        server.wait(timeout=10)

    best: dict[str, float] = {}
    cpu_best: dict[str, float] = {}
    print(f"{'crawler':<14} {'pages':>6} {'seconds':>8} {'pages/s':>8} {'CPU ms/page':>12}")
    for name, pages, seconds, cpu in results:
        rate, cpu_ms = pages / seconds, 1000 * cpu / pages
        best[name] = max(best.get(name, 0.0), rate)
        cpu_best[name] = min(cpu_best.get(name, float("inf")), cpu_ms)
        print(f"{name:<14} {pages:>6} {seconds:>8.2f} {rate:>8.0f} {cpu_ms:>12.2f}")
    ratio = best["stp-tracker"] / best["bare scrapy"]
    cpu_ratio = cpu_best["bare scrapy"] / cpu_best["stp-tracker"]
    print(f"our spiders without archive writes: {best['no archive']:.0f} pages/s, "
          f"{cpu_best['no archive']:.2f} CPU ms/page (archive writes cost the rest)")
    print(f"best of {args.rounds}: bare {best['bare scrapy']:.0f} pages/s, ours {best['stp-tracker']:.0f} pages/s, "
          f"ratio {ratio:.2f} (target >= 0.85); by CPU time per page (steadier on a busy machine): {cpu_ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
