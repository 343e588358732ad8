"""A hostile web server on raw sockets for fault tests: what FixtureWeb (a polite http.server) cannot do.

    with HostileServer() as bad:                      # 127.0.0.1, a free port
        bad.url("/slowloris")                         # headers, then one body byte a second, forever
        bad.url("/stall")                             # headers, then nothing
        bad.url("/reset")                             # half the body, then a TCP reset (SO_LINGER 0)
        bad.url("/bomb.html")                         # Content-Encoding: gzip, ~100 KB expanding to bomb_size
        bad.url("/ok.html")                           # a normal small page (the crawl goes on past the others)
        bad.url("/oversize")                          # Content-Length of 1 GB, then zero bytes as fast as they go
        bad.url("/endless")                           # no Content-Length, zero bytes until the client hangs up
        bad.set("/plan.pdf", pdf_bytes, "application/pdf")  # a fixed answer (before a path turns hostile)
        bad.behaviours["/plan.pdf"] = bad.behaviours["/stall"]  # ... and then it does

Every connection is answered in its own daemon thread; stop() closes them all.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable
from functools import lru_cache

MB = 1024 * 1024


@lru_cache(maxsize=4)
def gzip_bomb(size: int) -> bytes:
    """A gzip stream of `size` zero bytes (about 1 KB per MB), built in chunks so it never holds `size` bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip header and trailer
    chunk = b"\0" * MB
    parts = []
    left = size
    while left > 0:
        parts.append(compressor.compress(chunk[: min(MB, left)]))
        left -= MB
    parts.append(compressor.flush())
    return b"".join(parts)


def _head(status: str = "200 OK", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class HostileServer:
    """A raw-socket HTTP server whose paths misbehave on purpose (see the module docstring)."""

    def __init__(self, host: str = "127.0.0.1", bomb_size: int = 200 * MB):
        self.host = host
        self.bomb_size = bomb_size
        self.hits: list[str] = []
        self._stop = threading.Event()
        self._sock = socket.create_server((host, 0))
        self._sock.settimeout(0.2)
        self._conns: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self.behaviours: dict[str, Callable[[socket.socket], None]] = {
            "/slowloris": self._slowloris,
            "/stall": self._stall,
            "/reset": self._reset,
            "/bomb.html": self._bomb,
            "/ok.html": self._ok,
            "/oversize": self._oversize,
            "/endless": self._endless,
            "/robots.txt": self._not_found,
        }

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def start(self) -> HostileServer:
        self._thread = threading.Thread(target=self._accept, name="hostile-web", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)
        for conn in self._conns:
            try:
                conn.close()
            except OSError:
                pass
        self._sock.close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set(self, path: str, body: bytes, content_type: str = "text/html", status: str = "200 OK",
            **headers: str) -> None:
        """Answer `path` with a fixed response (a good document, before the same path is made hostile)."""
        def answer(conn: socket.socket) -> None:
            conn.sendall(_head(status, Content_Type=content_type, Content_Length=str(len(body)), Connection="close",
                               **headers) + body)
        self.behaviours[path] = answer

    # -- serving --------------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            path = data.split(b" ", 2)[1].decode("latin-1") if data.count(b" ") >= 2 else "/"
            self.hits.append(path)
            self.behaviours.get(path, self._not_found)(conn)
        except OSError:
            pass  # the client gave up: that is what these paths are for
        finally:
            try:
                conn.close()
            except OSError:
                pass

    # -- behaviours -----------------------------------------------------------------------------------

    def _ok(self, conn: socket.socket) -> None:
        body = b"<html><body><h1>Still here</h1><p>An ordinary page after the hostile ones.</p></body></html>"
        conn.sendall(_head(Content_Type="text/html", Content_Length=str(len(body)), Connection="close") + body)

    def _not_found(self, conn: socket.socket) -> None:
        conn.sendall(_head("404 Not Found", Content_Length="0", Connection="close"))

    def _slowloris(self, conn: socket.socket) -> None:
        conn.sendall(_head(Content_Type="application/pdf", Content_Length="100000"))
        while not self._stop.wait(1.0):
            conn.sendall(b"x")

    def _stall(self, conn: socket.socket) -> None:
        conn.sendall(_head(Content_Type="application/pdf", Content_Length="100000"))
        self._stop.wait(60)

    def _reset(self, conn: socket.socket) -> None:
        conn.sendall(_head(Content_Type="application/pdf", Content_Length="100000") + b"%PDF-1.4\n" + b"y" * 20000)
        time.sleep(0.1)
        # SO_LINGER on with a zero timeout: close() sends RST instead of FIN.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _oversize(self, conn: socket.socket) -> None:
        conn.sendall(_head(Content_Type="application/pdf", Content_Length=str(1024 * MB), Connection="close"))
        self._zeros(conn, 1024 * MB)

    def _endless(self, conn: socket.socket) -> None:
        conn.sendall(_head(Content_Type="application/pdf", Connection="close"))
        self._zeros(conn, None)

    def _zeros(self, conn: socket.socket, size: int | None) -> None:
        chunk = b"\0" * (256 * 1024)
        sent = 0
        while (size is None or sent < size) and not self._stop.is_set():
            conn.sendall(chunk)
            sent += len(chunk)

    def _bomb(self, conn: socket.socket) -> None:
        body = gzip_bomb(self.bomb_size)
        conn.sendall(_head(Content_Type="text/html", Content_Encoding="gzip", Content_Length=str(len(body)),
                           Connection="close") + body)
