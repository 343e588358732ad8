"""Backfill against web.archive.org as it really answers: EDGI's recorded cassettes and the CDX server's documented
answers (../shared/corpus/webarchives/), replayed on 127.0.0.1 by tests/cassettes.py. One test (or more) per case
of issue 15: bad CDX rows, redirects, answers without Memento-Datetime, SURT matching, compressed bodies, junk
originals, blocked sites, archived 429s."""

from __future__ import annotations

import gzip

import pytest

from clirun import run_cli
from crawler.sources import sources_from_dicts
from storage import Archive
from tests.cassettes import CORPUS, Replay
from tracker.webarchives.backfill import Query, backfill, list_captures
from tracker.webarchives.wayback import (ALL_TYPES, BackfillConfig, BlockedSiteError, CdxFormatError,
                                         MementoOutsideWindowError, NoMementoError, PoliteClient,
                                         RedirectLoopError, cdx_page, check_row, fetch_chain, fetch_memento,
                                         junk_original, parse_cdx, surt)

EDGI = CORPUS / "edgi-wayback"
UA = "stp-tracker/test (+ops@example.org)"


@pytest.fixture
def replays():
    started: list[Replay] = []

    def make(*names: str, **kwargs) -> Replay:
        replay = Replay(*names, **kwargs).start()
        started.append(replay)
        return replay

    yield make
    for replay in started:
        replay.stop()


def config_for(replay: Replay, **changes) -> BackfillConfig:
    config = BackfillConfig(cdx_url=replay.cdx_url, wayback_url=replay.wayback_url, ukgwa_url=replay.base + "/ukgwa",
                            archives=["wayback"], cdx_per_minute=0, memento_per_minute=0, retries=0, backoff=0.0)
    for name, value in changes.items():
        setattr(config, name, value)
    return config


def client_for(replay: Replay, waits: list[float] | None = None, **changes) -> PoliteClient:
    sleep = waits.append if waits is not None else (lambda seconds: None)
    return PoliteClient(config_for(replay, **changes), UA, sleep=sleep)


def source(name: str, start: str, **extra):
    return sources_from_dicts([{"name": name, "footprint": "QF7", "start_urls": [start], **extra}])[0]


# -- 1. bad CDX rows ----------------------------------------------------------------------------------------


def test_cdx_rows_with_month_or_day_00_are_skipped_and_reported_never_fatal(tmp_path, replays):
    rows, _ = parse_cdx((EDGI / "test_files" / "bad_timestamp_cdx.txt").read_bytes(), "test")
    reasons = {row["timestamp"]: check_row(row) for row in rows}
    assert "bad timestamp" in reasons["20000012170449"] and "bad timestamp" in reasons["20000800241623"]
    assert reasons["20000125210430"] is None and reasons["20011120210446"] is None

    replay = replays(query_keys=())  # any CDX query gets this answer
    replay.add("GET", "/cdx/search/cdx", body=(EDGI / "test_files" / "bad_timestamp_cdx.txt").read_bytes(),
               headers={"Content-Type": "text/plain"})
    usatoday = source("usatoday", "http://www.usatoday.com/2000/century/tech/004.htm")
    with Archive(tmp_path / "home") as archive:
        summary = backfill(archive, [usatoday], config_for(replay))  # the mementos are not recorded: 404
        listed = archive._rows("SELECT timestamp, status FROM backfill_captures ORDER BY timestamp")
        assert [r["timestamp"] for r in listed] == ["20000125210430", "20000311052312", "20011120210446"]
        bad = " ".join(s for s in summary.skipped if "bad timestamp" in s)
        assert "20000012170449" in bad and "20000800241623" in bad
        assert all(r["status"] == "failed" for r in listed), "each capture ends with a recorded reason"
        assert archive.backfill_listing_stats(["usatoday"])["skipped"] >= 2
        again = backfill(archive, [usatoday], config_for(replay))  # a rerun: no traceback, nothing asked again
        assert (again.listed, again.imported, again.failed) == (0, 0, 0)


# -- 2. redirects ---------------------------------------------------------------------------------------------


def test_a_redirect_to_another_day_is_not_followed_and_never_dates_that_day(replays):
    replay = replays("test_get_memento_raises_when_memento_is_outside_target_window")
    client = client_for(replay)
    with pytest.raises(MementoOutsideWindowError, match="2017-11-24"):
        fetch_memento(client, f"{replay.wayback_url}/20171101000000id_/https://www.fws.gov/birds/")
    assert len(replay.requests) == 1 and replay.unmatched == []


def test_a_redirect_within_the_day_is_followed_and_dated_by_the_capture_served(replays):
    replay = replays("test_get_memento_with_date_datetime")
    memento = fetch_memento(client_for(replay), f"{replay.wayback_url}/20171124000000id_/https://www.fws.gov/birds/",
                            expected="https://www.fws.gov/birds/")
    assert (memento.status, memento.timestamp, memento.url) == (200, "20171124151315", "https://www.fws.gov/birds/")
    assert b"<html" in memento.body.lower() and memento.requests == 2  # decoded: the recording is gzip
    assert all(headers.get("Accept-Encoding") == "identity" for _, _, _, headers in replay.requests)


def test_a_capture_of_a_redirect_is_recorded_as_such_and_its_target_under_its_own_url(replays):
    replay = replays("test_get_memento_with_redirects")
    first = "https://www.epa.gov/ghgreporting/san5779-factsheet"
    target = ("https://www.epa.gov/ghgreporting/proposed-rule-fact-sheet-greenhouse-gas-reporting-program-addition-"
              "global-warming")
    chain = fetch_chain(client_for(replay), f"{replay.wayback_url}/20180808094144id_/{first}", expected=first)
    redirect, page = chain.mementos
    assert (redirect.url, redirect.status, redirect.timestamp, redirect.location) == (first, 301, "20180808094144",
                                                                                      target)
    assert redirect.body == b""
    assert (page.url, page.status, page.timestamp) == (target, 200, "20180808104500")
    assert b"Proposed Rule Fact Sheet" in page.body
    assert chain.stopped is None and len(replay.requests) == 3


def test_historical_redirects_schemeless_and_path_only_locations(replays):
    replay = replays("test_get_memento_follows_historical_redirects")
    chain = fetch_chain(client_for(replay), f"{replay.wayback_url}/20200201020357id_/http://epa.gov/climatechange",
                        expected="http://epa.gov/climatechange")
    assert [(m.status, m.timestamp) for m in chain.mementos] == [(301, "20200201023757"), (200, "20200201024405")]
    assert chain.mementos[0].url == "http://epa.gov/climatechange"  # the archive's own 302 went to its SURT twin
    assert chain.mementos[1].url == "https://www.epa.gov/sites/production/files/signpost/cc.html"

    replay = replays("test_get_memento_with_schemeless_redirects")
    census = "https://www.census.gov/geography/gss-initiative.html"
    chain = fetch_chain(client_for(replay), f"{replay.wayback_url}/20201102232816id_/{census}", expected=census)
    assert [(m.status, m.url) for m in chain.mementos] == [(301, census), (404, "https://www.census.gov/geo/gssi/")]
    assert replay.unmatched == []

    replay = replays("test_get_memento_with_path_based_redirects")
    faqs = "https://www.whitehouse.gov/administration/eop/ostp/about/student/faqs"
    chain = fetch_chain(client_for(replay), f"{replay.wayback_url}/20201027215555id_/{faqs}", expected=faqs)
    assert [(m.status, m.timestamp) for m in chain.mementos] == [(301, "20201027215555"), (404, "20201027220743")]
    assert replay.unmatched == []


def test_a_redirect_loop_is_bounded_and_paced(replays):
    replay = replays("test_get_memento_raises_for_mementos_that_redirect_in_a_loop")
    waits: list[float] = []
    client = client_for(replay, waits, memento_per_minute=600)
    article = "https://link.springer.com/article/10.1007/s00382-012-1331-2"
    chain = fetch_chain(client, f"{replay.wayback_url}/20200925075402id_/{article}", expected=article)
    assert isinstance(chain.stopped, RedirectLoopError)
    assert [m.status for m in chain.mementos] == [303, 302]  # two captures of redirects, each recorded
    assert len(replay.requests) <= 5, replay.asked()
    # Every request after the first waited its turn (60 s / 600 = 0.1 s): no burst of 17 requests in 11 ms.
    assert len(waits) == client.requests - 1 and all(w == pytest.approx(0.1, abs=0.02) for w in waits), waits


# -- 3. no Memento-Datetime, no capture -----------------------------------------------------------------------


def test_answers_without_memento_datetime_are_no_captures(replays):
    replay = replays("test_get_memento_raises_blocked_error", "test_get_memento_raises_no_memento_error")
    client = client_for(replay)
    with pytest.raises(BlockedSiteError) as blocked:
        fetch_memento(client, f"{replay.wayback_url}/20170929002712id_/https://nationalpost.com/health/")
    assert blocked.value.words == "Sorry. This URL has been excluded from the Wayback Machine."
    with pytest.raises(NoMementoError, match="Hrm. The Wayback Machine has not archived that URL"):
        fetch_memento(client, f"{replay.wayback_url}/20170929002712id_/https://this-is-not-real-url.whatever/")


def test_the_excluded_page_never_becomes_a_version(tmp_path, replays):
    replay = replays("test_get_memento_raises_blocked_error", query_keys=("url",))
    replay.add("GET", "/cdx/search/cdx?url=nationalpost.com%2F", body=b"")
    replay.add("GET", "/cdx/search/cdx?url=https%3A%2F%2Fnationalpost.com%2Fhealth%2F",
               body=b"com,nationalpost)/health 20170929002712 https://nationalpost.com/health/ text/html 200 X 10\n")
    post = source("post", "https://nationalpost.com/health/")
    with Archive(tmp_path / "home") as archive:
        summary = backfill(archive, [post], config_for(replay, follow_links=False))
        assert (summary.imported, summary.failed) == (0, 1)
        fetch = archive.fetches()[0]
        assert fetch["status"] is None and "excluded from the Wayback Machine" in fetch["error"]
        assert fetch["blob_sha256"] is None
        assert archive.events(include_all=True, historical=True) == []


# -- 4. URLs compared in SURT form -------------------------------------------------------------------------


def test_surt_matches_the_archives_urlkey_on_real_rows():
    names = ["test_search_multipage", "test_search_with_date", "tutorial"]
    checked = 0
    for name in names:
        replay = Replay(name)
        for route in replay.routes.values():
            for answer in route.answers:
                coding = {k.lower(): v for k, v in answer.headers}.get("content-encoding")
                body = gzip.decompress(answer.body) if coding == "gzip" else answer.body
                if not body.startswith(b"[") and b" " in body[:200]:
                    rows, _ = parse_cdx(body, name)
                    for row in rows:
                        original = row.get("original", "")
                        if original and junk_original(original) is None and "?" not in original:
                            assert surt(row["original"]) == row["urlkey"], row
                            checked += 1
    assert checked > 1000
    assert surt("http://www.cnn.com:80/") == surt("https://www.cnn.com/") == "com,cnn)/"


def test_cdx_originals_are_matched_to_the_start_url_and_scope_is_compared_as_surt(tmp_path, replays):
    replay = replays("test_search_multipage", query_keys=("resumeKey",))
    cnn = source("cnn", "https://www.cnn.com/")
    years = (2001, 2001)
    with Archive(tmp_path / "home") as archive:
        archive.upsert_source("cnn", footprint=None, kind="site", official=False, config={})
        new = list_captures(archive, client_for(replay), cnn, Query("wayback", "https://www.cnn.com/", "exact",
                                                                    ALL_TYPES), years)
        urls = {r["url"] for r in archive._rows("SELECT url FROM backfill_captures")}
        assert urls == {"https://www.cnn.com/"}, urls  # never http://www.cnn.com:80/ as a new URL
        assert new > 50 and len(replay.requests) == 15, "all 15 recorded pages, gzip decoded"
        assert archive.backfill_cursor("cnn", Query("wayback", "https://www.cnn.com/", "exact",
                                                    ALL_TYPES).key(years))["complete"]

    replay = replays(query_keys=())
    replay.add("GET", "/cdx/search/cdx",
               body=(CORPUS / "ia-cdx-server" / "example-json-showResumeKey-url=archive.org-limit=5.json").read_bytes())
    ia = source("ia", "http://www.archive.org/")
    with Archive(tmp_path / "home2") as archive:
        archive.upsert_source("ia", footprint=None, kind="site", official=False, config={})
        page = cdx_page(client_for(replay), "http://www.archive.org/", match="exact", years=(1997, 1998),
                        mimetypes=ALL_TYPES, resume_key=None)
        assert page.resume_key == "org%2Carchive%29%2F+19980109140106%21"
        assert "http://archive.org/" in {c.url for c in page.captures}  # :80 dropped, and in scope:
        from tracker.webarchives.backfill import _rows
        rows = _rows(ia, Query("wayback", "http://www.archive.org/", "exact", ALL_TYPES), page.captures,
                     {surt("http://www.archive.org/"): "http://www.archive.org/"})
        assert {r["url"] for r in rows} == {"http://www.archive.org/"} and len(rows) == 5


# -- 5. compressed answers ----------------------------------------------------------------------------------


def test_a_compressed_cdx_answer_is_decoded_and_an_undecodable_one_is_never_an_empty_listing(tmp_path, replays):
    replay = replays("test_search", query_keys=())
    page = cdx_page(client_for(replay), "nasa.gov", match="exact", years=(1996, 1997), mimetypes=(), resume_key=None)
    assert page.captures and all(c.url.startswith("http") for c in page.captures)

    # The same gzip bytes without their Content-Encoding header: unreadable, so the listing stays open.
    recorded = next(iter(replay.routes.values())).answers[0]
    bare = replays(query_keys=())
    bare.add("GET", "/cdx/search/cdx", body=recorded.body, headers={"Content-Type": "text/plain"})
    with pytest.raises(CdxFormatError):
        cdx_page(client_for(bare), "nasa.gov", match="exact", years=(1996, 1997), mimetypes=(), resume_key=None)
    nasa = source("nasa", "http://www.nasa.gov/")
    with Archive(tmp_path / "home") as archive:
        summary = backfill(archive, [nasa], config_for(bare))
        assert summary.errors and not archive._rows("SELECT * FROM backfill_cursors WHERE complete = 1")


# -- 6. junk originals ----------------------------------------------------------------------------------------


def test_junk_originals_are_dropped_and_never_asked_again(tmp_path, replays):
    replay = replays(query_keys=())
    replay.add("GET", "/cdx/search/cdx", body=(EDGI / "test_files" / "malformed_cdx.txt").read_bytes())
    epa = source("epa", "https://www.epa.gov/")
    with Archive(tmp_path / "home") as archive:
        summary = backfill(archive, [epa], config_for(replay, follow_links=False))
        urls = [r["url"] for r in archive._rows("SELECT url FROM backfill_captures")]
        assert urls and all(u == "https://www.epa.gov/" for u in urls), urls
        reasons = " ".join(summary.skipped)
        assert "mailto" in reasons and "data:" in reasons and "not an http(s) URL" in reasons
        asked = list(replay.asked())
        assert not any("mailto" in a or "data:image" in a for a in asked)
        backfill(archive, [epa], config_for(replay, follow_links=False))
        assert replay.asked() == asked, "finished listings are not asked again; junk is never fetched"


# -- 7. blocked sites -----------------------------------------------------------------------------------------


def test_a_blocked_site_keeps_the_archives_words_and_is_not_asked_again(tmp_path, replays):
    replay = replays("test_search_raises_for_blocked_urls", query_keys=())
    post = source("post", "https://nationalpost.com/health")
    with Archive(tmp_path / "home") as archive:
        summary = backfill(archive, [post], config_for(replay))
        assert summary.errors == [] and len(summary.blocked) == 2  # the site prefix and the start page
        assert all("Blocked Site Error" in b for b in summary.blocked)
        words = {r["blocked"] for r in archive.blocked_backfill_listings(["post"])}
        assert words == {"org.archive.util.io.RuntimeIOException: org.archive.wayback.exception."
                         "AdministrativeAccessControlException: Blocked Site Error"}
        asked = len(replay.requests)
        again = backfill(archive, [post], config_for(replay))
        assert len(replay.requests) == asked and len(again.blocked) == 2
        backfill(archive, [post], config_for(replay), retry_blocked=True)
        assert len(replay.requests) == asked + 2


def test_backfill_cli_says_blocked_and_does_not_ask_to_run_again(tmp_path, replays):
    replay = replays("test_search_raises_for_blocked_urls", query_keys=())
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[backfill]\narchives = ["wayback"]\n')
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nname = "post"\nstart_urls = ["https://nationalpost.com/health"]\n')
    env = {"STP_TRACKER_CDX_URL": replay.cdx_url, "STP_TRACKER_WAYBACK_URL": replay.wayback_url,
           "STP_TRACKER_BACKFILL_DELAY": "0"}
    result = run_cli(home, "backfill", "--sources", str(sources), env=env, code=0)
    assert "Blocked Site Error" in result.stderr and "--retry-blocked" in result.stderr
    assert "run again to resume" not in result.stderr and "Traceback" not in result.stderr


# -- 8. archived 429 -------------------------------------------------------------------------------------------


def test_an_archived_429_is_what_the_page_was_not_live_rate_limiting(tmp_path, replays):
    replay = replays("test_get_memento_works_on_archived_rate_limit_responses")
    waits: list[float] = []
    reddit = "http://www.reddit.com/r/PokemonGiveaway"
    memento = fetch_memento(client_for(replay, waits, retries=5, backoff=15.0),
                            f"{replay.wayback_url}/20150129034904id_/{reddit}", expected=reddit)
    assert (memento.status, memento.timestamp) == (429, "20150129034904")
    assert b"Too Many Requests" in memento.body
    assert len(replay.requests) == 1 and waits == [], "no retries, no backoff"

    replay = replays("test_get_memento_works_on_archived_rate_limit_responses", query_keys=("url",))
    replay.add("GET", "/cdx/search/cdx?url=www.reddit.com%2F", body=b"")
    replay.add("GET", f"/cdx/search/cdx?url={reddit}",
               body=f"com,reddit)/r/pokemongiveaway 20150129034904 {reddit} text/html 429 X 10\n".encode())
    with Archive(tmp_path / "home") as archive:
        summary = backfill(archive, [source("reddit", reddit)], config_for(replay, retries=5, follow_links=False))
        assert (summary.imported, summary.failed) == (1, 0)
        fetch = archive.fetches()[0]
        assert (fetch["status"], fetch["fetched_at"]) == (429, "2015-01-29T03:49:04+00:00")
        assert "as archived" in fetch["error"]
