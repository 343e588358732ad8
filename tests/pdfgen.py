"""Minimal valid PDFs for tests: the package's own writer (the demo ships it), so there is one of it; and scans."""

from __future__ import annotations

import zlib

from tracker.demo.web import make_pdf

__all__ = ["make_pdf", "make_scanned_pdf"]


def make_scanned_pdf(pages: list[str], dpi: int = 200) -> bytes:
    """A PDF whose pages are only images of text (no text layer), as a scanner makes them: each page written
    with `make_pdf`, rendered by PDFium to grayscale pixels, and wrapped as a Flate-compressed image."""
    import pypdfium2 as pdfium

    images = []
    doc = pdfium.PdfDocument(make_pdf(pages))
    try:
        for page in doc:
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            w, h, stride = bitmap.width, bitmap.height, bitmap.stride
            raw = bytes(bitmap.buffer)
            images.append((w, h, b"".join(raw[y * stride: y * stride + w] for y in range(h))))
            bitmap.close()
            page.close()
    finally:
        doc.close()
    objects: list[bytes] = [b"", b""]
    kids = []
    for w, h, pixels in images:
        data = zlib.compress(pixels, 6)
        objects.append(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                       b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n" % (w, h, len(data))
                       + data + b"\nendstream")
        image = len(objects)
        content = b"q 595 0 0 842 0 0 cm /Im1 Do Q"
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                       b"/Resources << /XObject << /Im1 %d 0 R >> >> >>" % (len(objects), image))
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % len(kids)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
