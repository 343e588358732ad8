"""Bytes to normalised text: sniff what a file really is, run the extractor registered for that format.

``extract()`` never raises on bad input: every failure is an ``Extraction`` whose status and error say what
happened and what would fix it. It is a plain top-level function with picklable arguments and result, so it
runs in a ``ProcessPoolExecutor`` (PDFium is not thread-safe: extract PDFs in processes, never in threads).
Adding a format is adding an ``Extractor`` subclass with ``kind`` (its name), ``reads`` (the sniffed kinds it
takes), ``version`` and a one-line docstring (its help in ``stp-tracker sources kinds``).
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import io
import logging
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

from storage import Extraction

from tracker.meaning import layout, normalise
from tracker.meaning.layout import pdf_page_blocks, table_block
from tracker.meaning.normalise import normalise_pages, normalise_text
from tracker.meaning.titles import first_heading, is_artefact_title, structure_title

__all__ = [
    "EXTRACTORS",
    "Extractor",
    "Limits",
    "Source",
    "decode_text",
    "extract",
    "extractor_for",
    "sniff",
]

log = logging.getLogger(__name__)

MB = 1024 * 1024

# Statuses an Extraction can have (storage.models.Extraction.status).
STATUSES = ("ok", "empty", "encrypted", "no_text_layer", "truncated", "broken", "unsupported", "too_large")


@dataclass(frozen=True)
class Limits:
    """Caps that keep one hostile or enormous file from taking a worker down."""

    max_bytes: int = 300 * MB  # input size
    max_pages: int = 5_000  # PDF pages
    max_chars: int = 20_000_000  # extracted characters
    max_unzipped: int = 200 * MB  # total declared uncompressed size of a DOCX/XLSX
    max_zip_ratio: int = 200  # uncompressed:compressed, checked on members over 1 MB
    max_cells: int = 2_000_000  # spreadsheet cells read
    max_ocr_pages: int = 200  # scanned PDF pages read by OCR (Tesseract); 0 turns OCR off
    ocr_page_seconds: float = 60.0  # Tesseract's time limit per page


@dataclass(frozen=True)
class Source:
    """One input to extract, with what its bytes really are (``kind``) and what it was said to be."""

    data: bytes
    kind: str  # sniffed: pdf, docx, xlsx, ole2, zip, html, text, xml, binary
    declared: str | None = None  # what the content type or URL said: pdf, docx, xlsx, doc, xls, html, text
    content_type: str | None = None
    charset: str | None = None
    url: str | None = None
    css_selector: str | None = None
    limits: Limits = field(default_factory=Limits)

    @property
    def label(self) -> str:
        return self.url or "input"


class TooLarge(Exception):
    """An input exceeds one of the Limits; the message names the limit."""


def _lib_version(dist: str) -> str:
    try:
        return f"{dist}-{importlib.metadata.version(dist)}"
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - installed with the project
        return f"{dist}-unknown"


class Extractor:
    """Base of the registry: a subclass with a ``kind`` registers itself in ``EXTRACTORS``, in definition order."""

    kind: ClassVar[str] = ""  # the format's name, recorded as the extraction's `extractor`
    reads: ClassVar[tuple[str, ...]] = ()  # the sniffed kinds (Source.kind) it takes
    version: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            EXTRACTORS[cls.kind] = cls

    @classmethod
    def help(cls) -> str:
        """The one-line docstring: what users read about this format."""
        return (cls.__doc__ or "").strip().splitlines()[0]

    @classmethod
    def matches(cls, source: Source) -> bool:
        return source.kind in cls.reads

    def extract(self, source: Source) -> Extraction:
        raise NotImplementedError

    def result(self, status: str, text: str = "", **kwargs: object) -> Extraction:
        return Extraction(status=status, extractor=self.kind, extractor_version=self.version, text=text, **kwargs)  # type: ignore[arg-type]


EXTRACTORS: dict[str, type[Extractor]] = {}  # kind -> class, tried in definition order


def extractor_for(source: Source) -> Extractor:
    """The first registered extractor that matches the source (there is always one: ``UnsupportedExtractor``)."""
    for cls in EXTRACTORS.values():
        if cls.matches(source):
            return cls()
    return UnsupportedExtractor()


# --- sniffing ------------------------------------------------------------------------------------------

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_TYPE_BY_MIME = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
    "text/csv": "text",
}
_TYPE_BY_EXT = {
    "pdf": "pdf", "docx": "docx", "xlsx": "xlsx", "xlsm": "xlsx", "doc": "doc", "xls": "xls",
    "html": "html", "htm": "html", "aspx": "html", "php": "html", "txt": "text", "csv": "text",
}  # fmt: skip
_HTML_START = re.compile(rb"\s*(?:<!--.{0,2000}?-->\s*)*(?:<\?xml[^>]{0,200}>\s*)?<(?:!doctype\s+html|html|head|body)\b", re.I | re.S)
_HTML_TAG = re.compile(rb"<(?:html|head|body|title|meta|div|p|table|a|span|script|br)\b", re.I)
_MIME_CHARSET = re.compile(r"charset\s*=\s*[\"']?([^\s;\"']{1,40})", re.I)


def _declared_type(content_type: str | None, url: str | None) -> str | None:
    if content_type:
        mime = content_type.split(";")[0].strip().lower()
        if mime in _TYPE_BY_MIME:
            return _TYPE_BY_MIME[mime]
    if url:
        path = urlsplit(url).path if "://" in url else url
        ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
        return _TYPE_BY_EXT.get(ext)
    return None


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            content_types = b""
            if "[Content_Types].xml" in names and zf.getinfo("[Content_Types].xml").file_size < MB:
                content_types = zf.read("[Content_Types].xml")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return "zip"
    if "word/document.xml" in names or b"wordprocessingml.document.main" in content_types:
        return "docx"
    if "xl/workbook.xml" in names or b"spreadsheetml.sheet.main" in content_types:
        return "xlsx"
    return "zip"


def _looks_binary(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls > len(head) // 20


def sniff(data: bytes, content_type: str | None = None, url: str | None = None) -> tuple[str, str | None]:
    """What the bytes are (magic bytes first, then content type, then URL extension) and what was declared."""
    declared = _declared_type(content_type, url)
    head = data[:4096]
    if b"%PDF-" in data[:1024]:
        return "pdf", declared
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data), declared
    if data.startswith(_OLE2):
        return "ole2", declared
    if _looks_binary(head):
        return "binary", declared
    if _HTML_START.match(head):
        return "html", declared
    if head.lstrip().startswith(b"<?xml"):
        return ("html" if _HTML_TAG.search(head) else "xml"), declared
    if declared == "html" and _HTML_TAG.search(head):
        return "html", declared
    if declared is None and _HTML_TAG.search(head[:1024]) and head.lstrip()[:1] == b"<":
        return "html", declared
    return "text", declared


# --- text decoding -------------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"<meta[^>]{0,300}?charset\s*=\s*[\"']?\s*([a-zA-Z0-9_.:-]{1,40})", re.I)
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_WHATWG_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "ascii": "cp1252", "us-ascii": "cp1252"}


def _codec(name: str | None) -> str | None:
    import codecs

    if not name:
        return None
    name = name.strip().lower()
    name = _WHATWG_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def decode_text(data: bytes, charset: str | None = None) -> tuple[str, str]:
    """Decode text robustly: BOM, declared charset, ``<meta charset>``, UTF-8, then the declared one (or
    UTF-8) with replacement characters. Unknown charset names are ignored. Returns (text, how)."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data.decode(enc, errors="replace"), enc
    meta = _META_CHARSET.search(data[:4096])
    candidates = [_codec(charset), _codec(meta.group(1).decode("ascii", "replace") if meta else None)]
    for enc in candidates:
        if enc:
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if not any(candidates) and not _UTF8_MULTIBYTE.search(data):
        # Nothing declared and not one UTF-8 sequence: a legacy page, read as browsers do (WHATWG: windows-1252).
        # Else a page re-served in windows-1252 would turn "£" into "\ufffd": a false revision.
        return data.decode("cp1252", errors="replace"), "windows-1252 (undeclared, not UTF-8)"
    enc = next((c for c in candidates if c and not c.startswith("utf")), None) or "utf-8"
    return data.decode(enc, errors="replace"), f"{enc} (with replacement characters)"


# --- PDF -----------------------------------------------------------------------------------------------


def _pdf_truncated(data: bytes) -> bool:
    """No %%EOF at all, or a later revision (objects) after the last %%EOF that never got its own."""
    end = data.rfind(b"%%EOF")
    return end < 0 or b"endobj" in data[end:]


class PdfExtractor(Extractor):
    """PDF text with pypdfium2, pypdf as fallback; flags scans (no text layer) and truncated files."""

    kind = "pdf"
    reads = ("pdf",)
    version = f"{_lib_version('pypdfium2')}+{_lib_version('pypdf')};norm-{normalise.VERSION}"

    def extract(self, source: Source) -> Extraction:
        import pypdfium2 as pdfium

        try:
            doc = pdfium.PdfDocument(source.data)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                return self._encrypted(source)
            return self._fallback(source, f"pypdfium2: {exc}")
        try:
            return self._read(doc, source)
        finally:
            doc.close()

    def _encrypted(self, source: Source) -> Extraction:
        return self.result(
            "encrypted",
            error=f"cannot read PDF (encrypted, no password): {source.label}; ask the publisher for an open copy",
            meta={"format": "pdf"},
        )

    def _read(self, doc: object, source: Source) -> Extraction:
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c

        limits = source.limits
        n = len(doc)  # type: ignore[arg-type]
        if n > limits.max_pages:
            return self.result("too_large", pages=n, error=f"PDF has {n} pages, over the limit of {limits.max_pages} (Limits.max_pages): {source.label}")
        texts: list[str] = []
        page_errors: list[int] = []
        image_pages: list[int] = []
        blocks: list[dict] = []
        structure_error: str | None = None
        chars = 0
        for i in range(n):
            try:
                page = doc[i]  # type: ignore[index]
            except pdfium.PdfiumError:
                page_errors.append(i + 1)
                texts.append("")
                continue
            try:
                textpage = page.get_textpage()
                text = textpage.get_text_bounded()
                if structure_error is None:
                    try:
                        blocks += pdf_page_blocks(textpage, i + 1)
                    except Exception as exc:  # structure is extra: a layout failure must never lose the text
                        structure_error = f"page {i + 1}: {type(exc).__name__}: {exc}"
                textpage.close()
                if len(text.strip()) < 3 and any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3)):
                    image_pages.append(i + 1)
            finally:
                page.close()
            chars += len(text)
            if chars > limits.max_chars:
                return self.result("too_large", pages=n, error=f"PDF text is over {limits.max_chars} characters (Limits.max_chars): {source.label}")
            texts.append(text)
        if page_errors and len(page_errors) == n:
            return self._fallback(source, f"pypdfium2: no page could be loaded ({n} pages)")
        title = None
        try:
            title = (doc.get_metadata_dict().get("Title") or "").strip() or None  # type: ignore[attr-defined]
        except Exception:  # metadata is optional; a broken Info dictionary must not lose the text
            pass
        ocr = self._ocr(doc, image_pages, texts, blocks, source) if image_pages else None
        unread = [p for p in image_pages if not (ocr and p in ocr.get("pages", []))]
        result = self._finish(source, texts, title, unread, page_errors, primary=True, ocr=ocr)
        if result.text:
            blocks.sort(key=lambda b: b["page"])
            result.structure = layout.structure("ocr" if ocr and ocr.get("pages") and len(ocr["pages"]) == n else "pdf",
                                                [] if structure_error else blocks, pages=n)
            if structure_error:
                result.meta["structure_error"] = structure_error
            if not result.title or is_artefact_title(result.title):
                # no title in the file: the first page's large heading, or (when the text does not open with a
                # short heading, as a sheet printed to PDF opens with figures) its title row or first short line
                opens_with_heading = (first_heading(result.text) or ("", False))[1]
                result.title = structure_title(result.structure, large_only=opens_with_heading) or result.title
        return result

    def _ocr(self, doc: object, image_pages: list[int], texts: list[str], blocks: list[dict],
             source: Source) -> dict[str, object]:
        """Read pages that are only images with Tesseract: their text goes into `texts`, their paragraphs into
        `blocks` (marked "ocr" with a confidence). Returns what was done, for meta["ocr"]."""
        from tracker.meaning.ocr import INSTALL_HINT, OcrError, ocr_page, tesseract, tesseract_version

        path = tesseract()
        if path is None:
            return {"error": f"Tesseract (OCR) is not installed: {INSTALL_HINT}"}
        if source.limits.max_ocr_pages <= 0:
            return {"error": "OCR is turned off (Limits.max_ocr_pages = 0)"}
        done: list[int] = []
        confidences: list[tuple[float, int]] = []
        errors: dict[int, str] = {}
        for number in image_pages[: source.limits.max_ocr_pages]:
            page = doc[number - 1]  # type: ignore[index]
            try:
                read = ocr_page(page, path, timeout=source.limits.ocr_page_seconds)
            except OcrError as exc:
                errors[number] = str(exc)
                continue
            finally:
                page.close()
            if not read.words:
                continue
            texts[number - 1] = read.text
            done.append(number)
            confidences.append((read.confidence, read.words))
            for paragraph in read.paragraphs:
                text = " ".join(normalise_text(paragraph).split())
                if text:
                    blocks.append({"type": "paragraph", "page": number, "text": text, "ocr": True,
                                   "confidence": read.confidence})
        info: dict[str, object] = {"engine": tesseract_version(path), "pages": done}
        if confidences:
            words = sum(w for _, w in confidences)
            info["confidence"] = round(sum(c * w for c, w in confidences) / words, 1)
        if errors:
            info["errors"] = {str(k): v for k, v in errors.items()}
        if len(image_pages) > source.limits.max_ocr_pages:
            info["capped"] = source.limits.max_ocr_pages
        return info

    def _finish(self, source: Source, texts: list[str], title: str | None, image_pages: list[int],
                page_errors: list[int], primary: bool, primary_error: str | None = None,
                ocr: dict[str, object] | None = None) -> Extraction:
        n = len(texts)
        visible = sum(len("".join(t.split())) for t in texts)
        meta: dict[str, object] = {"format": "pdf", "parser": "pypdfium2" if primary else "pypdf"}
        flags: list[str] = []
        hint = "OCR it to track its text"
        if ocr is not None:
            meta["ocr"] = ocr
            if ocr.get("pages"):
                flags.append("ocr")
            if ocr.get("error"):
                hint = str(ocr["error"])
            elif not ocr.get("pages"):
                hint = "OCR found no words in it" + (f" ({'; '.join(ocr['errors'].values())})" if ocr.get("errors") else "")
        if primary_error:
            meta["primary_error"] = primary_error
            flags.append("fallback_parser")
        if page_errors:
            meta["page_errors"] = page_errors
            flags.append("page_errors")
        if image_pages and visible < 3 * n:
            return self.result(
                "no_text_layer", title=title, pages=n, flags=flags, meta=meta,
                error=f"PDF has {n} page(s) of images and no text layer (a scan?): {source.label}; {hint}",
            )
        text, offsets = normalise_pages(texts)
        if not text:
            return self.result("empty", title=title, pages=n, flags=flags, meta=meta, error=f"PDF has {n} page(s) and no text: {source.label}")
        if image_pages:
            flags.append("partial_text_layer")
            meta["pages_without_text"] = image_pages
        status, error = "ok", None
        if _pdf_truncated(source.data):
            status, error = "truncated", f"PDF is truncated (no %%EOF after its last objects): {source.label}; its text may be incomplete, re-fetch it"
            flags.append("truncated")
        return self.result(status, text, title=title, pages=n, page_offsets=offsets, flags=flags, meta=meta, error=error)

    def _fallback(self, source: Source, primary_error: str) -> Extraction:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        logging.getLogger("pypdf").setLevel(logging.ERROR)
        try:
            reader = PdfReader(io.BytesIO(source.data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                return self._encrypted(source)
            n = len(reader.pages)
            if n > source.limits.max_pages:
                return self.result("too_large", pages=n, error=f"PDF has {n} pages, over the limit of {source.limits.max_pages} (Limits.max_pages): {source.label}")
            texts, page_errors, chars = [], [], 0
            for i, page in enumerate(reader.pages):
                try:
                    texts.append(page.extract_text() or "")
                except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
                    log.debug("pypdf page %d of %s: %s", i + 1, source.label, exc)
                    texts.append("")
                    page_errors.append(i + 1)
                chars += len(texts[-1])
                if chars > source.limits.max_chars:
                    return self.result("too_large", pages=n, error=f"PDF text is over {source.limits.max_chars} characters (Limits.max_chars): {source.label}")
            title = None
            try:
                title = ((reader.metadata or {}).get("/Title") or "").strip() or None
            except Exception:  # same as above: metadata is optional
                pass
        except Exception as exc:  # pypdf raises many types on corrupt files; all mean "cannot read"
            return self.result("broken", error=f"cannot read PDF ({primary_error}; pypdf: {type(exc).__name__}: {exc}): {source.label}", meta={"format": "pdf"})
        if not any(t.strip() for t in texts):
            return self.result("broken", pages=n, error=f"cannot read PDF ({primary_error}; pypdf found no text in {n} page(s)): {source.label}", meta={"format": "pdf"})
        result = self._finish(source, texts, title, [], page_errors, primary=False, primary_error=primary_error)
        result.extractor = "pdf"
        return result


# --- DOCX and XLSX (zip packages) ----------------------------------------------------------------------


def _check_zip(zf: zipfile.ZipFile, limits: Limits, label: str) -> None:
    """Refuse zip bombs by the sizes the archive declares, before reading any member."""
    total = 0
    for info in zf.infolist():
        total += info.file_size
        if info.file_size > MB and info.file_size > limits.max_zip_ratio * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise TooLarge(f"zip member {info.filename!r} expands {ratio}:1, over the limit of {limits.max_zip_ratio}:1 (Limits.max_zip_ratio; a zip bomb?): {label}")
    if total > limits.max_unzipped:
        raise TooLarge(f"package expands to {total // MB} MB, over the limit of {limits.max_unzipped // MB} MB (Limits.max_unzipped): {label}")


def _read_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    with zf.open(name) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"zip member {name!r} is over {limit // MB} MB (Limits.max_unzipped)")
    return data


def _safe_xml(data: bytes) -> object:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, remove_pis=True)
    return etree.fromstring(data, parser)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"


class _DocxWalker:
    """Text of a WordprocessingML body in document order, as read with tracked changes accepted."""

    def __init__(self) -> None:
        self.insertions: list[dict[str, str | None]] = []
        self.deletions: list[dict[str, str | None]] = []
        self.structure: list[dict] = []  # blocks, in document order (see tracker/meaning/layout.py)

    def _note_paragraph(self, p: object, text: str) -> None:
        text = " ".join(normalise_text(text).split())
        if not text:
            return
        ppr = p.find(_W + "pPr")  # type: ignore[attr-defined]
        style = ""
        numbered = False
        if ppr is not None:
            node = ppr.find(_W + "pStyle")
            style = (node.get(_W + "val") or "") if node is not None else ""
            numbered = ppr.find(_W + "numPr") is not None
            outline = ppr.find(_W + "outlineLvl")
        else:
            outline = None
        low = style.lower()
        numbered_style = re.fullmatch(r"(?:heading|titre|berschrift|kop)\s?(\d)", low)
        if numbered_style or low in ("title", "subtitle") or outline is not None:
            if numbered_style:
                level = int(numbered_style.group(1))
            elif outline is not None and (outline.get(_W + "val") or "").isdigit():
                level = int(outline.get(_W + "val")) + 1
            else:
                level = 1
            self.structure.append({"type": "heading", "page": 1, "level": level, "text": text})
        elif numbered or low.startswith("list"):
            if self.structure and self.structure[-1]["type"] == "list":
                self.structure[-1]["items"].append(text)
            else:
                self.structure.append({"type": "list", "page": 1, "items": [text]})
        else:
            self.structure.append({"type": "paragraph", "page": 1, "text": text})

    def blocks(self, parent: object, top: bool = True) -> list[str]:
        out: list[str] = []
        for child in parent:  # type: ignore[attr-defined]
            tag = child.tag
            if tag == _W + "p":
                out.append(self.paragraph(child))
                if top:
                    self._note_paragraph(child, out[-1])
            elif tag == _W + "tbl":
                rows: list[list[str]] = []
                for row in child.iter(_W + "tr"):
                    if row.getparent() is child:
                        cells = [" ".join(b for b in self.blocks(tc, top=False) if b) for tc in row.iter(_W + "tc") if tc.getparent() is row]
                        out.append(" | ".join(c.replace("\n", " ") for c in cells))
                        rows.append(cells)
                if top:
                    table = table_block(rows, 1)
                    if table:
                        self.structure.append(table)
            elif tag in (_W + "sdt", _W + "sdtContent", _W + "customXml", _W + "ins", _W + "moveTo"):
                out.extend(self.blocks(child, top=top))
        return out

    def paragraph(self, p: object) -> str:
        parts: list[str] = []
        self._runs(p, parts, None)
        return "".join(parts)

    def _runs(self, el: object, parts: list[str], change: list[str] | None, deleted: bool = False) -> None:
        for child in el:  # type: ignore[attr-defined]
            tag = child.tag
            if not isinstance(tag, str):
                continue
            if tag == _W + "t":
                if deleted:
                    if change is not None:
                        change.append(child.text or "")
                else:
                    parts.append(child.text or "")
                    if change is not None:
                        change.append(child.text or "")
            elif tag == _W + "delText":
                if change is not None:
                    change.append(child.text or "")
            elif tag in (_W + "tab", _W + "ptab"):
                if not deleted:
                    parts.append(" ")
            elif tag in (_W + "br", _W + "cr"):
                if not deleted:
                    parts.append("\n")
            elif tag == _W + "noBreakHyphen":
                if not deleted:
                    parts.append("-")
            elif tag in (_W + "ins", _W + "moveTo", _W + "del", _W + "moveFrom"):
                is_del = tag in (_W + "del", _W + "moveFrom")
                buf: list[str] = []
                self._runs(child, parts, buf, deleted=is_del)
                text = "".join(buf).strip()
                if text:
                    record = {"text": text, "author": child.get(_W + "author"), "date": child.get(_W + "date")}
                    (self.deletions if is_del else self.insertions).append(record)
            elif tag == _W + "p":  # text boxes and other nested paragraphs
                parts.append("\n")
                self._runs(child, parts, change, deleted)
                parts.append("\n")
            elif tag in (_W + "instrText", _W + "delInstrText", _W + "pPrChange", _W + "rPrChange", _MC_FALLBACK):
                continue
            else:
                self._runs(child, parts, change, deleted)


class DocxExtractor(Extractor):
    """DOCX body text read from the XML, with tracked insertions and deletions (python-docx drops them)."""

    kind = "docx"
    reads = ("docx",)
    version = f"{_lib_version('lxml')};norm-{normalise.VERSION}"

    def extract(self, source: Source) -> Extraction:
        with zipfile.ZipFile(io.BytesIO(source.data)) as zf:
            _check_zip(zf, source.limits, source.label)
            budget = source.limits.max_unzipped
            root = _safe_xml(_read_member(zf, "word/document.xml", budget))
            title = None
            if "docProps/core.xml" in zf.namelist():
                try:
                    core = _safe_xml(_read_member(zf, "docProps/core.xml", MB))
                    node = core.find(_DC_TITLE)  # type: ignore[attr-defined]
                    title = (node.text or "").strip() or None if node is not None else None
                except Exception:  # core properties are optional; a broken one must not lose the text
                    pass
        body = root.find(_W + "body")  # type: ignore[attr-defined]
        walker = _DocxWalker()
        blocks = walker.blocks(body) if body is not None else []
        text = normalise_text("\n\n".join(blocks))
        meta: dict[str, object] = {"format": "docx"}
        flags: list[str] = []
        if walker.insertions or walker.deletions:
            meta["tracked_changes"] = {"insertions": walker.insertions, "deletions": walker.deletions}
            flags.append("tracked_changes")
        if not text:
            return self.result("empty", title=title, flags=flags, meta=meta, error=f"DOCX has no text in its body: {source.label}")
        return self.result("ok", text, title=title, flags=flags, meta=meta, structure=layout.structure("docx", walker.structure))


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return str(value)[:32_767].replace("\t", " ").replace("\r", " ").replace("\n", " ")


class XlsxExtractor(Extractor):
    """XLSX cell values with openpyxl (read-only, cached values): a "Sheet: <name>" heading, then rows."""

    kind = "xlsx"
    reads = ("xlsx",)
    version = f"{_lib_version('openpyxl')};norm-{normalise.VERSION}"

    def extract(self, source: Source) -> Extraction:
        import openpyxl

        with zipfile.ZipFile(io.BytesIO(source.data)) as zf:
            _check_zip(zf, source.limits, source.label)
            names = zf.namelist()
            strict = "xl/workbook.xml" in names and b"purl.oclc.org/ooxml" in _read_member(zf, "xl/workbook.xml", 10 * MB)[:2048]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(source.data), read_only=True, data_only=True)
            try:
                lines, cells, capped = [], 0, False
                blocks: list[dict] = []
                for number, ws in enumerate(wb.worksheets, start=1):
                    lines.append(f"Sheet: {ws.title}")
                    blocks.append({"type": "heading", "page": number, "level": 1, "text": _clean_title(str(ws.title)) or ""})
                    grid: list[list[str]] = []
                    for row in ws.iter_rows(values_only=True):
                        values = [_cell_text(v) for v in row]
                        while values and not values[-1].strip():
                            values.pop()
                        cells += len(row)
                        if cells > source.limits.max_cells:
                            capped = True
                            break
                        if values:
                            lines.append("\t".join(values))
                            grid.append(values)
                    table = table_block(grid, number)
                    if table:
                        blocks.append(table)
                    lines.append("")
                    if capped:
                        break
                title = (wb.properties.title or "").strip() or None if wb.properties else None
                sheets = len(wb.worksheets)
            finally:
                wb.close()
        meta: dict[str, object] = {"format": "xlsx", "sheets": sheets}
        if sheets == 0:
            why = "Strict OOXML workbook, which openpyxl cannot read" if strict else "workbook has no worksheets"
            return self.result("unsupported" if strict else "empty", title=title, meta=meta, error=f"cannot read XLSX ({why}): {source.label}")
        flags = []
        if capped:
            flags.append("cells_capped")
            meta["cells_read"] = source.limits.max_cells
        text = normalise_text("\n".join(lines), reflow=False)
        if not any(line and not line.startswith("Sheet: ") for line in text.split("\n")):
            return self.result("empty", title=title, meta=meta, flags=flags, error=f"XLSX has {sheets} sheet(s) and no cell values: {source.label}")
        return self.result("ok", text, title=title, meta=meta, flags=flags, structure=layout.structure("xlsx", blocks))


class LegacyOfficeExtractor(Extractor):
    """OLE2 files: password-protected DOCX/XLSX ("encrypted") and old binary .doc/.xls ("unsupported")."""

    kind = "ole2"
    reads = ("ole2",)
    version = "1"

    def extract(self, source: Source) -> Extraction:
        if "EncryptedPackage".encode("utf-16-le") in source.data:
            return self.result("encrypted", meta={"format": "ole2"}, error=f"cannot read Office file (encrypted, password-protected): {source.label}; ask the publisher for an open copy")
        what = {"doc": "Word .doc", "xls": "Excel .xls"}.get(source.declared or "", "binary Office (OLE2)")
        return self.result("unsupported", meta={"format": "ole2"}, error=f"cannot read {what} file (legacy binary format, not supported): {source.label}; a DOCX, XLSX or PDF copy would be")


# --- HTML and plain text -------------------------------------------------------------------------------

_DROP_TAGS = ["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg", "iframe", "button", "dialog"]
_BLOCK_TAGS = ["p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
               "section", "article", "main", "blockquote", "pre", "figure", "figcaption", "details", "summary", "address"]  # fmt: skip
_CHROME_ATTR = re.compile(r"cookie|consent|gdpr|banner|skip-?link|breadcrumb", re.I)


def _html_title(soup: object) -> str | None:
    title = soup.title.get_text(" ", strip=True) if soup.title else ""  # type: ignore[attr-defined]
    if not title:
        og = soup.find("meta", attrs={"property": "og:title"})  # type: ignore[attr-defined]
        title = (og.get("content") or "").strip() if og else ""
    return title or None


def _block_text(element: object) -> str:
    """Text of a BeautifulSoup element with block elements as paragraphs and inline markup kept inline."""
    for br in element.find_all("br"):  # type: ignore[attr-defined]
        br.replace_with("\n")
    for block in element.find_all(_BLOCK_TAGS):  # type: ignore[attr-defined]
        block.insert_before("\n\n")
        block.insert_after("\n\n")
    for cell in element.find_all(["td", "th"]):  # type: ignore[attr-defined]
        cell.insert_after(" | ")
    return element.get_text()  # type: ignore[attr-defined]


def _one_line(text: str) -> str:
    return " ".join(normalise_text(text).split())


def _soup_blocks(element: object) -> list[dict]:
    """Headings, paragraphs, lists and tables of a BeautifulSoup element, in document order (a block inside a
    table or list belongs to it)."""
    blocks: list[dict] = []
    for node in element.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "ul", "ol", "table"]):  # type: ignore[attr-defined]
        if node.find_parent(["table", "ul", "ol"]) is not None and node.name != "table":
            continue
        if node.name == "table":
            if node.find_parent("table") is not None:
                continue
            rows = [[_one_line(c.get_text(" ")) for c in tr.find_all(["td", "th"])] for tr in node.find_all("tr")
                    if tr.find_parent("table") is node]
            table = table_block(rows, 1, header_rows=sum(1 for tr in node.find_all("tr") if tr.find("td") is None
                                                         and tr.find_parent("table") is node) or None)
            if table:
                blocks.append(table)
        elif node.name in ("ul", "ol"):
            items = [t for t in (_one_line(li.get_text(" ")) for li in node.find_all("li", recursive=False)) if t]
            if items:
                blocks.append({"type": "list", "page": 1, "items": items})
        else:
            text = _one_line(node.get_text(" "))
            if text:
                block = {"type": "heading", "page": 1, "level": int(node.name[1]), "text": text} if node.name[0] == "h" \
                    else {"type": "paragraph", "page": 1, "text": text}
                blocks.append(block)
    return blocks


def _trafilatura_blocks(html: str, url: str | None) -> list[dict]:
    """The same blocks from trafilatura's XML output (head, p, list/item, table/row/cell) of the main content."""
    import trafilatura

    try:
        raw = trafilatura.extract(
            html, url=url, favor_precision=True, include_tables=True, include_comments=False,
            include_images=False, output_format="xml", deduplicate=False, with_metadata=False,
        )  # fmt: skip
        root = _safe_xml(raw.encode("utf-8")) if raw else None
    except Exception as exc:  # structure is extra: the text is already extracted
        log.debug("trafilatura XML failed: %s", exc)
        return []
    if root is None:
        return []
    blocks: list[dict] = []
    for node in root.iter("head", "p", "list", "table"):  # type: ignore[attr-defined]
        ancestors = {a.tag for a in node.iterancestors()}
        if ancestors & {"list", "table"}:
            continue
        if node.tag == "table":
            rows = [[_one_line("".join(c.itertext())) for c in row.iter("cell")] for row in node.iter("row")]
            heads = sum(1 for row in node.iter("row") if all(c.get("role") == "head" for c in row.iter("cell")))
            table = table_block(rows, 1, header_rows=heads or None)
            if table:
                blocks.append(table)
        elif node.tag == "list":
            items = [t for t in (_one_line("".join(i.itertext())) for i in node.iter("item")) if t]
            if items:
                blocks.append({"type": "list", "page": 1, "items": items})
        else:
            text = _one_line("".join(node.itertext()))
            if not text:
                continue
            if node.tag == "head":
                rend = node.get("rend") or "h2"
                level = int(rend[1]) if len(rend) == 2 and rend[1].isdigit() else 2
                blocks.append({"type": "heading", "page": 1, "level": level, "text": text})
            else:
                blocks.append({"type": "paragraph", "page": 1, "text": text})
    return blocks


class HtmlExtractor(Extractor):
    """HTML main text with trafilatura, BeautifulSoup as fallback, or one element chosen by a CSS selector."""

    # trafilatura with favor_precision and tables kept; the selector is the source's `css_selector`.

    kind = "html"
    reads = ("html",)
    version = f"{_lib_version('trafilatura')}+{_lib_version('beautifulsoup4')};norm-{normalise.VERSION}"

    def extract(self, source: Source) -> Extraction:
        from bs4 import BeautifulSoup

        html, encoding = decode_text(source.data, source.charset)
        soup = BeautifulSoup(html, "lxml")
        title = _html_title(soup)
        meta: dict[str, object] = {"format": "html", "encoding": encoding}
        if source.css_selector:
            meta["css_selector"] = source.css_selector
            try:
                element = soup.select_one(source.css_selector)
            except Exception as exc:  # soupsieve raises SelectorSyntaxError and others on bad selectors
                return self.result("broken", title=title, meta=meta, error=f"invalid CSS selector {source.css_selector!r} ({exc}): fix the source's selector")
            if element is None:
                return self.result("empty", title=title, meta=meta, error=f"CSS selector {source.css_selector!r} matched nothing: {source.label}; check the source's selector")
            blocks = _soup_blocks(element)
            text = normalise_text(_block_text(element))
            meta["method"] = "css_selector"
        else:
            text = self._trafilatura(html, source.url)
            meta["method"] = "trafilatura"
            blocks = _trafilatura_blocks(html, source.url) if text else []
            if not text:
                text = self._soup_fallback(soup)
                blocks = _soup_blocks(soup.body or soup)
                meta["method"] = "beautifulsoup"
        if not text:
            return self.result("empty", title=title, meta=meta, error=f"HTML page has no main text: {source.label}")
        return self.result("ok", text, title=title, meta=meta, structure=layout.structure("html", blocks))

    @staticmethod
    def _trafilatura(html: str, url: str | None) -> str:
        import trafilatura

        logging.getLogger("trafilatura").setLevel(logging.ERROR)
        try:
            raw = trafilatura.extract(
                html, url=url, favor_precision=True, include_tables=True, include_comments=False,
                include_images=False, output_format="txt", deduplicate=False, with_metadata=False,
            )  # fmt: skip
        except Exception as exc:  # trafilatura's parsers raise many types on odd markup; the fallback copes
            log.debug("trafilatura failed: %s", exc)
            return ""
        # trafilatura puts each block on one line: every line is a paragraph.
        return normalise_text((raw or "").replace("\n", "\n\n"))

    @staticmethod
    def _soup_fallback(soup: object) -> str:
        body = soup.body or soup  # type: ignore[attr-defined]
        for tag in body.find_all(_DROP_TAGS):  # type: ignore[attr-defined]
            tag.decompose()
        for tag in body.find_all(attrs={"id": _CHROME_ATTR}) + body.find_all(attrs={"class": _CHROME_ATTR}):  # type: ignore[attr-defined]
            if not tag.decomposed:
                tag.decompose()
        return normalise_text(_block_text(body))


class TextExtractor(Extractor):
    """Plain text, decoded robustly (declared charset, UTF-8, replacement characters)."""

    kind = "text"
    reads = ("text",)
    version = f"1;norm-{normalise.VERSION}"

    def extract(self, source: Source) -> Extraction:
        text, encoding = decode_text(source.data, source.charset)
        meta = {"format": "text", "encoding": encoding}
        text = normalise_text(text)
        if not text:
            return self.result("empty", meta=meta, error=f"text file has no text: {source.label}")
        return self.result("ok", text, meta=meta)


class UnsupportedExtractor(Extractor):
    """Anything else (other zip files, XML, binary data): recorded as unsupported, with what it looked like."""

    kind = "unsupported"
    reads = ("zip", "xml", "binary")
    version = "1"

    def extract(self, source: Source) -> Extraction:
        said = f", served as {source.declared.upper()}" if source.declared else ""
        if source.kind == "zip" and source.declared in ("docx", "xlsx"):
            return self.result("broken", meta={"format": "zip"}, error=f"cannot read {source.declared.upper()} (not a valid Office package): {source.label}")
        what = {"zip": "a zip archive that is not DOCX or XLSX", "xml": "XML that is not HTML"}.get(source.kind, "binary data that is not PDF, DOCX, XLSX, HTML or text")
        return self.result("unsupported", meta={"format": source.kind}, error=f"cannot extract text from {what}{said}: {source.label}")


def _clean_title(title: str) -> str | None:
    title = " ".join(normalise_text(title[:1000]).split())
    return title or None


# --- entry point ---------------------------------------------------------------------------------------

# What a sniffed kind may be declared as without it counting as a mismatch.
_COMPATIBLE = {"html": {"html", "text"}, "text": {"text", "html"}, "ole2": {"doc", "xls", "docx", "xlsx"}, "xml": {"html", "text"}}


def extract(
    data: bytes,
    content_type: str | None = None,
    url: str | None = None,
    *,
    css_selector: str | None = None,
    limits: Limits | None = None,
) -> Extraction:
    """Extract and normalise the text of one response body; never raises on bad input.

    The format is what the bytes are (magic bytes), then the content type, then the URL's extension; a
    body that is not what it was served as gets flag "type_mismatch" and meta["declared_type"].
    """
    limits = limits or Limits()
    label = url or "input"
    if not data:
        return Extraction("empty", "none", "1", error=f"no bytes to extract: {label}")
    if len(data) > limits.max_bytes:
        return Extraction("too_large", "none", "1", error=f"input is {len(data) // MB} MB, over the limit of {limits.max_bytes // MB} MB (Limits.max_bytes): {label}")
    kind, declared = "unknown", None
    extractor: Extractor = UnsupportedExtractor()
    try:
        kind, declared = sniff(data, content_type, url)
        charset_match = _MIME_CHARSET.search(content_type or "")
        source = Source(
            data=data, kind=kind, declared=declared, content_type=content_type,
            charset=charset_match.group(1) if charset_match else None, url=url, css_selector=css_selector, limits=limits,
        )  # fmt: skip
        extractor = extractor_for(source)
        result = extractor.extract(source)
    except TooLarge as exc:
        result = extractor.result("too_large", error=str(exc))
    except MemoryError:
        result = extractor.result("too_large", error=f"ran out of memory extracting {kind}: {label}")
    except RecursionError:
        result = extractor.result("broken", error=f"cannot read {kind} (nesting too deep): {label}")
    except Exception as exc:  # the promise of this function: bad input never raises
        log.debug("extract %s failed", label, exc_info=True)
        result = extractor.result("broken", error=f"cannot read {kind.upper()} ({type(exc).__name__}: {exc}): {label}")
    if result.title:
        result.title = _clean_title(result.title)
    if len(result.text) > limits.max_chars:
        result = extractor.result("too_large", error=f"text is over {limits.max_chars} characters (Limits.max_chars): {label}")
    if declared and kind != declared and declared not in _COMPATIBLE.get(kind, ()):
        result.flags.append("type_mismatch")
        result.meta["declared_type"] = declared
    result.meta.setdefault("format", kind)
    return result
