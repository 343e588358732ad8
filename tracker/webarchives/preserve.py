"""Preservation: ask the Internet Archive's Save Page Now to capture each new find, and keep the capture's URL.

A campaign group that cites a leaked draft wants a copy nobody can quietly take down: ours is private, the
Wayback Machine's is public. When analysis records an event with a new version (`leaked`, `published`, `revised`,
`replaced`, `reinstated`), a request is queued in the archive (`preservations`); each round then asks Save Page Now
(SPN2: POST /save, then GET /save/status/<job>) for a few due rows, one request at a time, and records the capture
URL with the version. A round never waits on the archive: a job still running is asked about on a later round,
a refused or failed request is tried again with growing pauses, and after `max_attempts` it is left as `failed`
with the archive's words. A permanent refusal (`error:blocked-url`, `error:invalid-host-resolution`, ...) is final at
once; Save Page Now's "The same snapshot had been made 3 minutes ago" (no job) is resolved to that snapshot through
the CDX API; a capture of another URL than the one asked for is never cited. The access keys are sent only as the
Authorization header and never written anywhere.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage import Archive
from storage import utcnow

from tracker.webarchives.wayback import (DEFAULT_ENDPOINTS, BackfillConfig, PoliteClient, Response, WaybackError,
                                         cdx_page, describe, retry_after_seconds, same_url, timestamp_iso)

log = logging.getLogger("stp_tracker.preserve")

KINDS = ("leaked", "published", "revised", "replaced", "reinstated")
ENV = {"spn_url": "STP_TRACKER_SPN_URL", "wayback_url": "STP_TRACKER_WAYBACK_URL", "cdx_url": "STP_TRACKER_CDX_URL",
       "access_key": "STP_TRACKER_SPN_ACCESS_KEY", "secret": "STP_TRACKER_SPN_SECRET"}
MAX_ANSWER = 1024 * 1024
# status_ext errors that asking again will not change (the URL, its host or the archive's rules): final at once.
PERMANENT_ERRORS = frozenset({
    "error:blocked", "error:blocked-url", "error:blocked-client-ip", "error:invalid-host-resolution",
    "error:invalid-url-syntax", "error:method-not-allowed", "error:filesize-limit", "error:ftp-access-denied",
    "error:no-access", "error:not-implemented", "error:unauthorized",
})
_SAME_SNAPSHOT = re.compile(r"same snapshot had been made (\d+) (second|minute|hour|day)s? ago", re.I)


class SavePageNowError(Exception):
    """Save Page Now did not capture: `words` are its own (status_ext and message, or the HTTP failure)."""

    def __init__(self, words: str, response: Response | None = None):
        super().__init__(words)
        self.words = words
        self.response = response


class SpnRefusedError(SavePageNowError):
    """A refusal worth asking again later: busy (429), an outage (5xx), a job that failed for now."""


class SpnPermanentError(SavePageNowError):
    """A refusal that asking again will not change (PERMANENT_ERRORS): the request is failed at once."""


class SpnCaptureMismatchError(SpnPermanentError):
    """Save Page Now captured another URL than the one asked for (a redirect to a login page, say)."""


class SpnSnapshotNotFoundError(SpnRefusedError):
    """"The same snapshot had been made ..." but the CDX API does not list it (yet)."""


@dataclass
class PreserveConfig:
    """config.toml [preserve]; env STP_TRACKER_SPN_URL, _WAYBACK_URL, _SPN_ACCESS_KEY, _SPN_SECRET override."""

    enabled: bool = False
    spn_url: str = DEFAULT_ENDPOINTS["spn_url"]
    wayback_url: str = DEFAULT_ENDPOINTS["wayback_url"]
    cdx_url: str = DEFAULT_ENDPOINTS["cdx_url"]  # to find the snapshot of "the same snapshot had been made"
    access_key: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    kinds: list[str] = field(default_factory=lambda: list(KINDS))
    max_age_days: float = 7.0  # events older than this are not preserved (the page may have changed since)
    per_round: int = 5  # requests and status checks in one round
    delay: float = 5.0  # seconds between two requests to Save Page Now
    poll_every: float = 60.0  # seconds between two status checks of one job
    job_timeout: float = 3600.0  # a job still pending after this is asked for again
    retry_after: float = 300.0  # first pause after a failure; doubles each time
    max_attempts: int = 6
    timeout: float = 60.0

    @classmethod
    def load(cls, home: Path | None = None, environ: dict[str, str] | None = None) -> PreserveConfig:
        from tracker import ConfigError, settings_table

        config, where = settings_table(cls, home, "preserve", env=ENV, environ=environ)
        unknown = sorted(set(config.kinds) - set(KINDS))
        if unknown:
            raise ConfigError(f"{where}: [preserve] kinds: {unknown} are not events with a new version "
                              f"(choose from {', '.join(KINDS)})")
        if config.enabled and not (config.access_key and config.secret):
            raise ConfigError(f"{where}: [preserve] enabled needs Save Page Now keys: set access_key and secret, "
                              f"or {ENV['access_key']} and {ENV['secret']} (https://archive.org/account/s3.php)")
        return config

    def client(self, user_agent: str) -> PoliteClient:
        # No retries inside a round: a failure waits for a later round (next_try_at), so a round stays short.
        return PoliteClient(BackfillConfig(cdx_url=self.cdx_url, wayback_url=self.wayback_url, delay=self.delay,
                                           cdx_per_minute=0, memento_per_minute=0, retries=0, timeout=self.timeout),
                            user_agent)

    def headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "Authorization": f"LOW {self.access_key}:{self.secret}"}


@dataclass
class PreserveReport:
    queued: int = 0
    requested: int = 0
    captured: int = 0
    waiting: int = 0  # asked about, not done yet
    failed: int = 0  # given up for good this round
    retrying: int = 0  # failed this round, tried again later
    errors: list[str] = field(default_factory=list)


def _later(seconds: float, now: dt.datetime | None = None) -> str:
    when = (now or dt.datetime.now(dt.timezone.utc)) + dt.timedelta(seconds=seconds)
    return when.isoformat(timespec="seconds")


def _json_answer(response: Response) -> dict[str, Any] | None:
    try:
        data = json.loads(response.body.decode("utf-8", "replace"))
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _archive_words(data: dict[str, Any] | None, response: Response) -> str:
    """What Save Page Now said went wrong, in its own words (status_ext and message), or the HTTP failure."""
    if data:
        words = " ".join(str(data[k]) for k in ("status_ext", "message") if data.get(k))
        if words:
            return f"{words} ({describe(response) if response.status != 200 else 'HTTP 200'})"
    return describe(response)


def _refusal(data: dict[str, Any] | None, response: Response) -> SavePageNowError:
    """The exception for a refusal or a failed job: permanent when its status_ext says so."""
    words = _archive_words(data, response)
    if data and str(data.get("status_ext") or "") in PERMANENT_ERRORS:
        return SpnPermanentError(words, response)
    return SpnRefusedError(words, response)


def capture_url(config: PreserveConfig, timestamp: str, original: str) -> str:
    return f"{config.wayback_url.rstrip('/')}/{timestamp}/{original}"


class Preserver:
    """One round at a time: queue new finds, then make or follow up a few due requests."""

    def __init__(self, archive: Archive, config: PreserveConfig, client: PoliteClient | None = None):
        self.archive = archive
        self.config = config
        if client is None:
            from crawler import user_agent

            client = config.client(user_agent())
        self.client = client

    def round(self) -> PreserveReport:
        report = PreserveReport()
        now = dt.datetime.now(dt.timezone.utc)
        since = (now - dt.timedelta(days=self.config.max_age_days)).isoformat(timespec="seconds")
        report.queued = self.archive.enqueue_preservations(self.config.kinds, since)
        for row in self.archive.due_preservations(now.isoformat(timespec="seconds"), self.config.per_round):
            if row["status"] == "requested" and row["job_id"]:
                self._follow_up(row, report)
            else:
                self._request(row, report)
        return report

    def _request(self, row: dict[str, Any], report: PreserveReport) -> None:
        form = urllib.parse.urlencode({"url": row["url"], "skip_first_archive": "1"}).encode()
        response = self.client.get(self.config.spn_url, max_bytes=MAX_ANSWER, data=form,
                                   headers=self.config.headers(), kind="listing")
        data = _json_answer(response)
        job = str(data.get("job_id") or "") if data else ""
        try:
            if response.status == 200 and re.fullmatch(r"[\w.-]{1,200}", job):
                self.archive.update_preservation(row["id"], status="requested", job_id=job, requested_at=utcnow(),
                                                 next_try_at=_later(min(self.config.poll_every, 30.0)), error=None)
                report.requested += 1
                return
            same = _SAME_SNAPSHOT.search(str((data or {}).get("message") or ""))
            if response.status == 200 and same:
                self._captured(row, report, *self._same_snapshot(row["url"], int(same.group(1)), same.group(2),
                                                                 response))
                return
            raise _refusal(data, response)
        except SavePageNowError as exc:
            self._failed(row, report, exc.words, exc.response or response,
                         permanent=isinstance(exc, SpnPermanentError))

    def _same_snapshot(self, url: str, ago: int, unit: str, response: Response) -> tuple[str, str]:
        """(timestamp, URL) of the snapshot Save Page Now says it made `ago` units ago: the newest capture of the
        URL the CDX API lists from a little before then."""
        seconds = ago * {"second": 1, "minute": 60, "hour": 3600, "day": 86400}[unit.lower()]
        now = dt.datetime.now(dt.timezone.utc)
        low = (now - dt.timedelta(seconds=seconds * 2 + 120)).strftime("%Y%m%d%H%M%S")
        high = (now + dt.timedelta(seconds=60)).strftime("%Y%m%d%H%M%S")
        try:
            page = cdx_page(self.client, url, match="exact", years=(low, high), mimetypes=(),  # type: ignore[arg-type]
                            resume_key=None, statuses=".*")
        except WaybackError as exc:
            raise SpnSnapshotNotFoundError(f"the same snapshot had been made {ago} {unit}s ago, but the CDX API "
                                           f"failed: {exc}", response) from None
        found = [c for c in page.captures if same_url(c.url, url)]
        if not found:
            raise SpnSnapshotNotFoundError(f"the same snapshot had been made {ago} {unit}s ago, but the CDX API "
                                           f"lists no capture of it yet", response)
        return max(found, key=lambda c: c.timestamp).timestamp, url

    def _captured(self, row: dict[str, Any], report: PreserveReport, timestamp: str, original: str) -> None:
        self.archive.update_preservation(row["id"], status="captured", job_id=None, error=None,
                                         capture_url=capture_url(self.config, timestamp, original),
                                         captured_at=timestamp_iso(timestamp))
        report.captured += 1

    def _follow_up(self, row: dict[str, Any], report: PreserveReport) -> None:
        where = f"{self.config.spn_url.rstrip('/')}/status/{urllib.parse.quote(row['job_id'], safe='')}"
        response = self.client.get(where, max_bytes=MAX_ANSWER, headers=self.config.headers(), kind="listing")
        data = _json_answer(response) or {}
        status = data.get("status")
        try:
            if response.status == 200 and status == "success":
                timestamp, original = str(data.get("timestamp") or ""), str(data.get("original_url") or row["url"])
                if not re.fullmatch(r"\d{14}", timestamp):
                    raise SpnRefusedError(f"success without a capture time ({where})", response)
                if not same_url(original, row["url"]):
                    raise SpnCaptureMismatchError(f"captured {original}, not the URL asked for ({row['url']})",
                                                  response)
                self._captured(row, report, timestamp, row["url"])
            elif response.status == 200 and status == "pending":
                started = dt.datetime.fromisoformat(row["requested_at"]) if row["requested_at"] else None
                if started and (dt.datetime.now(dt.timezone.utc) - started).total_seconds() > self.config.job_timeout:
                    raise SpnRefusedError(f"job {row['job_id']} still pending after {self.config.job_timeout:.0f} s",
                                          response)
                self.archive.update_preservation(row["id"], next_try_at=_later(self.config.poll_every))
                report.waiting += 1
            else:
                raise _refusal(data, response)
        except SavePageNowError as exc:
            self._failed(row, report, exc.words, exc.response or response,
                         permanent=isinstance(exc, SpnPermanentError))

    def _failed(self, row: dict[str, Any], report: PreserveReport, reason: str, response: Response, *,
                permanent: bool = False) -> None:
        attempts = row["attempts"] + 1
        error = f"Save Page Now: {reason}"
        report.errors.append(f"{row['url']}: {error}")
        if permanent or attempts >= self.config.max_attempts:
            self.archive.update_preservation(row["id"], status="failed", job_id=None, attempts=attempts, error=error)
            report.failed += 1
            log.warning("preservation of %s failed for good after %d attempts: %s", row["url"], attempts, reason)
            return
        wait = self.config.retry_after * 2 ** (attempts - 1)
        asked = retry_after_seconds(response.headers.get("retry-after"))
        if asked is not None:
            wait = max(wait, asked)
        # Back to pending: a failed or lost job is asked for anew, not followed up.
        self.archive.update_preservation(row["id"], status="pending", job_id=None, attempts=attempts, error=error,
                                         next_try_at=_later(wait))
        report.retrying += 1


def preserve_round(archive: Archive, config: PreserveConfig, client: PoliteClient | None = None) -> PreserveReport:
    """One round of preservation (nothing at all when [preserve] is not enabled)."""
    if not config.enabled:
        return PreserveReport()
    return Preserver(archive, config, client).round()


__all__ = ["KINDS", "PERMANENT_ERRORS", "PreserveConfig", "PreserveReport", "Preserver", "SavePageNowError",
           "SpnCaptureMismatchError", "SpnPermanentError", "SpnRefusedError", "SpnSnapshotNotFoundError",
           "capture_url", "preserve_round"]
