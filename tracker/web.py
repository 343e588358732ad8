"""The researchers' web app (`stp-tracker serve`): the archive as server-rendered pages and a JSON API, read-only."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from storage import Archive, ArchiveError, BlobError, sha256_of

from .eventjson import event_json, footprint_name
from .export import document_json, version_json

TEMPLATES = Path(__file__).resolve().parent / "templates"
# No script at all, styles only from our own origin, nothing may frame us, forms post only to us.
PAGE_CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'")
# Archived bytes are downloaded, never run: even if a browser renders them, the sandbox gives them no origin.
RAW_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"
MAX_QUERY_CHARS = 500
PAGE_SIZE = 20
SNIPPET_OPEN, SNIPPET_CLOSE = "\x02", "\x03"  # never in normalised text; become <mark> after escaping
_CONTENT_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=(\"[^\"\r\n]*\"|[\w.+-]+))*$")
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EMAIL = re.compile(r"^[^@\s:/<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


class _IdConvertor(IntegerConvertor):
    """Ids in paths: at most 18 digits, so a longer one is a plain 404 instead of an overflow in SQLite."""

    regex = "[0-9]{1,18}"


register_url_convertor("id", _IdConvertor())


# -- helpers ----------------------------------------------------------------------------------------------


def safe_href(url: Any) -> str | None:
    """A URL that may become a link: http(s) only; `javascript:` and every other scheme stay plain text."""
    if not isinstance(url, str):
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def snippet_html(snippet: str | None) -> Markup:
    """A search snippet escaped, then its match markers turned into <mark> (never the text's own markup)."""
    text = snippet or ""
    if text.count(SNIPPET_OPEN) != text.count(SNIPPET_CLOSE):
        text = text.replace(SNIPPET_OPEN, "").replace(SNIPPET_CLOSE, "")
    escaped = str(escape(text))
    return Markup(escaped.replace(SNIPPET_OPEN, "<mark>").replace(SNIPPET_CLOSE, "</mark>"))


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


def _int(value: str | None, default: int | None = None, lo: int = 0, hi: int = 10**12) -> int | None:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise HTTPException(400, f"not a whole number: {value[:40]!r}") from None
    return min(max(number, lo), hi)


def _date(value: str | None, name: str) -> str | None:
    if not value:
        return None
    try:
        dt.date.fromisoformat(value[:10])
    except ValueError:
        raise HTTPException(400, f"{name} must be a date like 2026-01-31, not {value[:40]!r}") from None
    return value[:32]


class _DiffCache:
    """The last few diffs computed: versions never change, so a diff of two ids never goes stale."""

    def __init__(self, size: int = 8, concurrent: int = 2, wait: float = 30.0):
        self.size = size
        self.items: OrderedDict[tuple[int, int], Any] = OrderedDict()
        self.lock = threading.Lock()
        # A diff of two long plans costs seconds of CPU: at most `concurrent` at once, so that a burst of
        # diff requests cannot starve every other page.
        self.slots = threading.BoundedSemaphore(concurrent)
        self.wait = wait

    def get(self, key: tuple[int, int], compute: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        if not self.slots.acquire(timeout=self.wait):
            raise HTTPException(503, "the server is busy comparing other versions: try again in a minute")
        try:
            value = compute()
        finally:
            self.slots.release()
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


class Csrf:
    """Signed form tokens bound to a SameSite=Strict cookie: a form posted from another site is refused."""

    COOKIE = "stp_csrf"
    MAX_AGE = 2 * 3600

    def __init__(self, secret: bytes | None = None):
        self.secret = secret or secrets.token_bytes(32)

    def _sign(self, nonce: str, stamp: str) -> str:
        return hmac.new(self.secret, f"{nonce}.{stamp}".encode(), hashlib.sha256).hexdigest()

    def issue(self, request: Request) -> tuple[str, str]:
        """(cookie value, form token) for a page with a form; the cookie is reused when still there."""
        nonce = request.cookies.get(self.COOKIE) or ""
        if not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", nonce):
            nonce = secrets.token_urlsafe(24)
        stamp = str(int(time.time()))
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
        if not stamp.isdigit() or not hmac.compare_digest(signature, self._sign(nonce, stamp)):
            return "the form's security token is not valid: reload the page and try again"
        if time.time() - int(stamp) > self.MAX_AGE:
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


# -- the app ------------------------------------------------------------------------------------------------


class WebApp:
    """Routes over one data home. Each request opens the archive read-only in its own thread."""

    def __init__(self, home: str | Path, *, subscriptions: bool = False, rate_limit: int = 5,
                 csrf_secret: bytes | None = None):
        self.home = Path(home)
        self.subscriptions = subscriptions
        self.env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(safe_href=safe_href, snippet=snippet_html, day=lambda v: (v or "")[:10],
                                footprint_name=footprint_name)
        self.env.globals.update(subscriptions=subscriptions, feed=self._feed_module() is not None)
        self.diffs = _DiffCache()
        self.csrf = Csrf(csrf_secret)
        self.limiter = RateLimiter(limit=rate_limit)

    @contextmanager
    def archive(self, readonly: bool = True) -> Iterator[Archive]:
        try:
            archive = Archive(self.home, readonly=readonly)
        except ArchiveError as exc:
            raise HTTPException(503, str(exc)) from None
        try:
            yield archive
        finally:
            archive.close()

    def render(self, name: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status, headers=headers)

    @staticmethod
    def _feed_module() -> Any:
        try:
            from alerts import feeds
        except ImportError:
            return None
        return feeds if hasattr(feeds, "atom_feed") else None

    # -- pages ------------------------------------------------------------------------------------------

    def home_page(self, request: Request) -> Response:
        with self.archive() as archive:
            plans = archive.documents(kind="plan")
            counts = archive.counts()
            events = [event_json(archive, e) for e in archive.events_latest(limit=10)]
        return self.render("home.html", footprints=_footprint_table(plans), counts=counts, events=events)

    def footprint_page(self, request: Request) -> Response:
        code = request.path_params["code"][:40]
        with self.archive() as archive:
            documents = archive.documents(footprint=code)
            events = [event_json(archive, e) for e in archive.events_latest(footprint=code, limit=50)]
        info = _registry_footprint(code)
        if not documents and info is None:
            raise HTTPException(404, f"no footprint {code!r} in the registry or the archive")
        return self.render("footprint.html", code=code, info=info, documents=documents, events=events)

    @staticmethod
    def _document(archive: Archive, doc_id: int) -> tuple[dict, list[dict], list[dict]]:
        """A document with its versions and the URLs it lived at; 404 when there is none."""
        doc = archive.document(doc_id)
        if doc is None:
            raise HTTPException(404, f"no document {doc_id} in the archive")
        return doc, archive.versions_of(doc_id), archive.document_urls(doc_id)

    def document_page(self, request: Request) -> Response:
        doc_id = request.path_params["doc_id"]
        with self.archive() as archive:
            doc, versions, urls = self._document(archive, doc_id)
            events = [event_json(archive, e) for e in archive.events_latest(document_id=doc_id, include_all=True,
                                                                            limit=500)]
            sightings = archive.sightings_of(doc_id)
        withdrawn = doc["meta"].get("withdrawn_from") or {}
        return self.render("document.html", doc=doc, versions=versions, urls=urls, events=events,
                           sightings=sightings[-200:], sightings_total=len(sightings), withdrawn=withdrawn)

    def version_page(self, request: Request) -> Response:
        version_id = request.path_params["version_id"]
        with self.archive() as archive:
            version = archive.version(version_id)
            if version is None:
                raise HTTPException(404, f"no version {version_id} in the archive")
            siblings = [v["id"] for v in archive.versions_of(version["document_id"])]
            fetches = archive.fetches_of_version(version_id)
            blob = archive.blob_info(version["blob_sha256"]) if version["blob_sha256"] else None
            text = archive.version_text(version_id) or ""
            preservations = archive.preservations(version_ids=[version_id])
        index = siblings.index(version_id) if version_id in siblings else -1
        previous = siblings[index - 1] if index > 0 else None
        following = siblings[index + 1] if 0 <= index < len(siblings) - 1 else None
        return self.render("version.html", version=version, fetches=fetches, blob=blob, text=text,
                           preservations=preservations, previous=previous, following=following, number=index + 1, total=len(siblings))

    def version_raw(self, request: Request) -> Response:
        version_id = request.path_params["version_id"]
        with self.archive() as archive:
            version = archive.version(version_id)
            if version is None or not version["blob_sha256"]:
                raise HTTPException(404, f"no original bytes for version {version_id} in the archive")
            sha = version["blob_sha256"]
            info = archive.blob_info(sha) or {}
            first = archive.fetch(version["first_fetch_id"]) if version["first_fetch_id"] else None
            try:
                data = archive.blob(sha)
            except BlobError as exc:
                raise HTTPException(500, f"version {version_id}: {exc}") from None
        if sha256_of(data) != sha:  # the store checks too; a download is evidence, so check here as well
            raise HTTPException(500, f"version {version_id}: the stored bytes do not match their hash")
        content_type = _content_type(info.get("content_type") or (first or {}).get("content_type"))
        name = _download_name(version_id, (first or {}).get("final_url") or (first or {}).get("url"), content_type)
        return Response(data, media_type=None, headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Security-Policy": RAW_CSP,
            "X-Content-Type-Options": "nosniff",
            "ETag": f'"{sha}"',
            "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(sha)).decode()}:",
            "Cache-Control": "public, max-age=31536000, immutable",
        })

    def _change(self, archive: Archive, a: int, b: int) -> tuple[dict, dict, Any]:
        from .diff import diff_texts

        versions = []
        for vid in (a, b):
            version = archive.version(vid)
            if version is None:
                raise HTTPException(404, f"no version {vid} in the archive")
            versions.append(version)

        def compute() -> Any:
            return diff_texts(archive.version_text(a) or "", archive.version_text(b) or "")

        return versions[0], versions[1], self.diffs.get((a, b), compute)

    def diff_page(self, request: Request) -> Response:
        a, b = request.path_params["a"], request.path_params["b"]
        side = request.query_params.get("view") == "side"
        whole = request.query_params.get("context") == "all"
        with self.archive() as archive:
            before, after, change = self._change(archive, a, b)
        body = Markup(change.to_html(side_by_side=side, context=None if whole else 2, css=False))
        return self.render("diff.html", before=before, after=after, change=change, body=body, side=side, whole=whole,
                           figures=[f.to_json() for f in change.figures])

    def search_page(self, request: Request) -> Response:
        params = _search_params(request)
        rows: list[dict] = []
        if params["q"]:
            with self.archive() as archive:
                rows = archive.search_filtered(params["q"], limit=PAGE_SIZE + 1, offset=params["offset"],
                                               document_kind=params["kind"], footprint=params["footprint"],
                                               generation=params["generation"], seen_from=params["from"],
                                               seen_to=params["to"], marks=(SNIPPET_OPEN, SNIPPET_CLOSE))
        more = len(rows) > PAGE_SIZE
        query = {k: v for k, v in params.items() if v and k not in ("offset", "page")}
        next_url = "/search?" + urlencode({**query, "page": params["page"] + 1}) if more else None
        prev_url = "/search?" + urlencode({**query, "page": params["page"] - 1}) if params["page"] > 1 else None
        return self.render("search.html", params=params, rows=rows[:PAGE_SIZE], next_url=next_url,
                           prev_url=prev_url, generations=_generations())

    def events_page(self, request: Request) -> Response:
        filters = _event_filters(request)
        with self.archive() as archive:
            events = [event_json(archive, e) for e in archive.events_latest(**filters, limit=51)]
        query = {k: v for k, v in filters.items() if v not in (None, "", False) and k != "before_id"}
        if filters["include_all"]:
            query["all"] = "1"
        query.pop("include_all", None)
        next_url = ("/events?" + urlencode({**query, "before": events[49]["id"]})) if len(events) > 50 else None
        return self.render("events.html", events=events[:50], filters=filters, next_url=next_url,
                           generations=_generations(), kinds=_event_kinds())

    def feed(self, request: Request) -> Response:
        feeds = self._feed_module()
        if feeds is None:
            raise HTTPException(404, "feeds are not available in this install (alerts.feeds is missing)")
        with self.archive() as archive:
            body = feeds.atom_feed(archive, footprint=(request.query_params.get("footprint") or "")[:40] or None,
                                   kind=(request.query_params.get("kind") or "")[:40] or None,
                                   base_url=self._base_url(request))
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    def _base_url(self, request: Request) -> str:
        """Where links in feeds point: the configured base_url ([alerts] in config.toml), else this server."""
        try:
            from alerts.settings import DEFAULT_BASE_URL, AlertSettings

            configured = AlertSettings.from_home(self.home).base_url
        except Exception:  # no alerts package, or a config problem that `stp-tracker` reports elsewhere
            configured = None
            DEFAULT_BASE_URL = None
        if configured and configured != DEFAULT_BASE_URL:
            return configured.rstrip("/")
        return str(request.base_url).rstrip("/")

    # -- subscriptions (only with --subscriptions) ------------------------------------------------------------

    def _form(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        nonce, token = self.csrf.issue(request)
        response = self.render(template, status=status, csrf=token, **context)
        response.set_cookie(Csrf.COOKIE, nonce, max_age=Csrf.MAX_AGE, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response

    def _refuse(self, request: Request, form: Any) -> Response | None:
        if not self.subscriptions:
            raise HTTPException(404, "subscriptions are switched off: start the server with --subscriptions")
        client = request.client.host if request.client else "unknown"
        if not self.limiter.allow(client):
            return self.render("message.html", status=429, headers={"Retry-After": str(int(self.limiter.window))},
                               title="Too many requests", message="Too many requests from your address: "
                               "wait ten minutes and try again.")
        why = self.csrf.check(request, form.get("csrf"))
        if why:
            return self.render("message.html", status=403, title="Refused", message=why)
        return None

    async def subscribe(self, request: Request) -> Response:
        if not self.subscriptions:
            raise HTTPException(404, "subscriptions are switched off: start the server with --subscriptions")
        if request.method == "GET":
            return self._form(request, "subscribe.html", generations=_generations(), kinds=_event_kinds())
        form = await request.form(max_files=0, max_fields=20)
        refused = self._refuse(request, form)
        if refused is not None:
            return refused
        address = str(form.get("email") or "").strip()
        if not _EMAIL.match(address) or len(address) > 254:
            return self._form(request, "subscribe.html", status=400, error="Enter an email address like "
                              "name@example.org.", generations=_generations(), kinds=_event_kinds())
        from starlette.concurrency import run_in_threadpool

        result = await run_in_threadpool(self._do_subscribe, address, form)
        if isinstance(result, str):
            return self._form(request, "subscribe.html", status=400, error=result, generations=_generations(),
                              kinds=_event_kinds())
        return self.render("message.html", title="Check your email", message=(
            "If the address is right, a message is on its way: follow its link to confirm. Nothing else is "
            "sent until you do."))

    def _do_subscribe(self, address: str, form: Any) -> Any:
        from alerts.channels import AddressError
        from alerts.settings import AlertSettings
        from alerts.subscriptions import subscribe

        def values(name: str) -> list[str]:
            return [v for v in (str(x).strip() for x in form.getlist(name)) if v][:20]

        keywords = [k.strip() for k in str(form.get("keywords") or "").split(",") if k.strip()][:20]
        with self.archive(readonly=False) as archive:
            try:
                return subscribe(archive, AlertSettings.from_home(self.home), address, footprints=values("footprint"),
                                 kinds=values("kind"), generations=values("generation"), keywords=keywords,
                                 digest=str(form.get("digest") or "") or None)
            except (AddressError, ValueError) as exc:
                return str(exc)

    async def token_action(self, request: Request) -> Response:
        """/alerts/confirm/<token> and /alerts/unsubscribe/<token>: GET shows a button, only POST acts (mail
        scanners follow links; they must not confirm or cancel anything)."""
        action = request.path_params["action"]
        token = request.path_params["token"][:200]
        if action not in ("confirm", "unsubscribe"):
            raise HTTPException(404, f"no page /alerts/{action[:40]}")
        if not self.subscriptions:
            raise HTTPException(404, "subscriptions are switched off: start the server with --subscriptions")
        if request.method == "GET":
            return self._form(request, "token_action.html", action=action, token=token)
        form = await request.form(max_files=0, max_fields=5)
        refused = self._refuse(request, form)
        if refused is not None:
            return refused
        from starlette.concurrency import run_in_threadpool

        message = await run_in_threadpool(self._do_token_action, action, token)
        return self.render("message.html", title="Subscription", message=message)

    def _do_token_action(self, action: str, token: str) -> str:
        from alerts.channels import AddressError
        from alerts.subscriptions import confirm, unsubscribe

        with self.archive(readonly=False) as archive:
            try:
                if action == "confirm":
                    confirm(archive, token)
                    return "Your subscription is confirmed."
                unsubscribe(archive, token, allow_address=False)
                return "You are unsubscribed: nothing more will be sent."
            except AddressError as exc:
                return str(exc)

    # -- JSON API: the same shapes as the command line's --json -------------------------------------------------

    def api_documents(self, request: Request) -> Response:
        with self.archive() as archive:
            rows = archive.documents(kind=request.query_params.get("kind") or None,
                                     footprint=request.query_params.get("footprint") or None)
        return JSONResponse([document_json(r) for r in rows])

    def api_document(self, request: Request) -> Response:
        doc_id = request.path_params["doc_id"]
        with self.archive() as archive:
            doc, versions, urls = self._document(archive, doc_id)
        latest = max(urls, key=lambda u: u["last_seen_at"])["url"] if urls else None
        row = {**doc, "url": latest, "version_count": len(versions)}
        history = [version_json(doc_id, v) for v in versions]
        return JSONResponse({**document_json(row), "history": history, "urls": [
            {"source": u["source"], "url": u["url"], "official": bool(u["official"]), "first_seen": u["first_seen_at"],
             "last_seen": u["last_seen_at"]} for u in urls]})

    def api_history(self, request: Request) -> Response:
        doc_id = request.path_params["doc_id"]
        with self.archive() as archive:
            if archive.document(doc_id) is None:
                raise HTTPException(404, f"no document {doc_id} in the archive")
            return JSONResponse([version_json(doc_id, v) for v in archive.versions_of(doc_id)])

    def api_events(self, request: Request) -> Response:
        filters = _event_filters(request)
        limit = _int(request.query_params.get("limit"), 100, 1, 1000)
        with self.archive() as archive:
            return JSONResponse([event_json(archive, e) for e in archive.events_latest(**filters, limit=limit)])

    def api_search(self, request: Request) -> Response:
        params = _search_params(request)
        if not params["q"]:
            raise HTTPException(400, "give a query: /api/search?q=words")
        limit = _int(request.query_params.get("limit"), PAGE_SIZE, 1, 200)
        with self.archive() as archive:
            rows = archive.search_filtered(params["q"], limit=limit, offset=params["offset"],
                                           document_kind=params["kind"], footprint=params["footprint"],
                                           generation=params["generation"], seen_from=params["from"],
                                           seen_to=params["to"])
        return JSONResponse(rows)

    def api_diff(self, request: Request) -> Response:
        a, b = request.path_params["a"], request.path_params["b"]
        with self.archive() as archive:
            _, _, change = self._change(archive, a, b)
        return JSONResponse({"before": a, "after": b, **change.to_json()})

    def api_version(self, request: Request) -> Response:
        version_id = request.path_params["version_id"]
        with self.archive() as archive:
            version = archive.version(version_id)
            if version is None:
                raise HTTPException(404, f"no version {version_id} in the archive")
            fetches = archive.fetches_of_version(version_id)
        return JSONResponse({
            "version_id": version["id"], "document_id": version["document_id"], "title": version["title"],
            "text_sha256": version["text_sha256"], "blob_sha256": version["blob_sha256"],
            "first_seen": version["first_seen_at"], "last_seen": version["last_seen_at"],
            "fetches": [{"id": f["id"], "url": f["url"], "source": f["source"], "official": bool(f["official"]),
                         "fetched_at": f["fetched_at"], "status": f["status"], "not_modified": bool(f["not_modified"])}
                        for f in fetches],
            "text_url": f"/versions/{version['id']}", "raw_url": f"/versions/{version['id']}/raw",
        })

    # -- static and errors ----------------------------------------------------------------------------------

    def stylesheet(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name == "diff.css":
            from .diff import DIFF_CSS

            css = DIFF_CSS
        elif name == "style.css":
            css = (TEMPLATES / "style.css").read_text(encoding="utf-8")
        else:
            raise HTTPException(404, f"no stylesheet {name!r}")
        return Response(css, media_type="text/css; charset=utf-8", headers={"Cache-Control": "public, max-age=3600"})

    async def error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error: see the server's log"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": detail, "status": status}, status_code=status)
        return self.render("message.html", status=status, title=f"Error {status}", message=detail)

    def routes(self) -> list[Route]:
        return [
            Route("/", self.home_page),
            Route("/footprints/{code}", self.footprint_page),
            Route("/documents/{doc_id:id}", self.document_page),
            Route("/versions/{version_id:id}", self.version_page),
            Route("/versions/{version_id:id}/raw", self.version_raw),
            Route("/diff/{a:id}/{b:id}", self.diff_page),
            Route("/search", self.search_page),
            Route("/events", self.events_page),
            Route("/feed.atom", self.feed),
            Route("/subscribe", self.subscribe, methods=["GET", "POST"]),
            Route("/alerts/{action:str}/{token:str}", self.token_action, methods=["GET", "POST"]),
            Route("/api/documents", self.api_documents),
            Route("/api/documents/{doc_id:id}", self.api_document),
            Route("/api/documents/{doc_id:id}/history", self.api_history),
            Route("/api/versions/{version_id:id}", self.api_version),
            Route("/api/events", self.api_events),
            Route("/api/search", self.api_search),
            Route("/api/diff/{a:id}/{b:id}", self.api_diff),
            Route("/static/{name:str}", self.stylesheet),
            Route("/favicon.ico", lambda request: Response(status_code=204)),
        ]


def create_app(home: str | Path, *, subscriptions: bool = False, rate_limit: int = 5,
               csrf_secret: bytes | None = None) -> Any:
    """The ASGI app over the archive in `home` (read-only; with `subscriptions`, the email subscribe form)."""
    web = WebApp(home, subscriptions=subscriptions, rate_limit=rate_limit, csrf_secret=csrf_secret)
    app = Starlette(routes=web.routes(), exception_handlers={HTTPException: web.error, Exception: web.error})
    app.state.web = web
    return SecurityHeaders(app)


def serve(home: str | Path, host: str = "127.0.0.1", port: int = 8000, *, subscriptions: bool = False) -> None:
    """Run the web app with uvicorn until interrupted."""
    import uvicorn

    if not (Path(home) / "archive.db").exists():
        raise ArchiveError(f"no archive at {Path(home) / 'archive.db'}: run `stp-tracker crawl` first")
    uvicorn.run(create_app(home, subscriptions=subscriptions), host=host, port=port, log_level="info",
                proxy_headers=False, server_header=False)


# -- page data ---------------------------------------------------------------------------------------------


def _generations() -> tuple[str, ...]:
    from .events import GENERATIONS

    return GENERATIONS


def _event_kinds() -> tuple[str, ...]:
    from .events import KINDS

    return KINDS


def _registry_footprint(code: str) -> Any:
    try:
        from crawler.registry import footprints
    except ImportError:
        return None
    return footprints().get(code)


def _footprint_table(plans: list[dict]) -> list[dict[str, Any]]:
    """One row per footprint (every one in the registry, plus any other code the archive has), plans by generation."""
    try:
        from crawler.registry import footprints

        known = footprints()
    except ImportError:
        known = {}
    rows: dict[str, dict[str, Any]] = {
        code: {"code": code, "name": fp.name, "plans": {}} for code, fp in known.items()
    }
    for plan in plans:
        code = plan["footprint"] or "unknown"
        row = rows.setdefault(code, {"code": code, "name": footprint_name(code) or "", "plans": {}})
        row["plans"].setdefault(plan["generation"] or "generation unknown", []).append(plan)
    return sorted(rows.values(), key=lambda r: (not r["plans"], r["name"] or r["code"]))


def _search_params(request: Request) -> dict[str, Any]:
    q = request.query_params
    page = _int(q.get("page"), 1, 1, 500)
    query = (q.get("q") or "").strip()
    if len(query) > MAX_QUERY_CHARS:
        raise HTTPException(400, f"the query is longer than {MAX_QUERY_CHARS} characters: shorten it")
    return {
        "q": query, "page": page, "offset": (page - 1) * PAGE_SIZE,
        "kind": (q.get("kind") or "")[:40] or None, "footprint": (q.get("footprint") or "")[:40] or None,
        "generation": (q.get("generation") or "")[:60] or None,
        "from": _date(q.get("from"), "from"), "to": _date(q.get("to"), "to"),
    }


def _event_filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    return {
        "kind": (q.get("kind") or "")[:40] or None, "footprint": (q.get("footprint") or "")[:40] or None,
        "generation": (q.get("generation") or "")[:60] or None,
        "document_id": _int(q.get("document")), "since": _date(q.get("since"), "since"),
        "until": _date(q.get("until"), "until"), "include_all": q.get("all") in ("1", "true", "yes", "on"),
        "before_id": _int(q.get("before")),
    }
