"""A small real web for tests: a threaded HTTP server on 127.0.0.1 whose pages tests change between crawls.

    web = FixtureWeb().start()            # or the `web` fixture; FixtureWeb(host="127.0.0.2") for a second site

    web.set("/plans/", "<a href='stp.pdf'>STP</a>")          # text/html by default
    web.set("/plans/stp.pdf", pdf_bytes, content_type="application/pdf")
    web.remove("/plans/stp.pdf")                             # 404 from now on
    web.redirect("/old", "/plans/")                          # 301 to /plans/
    web.set_robots("User-agent: *\nDisallow: /private/")
    web.hang("/slow", 5)                                     # answers after 5 s
    web.url("/plans/")                                       # http://127.0.0.1:PORT/plans/
    web.url("/plans/", host="localhost")                     # the same server under a second host name
    web.requests_for("/plans/stp.pdf")                       # what was asked, with which headers, and the answer

Every route gets an ETag (from the sha256 of its body) and a Last-Modified (when its body last changed), and
answers 304 to a matching If-None-Match (or, without one, to an If-Modified-Since not older than the body).
"""

from __future__ import annotations

import email.utils
import hashlib
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HTML = "text/html; charset=utf-8"


@dataclass
class Route:
    body: bytes
    content_type: str = HTML
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    modified: float = field(default_factory=time.time)
    delay: float = 0.0  # seconds to wait before answering (web.hang)
    send_length: bool = True  # False: no Content-Length, body ends when the connection closes

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'

    @property
    def last_modified(self) -> str:
        return email.utils.formatdate(int(self.modified), usegmt=True)


@dataclass
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]
    status: int | None = None


class FixtureWeb:
    """A mutable routing table served over real HTTP; start() and stop() (the `web` fixture does both)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host  # the loopback address to listen on (127.0.0.2, ... give several distinct sites)
        self.bind_port = 0  # 0: a free port; set before start() to share another site's port on another address
        self.routes: dict[str, Route] = {}
        self.requests: list[LoggedRequest] = []
        self.robots: str | None = None  # None: /robots.txt is a 404 (everything allowed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- the routing table -------------------------------------------------------------------------

    def set(self, path: str, body: bytes | str, content_type: str = HTML, status: int = 200,
            headers: dict[str, str] | None = None, *, send_length: bool = True) -> Route:
        """Serve `body` at `path` (exact path, query string included if given). Last-Modified moves on change."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        with self._lock:
            old = self.routes.get(path)
            modified = old.modified if old and old.body == data else time.time()
            if old and old.body != data and int(modified) <= int(old.modified):
                modified = old.modified + 1  # a change is always visible to If-Modified-Since
            route = Route(data, content_type, status, dict(headers or {}), modified, send_length=send_length)
            self.routes[path] = route
        return route

    def remove(self, path: str) -> None:
        with self._lock:
            self.routes.pop(path, None)

    def redirect(self, path: str, to: str, status: int = 301) -> Route:
        return self.set(path, b"", "text/plain", status, {"Location": to})

    def hang(self, path: str, seconds: float, body: bytes | str = b"late", content_type: str = HTML) -> Route:
        """Serve `path` only after `seconds` (the server stays responsive to other requests meanwhile)."""
        route = self.set(path, body, content_type)
        route.delay = seconds
        return route

    def set_robots(self, text: str | None) -> None:
        self.robots = text

    # -- addresses and the request log --------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "the fixture web is not started"
        return self._server.server_address[1]

    def url(self, path: str = "/", host: str | None = None) -> str:
        """The full URL of `path`; `host` names the same server differently (e.g. "localhost" for 127.0.0.1)."""
        return f"http://{host or self.host}:{self.port}{path}"

    def requests_for(self, path: str) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- serving ------------------------------------------------------------------------------------

    def start(self) -> FixtureWeb:
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "FixtureWeb/1"

            def do_GET(self) -> None:  # noqa: N802
                web._answer(self, head=False)

            def do_HEAD(self) -> None:  # noqa: N802
                web._answer(self, head=True)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                # A client that hangs up (a crawler's timeout or size limit) is normal here, not a server error.
                if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
                    super().handle_error(request, client_address)

        self._server = Server((self.host, self.bind_port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fixture-web", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FixtureWeb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _route(self, raw_path: str) -> Route | None:
        with self._lock:
            if raw_path == "/robots.txt" and self.robots is not None:
                return Route(self.robots.encode("utf-8"), "text/plain; charset=utf-8")
            return self.routes.get(raw_path) or self.routes.get(urlsplit(raw_path).path)

    def _answer(self, handler: BaseHTTPRequestHandler, head: bool) -> None:
        entry = LoggedRequest(handler.command, handler.path, {k: v for k, v in handler.headers.items()})
        with self._lock:
            self.requests.append(entry)
        route = self._route(handler.path)
        if route is None:
            route = Route(b"<html><body><h1>Not found</h1></body></html>", HTML, 404)
        if route.delay and self._stopping.wait(route.delay):
            return
        status, body = route.status, route.body
        if status == 200 and self._not_modified(handler, route):
            status, body = 304, b""
        entry.status = status
        try:
            handler.send_response(status)
            if status != 304:
                handler.send_header("Content-Type", route.content_type)
            handler.send_header("ETag", route.etag)
            handler.send_header("Last-Modified", route.last_modified)
            for name, value in route.headers.items():
                handler.send_header(name, value)
            if route.send_length or status == 304:
                handler.send_header("Content-Length", str(len(body)))
            else:
                handler.send_header("Connection", "close")
                handler.close_connection = True
            handler.end_headers()
            if not head and status != 304:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client gave up (too large, timeout): nothing to tell it

    @staticmethod
    def _not_modified(handler: BaseHTTPRequestHandler, route: Route) -> bool:
        inm = handler.headers.get("If-None-Match")
        if inm is not None:
            return route.etag in [tag.strip() for tag in inm.split(",")] or inm.strip() == "*"
        ims = handler.headers.get("If-Modified-Since")
        if ims:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
            return int(route.modified) <= since
        return False
