"""The researchers' web app (`stp-tracker serve`): the archive as server-rendered pages and a JSON API, read-only."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.convertors import register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from storage import Archive, ArchiveError
from tracker.meaning import footprint_name
from tracker.web import life
from tracker.web.api import ApiMixin
from tracker.web.pages import PagesMixin
from tracker.web.params import TEMPLATES, _IdConvertor, snippet_html
from tracker.web.security import (
    BoundedPool,
    Csrf,
    RateLimiter,
    SecurityHeaders,
    _DiffCache,
    safe_href,
)
from tracker.web.subscribe import SubscribeMixin

register_url_convertor("id", _IdConvertor())
SEARCH_SECONDS = 5.0  # SQLite time one web search may take


# -- the app ------------------------------------------------------------------------------------------------


class WebApp(PagesMixin, SubscribeMixin, ApiMixin):
    """Routes over one data home. Each request opens the archive read-only in its own thread."""

    def __init__(self, home: str | Path, *, subscriptions: bool = False, rate_limit: int = 5,
                 csrf_secret: bytes | None = None, server_url: str | None = None,
                 trusted_proxies: Iterable[str] = (), address_limit: int = 3):
        self.home = Path(home)
        self.server_url = server_url  # where this server listens: feed links when [alerts] base_url is unset
        self.subscriptions = subscriptions
        self.env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(safe_href=safe_href, snippet=snippet_html, day=lambda v: (v or "")[:10],
                                in_words=life.in_words,
                                footprint_name=footprint_name)
        self.env.globals.update(subscriptions=subscriptions, feed=True)
        self.diffs = _DiffCache()
        self.searches = BoundedPool("search", "with other searches", workers=2, queued=4, wait=SEARCH_SECONDS + 5)
        self.csrf = Csrf(csrf_secret)
        self.limiter = RateLimiter(limit=rate_limit)  # posts per client (see trusted_proxies)
        self.address_limiter = RateLimiter(limit=address_limit, window=24 * 3600.0)  # confirmations per address
        self.trusted_proxies = frozenset(trusted_proxies)  # reverse proxies whose X-Forwarded-For is believed

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

    def bounded_search(self, params: dict[str, Any], **options: Any) -> list[dict[str, Any]]:
        """A search in the search pool, within the query cap and SEARCH_SECONDS of SQLite time: 400 for a query
        too complex or not searchable, 503 when the time ran out or the pool is full; never a 500."""
        from storage import SearchRefused, SearchTimeout, bounded_search

        def run() -> list[dict[str, Any]]:
            with self.archive() as archive:  # opened in the pool's thread, which uses the connection
                return bounded_search(archive, params["q"], seconds=SEARCH_SECONDS, offset=params["offset"],
                                      document_kind=params["kind"], footprint=params["footprint"],
                                      generation=params["generation"], seen_from=params["from"],
                                      seen_to=params["to"], **options)

        try:
            return self.searches.run(run)
        except SearchRefused as exc:
            raise HTTPException(400, str(exc)) from None
        except SearchTimeout as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "30"}) from None

    def render(self, name: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status, headers=headers)


    # -- JSON API: the same shapes as the command line's --json -------------------------------------------------


    # -- static and errors ----------------------------------------------------------------------------------


    async def error(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, ArchiveError):  # e.g. locked by a writer: the archive is there, just not now
            status, detail = 503, str(exc)
        else:
            status = exc.status_code if isinstance(exc, HTTPException) else 500
            detail = exc.detail if isinstance(exc, HTTPException) else "internal error: see the server's log"
        headers = getattr(exc, "headers", None) if isinstance(exc, HTTPException) else None  # Retry-After on a 503
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": detail, "status": status}, status_code=status, headers=headers)
        return self.render("message.html", status=status, title=f"Error {status}", message=detail, headers=headers)

    def routes(self) -> list[Route]:
        return [
            Route("/", self.home_page),
            Route("/footprints/{code}", self.footprint_page),
            Route("/documents/{doc_id:id}", self.document_page),
            Route("/versions/{version_id:id}", self.version_page),
            Route("/versions/{version_id:id}/raw", self.version_raw),
            Route("/diff/{a:id}/{b:id}", self.diff_page),
            Route("/compare", self.compare),
            Route("/search", self.search_page),
            Route("/events", self.events_page),
            Route("/feed.atom", self.feed),
            Route("/feed", self.feed_page),
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
               csrf_secret: bytes | None = None, server_url: str | None = None,
               trusted_proxies: Iterable[str] = (), address_limit: int = 3) -> Any:
    """The ASGI app over the archive in `home` (read-only; with `subscriptions`, the email subscribe form).
    `server_url`: the address it is served on, for feed links when [alerts] base_url is not configured.
    `trusted_proxies`: addresses of reverse proxies in front of it, whose X-Forwarded-For names the client."""
    web = WebApp(home, subscriptions=subscriptions, rate_limit=rate_limit, csrf_secret=csrf_secret,
                 server_url=server_url, trusted_proxies=trusted_proxies, address_limit=address_limit)
    app = Starlette(routes=web.routes(),
                    exception_handlers={HTTPException: web.error, ArchiveError: web.error, Exception: web.error})
    app.state.web = web
    return SecurityHeaders(app)


def serve(home: str | Path, host: str = "127.0.0.1", port: int = 8000, *, subscriptions: bool = False,
          trusted_proxies: Iterable[str] = ()) -> None:
    """Run the web app with uvicorn until interrupted."""
    import uvicorn

    if not (Path(home) / "archive.db").exists():
        raise ArchiveError(f"no archive at {Path(home) / 'archive.db'}: run `stp-tracker crawl` first")
    shown = f"[{host}]" if ":" in host else host
    uvicorn.run(create_app(home, subscriptions=subscriptions, server_url=f"http://{shown}:{port}",
                           trusted_proxies=trusted_proxies), host=host,
                port=port, log_level="info",
                proxy_headers=False, server_header=False)


# -- page data ---------------------------------------------------------------------------------------------


