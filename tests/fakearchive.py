"""A local fake of the web archives on 127.0.0.1: Wayback CDX (JSON and text, resumeKey paging), `id_` raw
captures, and the UK Government Web Archive's link-format Memento TimeMaps, speaking the real formats.

    fake = FakeArchive().start()
    fake.add("https://example.org/plan.pdf", "20161120093000", pdf_bytes, "application/pdf")
    fake.add("https://example.org/plan.pdf", "20170101000000", pdf_bytes, archive="ukgwa")
    fake.fail_first(fake.raw_path("wayback", url, ts), status=503, retry_after="1")   # then the capture
    fake.missing(fake.raw_path("wayback", url, ts))      # the capture answers 404 for good
    fake.fail_cdx_from(2)                                # CDX pages from the 2nd request on answer 500
    fake.cdx_url, fake.wayback_url, fake.ukgwa_url       # endpoints for the client

Save Page Now (SPN2) too: POST /save with `authorization: LOW key:secret` fetches the URL there and then, keeps it
as a Wayback capture (so its `id_` form serves the bytes it saw) and answers a job id; GET /save/status/<job>
answers `pending` `spn_pending_polls` times, then `success` with the capture's timestamp.

    fake.spn_url                                         # the /save endpoint
    fake.spn_fail_next(429, retry_after="0")             # the next /save answers 429
    fake.spn_job_error("https://example.org/x", "error:service-unavailable", "Sorry")   # that job ends in error
    fake.spn_same_snapshot("https://example.org/x", minutes=3)   # no job: "The same snapshot had been made ..."
    fake.spn_capture_as("https://example.org/x", "https://example.org/login")  # the job captures another URL
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit


@dataclass
class FakeCapture:
    archive: str
    url: str
    timestamp: str
    body: bytes
    mimetype: str

    @property
    def digest(self) -> str:
        return base64.b32encode(hashlib.sha1(self.body).digest()).decode()

    @property
    def urlkey(self) -> str:
        return _schemeless(self.url)


def _schemeless(url: str) -> str:
    return re.sub(r"^(https?://)?(www\.)?", "", url).lower()


class FakeArchive:
    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.captures: list[FakeCapture] = []
        self.requests: list[tuple[str, int]] = []  # (path, status answered)
        self._fail_first: dict[str, list[tuple[int, str | None]]] = {}
        self._missing: set[str] = set()
        self._cdx_fail_from: int | None = None
        self._cdx_requests = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.spn_keys = ("test-access", "test-secret")
        self.spn_pending_polls = 1
        self.spn_jobs: dict[str, dict] = {}
        self.spn_auth_seen: list[str] = []  # every Authorization header sent to /save
        self._spn_fail: list[tuple[int, str | None]] = []
        self._spn_job_errors: dict[str, tuple[str, str]] = {}
        self._spn_same: dict[str, int] = {}
        self._spn_as: dict[str, str] = {}

    # -- content -------------------------------------------------------------------------------

    def add(self, url: str, timestamp: str, body: bytes, mimetype: str = "application/pdf",
            archive: str = "wayback") -> FakeCapture:
        capture = FakeCapture(archive, url, timestamp, body, mimetype)
        self.captures.append(capture)
        return capture

    def raw_path(self, archive: str, url: str, timestamp: str) -> str:
        return f"/{'web' if archive == 'wayback' else 'ukgwa'}/{timestamp}id_/{url}"

    def fail_first(self, path: str, status: int = 503, retry_after: str | None = "1", times: int = 1) -> None:
        self._fail_first[path] = [(status, retry_after)] * times

    def missing(self, path: str) -> None:
        self._missing.add(path)

    def fail_cdx_from(self, n: int | None) -> None:
        """CDX requests number n, n+1, ... (counted from 1) answer 500 until called again with None."""
        self._cdx_fail_from = n
        self._cdx_requests = 0

    def spn_fail_next(self, status: int = 429, retry_after: str | None = None, times: int = 1) -> None:
        self._spn_fail.extend([(status, retry_after)] * times)

    def spn_job_error(self, url: str, status_ext: str, message: str) -> None:
        self._spn_job_errors[url] = (status_ext, message)

    def spn_same_snapshot(self, url: str, minutes: int = 3) -> None:
        """/save for `url` answers as Save Page Now does for a URL captured a moment ago: no job, a message, and
        the capture it means is in the archive (made `minutes` ago)."""
        self._spn_same[url] = minutes

    def spn_capture_as(self, url: str, other: str) -> None:
        """The job for `url` succeeds with original_url `other` (SPN followed a redirect to another page)."""
        self._spn_as[url] = other

    def requests_to(self, prefix: str) -> list[tuple[str, int]]:
        return [r for r in self.requests if r[0].startswith(prefix)]

    # -- server --------------------------------------------------------------------------------

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def cdx_url(self) -> str:
        return self.base + "/cdx/search/cdx"

    @property
    def wayback_url(self) -> str:
        return self.base + "/web"

    @property
    def ukgwa_url(self) -> str:
        return self.base + "/ukgwa"

    @property
    def spn_url(self) -> str:
        return self.base + "/save"

    def start(self) -> FakeArchive:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                if self.path.startswith("/save/status/"):
                    self._send(*fake._spn_status(self.headers.get("Authorization"), self.path[len("/save/status/"):]))
                else:
                    self._send(*fake._answer(self.path))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
                if self.path.rstrip("/") == "/save":
                    self._send(*fake._spn_save(self.headers.get("Authorization"), (form.get("url") or [""])[0]))
                else:
                    self._send(405, {"Content-Type": "text/plain"}, b"method not allowed")

            def _send(self, status, headers, body):
                with fake._lock:
                    fake.requests.append((self.path, status))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # -- answers -------------------------------------------------------------------------------

    def _answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            queue = self._fail_first.get(path)
            if queue:
                status, retry_after = queue.pop(0)
                return status, ({"Retry-After": retry_after} if retry_after else {}), b"busy"
        if path in self._missing:
            return 404, {"Content-Type": "text/html"}, b"<p>Hrm. This capture is not available.</p>"
        if path.startswith("/cdx/search/cdx"):
            return self._cdx(path)
        if path.startswith("/ukgwa/timemap/link/"):
            return self._timemap(path[len("/ukgwa/timemap/link/"):])
        match = re.match(r"^/(web|ukgwa)/(\d{14})id_/(.+)$", path)
        if match:
            archive = "wayback" if match.group(1) == "web" else "ukgwa"
            for c in self.captures:
                if c.archive == archive and c.timestamp == match.group(2) and c.url == match.group(3):
                    return 200, {"Content-Type": c.mimetype, "X-Archive-Orig-Content-Type": c.mimetype,
                                 "Memento-Datetime": _http_date(c.timestamp)}, c.body
        return 404, {"Content-Type": "text/plain"}, b"not in the archive"

    # -- Save Page Now ---------------------------------------------------------------------------

    def _spn_refusal(self, authorization: str | None) -> tuple[int, dict[str, str], bytes] | None:
        if authorization != f"LOW {self.spn_keys[0]}:{self.spn_keys[1]}":
            return 401, {"Content-Type": "application/json"}, json.dumps(
                {"message": "You need to be logged in to use Save Page Now."}).encode()
        return None

    def _spn_save(self, authorization: str | None, url: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.spn_auth_seen.append(authorization or "")
            if self._spn_fail:
                status, retry_after = self._spn_fail.pop(0)
                return status, ({"Retry-After": retry_after} if retry_after else {}), b"Too Many Requests"
        refusal = self._spn_refusal(authorization)
        if refusal:
            return refusal
        if not url.startswith(("http://", "https://")):
            return 400, {"Content-Type": "application/json"}, b'{"message": "Invalid URL"}'
        if url in self._spn_same:
            minutes = self._spn_same[url]
            with self._lock:
                timestamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() - minutes * 60))
                self.captures.append(FakeCapture("wayback", url, timestamp, b"<p>an earlier snapshot</p>",
                                                 "text/html"))
            return 200, {"Content-Type": "application/json"}, json.dumps(
                {"url": url, "job_id": None, "message": f"The same snapshot had been made {minutes} minutes ago. "
                                                         f"You can make new capture of this URL after 1 hour."}).encode()
        result: dict = {"status": "error", "status_ext": "error:unknown", "message": "capture failed"}
        if url in self._spn_job_errors:
            status_ext, message = self._spn_job_errors[url]
            result = {"status": "error", "status_ext": status_ext, "message": message}
        else:
            try:
                with urllib.request.urlopen(url, timeout=10) as answer:
                    body, mimetype = answer.read(), answer.headers.get_content_type()
                with self._lock:
                    timestamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
                    while any(c.url == url and c.timestamp == timestamp for c in self.captures):
                        timestamp = str(int(timestamp) + 1)
                    self.captures.append(FakeCapture("wayback", url, timestamp, body, mimetype))
                result = {"status": "success", "timestamp": timestamp, "original_url": self._spn_as.get(url, url),
                          "duration_sec": 0.1}
            except (urllib.error.URLError, OSError) as exc:
                result = {"status": "error", "status_ext": "error:service-unavailable", "message": str(exc)}
        job_id = "spn2-" + hashlib.sha1(f"{url} {len(self.spn_jobs)}".encode()).hexdigest()
        with self._lock:
            self.spn_jobs[job_id] = {"url": url, "polls_left": self.spn_pending_polls, "result": result}
        return 200, {"Content-Type": "application/json"}, json.dumps({"url": url, "job_id": job_id}).encode()

    def _spn_status(self, authorization: str | None, job_id: str) -> tuple[int, dict[str, str], bytes]:
        refusal = self._spn_refusal(authorization)
        if refusal:
            return refusal
        with self._lock:
            job = self.spn_jobs.get(unquote(job_id))
            if job is None:
                answer: dict = {"status": "error", "status_ext": "error:not-found", "message": "no such job"}
            elif job["polls_left"] > 0:
                job["polls_left"] -= 1
                answer = {"status": "pending", "job_id": job_id}
            else:
                answer = {"job_id": job_id, **job["result"]}
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    def _cdx(self, path: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self._cdx_requests += 1
            if self._cdx_fail_from is not None and self._cdx_requests >= self._cdx_fail_from:
                return 500, {"Content-Type": "text/plain"}, b"internal error"
        params = parse_qs(urlsplit(path).query)
        one = lambda name, default=None: (params.get(name) or [default])[0]  # noqa: E731
        url, match = _schemeless(one("url", "")), one("matchType", "exact")
        rows = [c for c in self.captures if c.archive == "wayback"
                and (c.urlkey == url if match == "exact" else c.urlkey.startswith(url))]
        for f in params.get("filter", []):
            field, _, pattern = f.partition(":")
            if field == "statuscode":
                rows = [c for c in rows if re.fullmatch(pattern, "200")]
            elif field == "mimetype":
                rows = [c for c in rows if re.fullmatch(pattern, c.mimetype)]
        low, high = one("from"), one("to")
        rows = [c for c in rows if (not low or c.timestamp >= low.ljust(14, "0"))
                and (not high or c.timestamp <= high.ljust(14, "9"))]
        rows.sort(key=lambda c: (c.urlkey, c.timestamp))
        if one("collapse") == "digest":
            kept: list[FakeCapture] = []
            for c in rows:
                if not (kept and kept[-1].urlkey == c.urlkey and kept[-1].digest == c.digest):
                    kept.append(c)
            rows = kept
        resume = one("resumeKey")
        if resume:
            key = unquote(resume)
            rows = [c for c in rows if f"{c.urlkey} {c.timestamp}" >= key]
        limit = int(one("limit", "0") or 0)
        more = None
        if limit and len(rows) > limit:
            nxt = rows[limit]
            more = quote(f"{nxt.urlkey} {nxt.timestamp}")
            rows = rows[:limit]
        show = one("showResumeKey") == "true"
        fields = ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
        values = [[c.urlkey, c.timestamp, c.url, c.mimetype, "200", c.digest, str(len(c.body))] for c in rows]
        if one("output") == "json":
            data: list = [fields, *values] if values else []
            if show and more:
                data += [[], [more]]
            return 200, {"Content-Type": "application/json"}, json.dumps(data).encode()
        text = "".join(" ".join(v) + "\n" for v in values)
        if show and more:
            text += "\n" + more + "\n"
        return 200, {"Content-Type": "text/plain"}, text.encode()

    def _timemap(self, url: str) -> tuple[int, dict[str, str], bytes]:
        mementos = sorted((c for c in self.captures if c.archive == "ukgwa" and c.url == url), key=lambda c: c.timestamp)
        if not mementos:
            return 404, {"Content-Type": "text/plain"}, b"no timemap"
        lines = [f'<{url}>; rel="original"',
                 f'<{self.ukgwa_url}/timemap/link/{url}>; rel="self"; type="application/link-format"']
        for index, c in enumerate(mementos):
            rel = "first memento" if index == 0 else ("last memento" if index == len(mementos) - 1 else "memento")
            lines.append(f'<{self.ukgwa_url}/{c.timestamp}/{url}>; rel="{rel}"; datetime="{_http_date(c.timestamp)}"')
        return 200, {"Content-Type": "application/link-format"}, (",\n".join(lines) + "\n").encode()


def _http_date(timestamp: str) -> str:
    when = datetime.strptime(timestamp, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
    return email.utils.format_datetime(when, usegmt=True)
