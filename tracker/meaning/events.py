"""The rules that turn a crawl's sightings into events: leaked, published, revised, replaced, withdrawn, reinstated."""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

from storage import ALERT_KINDS, EVENT_KINDS, GENERATIONS, Archive, Event

from tracker.meaning.classify import footprint_name

log = logging.getLogger("stp_tracker.events")

KINDS = EVENT_KINDS  # the one list of each lives beside the Event model (storage.models)

# A status that says a URL no longer serves a document. Anything else without a body (timeouts, 5xx,
# 403 bot blocks, 429) is transient and never counts towards a withdrawal.
GONE_STATUSES = frozenset({404, 410})


def _where_served(fetch: dict) -> str:
    """The URL that actually served a sighting: where its redirects ended."""
    return fetch.get("final_url") or fetch["url"]


def redirected_away(fetch: dict) -> bool:
    """A URL that now redirects to another site, or to a home page: the content moved (or the site did), which is
    no evidence that a plan was withdrawn."""
    final = fetch.get("final_url") or fetch["url"]
    if final == fetch["url"]:
        return False
    try:
        old, new = urlsplit(fetch["url"]), urlsplit(final)
    except ValueError:
        return False
    return old.netloc.lower() != new.netloc.lower() or (new.path in ("", "/") and not new.query)


def withdraw_confirmations() -> int:
    """How many consecutive crawls must find a document gone before it is called withdrawn (default 2)."""
    try:
        return max(1, int(os.environ.get("STP_TRACKER_WITHDRAW_CONFIRMATIONS", "2")))
    except ValueError:
        return 2


def decide_events(archive: Archive, crawl_id: int) -> list[int]:
    """Decide and record the events of one finished crawl, exactly once (in one transaction with the mark)."""
    with archive.transaction():
        crawl = archive.crawl(crawl_id)
        if crawl is None or crawl["analysed_at"]:
            return []
        events = _Decider(archive, crawl_id).run()
        ids = [archive.record_event(event) for event in events]
        archive.mark_crawl_analysed(crawl_id)
    for event in events:
        log.info("event %s %s document=%s: %s", event.id, event.kind, event.document_id, event.summary)
    return ids


class _Decider:
    def __init__(self, archive: Archive, crawl_id: int):
        self.archive = archive
        self.crawl_id = crawl_id
        self.sources = {s["name"]: s for s in archive.sources()}
        self.fetches = archive.fetches(crawl_id=crawl_id)
        self.events: list[Event] = []
        # A crawl made of web-archive captures (stp-tracker backfill): its events are historical (never alerted),
        # dated at the capture, and never a baseline (the researcher wants to see when a plan appeared).
        self.historical = archive.is_backfill_crawl(crawl_id)
        self.captured_at = archive.crawl_last_fetched_at(crawl_id) if self.historical else None
        self.captures_from = ((archive.crawl(crawl_id) or {}).get("started_at") or "") if self.historical else ""

    # -- helpers ------------------------------------------------------------------------------------

    def official(self, source: str) -> bool:
        return bool((self.sources.get(source) or {}).get("official"))

    def baseline(self, source: str) -> bool:
        """A source's first successful crawl records what exists without raising alerts."""
        if self.historical:
            return False
        first = (self.sources.get(source) or {}).get("first_crawl_id")
        return first is None or first == self.crawl_id

    def event(self, kind: str, doc: dict, summary: str, *, quiet: bool = False, **kw: Any) -> Event:
        event = Event(kind=kind, document_id=doc["id"], summary=summary, crawl_id=self.crawl_id,
                      footprint=doc.get("footprint"), generation=doc.get("generation"),
                      alert=kind in ALERT_KINDS and not quiet, **kw)
        if self.historical:
            event.historical = True
            event.detected_at = self.captured_at or event.detected_at
        self.events.append(event)
        return event

    def where(self, doc: dict) -> str:
        name = footprint_name(doc.get("footprint"))
        return f" for {name}" if name else (f" for {doc['footprint']}" if doc.get("footprint") else "")

    def version_draft(self, version_id: int | None) -> bool:
        if version_id is None:
            return False
        from tracker.meaning.classify import classify

        version = self.archive.version(version_id)
        blob = self.archive.blob_info(version["blob_sha256"]) if version and version["blob_sha256"] else None
        text = self.archive.version_text(version_id) or ""
        # This version's own title (its file's metadata), not the document's: that came from its first sighting.
        return bool(classify(text, title=(blob or {}).get("title")).draft)

    # -- the run --------------------------------------------------------------------------------------

    def run(self) -> list[Event]:
        by_document: dict[int, list[dict]] = defaultdict(list)
        for fetch in self.fetches:
            if fetch["document_id"] is not None and fetch["version_id"] is not None:
                by_document[fetch["document_id"]].append(fetch)
        for document_id, sightings in sorted(by_document.items()):
            doc = self.archive.document(document_id)
            if doc is not None:
                self.sighted(doc, sightings)
        self.withdrawals(set(by_document))
        return self.events

    def prior_sightings(self, document_id: int) -> list[dict]:
        """What was seen of the document before this crawl, oldest first (one row per source, URL and version:
        its latest fetch; not every re-fetch of its history). For history backfilled after live crawls,
        "before" is capture time: a later live sighting is not the past of a 2016 capture."""
        return self.archive.prior_sightings(document_id, self.crawl_id,
                                            captured_before=self.captures_from if self.historical else None)

    def sighted(self, doc: dict, sightings: list[dict]) -> None:
        meta = dict(doc["meta"])
        relevant = doc["kind"] in ("plan", "page")
        official_now = [s for s in sightings if self.official(s["source"])]
        chosen = (official_now or sightings)[-1]
        version_now = chosen["version_id"]
        prior = self.prior_sightings(doc["id"])
        base = {"url": chosen["final_url"] or chosen["url"], "source": chosen["source"],
                "official": self.official(chosen["source"])}

        if not prior:
            self.first_sight(doc, meta, sightings, official_now, version_now, base, relevant)
        else:
            announced = meta.get("announced")
            if (relevant and doc["kind"] == "plan" and announced in ("leaked", "baseline-unofficial")
                    and official_now and not self.version_draft(version_now)):
                self.publication(doc, meta, version_now, base, leaked_version=meta.get("leaked_version"))
            elif relevant:
                self.revision_check(doc, sightings, prior)
            self.moves_and_returns(doc, meta, sightings, prior, relevant)
        self.archive.update_document(doc["id"], meta=meta,
                                     status="withdrawn" if self.gone_everywhere(meta, doc["id"]) else "live")

    def first_sight(self, doc, meta, sightings, official_now, version_now, base, relevant) -> None:
        if not relevant:
            return
        if all(self.baseline(s["source"]) for s in sightings):
            meta["announced"] = "baseline-official" if official_now else "baseline-unofficial"
            if not official_now:
                meta["leaked_version"] = version_now
            self.event("baseline", doc, f"Already there when {base['source']} was first crawled: “{doc['title']}”.",
                       version_after=version_now, quiet=True, **base)
            return
        if doc["kind"] == "page":
            meta["announced"] = "published"
            self.event("published", doc, f"Now watched: “{doc['title']}” on {base['source']}.",
                       version_after=version_now, **base)
            return
        draft = doc["draft"] or self.version_draft(version_now)
        if not official_now or draft:
            meta["announced"] = "leaked"
            meta["leaked_version"] = version_now
            why = "marked draft or confidential" if draft else "not an official NHS publisher"
            where = "an official site" if official_now else base["source"]
            self.event("leaked", doc,
                       f"Plan leaked: “{doc['title']}”{self.where(doc)} first seen on {where} ({why}).",
                       version_after=version_now, **base)
            return
        self.publication(doc, meta, version_now, base, leaked_version=None)

    def publication(self, doc, meta, version_now, base, leaked_version) -> None:
        """`published`, or `replaced` when it supersedes an earlier generation's plan for the footprint."""
        meta["announced"] = "published"
        meta["published_version"] = version_now
        self.official_title(doc, version_now)
        changes: dict[str, Any] = {}
        after_leak = ""
        if leaked_version and leaked_version != version_now:
            change = self.compare(leaked_version, version_now)
            changes = change
            leaked = self.archive.version(leaked_version)
            after_leak = (f" A draft was first seen on {leaked['first_seen_at'][:10]}; published differs from it: "
                          f"{change.get('summary') or 'no meaningful difference'}")
        elif leaked_version:
            after_leak = " It is identical to the draft seen earlier."
        superseded = self.superseded_plan(doc)
        if superseded is not None:
            old_meta = dict(superseded["meta"])
            old_meta["replaced_by"] = doc["id"]
            self.archive.update_document(superseded["id"], meta=old_meta)
            changes = {**changes, "replaces": {"id": superseded["id"], "title": superseded["title"],
                                               "generation": superseded["generation"]}}
            self.event("replaced", doc,
                       f"“{doc['title']}” ({doc['generation']}) replaces “{superseded['title']}” "
                       f"({superseded['generation']}){self.where(doc)}.{after_leak}",
                       version_before=leaked_version, version_after=version_now, changes=changes, **base)
            return
        self.event("published", doc,
                   f"Published: “{doc['title']}”{self.where(doc)} on {base['source']}.{after_leak}",
                   version_before=leaked_version, version_after=version_now, changes=changes, **base)

    def official_title(self, doc: dict, version_id: int | None) -> None:
        """The official copy's own title (when a person wrote it) names the plan from now on, not the leak's."""
        from tracker.meaning.titles import is_artefact_title

        version = self.archive.version(version_id) if version_id else None
        blob = self.archive.blob_info(version["blob_sha256"]) if version and version["blob_sha256"] else None
        title = ((blob or {}).get("title") or "").strip()
        if title and not is_artefact_title(title) and title != doc.get("title"):
            self.archive.update_document(doc["id"], title=title[:300])
            doc["title"] = title[:300]

    def superseded_plan(self, doc: dict) -> dict | None:
        generation = doc.get("generation")
        if generation not in GENERATIONS or not doc.get("footprint"):
            return None
        rank = GENERATIONS.index(generation)
        best = None
        for other in self.archive.documents(kind="plan", footprint=doc["footprint"]):
            if other["id"] == doc["id"] or other["generation"] not in GENERATIONS:
                continue
            if GENERATIONS.index(other["generation"]) >= rank or other["meta"].get("replaced_by"):
                continue
            if other["meta"].get("announced") not in ("published", "baseline-official"):
                continue
            if best is None or GENERATIONS.index(other["generation"]) > GENERATIONS.index(best["generation"]):
                best = other
        return best

    def compare(self, before: int, after: int) -> dict[str, Any]:
        from tracker.meaning.diff import diff_texts

        change = diff_texts(self.archive.version_text(before) or "", self.archive.version_text(after) or "",
                            before_structure=self.archive.version_structure(before),
                            after_structure=self.archive.version_structure(after))
        data = change.to_json()
        data.pop("ops", None)
        data["significant"] = _significant(change)
        return data

    def revision_check(self, doc: dict, sightings: list[dict], prior: list[dict]) -> None:
        """A revision is judged per source: what this source serves now against what it served before.
        An official and a council copy may differ for months; that alone is not a change. A version the source
        served before (A -> B -> A) is a change back; a version new to the archive is a change wherever seen."""
        last_prior: dict[str, dict] = {}
        for sighting in prior:
            last_prior[sighting["source"]] = sighting
        ordered = sorted({s["source"] for s in sightings}, key=lambda name: (not self.official(name), name))
        for source in ordered:
            now = [s for s in sightings if s["source"] == source][-1]
            version = self.archive.version(now["version_id"])
            is_new = bool(version and version["first_crawl_id"] == self.crawl_id)
            before = last_prior.get(source)
            if before is None:
                if not is_new:
                    continue  # a known text at a new place: a copy, not a change
                before = prior[-1]
            if before["version_id"] == now["version_id"]:
                continue
            served_here_before = any(p["source"] == source and p["version_id"] == now["version_id"] for p in prior)
            if is_new or served_here_before:
                base = {"url": now["final_url"] or now["url"], "source": source, "official": self.official(source)}
                self.revision(doc, before["version_id"], now["version_id"], base)
                return

    def revision(self, doc, version_before, version_now, base) -> None:
        from tracker.meaning.diff import diff_texts

        change = diff_texts(self.archive.version_text(version_before) or "",
                            self.archive.version_text(version_now) or "",
                            before_structure=self.archive.version_structure(version_before),
                            after_structure=self.archive.version_structure(version_now))
        if not _significant(change):
            log.info("document %s: new text, not a meaningful change (%s)", doc["id"], change.summary)
            return
        data = change.to_json()
        data.pop("ops", None)
        now = self.archive.version(version_now)
        back = ""
        if now and now["first_crawl_id"] is not None and now["first_crawl_id"] < self.crawl_id:
            back = f"Changed back to the text first seen on {now['first_seen_at'][:10]}. "
            data["reverted"] = True
        self.event("revised", doc, f"Revised: “{doc['title']}”{self.where(doc)}. {back}{change.summary}",
                   version_before=version_before, version_after=version_now, changes=data, **base)

    def moves_and_returns(self, doc, meta, sightings, prior, relevant: bool) -> None:
        withdrawn = dict(meta.get("withdrawn_from") or {})
        missing = dict(meta.get("missing") or {})
        prior_urls = {(s["source"], _where_served(s)) for s in prior}
        for source in sorted({s["source"] for s in sightings}):
            missing.pop(source, None)
            here = [s for s in sightings if s["source"] == source]
            if source in withdrawn:
                withdrawn.pop(source)
                self.event("reinstated", doc,
                           f"Reinstated: “{doc['title']}” is back on {source}.",
                           version_after=here[-1]["version_id"], url=here[-1]["url"], source=source,
                           official=self.official(source))
                continue
            if not relevant:
                continue
            new_urls = [s for s in here if (source, _where_served(s)) not in prior_urls]
            old_urls = {u for (src, u) in prior_urls if src == source} - {_where_served(s) for s in here}
            if new_urls and old_urls:
                to = _where_served(new_urls[-1])
                how = " (the old URL redirects there)" if new_urls[-1]["url"] != to else ""
                self.event("moved", doc,
                           f"Moved within {source}: {sorted(old_urls)[0]} -> {to}{how}.",
                           version_after=new_urls[-1]["version_id"], url=to, source=source,
                           official=self.official(source), quiet=True)
        meta["withdrawn_from"] = withdrawn
        meta["missing"] = missing

    def gone_everywhere(self, meta: dict, document_id: int) -> bool:
        withdrawn = meta.get("withdrawn_from") or {}
        if not withdrawn:
            return False
        return {u["source"] for u in self.archive.document_urls(document_id)} <= set(withdrawn)

    # -- withdrawals --------------------------------------------------------------------------------

    def withdrawals(self, sighted: set[int]) -> None:
        """Documents a crawled source used to serve and no URL of it served this time."""
        crawled = {f["source"] for f in self.fetches if f["status"] is not None and 200 <= f["status"] < 400}
        by_url: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for fetch in self.fetches:
            by_url[(fetch["source"], fetch["url"])].append(fetch)
        places: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for row in self.archive.document_urls_in_sources(sorted(crawled)):
            places[row["document_id"]][row["source"]].add(row["url"])
        needed = withdraw_confirmations()
        moved_sources = self.moved_sources()
        for document_id, per_source in sorted(places.items()):
            doc = self.archive.document(document_id)
            if doc is None:
                continue
            meta = dict(doc["meta"])
            withdrawn = dict(meta.get("withdrawn_from") or {})
            missing = dict(meta.get("missing") or {})
            changed = False
            for source, urls in sorted(per_source.items()):
                if source in withdrawn:
                    continue
                if document_id in sighted and any(
                    f["document_id"] == document_id and f["source"] == source for f in self.fetches
                ):
                    continue  # still served by this source (perhaps at another of its URLs)
                if source in moved_sources:
                    continue  # the whole site now redirects elsewhere: a move of the source, nothing withdrawn
                verdicts = [self.url_verdict(by_url.get((source, u), []), document_id) for u in sorted(urls)]
                if not verdicts or any(v in ("transient", "unchecked", "redirected") for v in verdicts):
                    continue  # a timeout, a 5xx, a bot block or a redirect away proves nothing either way
                missing[source] = int(missing.get(source, 0)) + 1
                changed = True
                if missing[source] >= needed:
                    withdrawn[source] = self.crawl_id
                    missing.pop(source)
                    if doc["kind"] in ("plan", "page"):
                        last = max((u for u in urls), default="")
                        self.event("withdrawn", doc,
                                   f"Withdrawn: “{doc['title']}” is no longer served by {source} "
                                   f"(gone on {needed} consecutive crawl{'s' if needed > 1 else ''}).",
                                   url=last, source=source, official=self.official(source),
                                   version_before=doc["current_version_id"])
            if changed:
                meta["withdrawn_from"] = withdrawn
                meta["missing"] = missing
                all_gone = set(withdrawn) >= {u["source"] for u in self.archive.document_urls(document_id)}
                self.archive.update_document(document_id, meta=meta, status="withdrawn" if all_gone else doc["status"])

    def moved_sources(self) -> set[str]:
        """Sources whose every answer in this crawl redirected to another site (a domain that moved)."""
        answers: dict[str, list[dict]] = defaultdict(list)
        for fetch in self.fetches:
            if fetch["status"] is not None:
                answers[fetch["source"]].append(fetch)
        moved = set()
        for source, fetches in answers.items():
            if fetches and all(f.get("final_url") and urlsplit(f["final_url"]).netloc.lower()
                               != urlsplit(f["url"]).netloc.lower() for f in fetches):
                moved.add(source)
                log.info("source %s moved: every URL redirects to another site (nothing on it is withdrawn)", source)
        return moved

    @staticmethod
    def url_verdict(fetches: list[dict], document_id: int) -> str:
        """gone (404/410, or now serves something else), transient, redirected (to another site or a home
        page), or unchecked (not fetched this run)."""
        if not fetches:
            return "unchecked"
        last = fetches[-1]
        if last["status"] is not None and last["status"] < 400 and redirected_away(last):
            return "redirected"
        if last["status"] in GONE_STATUSES:
            return "gone"
        if last["status"] is not None and 200 <= last["status"] < 300 and last["document_id"] not in (None, document_id):
            return "gone"
        if last["status"] is not None and 200 <= last["status"] < 300 and last["blob_sha256"] and last["document_id"] is None:
            return "gone"  # a soft 404: a page that is not this document
        return "transient"


def _significant(change: Any) -> bool:
    from tracker.meaning.significance import is_significant

    return is_significant(change)
