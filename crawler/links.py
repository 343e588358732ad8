"""Which URLs and responses are documents (PDF, Word, Excel, ...) rather than pages, and URL canonical forms."""

from __future__ import annotations

import re
from posixpath import splitext
from urllib.parse import unquote, urlsplit, urlunsplit

from scrapy.linkextractors import IGNORED_EXTENSIONS
from w3lib.url import canonicalize_url, safe_url_string

DOCUMENT_EXTENSIONS = frozenset({".pdf", ".docx", ".doc", ".xlsx", ".xls", ".pptx", ".ppt", ".odt", ".ods", ".rtf"})

DOCUMENT_TYPES = frozenset({
    "application/pdf",
    "application/x-pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/rtf",
})
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})

# Extensions never worth a request (images, media, archives, code); documents are taken out of Scrapy's list.
SKIPPED_EXTENSIONS = sorted(set(IGNORED_EXTENSIONS) - {e.lstrip(".") for e in DOCUMENT_EXTENSIONS})

# Download links without a file extension ("/download/123", "?wpdmdl=45", "/media/9/attachment").
_DOWNLOAD_HINT = re.compile(r"/(download|downloads|attachment|attachments|getfile)(/|$)"
                            r"|[?&](download|wpdmdl|attachment|attachment_id)=", re.I)
_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?["']?([^"';]+)""", re.I)


# A query parameter whose name and value canonicalisation may sort and re-escape without changing what it means.
_PLAIN_PARAM = re.compile(r"[A-Za-z0-9_.\-\[\]]+=[^&]*")


def canonical(url: str) -> str:
    """The archive's key for a URL: sorted query, no fragment, escaped, and no session ids or tracking parameters
    (`without_session_and_tracking`). Only a key: requests go as linked (`as_linked`). A query holding an opaque
    token (CMIS's `Document.ashx?czJK…E2A`, names with `%2b`/`%3d`) is kept as written: sorting it, adding `=` to a
    bare token or re-escaping it would name another document."""
    url = without_session_and_tracking(url)
    key = canonicalize_url(url, keep_fragments=False)
    try:
        query = urlsplit(url).query
    except ValueError:
        return key
    if query and not all(_PLAIN_PARAM.fullmatch(part) for part in query.split("&") if part):
        written = urlsplit(as_linked(url)).query
        return urlunsplit(urlsplit(key)._replace(query=written))
    return key


def as_linked(url: str) -> str:
    """The URL to request: as the page linked it (query order, escapes and bare tokens kept), without its
    fragment, with only characters unsafe in a request line escaped."""
    return safe_url_string(url.split("#", 1)[0])


# Query parameters that name a visitor's session or where a click came from, never which page it is. A site
# without cookies (and we send none) puts a fresh session id in every link it serves, so keeping them would make
# every crawl find "new" URLs for the same pages.
SESSION_PARAMETERS = frozenset({
    "jsessionid", "phpsessid", "sid", "sessionid", "session_id", "sessid", "aspsessionid", "cfid", "cftoken",
    "zenid", "oscsid", "s_id",
})
TRACKING_PARAMETERS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "_ga", "_gl", "igshid",
    "yclid", "twclid", "li_fat_id", "_hsenc", "_hsmi", "mkt_tok", "ref_src",
})
TRACKING_PREFIXES = ("utm_",)
# Path parameters a servlet container appends to a path segment: /board/papers;jsessionid=0A1B2C?x=1
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sessionid|sid)=[^/?#;]*", re.I)


def _is_session_or_tracking(name: str) -> bool:
    name = name.strip().lower()
    return name in SESSION_PARAMETERS or name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES)


def without_session_and_tracking(url: str) -> str:
    """`url` without `;jsessionid=` path parameters, session-id and tracking query parameters (utm_*, fbclid, ...).

    Only parameters written `name=value` whose name is on the lists above are dropped; every other part of the
    query is kept exactly as written, in its order (valueless tokens such as ASP.NET's `Document.ashx?czJK...`
    included), so that the URL still names the same page.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    path = _PATH_SESSION.sub("", parts.path) if ";" in parts.path else parts.path
    query = parts.query
    if query:
        kept = [item for item in re.split(r"[&;]", query)
                if not ("=" in item and _is_session_or_tracking(unquote(item.split("=", 1)[0])))]
        query = "&".join(kept)
    if path == parts.path and query == parts.query:
        return url
    return urlunsplit((parts.scheme, parts.netloc, path, query, parts.fragment))


def extension(url: str) -> str:
    try:
        path = urlsplit(url).path
    except ValueError:
        return ""
    return splitext(unquote(path))[1].lower()


def looks_like_document(url: str) -> bool:
    """True if the URL names a document by its extension (or looks like a download link)."""
    return extension(url) in DOCUMENT_EXTENSIONS or bool(_DOWNLOAD_HINT.search(url))


def media_type(headers: dict[str, str]) -> str:
    for key, value in headers.items():
        if key.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower()
    return ""


def response_kind(url: str, headers: dict[str, str], body: bytes | None, hint: str) -> str:
    """"document" or "page" for a 2xx response, by content type first, then file name, then the link's hint."""
    ctype = media_type(headers)
    if ctype in DOCUMENT_TYPES:
        return "document"
    if ctype in PAGE_TYPES:
        return "page"
    disposition = next((v for k, v in headers.items() if k.lower() == "content-disposition"), "")
    match = _FILENAME.search(disposition)
    if match and splitext(match.group(1).strip())[1].lower() in DOCUMENT_EXTENSIONS:
        return "document"
    if extension(url) in DOCUMENT_EXTENSIONS:
        return "document"
    if body and body[:5] == b"%PDF-":
        return "document"
    if ctype.startswith("text/") or (body and body.lstrip()[:1] == b"<"):
        return "page"
    return "document" if ctype else hint
