"""What keeps the web app safe: security headers, CSRF tokens, the subscribe rate limit, bounded diffs, safe links."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request

# No script at all, styles only from our own origin, nothing may frame us, forms post only to us.
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'")
# Archived bytes are downloaded, never run: even if a browser renders them, the sandbox gives them no origin.
RAW_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"
_CONTENT_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=(\"[^\"\r\n]*\"|[\w.+-]+))*$")
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EMAIL = re.compile(r"^[^@\s:/<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")

def safe_href(url: Any) -> str | None:
    """A URL that may become a link: http(s) only; `javascript:` and every other scheme stay plain text."""
    if not isinstance(url, str):
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None

def _content_type(value: str | None) -> str:
    value = (value or "").strip()
    return value if value and len(value) < 200 and _CONTENT_TYPE.match(value) else "application/octet-stream"

def _download_name(version_id: int, url: str | None, content_type: str) -> str:
    last = (urlsplit(url or "").path.rstrip("/").rsplit("/", 1)[-1]) if url else ""
    name = _FILENAME_UNSAFE.sub("_", last).strip("._")[:100]
    if "." not in name:
        extension = {"application/pdf": ".pdf", "text/html": ".html", "text/plain": ".txt"}.get(
            content_type.split(";")[0].strip().lower(), ".bin")
        name = (name or "document") + extension
    return f"v{version_id}-{name}"

class Busy(HTTPException):
    """503 with Retry-After: the bounded pool for this kind of work is full."""

    def __init__(self, what: str, retry_after: int = 30):
        super().__init__(503, f"the server is busy {what}: try again in a minute",
                         headers={"Retry-After": str(retry_after)})


class BoundedPool:
    """A few threads of its own for one costly kind of work (diffs, searches), and a short queue: a request that
    finds both full is answered 503 at once instead of holding one of the server's shared threads while it waits.
    So a burst of diffs or searches costs at most `workers` CPUs and never starves the other pages."""

    def __init__(self, name: str, what: str, workers: int = 2, queued: int = 2, wait: float = 30.0):
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"stp-web-{name}")
        self.capacity = workers + queued
        self.what = what
        self.wait = wait
        self.inflight = 0
        self.lock = threading.Lock()

    def run(self, function: Callable[[], Any]) -> Any:
        with self.lock:
            if self.inflight >= self.capacity:
                raise Busy(self.what)
            self.inflight += 1
        future = self.executor.submit(function)
        future.add_done_callback(self._done)
        try:
            return future.result(timeout=self.wait)
        except FutureTimeout:
            raise Busy(self.what) from None

    def _done(self, _future: Any) -> None:
        with self.lock:
            self.inflight -= 1


class _DiffCache:
    """The last few diffs computed: versions never change, so a diff of two ids never goes stale. Diffs are
    computed in a small pool of their own (a diff of two long plans costs seconds of CPU)."""

    def __init__(self, size: int = 8, concurrent: int = 2, wait: float = 30.0, queued: int = 2):
        self.size = size
        self.items: OrderedDict[tuple[int, int], Any] = OrderedDict()
        self.lock = threading.Lock()
        self.pool = BoundedPool("diff", "comparing other versions", workers=concurrent, queued=queued, wait=wait)

    def get(self, key: tuple[int, int], compute: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = self.pool.run(compute)
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value

class RateLimiter:
    """At most `limit` actions per client address in a sliding window of `window` seconds."""

    def __init__(self, limit: int = 5, window: float = 600.0):
        self.limit, self.window = limit, window
        self.hits: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self.lock:
            if len(self.hits) > 10_000:  # forget idle clients rather than grow without bound
                self.hits = {k: v for k, v in self.hits.items() if v and now - v[-1] < self.window}
            hits = self.hits.setdefault(client, deque())
            while hits and now - hits[0] > self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

def client_address(request: Request, trusted_proxies: frozenset[str] = frozenset()) -> str:
    """Who is asking: the peer, or, when the peer is a trusted reverse proxy, the nearest address in its
    X-Forwarded-For that is not one of the trusted proxies (a client can write anything to the left of that)."""
    peer = request.client.host if request.client else "unknown"
    if peer not in trusted_proxies:
        return peer
    forwarded = [part.strip() for header in request.headers.getlist("x-forwarded-for") for part in header.split(",")]
    for hop in reversed([h for h in forwarded if h]):
        if hop not in trusted_proxies:
            return hop[:64]
    return peer


_STAMP = re.compile(r"[0-9]{1,12}-[0-9a-f]{16}")


class Csrf:
    """Signed form tokens bound to a SameSite=Strict cookie: a form posted from another site is refused, and a
    token is good for one post (a second post with it is refused, so one form cannot be replayed in a loop)."""

    COOKIE = "stp_csrf"
    MAX_AGE = 2 * 3600
    MAX_REMEMBERED = 100_000

    def __init__(self, secret: bytes | None = None):
        self.secret = secret or secrets.token_bytes(32)
        self.used: OrderedDict[str, float] = OrderedDict()  # signature -> when it stops being valid anyway
        self.used_lock = threading.Lock()

    def consume(self, token: str) -> bool:
        """Mark a (valid) token used; False if it was used before."""
        now = time.time()
        signature = token.split(".", 1)[-1]
        issued = token.split("-", 1)[0]
        with self.used_lock:
            while self.used and (next(iter(self.used.values())) < now or len(self.used) > self.MAX_REMEMBERED):
                self.used.popitem(last=False)
            if signature in self.used:
                return False
            self.used[signature] = (int(issued) if issued.isdigit() else now) + self.MAX_AGE
            return True

    def release(self, token: str) -> None:
        """Give a token back (the post it came with was refused as invalid input and did nothing)."""
        with self.used_lock:
            self.used.pop(token.split(".", 1)[-1], None)

    def _sign(self, nonce: str, stamp: str) -> str:
        return hmac.new(self.secret, f"{nonce}.{stamp}".encode(), hashlib.sha256).hexdigest()

    def issue(self, request: Request) -> tuple[str, str]:
        """(cookie value, form token) for a page with a form; the cookie is reused when still there."""
        nonce = request.cookies.get(self.COOKIE) or ""
        if not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", nonce):
            nonce = secrets.token_urlsafe(24)
        stamp = f"{int(time.time())}-{secrets.token_hex(8)}"  # when, and which form: each token is its own
        return nonce, f"{stamp}.{self._sign(nonce, stamp)}"

    def check(self, request: Request, token: str | None) -> str | None:
        """None if the post is genuine, else why it is refused."""
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
            return "the form was posted from another site"
        nonce = request.cookies.get(self.COOKIE)
        if not nonce or not token or "." not in token:
            return "the form's security token is missing: reload the page and try again (cookies must be on)"
        stamp, signature = token.split(".", 1)
        if not _STAMP.fullmatch(stamp) or not hmac.compare_digest(signature, self._sign(nonce, stamp)):
            return "the form's security token is not valid: reload the page and try again"
        if time.time() - int(stamp.split("-", 1)[0]) > self.MAX_AGE:
            return "the form has expired: reload the page and try again"
        return None

class SecurityHeaders:
    """ASGI middleware: every response gets a CSP (unless it set its own), nosniff and no-referrer."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                for name, value in ((b"content-security-policy", PAGE_CSP.encode()),
                                    (b"x-content-type-options", b"nosniff"),
                                    (b"referrer-policy", b"no-referrer"),
                                    (b"x-frame-options", b"DENY"),
                                    (b"cross-origin-opener-policy", b"same-origin")):
                    if name not in names:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
