"""Filing: which document and version a fetch belongs to (same text, same URL, or a resembling plan text)."""

from __future__ import annotations

import bisect
import logging
import re
from typing import Any, Callable

from storage import Archive
from tracker.meaning import identity
from tracker.meaning.titles import readable_title

TEXT_STATUSES = ("ok", "truncated")  # extractions whose text can make a version
log = logging.getLogger("stp_tracker.analyse")
RESEMBLES = 0.2  # containment above which a non-plan text at a plan's URL is still taken as that plan
PACK_MIN_PAGES = 3  # a board or committee pack: one PDF of many papers, each starting on a new page
# A page that starts a new paper of a pack: "Appendix 1", "Annex B", "Enclosure 4", "Item 7.2", "Paper 5".
_PART_START = re.compile(r"^\W{0,3}(?:appendix|annex|enclosure|attachment|item|paper)\s+[A-Z0-9][A-Z0-9.]{0,5}\b",
                         re.I | re.M)


class Fingerprints:
    """Fingerprints of texts and their summaries (`identity.Summary`): made once per text and stored with it in
    the archive (`identity.pack`), kept in memory for one analysis."""

    def __init__(self, archive: Archive):
        self.archive = archive
        self.cache: dict[str, identity.Fingerprint] = {}
        self.summaries: dict[str, identity.Summary] = {}
        self.words: dict[str, str] = {}

    def of(self, text_sha: str, text: str | None = None) -> identity.Fingerprint:
        if text_sha not in self.cache:
            stored = self.archive.text_fingerprint(text_sha, identity.METHOD)
            if stored is not None:
                self.cache[text_sha] = identity.unpack(stored)
            else:
                text = text if text is not None else self.archive.text(text_sha) or ""
                made = identity.fingerprint(text)
                self.cache[text_sha] = made
                self._save(text_sha, made, identity.summarise(text, made))
        return self.cache[text_sha]

    def load(self, text_shas: list[str]) -> None:
        """Read the stored fingerprints of several texts not yet in this analysis, in one query."""
        missing = [sha for sha in dict.fromkeys(text_shas) if sha not in self.cache]
        for sha, stored in self.archive.text_fingerprints(missing, identity.METHOD).items():
            self.cache[sha] = identity.unpack(stored)

    def summary(self, text_sha: str, text: str | None = None) -> identity.Summary:
        """The summary of a text: from this analysis, else from the archive, else made (reading the text once) and
        stored, completing a fingerprint stored before summaries were."""
        if text_sha not in self.summaries:
            self.summaries_of([text_sha], {text_sha: text} if text is not None else None)
        return self.summaries[text_sha]

    def summaries_of(self, text_shas: list[str], texts: dict[str, str] | None = None) -> list[identity.Summary]:
        """The summaries of several texts, those not yet in this analysis read in one query."""
        missing = [sha for sha in dict.fromkeys(text_shas) if sha not in self.summaries]
        stored = self.archive.text_fingerprint_summaries(missing, identity.METHOD) if missing else {}
        for sha in missing:
            row = stored.get(sha)
            if row and None not in (row["words"], row["hashes"], row["sampled_hashes"], row["sketch"]):
                self.summaries[sha] = identity.Summary(words=row["words"], hashes=row["hashes"],
                                                       sampled_hashes=row["sampled_hashes"],
                                                       sketch=identity.unpack(row["sketch"]))
                continue
            text = (texts or {}).get(sha)
            text = text if text is not None else self.archive.text(sha) or ""
            prints = self.of(sha, text)  # a fingerprint made now is stored with its summary
            if sha not in self.summaries:  # one stored before summaries were: completed
                self._save(sha, prints, identity.summarise(text, prints))
        return [self.summaries[sha] for sha in text_shas]

    def words_of(self, text_sha: str, text: str | None = None) -> str:
        """`identity.words_key` of a text: the one stored beside its fingerprint, else made (and kept in memory
        only: a text that is no plan candidate gets no fingerprint for it)."""
        if text_sha in self.summaries:
            return self.summaries[text_sha].words
        if text_sha not in self.words:
            row = self.archive.text_fingerprint_summaries([text_sha], identity.METHOD).get(text_sha)
            if row and row["words"] is not None:
                self.words[text_sha] = row["words"]
            else:
                text = text if text is not None else self.archive.text(text_sha) or ""
                self.words[text_sha] = identity.words_key(text)
        return self.words[text_sha]

    def _save(self, text_sha: str, prints: frozenset[int], summary: identity.Summary) -> None:
        self.summaries[text_sha] = summary
        self.archive.save_text_fingerprint(text_sha, identity.METHOD, identity.pack(prints), words=summary.words,
                                           hashes=summary.hashes, sampled_hashes=summary.sampled_hashes,
                                           sketch=identity.pack(summary.sketch))


def file_fetch(archive: Archive, fetch: dict[str, Any], sources: dict[str, dict], prints: Fingerprints,
                classify: Callable[..., Any]) -> tuple[bool, bool]:
    """Attach one fetch to its document and version; returns (document created, version created)."""
    sha = fetch["blob_sha256"]
    status = fetch["status"]
    served = sha is not None and status is not None and (200 <= status < 300 or fetch["not_modified"])
    if not served:
        archive.mark_fetch_analysed(fetch["id"])
        return False, False
    blob = archive.blob_info(sha) or {}
    source = sources.get(fetch["source"]) or {}
    url = fetch["url"]
    seen_at = fetch["fetched_at"]
    text_sha = blob.get("text_sha256")
    if blob.get("extraction_status") not in TEXT_STATUSES or not text_sha:
        # Unreadable (encrypted, scanned, broken): known by its URL, with no version until text can be had.
        documents = archive.documents_at_url(url, fetch["source"])
        if documents:
            archive.add_document_url(documents[0], fetch["source"], url, seen_at)
            archive.mark_fetch_analysed(fetch["id"], documents[0])
        else:
            archive.mark_fetch_analysed(fetch["id"])
        return False, False

    text = archive.text(text_sha) or ""
    verdict = _Verdict(classify, text, blob, fetch, source)
    pack_info: dict[str, Any] | None = None
    parts = pack_parts(text, blob.get("page_offsets") or [])
    if parts and not verdict.get().is_plan:
        # Each part is judged on its own words: not the pack's link text ("Board papers") or URL.
        alone = {**fetch, "link_text": None, "url": ""}
        found = plan_in_pack(text, parts, lambda part: _Verdict(
            classify, part, {"title": part.split("\n", 1)[0][:200], "content_type": blob.get("content_type")},
            alone, source).get())
        if found is not None:
            # A plan carried inside a pack (a JFP draft as an appendix to board papers): filed as that plan, its
            # text the pack's part, so it is matched, versioned and alerted like the plan published on its own.
            part, part_verdict, pack_info = found
            pages = sorted({0, *(o for o in blob.get("page_offsets") or [] if isinstance(o, int) and 0 < o < len(text))})
            pack_info.update(pages=[bisect.bisect_right(pages, pack_info["start"]),
                                    bisect.bisect_left(pages, pack_info["end"])], of=len(pages))
            text, text_sha = part, archive.store_text(part)
            verdict = _Verdict.known(part_verdict)
            blob = {**blob, "title": None}
            log.info("%s: a plan in pages %s-%s of a %s-page pack", fetch["url"], *pack_info["pages"],
                     pack_info["of"])
    document_id = _find_document(archive, fetch, text_sha, text, source, prints, verdict)
    created_doc = document_id is None
    if created_doc:
        verdict = verdict.get()
        kind = "page" if source.get("kind") == "page" else ("plan" if verdict.is_plan else "other")
        document_id = archive.create_document(
            title=_title(blob, fetch, url, text), kind=kind, footprint=verdict.footprint or source.get("footprint"),
            generation=verdict.generation if verdict.is_plan else None, draft=verdict.draft, seen_at=seen_at,
            source=fetch["source"], meta={"classification": verdict.to_json(),
                                          **({"pack": pack_info} if pack_info else {})},
        )
    if "truncated" in (blob.get("flags") or []) or blob.get("extraction_status") == "truncated":
        # A truncated file is evidence the document is still there, not that its text shrank.
        current = (archive.document(document_id) or {}).get("current_version_id")
        if current and not created_doc:
            archive.add_document_url(document_id, fetch["source"], url, seen_at)
            archive.mark_fetch_analysed(fetch["id"], document_id, current)
            return False, False
    same_words = None if created_doc else _same_words_version(archive, prints, document_id, text_sha, text)
    if same_words is not None:
        # Another rendition of a version we have (a DOCX or HTML beside the PDF, another producer's layout):
        # the same words are the same version.
        version_id, created_version = same_words, False
    else:
        version_id, created_version = archive.add_version(
            document_id, text_sha256=text_sha, blob_sha256=sha, fetch_id=fetch["id"], crawl_id=fetch["crawl_id"],
            seen_at=seen_at,
        )
    archive.add_document_url(document_id, fetch["source"], url, seen_at)
    document = archive.document(document_id) or {}
    if created_doc or seen_at >= (document.get("last_seen_at") or ""):
        archive.update_document(document_id, last_seen_at=seen_at, current_version_id=version_id)
    elif seen_at < (document.get("first_seen_at") or seen_at):
        # History backfilled after live crawls: an older capture dates the document earlier, and never becomes
        # its current text.
        archive.update_document(document_id, first_seen_at=seen_at)
    archive.mark_fetch_analysed(fetch["id"], document_id, version_id)
    return created_doc, created_version


def _same_words_version(archive: Archive, prints: Fingerprints, document_id: int, text_sha: str, text: str
                        ) -> int | None:
    """The document's current version when this different text has the very same words (another rendition)."""
    document = archive.document(document_id) or {}
    current = document.get("current_version_id")
    version = archive.version(current) if current else None
    if not version or version["text_sha256"] == text_sha:
        return None
    if prints.words_of(version["text_sha256"]) == prints.words_of(text_sha, text):
        return current
    return None


def _resembles(archive: Archive, prints: Fingerprints, mine: frozenset[int], document: dict) -> bool:
    """Whether a text shares enough of a document's current text to be a version of it (a heavy revision passes;
    an error page does not)."""
    current = document.get("current_version_id")
    version = archive.version(current) if current else None
    if not version:
        return False
    return identity.containment(mine, prints.of(version["text_sha256"])) >= RESEMBLES


def _title(blob: dict, fetch: dict, url: str, text: str = "") -> str:
    """What the document is called: see tracker/meaning/titles.py (never "Microsoft Word - draft v0.7.docx")."""
    return readable_title(blob.get("title"), text, fetch.get("link_text"), url)


def pack_parts(text: str, page_offsets: list[int]) -> list[tuple[int, int]]:
    """The papers of a pack as (start, end) character spans: a new one at each page opening with "Appendix 1",
    "Annex B", "Item 7"...; [] for a text of fewer than PACK_MIN_PAGES pages or with no such page."""
    starts = sorted({0, *(o for o in page_offsets if isinstance(o, int) and 0 < o < len(text))})
    if len(starts) < PACK_MIN_PAGES:
        return []
    heads = [0] + [o for o in starts[1:] if _PART_START.search("\n".join(text[o:o + 300].split("\n")[:3]))]
    if len(heads) < 2:
        return []
    return [(a, b) for a, b in zip(heads, heads[1:] + [len(text)])]


def plan_in_pack(text: str, parts: list[tuple[int, int]], classify_part: Callable[[str], Any]
                 ) -> tuple[str, Any, dict[str, Any]] | None:
    """The part of a pack that is a plan (the most plan-like, when several are): (its text, its classification,
    {"pages": [first, last], "of": pages, "part": n}); None when no part is a plan."""
    best: tuple[str, Any, dict[str, Any]] | None = None
    for n, (a, b) in enumerate(parts):
        if n == 0:
            continue  # the pack's own opening (agenda, cover papers): the whole was classified already
        part = text[a:b].strip()
        verdict = classify_part(part)
        if verdict.is_plan and (best is None or verdict.plan_score > best[1].plan_score):
            best = (part, verdict, {"part": n, "start": a, "end": b})
    return best


def _form(content_type: str | None) -> str:
    """"page" for an HTML page, "document" for a file (PDF, DOCX, XLSX, ...): a page is a plan only when it is
    the plan's own text (tracker/meaning/classify.py)."""
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    return "page" if ctype in ("text/html", "application/xhtml+xml") else "document"


class _Verdict:
    """The classification of one fetched text, made at most once and only when a decision needs it."""

    def __init__(self, classify: Callable[..., Any], text: str, blob: dict, fetch: dict, source: dict):
        self._args = (classify, text, blob, fetch, source)
        self._value: Any = None

    @classmethod
    def known(cls, value: Any) -> _Verdict:
        verdict = cls.__new__(cls)
        verdict._args, verdict._value = (), value
        return verdict

    def get(self) -> Any:
        if self._value is None:
            classify, text, blob, fetch, source = self._args
            self._value = classify(text, title=blob.get("title") or fetch.get("link_text"), url=fetch["url"],
                                   link_text=fetch.get("link_text"), source_footprint=source.get("footprint"),
                                   form=_form(blob.get("content_type") or fetch.get("content_type")))
        return self._value


def _find_document(archive: Archive, fetch: dict, text_sha: str, text: str, source: dict,
                   prints: Fingerprints, lazy_verdict: _Verdict) -> int | None:
    """The document this text belongs to: same text anywhere, else same URL in this source, else a known plan
    it closely resembles (a leaked draft and its published version, a revision posted at a new URL)."""
    same_text = archive.documents_with_text(text_sha)
    if same_text:
        return same_text[0]
    at_url = archive.documents_at_url(fetch["url"], fetch["source"])
    if at_url:
        known = archive.document(at_url[0]) or {}
        # A watched page is whatever its URL serves, and so is any document that is not a plan.
        if source.get("kind") == "page" or known.get("kind") != "plan":
            return at_url[0]
        if lazy_verdict.get().is_plan or _resembles(archive, prints, prints.of(text_sha, text), known):
            return at_url[0]
        # A plan's URL now serves something that is neither a plan nor like it (a 200 "Page not found", a
        # holding page): other content, which counts towards the plan's withdrawal, never a revision of it.
        log.info("%s no longer serves document %s: new content is not that plan", fetch["url"], at_url[0])
        return None
    if source.get("kind") == "page":
        return None
    verdict = lazy_verdict.get()
    if not verdict.is_plan:
        return None
    mine = prints.summary(text_sha, text)
    footprint = verdict.footprint or source.get("footprint")
    best, best_score = None, 0.0
    # Only plans of this generation or none known: a successor plan is a new document, never a revision of its
    # predecessor.
    candidates = [c for c in archive.plan_candidates(footprint, fetch["crawl_id"], fetch["source"], fetch["url"],
                                                     verdict.generation) if c["current_text_sha256"]]
    # Their summaries: read once an analysis (one query for those not read yet), never their texts.
    summaries = prints.summaries_of([c["current_text_sha256"] for c in candidates])
    compare = []
    for candidate, theirs in zip(candidates, summaries):
        if theirs.words == mine.words:
            log.info("%s is another rendition of document %s (the same words)", fetch["url"], candidate["id"])
            return candidate["id"]  # a DOCX or "accessible version" beside the PDF, another producer's PDF
        if candidate["seen_elsewhere"]:
            continue  # served at another URL of this source in this very crawl: two documents, however alike
        if identity.may_be_same_plan(mine, theirs):  # else their sketches share nothing: far below SAME_PLAN
            compare.append(candidate)
    prints.load([c["current_text_sha256"] for c in compare])  # one query for the fingerprints not read yet
    my_prints = prints.of(text_sha, text)
    for candidate in compare:
        score = identity.containment(my_prints, prints.of(candidate["current_text_sha256"]))
        if score > best_score:
            best, best_score = candidate["id"], score
    if best is not None and best_score >= identity.SAME_PLAN:
        log.info("matched %s to document %s (containment %.2f)", fetch["url"], best, best_score)
        return best
    return None
