"""Polite clients for web archives: the Wayback CDX API, Memento TimeMaps (UK Government Web Archive), raw captures.

Written against the archive's real answers (tests/test_wayback_replay.py replays EDGI's recorded cassettes): no
automatic redirects (a redirect carrying Memento-Datetime is a capture of a redirect; the archive's own redirect to
another capture time is followed only within the requested day), no Memento-Datetime means no capture, bodies are
asked for as identity and decoded anyway, CDX rows that are not captures are skipped and counted, URLs are compared
in SURT form, and each failure is its own exception class (as EDGI's `wayback` client has them).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections import deque
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
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HTML = "text/html"
DOCUMENT_TYPES = (PDF, DOCX, XLSX)
ALL_TYPES = (PDF, DOCX, XLSX, HTML)
MAX_BODY = 200 * 1024 * 1024
MAX_LISTING = 50 * 1024 * 1024
MAX_ERROR_BODY = 1024 * 1024  # what is read of an error answer (the archive's words)
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# The Internet Archive's published limits (EDGI's wayback client quotes them); it sends no Retry-After.
CDX_PER_MINUTE = 30.0
MEMENTO_PER_MINUTE = 600.0
MAX_REDIRECTS = 8  # requests for one capture, the archive's own redirects included


# -- errors: one class per way the archive fails ------------------------------------------------------


class WaybackError(Exception):
    """A web archive could not be asked or answered nonsense: names the URL and what went wrong."""


class CdxError(WaybackError):
    """A CDX (or TimeMap) listing failed: the server answered an error or nothing (worth asking again later)."""


class CdxFormatError(CdxError):
    """A listing answer that cannot be read (undecodable bytes, broken JSON): never taken for an empty listing."""


class BlockedSiteError(WaybackError):
    """The archive refuses this site or URL ("Blocked Site Error", "excluded from the Wayback Machine"):
    `words` is what it said. Not worth asking again until someone says so (backfill --retry-blocked)."""

    def __init__(self, message: str, words: str):
        super().__init__(message)
        self.words = words


class MementoError(WaybackError):
    """A capture could not be played back."""


class NoMementoError(MementoError):
    """The archive has no capture there (its "Hrm. The Wayback Machine has not archived that URL." 404)."""


class MementoPlaybackError(MementoError):
    """The archive answered without Memento-Datetime and without a way on: the answer is not a capture."""


class MementoOutsideWindowError(MementoError):
    """The archive redirected to a capture on another day than the one asked for (never dated as that day)."""


class RedirectLoopError(MementoError):
    """Redirects that come back to a URL already asked, or more than MAX_REDIRECTS of them."""


class RateLimitError(WaybackError):
    """The archive itself (not an archived page) kept answering 429 or 5xx after every retry."""


# -- settings -------------------------------------------------------------------------------------------


@dataclass
class BackfillConfig:
    """Endpoints and politeness for talking to web archives (config.toml [backfill], env overrides URLs)."""

    cdx_url: str = DEFAULT_ENDPOINTS["cdx_url"]
    wayback_url: str = DEFAULT_ENDPOINTS["wayback_url"]
    ukgwa_url: str = DEFAULT_ENDPOINTS["ukgwa_url"]
    archives: list[str] = field(default_factory=lambda: ["wayback", "ukgwa"])
    cdx_per_minute: float = CDX_PER_MINUTE  # listings (CDX, TimeMaps): evenly spaced, at most this many a minute
    memento_per_minute: float = MEMENTO_PER_MINUTE  # captures: evenly spaced, at most this many a minute
    delay: float = 0.0  # extra seconds between any two requests (0: the per-minute limits alone)
    retries: int = 4  # per request, on live 429/5xx/network errors
    backoff: float = 5.0  # first wait when no Retry-After is given; doubles each time
    max_wait: float = 300.0  # a longer Retry-After is cut to this
    timeout: float = 60.0
    page_size: int = 1000  # CDX rows per page
    follow_links: bool = True  # list the documents linked from archived pages (one hop, any host)

    @classmethod
    def load(cls, home: Path | None = None) -> BackfillConfig:
        from tracker import ConfigError, settings_table

        config, where = settings_table(cls, home, "backfill",
                                       env={**ENV_NAMES, "delay": "STP_TRACKER_BACKFILL_DELAY"})
        if os.environ.get("STP_TRACKER_BACKFILL_DELAY") and config.delay == 0:
            # For tests and a local archive: no per-minute pacing either when the delay is set to 0.
            config.cdx_per_minute = config.memento_per_minute = 0.0
        unknown = set(config.archives) - {"wayback", "ukgwa"}
        if unknown:
            raise ConfigError(f"{where}: [backfill] archives: unknown {sorted(unknown)} (wayback, ukgwa)")
        for name in ("cdx_per_minute", "memento_per_minute", "delay"):
            if getattr(config, name) < 0:
                raise ConfigError(f"{where}: [backfill] {name}: must be 0 or more")
        return config

    def interval(self, kind: str) -> float:
        """Seconds between two requests of this kind ("listing" or "memento"): the per-minute limit or `delay`."""
        per_minute = self.cdx_per_minute if kind == "listing" else self.memento_per_minute
        return max(self.delay, 60.0 / per_minute if per_minute > 0 else 0.0)


@dataclass
class Response:
    url: str
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None

    @property
    def is_memento(self) -> bool:
        return "memento-datetime" in self.headers


@dataclass
class Capture:
    """One archived copy of a URL."""

    archive: str  # wayback, ukgwa
    url: str  # the original URL
    timestamp: str  # YYYYMMDDhhmmss, UTC
    raw_url: str  # the original bytes (id_ form)
    mimetype: str | None = None
    digest: str | None = None
    statuscode: str | None = None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """urllib follows redirects by default; an archive client must see each one (it may be a capture)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102, PLR0913
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class PoliteClient:
    """One request at a time, evenly paced per kind of request (listings, captures), no automatic redirects,
    bodies asked for as identity (and decoded when they come compressed anyway), and backoff on a live 429/5xx
    (honouring Retry-After). An archived 429 (it carries Memento-Datetime) is an answer, not a reason to wait."""

    def __init__(self, config: BackfillConfig, user_agent: str, sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self.user_agent = user_agent
        self.sleep = sleep
        self._last: dict[str, float] = {}
        self._last_any = 0.0
        self.requests = 0
        self.sent: deque[tuple[float, str, str]] = deque(maxlen=10_000)  # (monotonic time, kind, url)

    def _pause(self, kind: str) -> None:
        now = time.monotonic()
        wait = max(self._last.get(kind, -1e9) + self.config.interval(kind),
                   self._last_any + self.config.delay) - now
        if wait > 0:
            self.sleep(wait)
        self._last[kind] = self._last_any = time.monotonic()

    def get(self, url: str, max_bytes: int = MAX_BODY, data: bytes | None = None,
            headers: dict[str, str] | None = None, kind: str = "memento") -> Response:
        """The answer after retries; a failure is a Response with status (or None) and error, never an exception.
        Redirects are answers too (status 3xx, Location in headers)."""
        delay = self.config.backoff
        for attempt in range(self.config.retries + 1):
            self._pause(kind)
            response = self._once(url, max_bytes, data, headers or {}, kind)
            live_refusal = response.status in RETRY_STATUSES and not response.is_memento
            retry = live_refusal or response.status is None
            if not retry or attempt == self.config.retries:
                return response
            wait = retry_after_seconds(response.headers.get("retry-after"))
            wait = min(self.config.max_wait, wait if wait is not None else delay)
            delay *= 2
            self.sleep(wait)
        return response  # pragma: no cover (the loop always returns)

    def _once(self, url: str, max_bytes: int, data: bytes | None, headers: dict[str, str], kind: str) -> Response:
        self.requests += 1
        self.sent.append((time.monotonic(), kind, url))
        request = urllib.request.Request(url, data=data, headers={"User-Agent": self.user_agent,
                                                                  "Accept-Encoding": "identity", **headers})
        try:
            with _OPENER.open(request, timeout=self.config.timeout) as answer:
                head = {k.lower(): v for k, v in answer.headers.items()}
                return _decoded(Response(url, answer.status, head), answer.read(max_bytes + 1), max_bytes)
        except urllib.error.HTTPError as exc:
            head = {k.lower(): v for k, v in (exc.headers or {}).items()}
            try:
                raw = exc.read(MAX_ERROR_BODY + 1)
            except (OSError, ValueError):
                raw = b""
            response = _decoded(Response(url, exc.code, head), raw, MAX_ERROR_BODY)
            response.error = response.error or f"HTTP {exc.code}"
            return response
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return Response(url, None, {}, b"", f"{type(exc).__name__}: {reason}")


def _decoded(response: Response, raw: bytes, max_bytes: int) -> Response:
    """The body with its Content-Encoding (gzip, deflate) undone, capped at max_bytes after decoding."""
    if len(raw) > max_bytes:
        response.error = f"too large: over {max_bytes} bytes"
        return response
    coding = response.headers.get("content-encoding", "").strip().lower()
    if coding in ("gzip", "x-gzip", "deflate"):
        try:
            inflater = zlib.decompressobj(wbits=47 if coding != "deflate" else 15)
            body = inflater.decompress(raw, max_bytes + 1)
            if len(body) > max_bytes:
                response.error = f"too large: over {max_bytes} bytes once decoded"
                return response
            if not inflater.eof and coding != "deflate":
                raise zlib.error("truncated")
        except zlib.error as exc:
            if coding == "deflate":  # some servers send raw deflate
                try:
                    body = zlib.decompress(raw, -15)
                except zlib.error:
                    response.error = f"a {coding} body that does not decode ({exc})"
                    return response
            else:
                response.error = f"a {coding} body that does not decode ({exc})"
                return response
        response.headers = {k: v for k, v in response.headers.items() if k != "content-encoding"}
        response.headers["x-decoded-content-encoding"] = coding
        raw = body
    response.body = raw
    return response


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


def parse_timestamp(timestamp: str) -> dt.datetime | None:
    """A Wayback timestamp (4 to 14 digits, padded as the archive does) as a UTC time; None if it is no time at
    all (real CDX rows carry month or day 00, e.g. 20000012170449)."""
    if not re.fullmatch(r"(?:\d\d){2,7}", timestamp or ""):
        return None
    padded = timestamp + "0101000000"[len(timestamp) - 4:] if len(timestamp) < 14 else timestamp
    try:
        return dt.datetime.strptime(padded, "%Y%m%d%H%M%S").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def timestamp_iso(timestamp: str) -> str:
    """20160315120000 -> 2016-03-15T12:00:00+00:00 (the archive's time format). ValueError if it is no time."""
    when = parse_timestamp(timestamp)
    if when is None:
        raise ValueError(f"not a capture time: {timestamp!r}")
    return when.isoformat(timespec="seconds")


def memento_timestamp(value: str | None) -> str | None:
    """A Memento-Datetime header (an HTTP date) as YYYYMMDDhhmmss in UTC; None if absent or unreadable."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).strftime("%Y%m%d%H%M%S")


# -- URLs as the archive compares them ------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_key(host: str) -> str:
    """A host as SURT compares it: lower case, no trailing dot, no port, no leading www/www2."""
    host = (host or "").lower().strip().rstrip(".")
    host = host.rsplit("@", 1)[-1]
    if host.startswith("[") or not re.search(r"[a-z]", host):
        return host
    host = host.split(":", 1)[0]
    return re.sub(r"^www\d*\.", "", host)


def surt(url: str) -> str:
    """The archive's sort-friendly key of a URL (as CDX `urlkey`): `http://www.cnn.com:80/` -> `com,cnn)/`.
    Scheme, www, default port and fragment do not count; the query is sorted; all lower case."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip().lower()
    if not parts.netloc and "://" not in url:
        parts = urllib.parse.urlsplit("http://" + url.strip())
        port = None
    host = host_key(parts.hostname or "")
    key = ",".join(reversed(host.split("."))) if host else ""
    if port and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        key += f":{port}"
    path = parts.path or "/"
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return (key + ")" + path + ("?" + query if query else "")).lower()


def same_url(a: str, b: str) -> bool:
    return surt(a) == surt(b)


def plain_original(url: str) -> str:
    """A CDX original as a URL to store: the default port dropped (`http://www.cnn.com:80/` -> `http://www.cnn.com/`)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    if port and port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        netloc = parts.netloc.rsplit(":", 1)[0]
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


_JUNK_IN_URL = re.compile(r"(?:^|/)[\"']?(?:data|javascript|mailto|tel):", re.I)


def junk_original(url: str) -> str | None:
    """Why a CDX `original` is not a URL worth asking for (None when it is): not http(s), a mailto:/data:/
    javascript: link the archive's crawler mistook for a path or host (`http://mailto:x@epa.gov/`,
    `https://www.epa.gov/%22data:image/jpeg;base64,...`), a host without a dot, or an absurd length."""
    if not url.startswith(("http://", "https://")):
        return "not an http(s) URL"
    if len(url) > 2048:
        return "longer than 2048 characters"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is no number)
    except ValueError:
        return "not a URL"
    if "@" in parts.netloc or _JUNK_IN_URL.search(parts.netloc):
        return "a mailto:/data: link or credentials in the host"
    if _JUNK_IN_URL.search(urllib.parse.unquote(parts.path + "?" + parts.query)):
        return "a data:/mailto:/javascript: link read as a path"
    host = (parts.hostname or "")
    if not host or ("." not in host and host != "localhost"):
        return "no host name"
    return None


# -- the Wayback Machine's CDX API -----------------------------------------------------------------


def cdx_query_url(config: BackfillConfig, url: str, *, match: str, years: tuple[int, int],
                  mimetypes: tuple[str, ...], resume_key: str | None, statuses: str = "200") -> str:
    params = [("url", url), ("matchType", match), ("collapse", "digest"), ("filter", f"statuscode:{statuses}")]
    if mimetypes:
        params.append(("filter", "mimetype:" + "|".join(m.replace(".", r"\.") for m in mimetypes)))
    params += [("output", "json"), ("from", str(years[0])), ("to", str(years[1])), ("showResumeKey", "true"),
               ("limit", str(config.page_size))]
    if resume_key:
        params.append(("resumeKey", resume_key))
    return config.cdx_url + "?" + urllib.parse.urlencode(params)


CDX_FIELDS = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]


def parse_cdx(body: bytes, where: str) -> tuple[list[dict[str, str]], str | None]:
    """CDX rows as dicts, and the resumeKey of the next page (None on the last). JSON or text output.
    Raises CdxFormatError on bytes that are no CDX answer (e.g. a gzip body nobody decoded)."""
    if body[:2] == b"\x1f\x8b" or b"\x00" in body[:4096]:
        raise CdxFormatError(f"{where}: the CDX answer is binary (compressed?), not CDX lines")
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = body.decode("utf-8", "replace").strip()
    if not text:
        return [], None
    if text.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CdxFormatError(f"{where}: the CDX answer is not valid JSON ({exc})") from None
        if data == []:
            return [], None
        if not isinstance(data, list) or not data or not isinstance(data[0], list):
            raise CdxFormatError(f"{where}: the CDX answer is not a JSON list of rows")
        resume = None
        if len(data) >= 2 and data[-2] == [] and isinstance(data[-1], list) and len(data[-1]) == 1:
            resume = str(data[-1][0])
            data = data[:-2]
        elif len(data) == 2 and data[0] == [] and isinstance(data[1], list) and len(data[1]) == 1:
            return [], str(data[1][0])  # an empty page that still has a resumeKey
        names = [str(n) for n in data[0]]
        return [dict(zip(names, (str(v) for v in row))) for row in data[1:]
                if isinstance(row, list) and len(row) == len(names)], resume
    # Text output: space-separated default fields; a blank line, then the resumeKey.
    lines = text.splitlines()
    resume = None
    if len(lines) >= 2 and lines[-2].strip() == "" and " " not in lines[-1].strip():
        resume = lines[-1].strip()
        lines = lines[:-2]
    rows = [dict(zip(CDX_FIELDS, line.split(" "))) for line in lines if line.strip()]
    return rows, resume


@dataclass
class CdxPage:
    captures: list[Capture]
    resume_key: str | None
    skipped: list[str] = field(default_factory=list)  # rows that are not captures, each with the reason


def check_row(row: dict[str, str]) -> str | None:
    """Why a CDX row is no capture to import (None when it is one)."""
    timestamp, original = row.get("timestamp", ""), row.get("original", "")
    if not re.fullmatch(r"\d{8,14}", timestamp) or parse_timestamp(timestamp) is None:
        return f"bad timestamp {timestamp[:20]!r}"
    return junk_original(original)


def raw_capture_url(config: BackfillConfig, timestamp: str, original: str) -> str:
    return f"{config.wayback_url.rstrip('/')}/{timestamp}id_/{original}"


def _archive_words(response: Response) -> str:
    """What the archive said, in its own words: its runtime-error header, the text of its error box, or the
    first line of a plain answer; capped, control characters removed."""
    header = response.headers.get("x-archive-wayback-runtime-error", "")
    text = response.body.decode("utf-8", "replace") if response.body else ""
    box = re.search(r'<div id="error">(.*?)</div>', text, re.S | re.I)
    if box:
        words = re.sub(r"<[^>]+>", " ", box.group(1))
    elif text and "<html" not in text[:2000].lower():
        words = re.sub(r"<[^>]+>", " ", text.strip().splitlines()[0]) if text.strip() else ""
    else:
        words = ""
    words = words or header
    words = html.unescape(re.sub(r"\s+", " ", words)).strip()
    return re.sub(r"[\x00-\x1f\x7f]", "", words)[:300]


def _blocked(response: Response) -> bool:
    words = (response.headers.get("x-archive-wayback-runtime-error", "") + " " +
             response.body[:4096].decode("utf-8", "replace"))
    return response.status == 403 and bool(re.search(r"Blocked Site|AccessControlException|blocked", words, re.I))


def cdx_page(client: PoliteClient, url: str, *, match: str, years: tuple[int, int], mimetypes: tuple[str, ...],
             resume_key: str | None, statuses: str = "200") -> CdxPage:
    """One page of captures of `url` (exact or prefix). Raises BlockedSiteError when the archive blocks the
    site, CdxError when the CDX server fails, CdxFormatError when its answer is unreadable."""
    query = cdx_query_url(client.config, url, match=match, years=years, mimetypes=mimetypes, resume_key=resume_key,
                          statuses=statuses)
    response = client.get(query, max_bytes=MAX_LISTING, kind="listing")
    if _blocked(response):
        words = _archive_words(response) or "blocked"
        raise BlockedSiteError(f"the Wayback Machine blocks {url}: {words}", words)
    if response.status != 200 or response.error:
        raise CdxError(f"CDX query for {url} failed: {response.error or response.status} ({query})")
    rows, resume = parse_cdx(response.body, query)
    page = CdxPage([], resume)
    for row in rows:
        reason = check_row(row)
        if reason:
            page.skipped.append(f"{row.get('timestamp', '')[:20]} {row.get('original', '')[:120]}: {reason}")
            continue
        original = plain_original(row["original"])
        page.captures.append(Capture("wayback", original, row["timestamp"],
                                     raw_capture_url(client.config, row["timestamp"], original),
                                     row.get("mimetype"), row.get("digest"), row.get("statuscode")))
    return page


# -- fetching the original bytes ---------------------------------------------------------------------


@dataclass
class Memento:
    """One capture as the archive served it: what the original server answered at `timestamp` (status and
    headers as archived, the body decoded). A memento of a redirect has `location`: the original URL it
    redirected to, and `next_raw`: where the archive serves that."""

    url: str  # the original URL this is a capture of
    timestamp: str  # YYYYMMDDhhmmss from Memento-Datetime: when it was captured, not when it was asked for
    status: int  # the status the original server gave, as archived
    headers: dict[str, str]
    body: bytes
    raw_url: str  # where the archive served it
    location: str | None = None
    next_raw: str | None = None
    requests: int = 1

    @property
    def is_redirect(self) -> bool:
        return 300 <= self.status < 400 and self.location is not None


_RAW = re.compile(r"^(?P<prefix>.*?/)(?P<ts>\d{1,14})(?P<mode>[a-z]{2}_)?/(?P<original>.+)$")


def split_raw_url(raw_url: str) -> tuple[str, str, str] | None:
    """(archive prefix, timestamp, original URL) of a memento URL such as .../web/20171124151315id_/https://x/."""
    match = _RAW.match(raw_url)
    if not match or not match.group("original").startswith(("http://", "https://", "http:/", "https:/")):
        return None
    original = re.sub(r"^(https?):/(?!/)", r"\1://", match.group("original"))
    return match.group("prefix"), match.group("ts"), original


def _original_of(response: Response, fallback: str) -> str:
    """The original URL of a memento: its Link rel="original", else the URL in the memento's own address."""
    link = response.headers.get("link", "")
    for target, params in re.findall(r"<([^>]*)>\s*((?:;[^,<]*)*)", link):
        if re.search(r'rel="?[^";,]*\boriginal\b', params):
            return html.unescape(target)  # the archive writes & as &amp; in Link
    parts = split_raw_url(response.url)
    return parts[2] if parts else fallback


def fetch_memento(client: PoliteClient, raw_url: str, *, expected: str | None = None,
                  max_requests: int = MAX_REDIRECTS) -> Memento:
    """The capture at `raw_url` (an id_ address), with no automatic redirects:

    - an answer with Memento-Datetime is the capture, whatever its status: a 200, an archived 404 or 429, or a
      redirect the original server gave (a capture of a redirect: `location` says where to);
    - the archive's own redirect (no Memento-Datetime: "found capture at ...") to another time is followed only
      if that time is on the same day as the one asked for, and the capture is dated by its Memento-Datetime;
    - anything else without Memento-Datetime is no capture: NoMementoError (404), BlockedSiteError
      ("excluded from the Wayback Machine"), MementoPlaybackError, MementoOutsideWindowError, RedirectLoopError.
    Every request goes through the client (paced); RateLimitError when the archive itself keeps refusing."""
    asked = split_raw_url(raw_url)
    day = asked[1][:8] if asked else None
    seen: list[str] = []
    url = raw_url
    while True:
        if url in seen:
            raise RedirectLoopError(f"the archive's redirects for {raw_url} come back to {url} "
                                    f"after {len(seen)} requests")
        if len(seen) >= max_requests:
            raise RedirectLoopError(f"more than {max_requests} redirects for {raw_url}")
        seen.append(url)
        response = client.get(url, kind="memento")
        if response.status is None:
            raise WaybackError(f"{url}: {response.error}")
        if response.error and not response.error.startswith("HTTP "):
            raise MementoPlaybackError(f"{url}: {response.error}")  # too large, or a body that does not decode
        location = response.headers.get("location")
        target = urllib.parse.urljoin(url, location) if location else None
        if response.is_memento:
            timestamp = memento_timestamp(response.headers.get("memento-datetime"))
            if timestamp is None:
                raise MementoPlaybackError(f"{url}: unreadable Memento-Datetime "
                                           f"{response.headers.get('memento-datetime')!r}")
            original = _original_of(response, expected or url)
            if expected and not same_url(original, expected):
                # The archive matches captures by SURT; anything else is another page.
                raise MementoPlaybackError(f"{url}: the archive served a capture of {original}, not {expected}")
            memento = Memento(expected if expected and same_url(original, expected) else original, timestamp,
                              response.status, response.headers, response.body if response.status < 300 or
                              response.status >= 400 else b"", url, requests=len(seen))
            if 300 <= response.status < 400 and target:
                parts = split_raw_url(target)
                memento.next_raw = target
                memento.location = parts[2] if parts else target
            return memento
        if response.status in RETRY_STATUSES:
            raise RateLimitError(f"{url}: the archive answered {response.status} after "
                                 f"{client.config.retries + 1} tries")
        if 300 <= response.status < 400 and target:
            parts, here = split_raw_url(target), split_raw_url(url)
            if parts is None:
                raise MementoPlaybackError(f"{url}: redirected out of the archive to {target}")
            if day and parts[1][:8] != day:
                raise MementoOutsideWindowError(
                    f"{raw_url}: the archive has no capture on {day[:4]}-{day[4:6]}-{day[6:8]}; it redirects to "
                    f"one of {timestamp_iso(parts[1]) if parse_timestamp(parts[1]) else parts[1]}")
            if here and not same_url(parts[2], here[2]):
                raise MementoPlaybackError(f"{url}: the archive redirected to another URL, {parts[2]}, without "
                                           f"a capture of a redirect")
            url = target
            continue
        words = _archive_words(response)
        if re.search(r"excluded from the Wayback Machine|blocked", words, re.I) or _blocked(response):
            raise BlockedSiteError(f"{url}: {words}", words)
        if response.status == 404:
            raise NoMementoError(f"{url}: HTTP 404, no capture" + (f": {words}" if words else ""))
        raise MementoPlaybackError(f"{url}: HTTP {response.status} without Memento-Datetime: not a capture"
                                   + (f" ({words})" if words else ""))


@dataclass
class Chain:
    """A capture and the captures its archived redirects lead to, each under its own URL and time."""

    mementos: list[Memento]
    stopped: MementoError | None = None  # why following the redirects stopped early

    @property
    def requests(self) -> int:
        return sum(m.requests for m in self.mementos)


def fetch_chain(client: PoliteClient, raw_url: str, *, expected: str | None = None,
                max_hops: int = 5) -> Chain:
    """The capture at `raw_url` and, when it is a capture of a redirect, the captures it redirected to (each is
    its own page: never stored under the first URL). Raises what fetch_memento raises for the first capture;
    a later hop that fails, loops or goes beyond `max_hops` stops the chain with the reason in `stopped`."""
    first = fetch_memento(client, raw_url, expected=expected)
    chain = Chain([first])
    seen_raw = {raw_url, first.raw_url}
    seen = {(surt(first.url), first.timestamp)}
    while chain.mementos[-1].is_redirect and chain.mementos[-1].next_raw:
        last = chain.mementos[-1]
        if len(chain.mementos) > max_hops:
            chain.stopped = RedirectLoopError(f"{raw_url}: more than {max_hops} archived redirects")
            break
        if last.next_raw in seen_raw:
            chain.stopped = RedirectLoopError(f"{raw_url}: the archived redirects come back to {last.next_raw}")
            break
        seen_raw.add(last.next_raw)
        try:
            memento = fetch_memento(client, last.next_raw, expected=last.location)
        except MementoError as exc:
            chain.stopped = exc
            break
        seen_raw.add(memento.raw_url)
        key = (surt(memento.url), memento.timestamp)
        if key in seen:
            chain.stopped = RedirectLoopError(f"{raw_url}: the archived redirects loop back to the capture of "
                                              f"{memento.url} at {memento.timestamp}")
            break
        seen.add(key)
        chain.mementos.append(memento)
    return chain


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
    response = client.get(where, max_bytes=MAX_LISTING, kind="listing")
    if response.status == 404:
        return []
    if response.status != 200:
        raise CdxError(f"TimeMap of {url} failed: {response.error or response.status} ({where})")
    captures = []
    for memento, timestamp in parse_timemap(response.body):
        if not years[0] <= int(timestamp[:4]) <= years[1]:
            continue
        raw = re.sub(r"/(\d{14})(?:[a-z]{2}_)?/", r"/\1id_/", memento, count=1)
        captures.append(Capture("ukgwa", url, timestamp, raw))
    return captures




def content_type_of(response: Response | Memento, fallback: str | None) -> str | None:
    # The Wayback Machine serves id_ captures with the original Content-Type (and the original headers again
    # as x-archive-orig-*); anything missing falls back to what the listing said.
    return response.headers.get("content-type") or response.headers.get("x-archive-orig-content-type") or fallback


def describe(response: Response) -> str:
    return response.error or f"HTTP {response.status}"


__all__ = ["ALL_TYPES", "BackfillConfig", "BlockedSiteError", "Capture", "CdxError", "CdxFormatError", "CdxPage",
           "Chain", "DOCUMENT_TYPES", "Memento", "MementoError", "MementoOutsideWindowError", "MementoPlaybackError",
           "NoMementoError", "PoliteClient", "RateLimitError", "RedirectLoopError", "Response", "WaybackError",
           "cdx_page", "content_type_of", "describe", "fetch_chain", "fetch_memento", "host_key", "junk_original", "parse_cdx",
           "parse_timemap", "parse_timestamp", "plain_original", "same_url", "split_raw_url", "surt",
           "timemap_captures", "timestamp_iso"]
