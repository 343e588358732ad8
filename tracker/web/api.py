"""The JSON API under /api/: documents, history, versions, events, search, diffs."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from storage import DOCUMENT_KINDS, event_json
from tracker.research import document_json, version_json
from tracker.web.params import (
    PAGE_SIZE,
    _event_filters,
    _footprint,
    _int,
    _one_of,
    _search_params,
)


class ApiMixin:
    """The WebApp's api handlers (see `tracker.web.app.WebApp`)."""

    def api_documents(self, request: Request) -> Response:
        with self.archive() as archive:
            rows = archive.documents(kind=_one_of(request.query_params.get("kind"), "document kind", DOCUMENT_KINDS),
                                     footprint=_footprint(request.query_params.get("footprint")))
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
        return JSONResponse(self.bounded_search(params, limit=limit))

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
