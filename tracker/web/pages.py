"""The HTML pages: home, footprint, document, version, diff, search, events, feed."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from storage import EVENT_KINDS, Archive, BlobError, event_json, sha256_of
from tracker.web import life, reading
from tracker.web.params import (
    PAGE_SIZE,
    SNIPPET_CLOSE,
    SNIPPET_OPEN,
    TEMPLATES,
    _event_filters,
    _event_kinds,
    _footprint,
    _footprint_table,
    _generations,
    _int,
    _one_of,
    _registry_footprint,
    _search_params,
    footprint_choices,
    group_by_document,
)
from tracker.web.security import RAW_CSP, _content_type, _download_name


class PagesMixin:
    """The WebApp's pages handlers (see `tracker.web.app.WebApp`)."""

    def home_page(self, request: Request) -> Response:
        with self.archive() as archive:
            plans = archive.documents(kind="plan")
            counts = archive.counts()
            events = [event_json(archive, e) for e in archive.events_latest(limit=10)]
        return self.render("home.html", footprints=_footprint_table(plans), counts=counts, events=events)

    def footprint_page(self, request: Request) -> Response:
        code = request.path_params["code"][:200]
        if _registry_footprint(code) is None:  # /footprints/Sheffield: the footprint of that name, under its code
            from starlette.responses import RedirectResponse

            from crawler.registry import find_footprint

            named = find_footprint(code)
            if named is not None:
                return RedirectResponse(f"/footprints/{named.code}", status_code=302)
        with self.archive() as archive:
            documents = archive.documents(footprint=code)
            events = [event_json(archive, e) for e in archive.events_latest(footprint=code, limit=50)]
            plan_events = [event_json(archive, e) for e in archive.events_latest(footprint=code, include_all=True,
                                                                                 limit=1000)]
        info = _registry_footprint(code)
        if not documents and info is None:
            raise HTTPException(404, f"no footprint {code!r} in the registry or the archive")
        by_doc: dict[int, list[dict]] = {}
        for e in plan_events:
            by_doc.setdefault(e["document"]["id"], []).append(e)
        generations: dict[str, list[dict]] = {}
        for d in documents:
            if d["kind"] != "plan":
                continue
            generations.setdefault(d["generation"] or "generation unknown", []).append(
                {"id": d["id"], "title": d["title"] or f"document {d['id']}", "events": life.timeline(by_doc.get(d["id"], []))})
        span = life.event_span([p for plans in generations.values() for p in plans])
        timelines = [(gen, plans, life.timeline_chart(plans, span=span)) for gen, plans in sorted(generations.items())]
        return self.render("footprint.html", code=code, info=info, documents=documents, events=events,
                           timelines=timelines, colours=life.KIND_COLOURS)

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
            plan_state = life.state(doc, events)
            related = {d["id"]: d for d in (archive.document(r["id"]) for r in plan_state["replaces"]) if d}
            if plan_state["replaced_by"]:
                newer = archive.document(plan_state["replaced_by"])
                if newer:
                    related[newer["id"]] = newer
        withdrawn = doc["meta"].get("withdrawn_from") or {}
        series = life.figure_series(events, versions)
        return self.render("document.html", doc=doc, versions=versions, urls=urls, events=events,
                           sightings=sightings[-200:], sightings_total=len(sightings), withdrawn=withdrawn,
                           timeline=life.timeline(events), state=plan_state, related=related,
                           roles=life.version_roles(events), charts=[(s, life.figure_chart(s)) for s in series],
                           calendar=life.capture_calendar(sightings), colours=life.KIND_COLOURS)

    def compare(self, request: Request) -> Response:
        """The compare form on a document's page (two radio buttons, no script) lands here: go to the diff."""
        from starlette.responses import RedirectResponse

        a = _int(request.query_params.get("a"), None, lo=1)
        b = _int(request.query_params.get("b"), None, lo=1)
        if a is None or b is None:
            raise HTTPException(400, "pick two versions to compare (one in each column)")
        if a == b:
            raise HTTPException(400, "pick two different versions to compare")
        older, newer = sorted((a, b))
        return RedirectResponse(f"/diff/{older}/{newer}", status_code=303)

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
            structure = archive.version_structure(version_id)
        index = siblings.index(version_id) if version_id in siblings else -1
        previous = siblings[index - 1] if index > 0 else None
        following = siblings[index + 1] if 0 <= index < len(siblings) - 1 else None
        with self.archive() as archive:
            roles = life.version_roles([event_json(archive, e) for e in archive.events_latest(
                document_id=version["document_id"], include_all=True, limit=500)])
        base = self._base_url()[0]  # the citable address: configured, else this server (never the Host header)
        cite_url = f"{base}/versions/{version_id}"
        return self.render("version.html", version=version, fetches=fetches, blob=blob, text=text,
                           preservations=preservations, previous=previous, following=following, number=index + 1,
                           total=len(siblings),
                           blocks=reading.structured_blocks(structure) if structure else reading.blocks(
                               text, (blob or {}).get("page_offsets")), structured=bool(structure),
                           cite_url=cite_url, roles=roles.get(version_id, []), plain=request.query_params.get("view") == "text")

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
        from tracker.meaning import diff_texts

        versions = []
        for vid in (a, b):
            version = archive.version(vid)
            if version is None:
                raise HTTPException(404, f"no version {vid} in the archive")
            versions.append(version)

        # Read here (the connection is this thread's); the diff itself runs in the diff pool.
        texts = (archive.version_text(a) or "", archive.version_text(b) or "")
        structures = (archive.version_structure(a), archive.version_structure(b))

        def compute() -> Any:
            return diff_texts(*texts, before_structure=structures[0], after_structure=structures[1])

        return versions[0], versions[1], self.diffs.get((a, b), compute)

    def diff_page(self, request: Request) -> Response:
        a, b = request.path_params["a"], request.path_params["b"]
        side = request.query_params.get("view") == "side"
        whole = request.query_params.get("context") == "all"
        with self.archive() as archive:
            before, after, change = self._change(archive, a, b)
            tables = reading.table_diffs(archive.version_structure(a), archive.version_structure(b))
        other_document = before["document_id"] != after["document_id"]
        if other_document:  # figures of two different documents are not before and after of one another
            import dataclasses

            change = dataclasses.replace(change, figures=[])
        body = Markup(change.to_html(side_by_side=side, context=None if whole else 2, css=False))
        return self.render("diff.html", before=before, after=after, change=change, body=body, side=side, whole=whole,
                           figures=[f.to_json() for f in change.figures], other_document=other_document,
                           tables=[] if other_document else tables)

    def search_page(self, request: Request) -> Response:
        params = _search_params(request)
        rows: list[dict] = []
        if params["q"]:
            rows = self.bounded_search(params, limit=PAGE_SIZE + 1, marks=(SNIPPET_OPEN, SNIPPET_CLOSE))
        more = len(rows) > PAGE_SIZE
        query = {k: v for k, v in params.items() if v and k not in ("offset", "page")}
        next_url = "/search?" + urlencode({**query, "page": params["page"] + 1}) if more else None
        prev_url = "/search?" + urlencode({**query, "page": params["page"] - 1}) if params["page"] > 1 else None
        return self.render("search.html", params=params, groups=group_by_document(rows[:PAGE_SIZE]), hits=len(rows[:PAGE_SIZE]),
                           next_url=next_url, prev_url=prev_url, generations=_generations(),
                           footprints=footprint_choices())

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
        from alerts import atom_feed

        base_url, configured = self._base_url()
        with self.archive() as archive:
            body = atom_feed(archive, footprint=_footprint(request.query_params.get("footprint")),
                             kind=_one_of(request.query_params.get("kind"), "event kind", EVENT_KINDS),
                             base_url=base_url)
        # Browsers that still apply XSLT show the feed as a page; the others have /feed (an HTML page beside it).
        if body.startswith(b"<?xml"):
            end = body.index(b"?>") + 2
            body = body[:end] + b'\n<?xml-stylesheet type="text/xsl" href="/static/feed.xsl"?>' + body[end:]
        headers = {} if configured else {"X-STP-Base-URL": f"not configured: links use {base_url}; "
                                                           "set base_url in [alerts] of config.toml"}
        return Response(body, media_type="application/atom+xml; charset=utf-8", headers=headers)

    def feed_page(self, request: Request) -> Response:
        """/feed: the Atom feed as a page a person can read, with the address to give a feed reader."""
        footprint = _footprint(request.query_params.get("footprint"))
        kind = _one_of(request.query_params.get("kind"), "event kind", EVENT_KINDS)
        with self.archive() as archive:
            events = [event_json(archive, e) for e in archive.events_latest(footprint=footprint, kind=kind, limit=50)]
        query = urlencode({k: v for k, v in (("footprint", footprint), ("kind", kind)) if v})
        feed_url = f"{self._base_url()[0]}/feed.atom" + (f"?{query}" if query else "")
        return self.render("feed.html", events=events, feed_url=feed_url, footprint=footprint, kind=kind,
                           footprints=footprint_choices(), kinds=_event_kinds())

    def _base_url(self) -> tuple[str, bool]:
        """Where links in feeds point, and whether the operator said so: [alerts] base_url in config.toml, else
        the address this server was started on (never the request's Host header, which any client can set)."""
        from alerts import DEFAULT_BASE_URL

        from tracker import alert_settings

        configured = alert_settings(self.home).base_url  # a bad [alerts] table: an error page saying so
        if configured and configured != DEFAULT_BASE_URL:
            return configured.rstrip("/"), True
        return (self.server_url or DEFAULT_BASE_URL).rstrip("/"), False

    def stylesheet(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name == "diff.css":
            from tracker.meaning import DIFF_CSS

            css = DIFF_CSS
        elif name == "style.css":
            css = (TEMPLATES / "style.css").read_text(encoding="utf-8")
        elif name == "feed.xsl":
            return Response((TEMPLATES / "feed.xsl").read_bytes(), media_type="text/xsl; charset=utf-8",
                            headers={"Cache-Control": "public, max-age=3600"})
        else:
            raise HTTPException(404, f"no stylesheet {name!r}")
        return Response(css, media_type="text/css; charset=utf-8", headers={"Cache-Control": "public, max-age=3600"})
