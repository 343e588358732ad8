"""Scanned PDF pages read by OCR: rendered with pypdfium2, recognised by Tesseract (Debian's `tesseract-ocr`).

Tesseract runs as a subprocess with a time limit per page (as Aleph and OCRmyPDF call it); it ships its English
model in the Debian package, so nothing is downloaded at run time. Without it, scans stay `no_text_layer` and
the error says how to install it (``INSTALL_HINT``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["INSTALL_HINT", "OcrError", "OcrPage", "ocr_page", "tesseract", "tesseract_version"]

INSTALL_HINT = "install Tesseract to read scans: apt-get install tesseract-ocr (Debian/Ubuntu), then re-extract"
DPI = 300
MAX_PIXELS = 40_000_000  # a rendered page is scaled down to stay under this (a poster-sized page)
PAGE_TIMEOUT = 60.0  # seconds of Tesseract per page


class OcrError(Exception):
    """Tesseract failed or took too long on a page; the message says which and why."""


@dataclass
class OcrPage:
    """One page's recognised text: paragraphs of lines, with the mean word confidence (0-100)."""

    paragraphs: list[str] = field(default_factory=list)
    confidence: float = 0.0
    words: int = 0

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def tesseract() -> str | None:
    """The tesseract executable (``STP_TRACKER_TESSERACT`` or ``tesseract`` on PATH), or None."""
    return shutil.which(os.environ.get("STP_TRACKER_TESSERACT", "tesseract"))


def tesseract_version(path: str) -> str:
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "tesseract-unknown"
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0].replace(" ", "-") if first else "tesseract-unknown"


def _pgm(page: Any, dpi: int = DPI) -> bytes:
    """The page rendered in grayscale as a binary PGM (Tesseract reads it through Leptonica; no Pillow needed)."""
    width, height = page.get_size()
    scale = dpi / 72
    if width * height * scale * scale > MAX_PIXELS:
        scale = (MAX_PIXELS / (width * height)) ** 0.5
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        w, h, stride = bitmap.width, bitmap.height, bitmap.stride
        buffer = bytes(bitmap.buffer)
    finally:
        bitmap.close()
    rows = b"".join(buffer[y * stride : y * stride + w] for y in range(h))
    return b"P5\n%d %d\n255\n" % (w, h) + rows


def _parse_tsv(tsv: str) -> OcrPage:
    """Tesseract's TSV (level 5 rows are words with block, paragraph and line numbers) as paragraphs of lines."""
    paragraphs: dict[tuple[int, int], dict[int, list[str]]] = {}
    total = weight = 0.0
    words = 0
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        if not text or conf < 0:
            continue
        key = (int(cols[2]), int(cols[3]))
        paragraphs.setdefault(key, {}).setdefault(int(cols[4]), []).append(text)
        total += conf * len(text)
        weight += len(text)
        words += 1
    out = ["\n".join(" ".join(line) for _, line in sorted(lines.items())) for _, lines in sorted(paragraphs.items())]
    return OcrPage([p for p in out if p.strip()], round(total / weight, 1) if weight else 0.0, words)


def ocr_page(page: Any, path: str, *, language: str = "eng", timeout: float = PAGE_TIMEOUT) -> OcrPage:
    """Recognise one pypdfium2 page with the tesseract at `path`; OcrError when it fails or times out."""
    with tempfile.TemporaryDirectory(prefix="stp-ocr-") as tmp:
        image = Path(tmp) / "page.pgm"
        image.write_bytes(_pgm(page))
        try:
            done = subprocess.run([path, str(image), "stdout", "-l", language, "tsv"], capture_output=True,
                                  text=True, timeout=timeout, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
        except subprocess.TimeoutExpired as exc:
            raise OcrError(f"tesseract took over {timeout:g} s (the per-page limit)") from exc
        except OSError as exc:
            raise OcrError(f"cannot run tesseract ({exc})") from exc
    if done.returncode != 0:
        raise OcrError(f"tesseract exited {done.returncode}: {done.stderr.strip()[-200:]}")
    return _parse_tsv(done.stdout)
