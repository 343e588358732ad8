"""Polite clients for web archives: the Wayback CDX API, Memento TimeMaps (UK Government Web Archive), raw captures."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

DEFAULT_ENDPOINTS = {
    "cdx_url": "https://web.archive.org/cdx/search/cdx",
    "wayback_url": "https://web.archive.org/web",
    "ukgwa_url": "https://webarchive.nationalarchives.gov.uk/ukgwa",
    "spn_url": "https://web.archive.org/save",  # Save Page Now (tracker/preserve.py)
}
ENV_NAMES = {
    "cdx_url": "STP_TRACKER_CDX_URL",
    "wayback_url": "STP_TRACKER_WAYBACK_URL",
    "ukgwa_url": "STP_TRACKER_UKGWA_URL",
}
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"
DOCUMENT_TYPES = (PDF, DOCX)
ALL_TYPES = (PDF, DOCX, HTML)
MAX_BODY = 200 * 1024 * 1024
MAX_LISTING = 50 * 1024 * 1024
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class WaybackError(Exception):
    """A web archive could not be asked or answered nonsense: names the URL and what went wrong."""


@dataclass
class BackfillConfig:
    """Endpoints and politeness for talking to web archives (config.toml [backfill], env overrides URLs)."""

    cdx_url: str = DEFAULT_ENDPOINTS["cdx_url"]
    wayback_url: str = DEFAULT_ENDPOINTS["wayback_url"]
    ukgwa_url: str = DEFAULT_ENDPOINTS["ukgwa_url"]
    archives: list[str] = field(default_factory=lambda: ["wayback", "ukgwa"])
    delay: float = 2.0  # seconds between two requests to the archives
    retries: int = 4  # per request, on 429/5xx/network errors
    backoff: float = 5.0  # first wait when no Retry-After is given; doubles each time
    max_wait: float = 300.0  # a longer Retry-After is cut to this
    timeout: float = 60.0
    page_size: int = 1000  # CDX rows per page

    @classmethod
    def load(cls, home: Path | None = None) -> BackfillConfig:
        from tracker import ConfigError, settings_table

        config, where = settings_table(cls, home, "backfill",
                                       env={**ENV_NAMES, "delay": "STP_TRACKER_BACKFILL_DELAY"})
        unknown = set(config.archives) - {"wayback", "ukgwa"}
        if unknown:
            raise ConfigError(f"{where}: [backfill] archives: unknown {sorted(unknown)} (wayback, ukgwa)")
        return config


@dataclass
class Response:
    url: str
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None


@dataclass
class Capture:
    """One archived copy of a URL."""

    archive: str  # wayback, ukgwa
    url: str  # the original URL
    timestamp: str  # YYYYMMDDhhmmss, UTC
    raw_url: str  # the original bytes (id_ form)
    mimetype: str | None = None
    digest: str | None = None


class PoliteClient:
    """One request at a time, a pause between requests, and backoff on 429/503 (honouring Retry-After)."""

    def __init__(self, config: BackfillConfig, user_agent: str, sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self.user_agent = user_agent
        self.sleep = sleep
        self._last = 0.0
        self.requests = 0

    def _pause(self) -> None:
        wait = self._last + self.config.delay - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._last = time.monotonic()

    def get(self, url: str, max_bytes: int = MAX_BODY, data: bytes | None = None,
            headers: dict[str, str] | None = None) -> Response:
        """The answer after retries; a failure is a Response with status (or None) and error, never an exception."""
        delay = self.config.backoff
        for attempt in range(self.config.retries + 1):
            self._pause()
            response = self._once(url, max_bytes, data, headers or {})
            retry = response.status in RETRY_STATUSES or response.status is None
            if not retry or attempt == self.config.retries:
                return response
            wait = retry_after_seconds(response.headers.get("retry-after"))
            wait = min(self.config.max_wait, wait if wait is not None else delay)
            delay *= 2
            self.sleep(wait)
        return response  # pragma: no cover (the loop always returns)

    def _once(self, url: str, max_bytes: int, data: bytes | None, headers: dict[str, str]) -> Response:
        self.requests += 1
        request = urllib.request.Request(url, data=data, headers={"User-Agent": self.user_agent, **headers})
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as answer:
                body = answer.read(max_bytes + 1)
                head = {k.lower(): v for k, v in answer.headers.items()}
                if len(body) > max_bytes:
                    return Response(url, answer.status, head, b"", f"too large: over {max_bytes} bytes")
                return Response(url, answer.status, head, body)
        except urllib.error.HTTPError as exc:
            head = {k.lower(): v for k, v in (exc.headers or {}).items()}
            return Response(url, exc.code, head, b"", f"HTTP {exc.code}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return Response(url, None, {}, b"", f"{type(exc).__name__}: {reason}")


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def timestamp_iso(timestamp: str) -> str:
    """20160315120000 -> 2016-03-15T12:00:00+00:00 (the archive's time format)."""
    padded = (timestamp + "00000000000000")[:14]
    when = dt.datetime.strptime(padded, "%Y%m%d%H%M%S").replace(tzinfo=dt.timezone.utc)
    return when.isoformat(timespec="seconds")


# -- the Wayback Machine's CDX API -----------------------------------------------------------------


def cdx_query_url(config: BackfillConfig, url: str, *, match: str, years: tuple[int, int],
                  mimetypes: tuple[str, ...], resume_key: str | None) -> str:
    params = [("url", url), ("matchType", match), ("collapse", "digest"), ("filter", "statuscode:200"),
              ("filter", "mimetype:" + "|".join(m.replace(".", r"\.") for m in mimetypes)), ("output", "json"),
              ("from", str(years[0])), ("to", str(years[1])), ("showResumeKey", "true"),
              ("limit", str(config.page_size))]
    if resume_key:
        params.append(("resumeKey", resume_key))
    return config.cdx_url + "?" + urllib.parse.urlencode(params)


def parse_cdx(body: bytes, where: str) -> tuple[list[dict[str, str]], str | None]:
    """CDX rows as dicts, and the resumeKey of the next page (None on the last). JSON or text output."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return [], None
    if text.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise WaybackError(f"{where}: the CDX answer is not valid JSON ({exc})") from None
        if data == []:
            return [], None
        if not isinstance(data, list) or not isinstance(data[0], list):
            raise WaybackError(f"{where}: the CDX answer is not a JSON list of rows")
        resume = None
        if len(data) >= 2 and data[-2] == [] and len(data[-1]) == 1:
            resume = str(data[-1][0])
            data = data[:-2]
        names = [str(n) for n in data[0]]
        return [dict(zip(names, (str(v) for v in row))) for row in data[1:] if len(row) == len(names)], resume
    # Text output: space-separated default fields; a blank line, then the resumeKey.
    lines = text.splitlines()
    resume = None
    if len(lines) >= 2 and lines[-2].strip() == "" and " " not in lines[-1].strip():
        resume = lines[-1].strip()
        lines = lines[:-2]
    names = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
    rows = [dict(zip(names, line.split(" "))) for line in lines if line.strip()]
    return rows, resume


def cdx_page(client: PoliteClient, url: str, *, match: str, years: tuple[int, int], mimetypes: tuple[str, ...],
             resume_key: str | None) -> tuple[list[Capture], str | None]:
    """One page of captures of `url` (exact or prefix); raises WaybackError when the CDX server fails."""
    query = cdx_query_url(client.config, url, match=match, years=years, mimetypes=mimetypes, resume_key=resume_key)
    response = client.get(query, max_bytes=MAX_LISTING)
    if response.status != 200:
        raise WaybackError(f"CDX query for {url} failed: {response.error or response.status} ({query})")
    rows, resume = parse_cdx(response.body, query)
    captures = []
    for row in rows:
        timestamp, original = row.get("timestamp", ""), row.get("original", "")
        if not re.fullmatch(r"\d{8,14}", timestamp) or not original.startswith(("http://", "https://")):
            continue
        raw = f"{client.config.wayback_url.rstrip('/')}/{timestamp}id_/{original}"
        captures.append(Capture("wayback", original, timestamp, raw, row.get("mimetype"), row.get("digest")))
    return captures, resume


# -- Memento TimeMaps (UK Government Web Archive) ----------------------------------------------------

_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[\w-]+\s*=\s*(?:\"[^\"]*\"|[^;,<]*))*)")
_PARAM = re.compile(r";\s*([\w-]+)\s*=\s*(?:\"([^\"]*)\"|([^;,<]*))")


def parse_timemap(body: bytes) -> list[tuple[str, str]]:
    """(memento URI, YYYYMMDDhhmmss) for each memento in a link-format TimeMap (RFC 7089)."""
    out = []
    for match in _LINK.finditer(body.decode("utf-8", "replace")):
        params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3).strip())
                  for m in _PARAM.finditer(match.group(2))}
        if "memento" not in params.get("rel", "").split():
            continue
        try:
            when = email.utils.parsedate_to_datetime(params.get("datetime", ""))
        except (TypeError, ValueError):
            continue
        if when.tzinfo is not None:
            when = when.astimezone(dt.timezone.utc)
        out.append((match.group(1), when.strftime("%Y%m%d%H%M%S")))
    return out


def timemap_captures(client: PoliteClient, url: str, years: tuple[int, int]) -> list[Capture]:
    """Every memento of `url` in the years given; none when the archive has no TimeMap for it (404)."""
    where = f"{client.config.ukgwa_url.rstrip('/')}/timemap/link/{url}"
    response = client.get(where, max_bytes=MAX_LISTING)
    if response.status == 404:
        return []
    if response.status != 200:
        raise WaybackError(f"TimeMap of {url} failed: {response.error or response.status} ({where})")
    captures = []
    for memento, timestamp in parse_timemap(response.body):
        if not years[0] <= int(timestamp[:4]) <= years[1]:
            continue
        raw = re.sub(r"/(\d{14})(?:[a-z]{2}_)?/", r"/\1id_/", memento, count=1)
        captures.append(Capture("ukgwa", url, timestamp, raw))
    return captures


# -- fetching the original bytes ---------------------------------------------------------------------


def fetch_capture(client: PoliteClient, raw_url: str) -> Response:
    """The archived original bytes (byte-exact, from the id_ form), or the failure."""
    return client.get(raw_url)


def content_type_of(response: Response, fallback: str | None) -> str | None:
    # The Wayback Machine serves id_ captures with the original Content-Type (and the original headers again
    # as x-archive-orig-*); anything missing falls back to what the listing said.
    return response.headers.get("content-type") or response.headers.get("x-archive-orig-content-type") or fallback


def describe(response: Response) -> str:
    return response.error or f"HTTP {response.status}"


__all__ = ["ALL_TYPES", "BackfillConfig", "Capture", "DOCUMENT_TYPES", "PoliteClient", "Response", "WaybackError",
           "cdx_page", "content_type_of", "describe", "fetch_capture", "parse_cdx", "parse_timemap",
           "timemap_captures", "timestamp_iso"]
