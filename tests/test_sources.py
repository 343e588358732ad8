"""Sources files (TOML): what a valid one gives, and what each mistake says; and the crawl settings."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from crawler.settings import crawl_settings, user_agent
from crawler.sources import KINDS, Source, SourceError, load_sources, sources_from_dicts
from crawler.spiders import SPIDERS, spider_class

GOOD = """
[[source]]
name = "syb-official"
footprint = "QF7"
kind = "site"
official = true
start_urls = ["https://www.sybics.example/our-plans/", "https://sybics.example/board/"]
schedule = "6h"
document_hosts = ["cdn.example.net"]

[[source]]
name = "local-watch"
kind = "page"
start_urls = ["http://127.0.0.1:8080/plan.html"]
css_selector = "main"
options = { note = "kept for the kind" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_gives_sources_with_defaults(tmp_path: Path) -> None:
    syb, watch = load_sources(write(tmp_path, GOOD))
    assert (syb.name, syb.footprint, syb.kind, syb.official) == ("syb-official", "QF7", "site", True)
    assert syb.schedule == "6h"
    assert syb.allowed_domains == ["www.sybics.example", "sybics.example"]  # default: hosts of the start URLs
    assert syb.max_depth == 3 and watch.max_depth == 0  # defaults by kind
    assert watch.allowed_domains == ["127.0.0.1"] and not watch.official and watch.css_selector == "main"
    assert watch.options == {"note": "kept for the kind"}
    assert syb.in_scope("https://sub.sybics.example/x.pdf") and not syb.in_scope("https://evil-sybics.example/")
    assert syb.on_document_host("https://cdn.example.net/a.pdf")
    assert syb.config()["start_urls"] == syb.start_urls


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[source]]\nstart_urls = ["https://a.example/"]', "source #1: name: missing"),
        ('[[source]]\nname = "a"\nstart_urls = ["https://a.example/"]\n[[source]]\nname = "a"\n'
         'start_urls = ["https://b.example/"]', "source 'a': name: duplicate"),
        ('[[source]]\nname = "a"\nstart_urls = ["ftp://a.example/"]', "source 'a': start_urls: 'ftp://a.example/' must "
                                                                      "start with http:// or https://"),
        ('[[source]]\nname = "a"\nstart_urls = ["a.example/plans"]', "start_urls: 'a.example/plans' must start with"),
        ('[[source]]\nname = "a"\nkind = "wiki"\nstart_urls = ["https://a.example/"]', "kind: unknown kind 'wiki'; "
                                                                                       "known kinds are cmis, moderngov, page, site"),
        ('[[source]]\nname = "a"', "start_urls: missing or empty"),
        ('[[source]]\nname = "a"\nstart_url = "https://a.example/"', "start_url: unknown field"),
        ('[[source]]\nname = "a"\nstart_urls = ["https://a.example/"]\nmax_depth = -1', "max_depth: must be a whole"),
        ('[[source]]\nname = "a"\nstart_urls = ["https://a.example/"]\nofficial = "yes"', "official: must be true or "
                                                                                          "false"),
        ('[[source]]\nname = "a"\nstart_urls = ["https://a.example/"]\nallowed_domains = ["https://a.example"]',
         "allowed_domains: 'https://a.example' must be a bare host name"),
        ('[[source]]\nname = "a"\nstart_urls = ["https://a.example/"]\noptions = 3', "options: must be a table"),
        ('[source]\nname = "a"', "write [[source]], not [source]"),
        ('[[sources]]\nname = "a"', "unknown top-level key 'sources'"),
        ('[[source]]\nname = "a\nstart_urls = []', "not valid TOML"),
    ],
)
def test_mistakes_name_the_file_source_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SourceError) as caught:
        load_sources(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_missing_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such sources file"):
        load_sources(tmp_path / "nope.toml")


def test_sources_from_dicts_and_direct_construction() -> None:
    (source,) = sources_from_dicts([{"name": "x", "start_urls": "https://x.example/a/"}], origin="registry")
    assert source.start_urls == ["https://x.example/a/"] and source.allowed_domains == ["x.example"]
    with pytest.raises(SourceError, match=r"^registry: source #2: name: missing"):
        sources_from_dicts([{"name": "y", "start_urls": ["https://y.example/"]}, {"start_urls": []}], origin="registry")
    assert Source(name="p", kind="page", start_urls=["http://127.0.0.1:1/"]).max_depth == 0


def test_every_kind_has_a_spider() -> None:
    assert set(KINDS) <= set(SPIDERS)
    assert all(SPIDERS[kind].kind == kind for kind in SPIDERS)
    assert spider_class("site").kind == "site"
    with pytest.raises(KeyError, match="known: cmis, moderngov, page, site"):
        spider_class("nope")


def test_crawl_settings_are_polite_and_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = crawl_settings(DOWNLOAD_TIMEOUT=1)
    assert settings["DOWNLOAD_TIMEOUT"] == 1 and settings["ROBOTSTXT_OBEY"] and settings["AUTOTHROTTLE_ENABLED"]
    assert settings["HTTPERROR_ALLOW_ALL"] and not settings["COOKIES_ENABLED"]
    assert not any(code < 500 for code in settings["RETRY_HTTP_CODES"])
    # The disabled extensions are real paths in the installed Scrapy (a typo would silently leave them on).
    for path, value in settings["EXTENSIONS"].items():
        module, name = path.rsplit(".", 1)
        assert value is None and hasattr(importlib.import_module(module), name)
    assert "scrapy.extensions.remote_control.RemoteControl" in settings["EXTENSIONS"]
    monkeypatch.setenv("STP_TRACKER_CONTACT", "mailto:ops@example.org")
    assert user_agent().startswith("stp-tracker/") and user_agent().endswith("(+mailto:ops@example.org)")


def test_kinds_formats_and_channels_have_one_shape_and_register_by_subclassing() -> None:
    from typer.testing import CliRunner

    from alerts import CHANNELS, Channel
    from crawler.sources import SourceKind
    from tracker.cli import app
    from tracker.meaning import EXTRACTORS

    for registry in (KINDS, EXTRACTORS, CHANNELS):
        for kind, cls in registry.items():
            assert cls.kind == kind and cls.help() and cls.help() == (cls.__doc__ or "").strip()  # one line
    assert list(CHANNELS) == ["email", "webhook", "apprise"]  # tried in this order: webhook before apprise

    class FeedKind(SourceKind):
        """an RSS feed (test only)"""

        kind = "feed-test"
        default_max_depth = 1

    class PigeonChannel(Channel):
        """Carrier pigeon (test only)."""

        kind = "pigeon-test"

    try:
        (source,) = sources_from_dicts([{"name": "f", "kind": "feed-test", "start_urls": ["https://f.example/"]}],
                                       origin="t")
        assert source.max_depth == 1
        listed = json.loads(CliRunner().invoke(app, ["sources", "kinds", "--json"], catch_exceptions=False).stdout)
        assert {"kind": "feed-test", "help": "an RSS feed (test only)"} in listed["source kinds"]
        assert {"kind": "pigeon-test", "help": "Carrier pigeon (test only)."} in listed["alert channels"]
        assert [r["kind"] for r in listed["document formats"]] == list(EXTRACTORS)
    finally:
        del KINDS["feed-test"], CHANNELS["pigeon-test"]
    with pytest.raises(SourceError, match="unknown kind 'feed-test'"):
        sources_from_dicts([{"name": "f", "kind": "feed-test", "start_urls": ["https://f.example/"]}], origin="t")
