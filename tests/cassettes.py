"""Replay real recorded answers of web.archive.org on 127.0.0.1: the VCR cassettes of EDGI's `wayback` client
(../shared/corpus/webarchives/edgi-wayback/), each interaction served as recorded (status, headers, body bytes:
gzip bodies stay gzip, with their Content-Encoding), matched by method + path + query.

    replay = Replay("test_get_memento_with_redirects").start()
    replay.wayback_url, replay.cdx_url        # endpoints for the client
    replay.add("GET", "/cdx/search/cdx", body=Path(...).read_bytes())   # a real body as a CDX answer
    replay.requests                           # (method, target, status, headers sent) in order

Absolute `https://web.archive.org` (and schemeless `//web.archive.org`) in Location and Link headers are pointed
at the replay server, so a client follows the recorded redirects here. Repeated requests get the next recorded
answer for the same key (the last one again when they run out). A request nobody recorded answers 404 with no
Memento-Datetime and is listed in `unmatched`.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import yaml

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "webarchives"
CASSETTES = CORPUS / "edgi-wayback"
HOP_BY_HOP = {"transfer-encoding", "content-length", "connection", "keep-alive"}


@dataclass
class Recorded:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class _Route:
    answers: list[Recorded] = field(default_factory=list)
    served: int = 0


def _key(method: str, target: str, query_keys: tuple[str, ...] | None) -> tuple[str, str, tuple]:
    parts = urlsplit(target)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if query_keys is not None:
        query = [(k, v) for k, v in query if k in query_keys]
    return method.upper(), parts.path, tuple(sorted(Counter(query).items()))


class Replay:
    def __init__(self, *cassettes: str, query_keys: tuple[str, ...] | None = None, host: str = "127.0.0.1"):
        """`query_keys`: compare only these query parameters (None: the whole query) - for a client whose CDX
        queries carry other parameters than EDGI's recorded ones."""
        self.host = host
        self.query_keys = query_keys
        self.routes: dict[tuple, _Route] = {}
        self.requests: list[tuple[str, str, int, dict[str, str]]] = []
        self.unmatched: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        for name in cassettes:
            self.load(name)

    def load(self, name: str) -> Replay:
        data = yaml.safe_load((CASSETTES / f"{name}.yaml").read_text())
        for interaction in data["interactions"]:
            request, response = interaction["request"], interaction["response"]
            target = urlsplit(request["uri"])
            body = (response.get("body") or {}).get("string") or b""
            if isinstance(body, str):
                body = body.encode("utf-8")
            headers = [(k, str(v)) for k, values in response["headers"].items()
                       for v in (values if isinstance(values, list) else [values])]
            if body[:2] != b"\x1f\x8b":  # recorded already decoded (vcrpy's decode_compressed_response)
                headers = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
            self._route(request["method"], target.path + ("?" + target.query if target.query else "")).answers \
                .append(Recorded(int(response["status"]["code"]), headers, body))
        return self

    def add(self, method: str, target: str, *, status: int = 200, headers: dict[str, str] | None = None,
            body: bytes = b"") -> Replay:
        """One more answer (a real body from the corpus served at a chosen address)."""
        self._route(method, target).answers.append(Recorded(status, list((headers or {}).items()), body))
        return self

    def _route(self, method: str, target: str) -> _Route:
        return self.routes.setdefault(_key(method, target, self.query_keys), _Route())

    # -- server -------------------------------------------------------------------------------------

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def wayback_url(self) -> str:
        return self.base + "/web"

    @property
    def cdx_url(self) -> str:
        return self.base + "/cdx/search/cdx"

    def start(self) -> Replay:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                replay._serve(self, "GET")

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                replay._serve(self, "POST")

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def _rewrite(self, value: str) -> str:
        return value.replace("https://web.archive.org", self.base).replace(
            "//web.archive.org", "//" + self.base.split("://", 1)[1])

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        with self._lock:
            route = self.routes.get(_key(method, handler.path, self.query_keys))
            if route and route.answers:
                answer = route.answers[min(route.served, len(route.answers) - 1)]
                route.served += 1
            else:
                answer = Recorded(404, [("Content-Type", "text/plain")], b"no recorded interaction")
                self.unmatched.append(f"{method} {handler.path}")
            self.requests.append((method, handler.path, answer.status, dict(handler.headers.items())))
        handler.send_response(answer.status)
        for name, value in answer.headers:
            if name.lower() in HOP_BY_HOP:
                continue
            if name.lower() in ("location", "link"):
                value = self._rewrite(value)
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(answer.body)))
        handler.end_headers()
        handler.wfile.write(answer.body)

    def asked(self, prefix: str = "") -> list[str]:
        return [target for _, target, _, _ in self.requests if target.startswith(prefix)]
