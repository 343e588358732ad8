"""The demo's small local web: an ICS site, council papers and a campaign site on 127.0.0.1, with hand-made PDFs."""

from __future__ import annotations

import hashlib
import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HTML = "text/html; charset=utf-8"
PDF = "application/pdf"


def _pdf_string(text: str) -> bytes:
    """A PDF literal string in WinAnsi (Latin-1) encoding; other characters become '?'."""
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def make_pdf(pages: list[str], *, title: str | None = None, producer: str = "pdfgen", doc_id: str | None = None,
             creation_date: str | None = None) -> bytes:
    """A PDF with one page per string (one text line per line, Helvetica 11 pt), correct xref and trailer.

    A line with tabs is a table row: its first cell starts at the margin, the others are right-aligned in
    columns 70 pt wide from x = 300 (as a spreadsheet's PDF export sets them).

    The same arguments always give the same bytes. `doc_id` sets the trailer /ID (default: from the text), and
    `creation_date` ("20240131120000Z" or a PDF date "D:...") the /CreationDate: change either to change the bytes
    without changing the text.
    """
    pages = pages or [""]
    objects: list[bytes] = []  # objects[i] is object number i + 1

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in once the page tree's number is known
    tree = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids = []
    for text in pages:
        lines = text.split("\n")
        if any("\t" in line for line in lines):
            ops = []
            for i, line in enumerate(lines):
                y = 770 - 14 * i
                for k, cell in enumerate(line.split("\t")):
                    # Helvetica digits are 0.556 em: right-align a cell of digits at its column's right edge
                    x = 72 if k == 0 else 300 + 70 * k - 11 * 0.556 * len(cell)
                    ops.append(b"BT /F1 11 Tf %.1f %d Td " % (x, y) + _pdf_string(cell) + b" Tj ET")
        else:
            ops = [b"BT /F1 11 Tf 14 TL 72 770 Td"]
            for i, line in enumerate(lines):
                ops.append((b"" if i == 0 else b"T* ") + _pdf_string(line) + b" Tj")
            ops.append(b"ET")
        stream = b"\n".join(ops)
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                        b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (tree, content, font)))
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % tree
    objects[tree - 1] = (b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids)
                         + b"] /Count %d >>" % len(kids))
    info_items = [b"/Producer " + _pdf_string(producer)]
    if title is not None:
        info_items.append(b"/Title " + _pdf_string(title))
    if creation_date is not None:
        date = creation_date if creation_date.startswith("D:") else "D:" + creation_date
        info_items.append(b"/CreationDate " + _pdf_string(date))
    info = add(b"<< " + b" ".join(info_items) + b" >>")

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    ident = hashlib.md5((doc_id if doc_id is not None else "\f".join(pages)).encode("utf-8")).hexdigest().encode()
    out += (b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, catalog, info, ident, ident, xref))
    return bytes(out)


def tiny_pdf(lines: list[str], *, title: str) -> bytes:
    """A one-page PDF of these lines with a title; the same input gives the same bytes."""
    return make_pdf(["\n".join(lines)], title=title, producer="stp-tracker demo")


def page(title: str, body_html: str, links: list[tuple[str, str]] = ()) -> bytes:
    """An HTML page with a heading, some text and a list of links (every text escaped)."""
    items = "".join(f"<li><a href='{html.escape(href)}'>{html.escape(text)}</a></li>" for href, text in links)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
            f"<main><h1>{html.escape(title)}</h1>{body_html}<ul>{items}</ul></main></body></html>").encode("utf-8")


class DemoWeb:
    """A threaded HTTP server on 127.0.0.1 serving a routing table the story changes between crawls."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def set(self, path: str, body: bytes, content_type: str = HTML) -> None:
        with self._lock:
            self.routes[path] = (body, content_type)

    def remove(self, path: str) -> None:
        with self._lock:
            self.routes.pop(path, None)

    def url(self, path: str) -> str:
        assert self._server is not None, "the demo web is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def start(self) -> DemoWeb:
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                with web._lock:
                    found = web.routes.get(self.path.split("?", 1)[0])
                body, content_type = found or (b"<h1>Not found</h1>", HTML)
                etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
                if found and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if found:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-web", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
