"""The archive as a WARC 1.1 file (warcio): every fetched body once, later sightings of it as revisit records.

The archive keeps the status and a few headers of each response (storage.models.KEPT_HEADERS), not the raw
header block, and the body decoded (no gzip/chunking). The HTTP header block written here is rebuilt from
those: the original status line, the kept headers less Content-Encoding/Transfer-Encoding, and a
Content-Length that matches the payload written. The request record is rebuilt too (method, path, Host,
Referer): the archive does not keep the crawler's request headers.
"""

from __future__ import annotations

import datetime as dt
import http
import re
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from storage import Archive, BlobError

# Headers that described the bytes on the wire, not the decoded body we have: never written back.
_DROPPED_HEADERS = {"content-length", "content-encoding", "transfer-encoding"}
_UNSAFE_URI_CHARS = re.compile(r"[\x00-\x20\x7f]")
_SOFTWARE = "stp-tracker (WARC export)"


class WarcExportError(Exception):
    """The WARC file cannot be written: names the file and the fix."""


@dataclass
class WarcStats:
    """What a WARC export wrote, and what it left out (and why)."""

    responses: int = 0
    revisits: int = 0
    requests: int = 0
    skipped_no_body: int = 0  # failures, timeouts: no response to write
    missing_blobs: list[str] = field(default_factory=list)  # bodies absent or damaged in the blob store

    @property
    def records(self) -> int:
        return self.responses + self.revisits + self.requests + 1  # + warcinfo


def warc_date(iso: str) -> str:
    """An archive timestamp (ISO 8601, UTC offset) as a WARC-Date: 2026-01-05T10:00:00Z."""
    try:
        moment = dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        raise WarcExportError(f"not an ISO 8601 time in the archive: {iso!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    moment = moment.astimezone(dt.timezone.utc)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _target_uri(fetch: dict[str, Any]) -> str:
    uri = fetch.get("final_url") or fetch["url"]
    return _UNSAFE_URI_CHARS.sub(lambda m: "%{:02X}".format(ord(m.group())), uri)


def _header_value(value: Any) -> str:
    # Header values must be one line of latin-1: anything else is replaced, never allowed to split the block.
    text = re.sub(r"[\r\n]+", " ", str(value)).strip()
    return text.encode("latin-1", "replace").decode("latin-1")


def response_headers(fetch: dict[str, Any], payload_length: int) -> StatusAndHeaders:
    """The HTTP response header block rebuilt from what the archive kept of it."""
    status = int(fetch["status"])
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    headers = [
        ("-".join(part.capitalize() for part in name.split("-")), _header_value(value))
        for name, value in sorted((fetch.get("headers") or {}).items())
        if name.lower() not in _DROPPED_HEADERS
    ]
    headers.append(("Content-Length", str(payload_length)))
    return StatusAndHeaders(f"{status} {reason}", headers, protocol="HTTP/1.1")


def request_headers(fetch: dict[str, Any]) -> StatusAndHeaders:
    """The GET request rebuilt: path and query, Host, and the Referer when the crawler followed a link."""
    parts = urlsplit(_target_uri(fetch))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [("Host", _header_value(parts.hostname or "") + (f":{parts.port}" if parts.port else ""))]
    if fetch.get("referer"):
        headers.append(("Referer", _header_value(_UNSAFE_URI_CHARS.sub("", fetch["referer"]))))
    return StatusAndHeaders(f"GET {path} HTTP/1.1", headers, is_http_request=True)


@dataclass
class _Original:
    uri: str
    date: str
    digest: str


def write_warc(archive: Archive, out: BinaryIO, *, filename: str = "stp-tracker.research.warc.gz",
               gzip: bool = True) -> WarcStats:
    """Write every fetch with a body to `out` as WARC 1.1: a response (or revisit) record and a request record."""
    writer = WARCWriter(out, gzip=gzip, warc_version="1.1")
    stats = WarcStats()
    writer.write_record(writer.create_warcinfo_record(filename, {
        "software": _SOFTWARE,
        "format": "WARC File Format 1.1",
        "description": "Responses archived by stp-tracker. HTTP header blocks are rebuilt from the kept headers "
                       "and status; bodies are the original bytes as decoded by the crawler.",
    }))
    originals: dict[str, _Original] = {}  # blob sha256 -> the response record that holds its bytes
    for fetch in archive.iter_fetches():
        sha = fetch.get("blob_sha256")
        if not sha or fetch.get("status") is None:
            stats.skipped_no_body += 1
            continue
        uri = _target_uri(fetch)
        date = warc_date(fetch["fetched_at"])
        extra = {"WARC-Date": date, "STP-Tracker-Fetch-Id": str(fetch["id"])}
        original = originals.get(sha)
        if original is not None:
            if fetch.get("not_modified"):
                # A 304: no header block of its own, so a replay tool takes the original's status and headers.
                extra["STP-Tracker-HTTP-Status"] = str(fetch["status"])
                http_headers = None
            else:
                http_headers = response_headers(fetch, fetch.get("body_size") or 0)
            record = writer.create_revisit_record(uri, original.digest, original.uri, original.date,
                                                  http_headers=http_headers, warc_headers_dict=extra)
            stats.revisits += 1
        else:
            try:
                payload = archive.blob(sha)
            except BlobError as exc:
                stats.missing_blobs.append(f"fetch {fetch['id']}: {exc}")
                continue
            record = writer.create_warc_record(uri, "response", payload=BytesIO(payload), length=len(payload),
                                               http_headers=response_headers(fetch, len(payload)),
                                               warc_headers_dict=extra)
            originals[sha] = _Original(uri, date, record.rec_headers.get_header("WARC-Payload-Digest"))
            stats.responses += 1
        writer.write_record(record)
        request = writer.create_warc_record(uri, "request", http_headers=request_headers(fetch), warc_headers_dict={
            "WARC-Date": date, "WARC-Concurrent-To": record.rec_headers.get_header("WARC-Record-ID")})
        writer.write_record(request)
        stats.requests += 1
    return stats


def export_warc(archive: Archive, path: str | Path) -> WarcStats:
    """Write the archive to a WARC file at `path` (gzipped per record when the name ends in .gz)."""
    from tracker.research.export import ExportError, open_new

    target = Path(path)
    tmp = target.with_name(target.name + ".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            raise WarcExportError(f"refused: {target} is a symbolic link; remove it (exports never write through "
                                  "links)")
        try:
            fh = open_new(tmp, binary=True)
        except ExportError as exc:
            raise WarcExportError(str(exc)) from None
        with fh:
            stats = write_warc(archive, fh, filename=target.name, gzip=target.name.endswith(".gz"))
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WarcExportError(f"cannot write the WARC file {target}: {exc.strerror}") from None
    return stats
