"""Full-text search over the normalised texts (FTS5), ranked in the index first."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ._base import ArchiveBase, ArchiveError


def _plain_words(query: str) -> str:
    """A query that was not valid FTS5 syntax as its words, each quoted (no operators); "" if none is left.
    NULs and double quotes are dropped: FTS5 reads a NUL as the end of the query, even inside quotes."""
    return " ".join(f'"{word}"' for word in query.replace("\x00", " ").replace('"', " ").split())


# What SQLite says when a MATCH query is not FTS5 syntax ("a OR", an unclosed quote, "word:" read as a column
# filter, a bare "*"). Only these fall back to plain words; anything else (a locked or damaged archive) is an error.
_FTS_SYNTAX = ("fts5: syntax error", "unterminated string", "no such column", "unknown special query")


def is_query_syntax_error(exc: sqlite3.OperationalError) -> bool:
    """True if SQLite refused a MATCH query's syntax (not the archive: "database is locked" is no syntax error)."""
    return getattr(exc, "sqlite_errorname", "SQLITE_ERROR") == "SQLITE_ERROR" and str(exc).startswith(_FTS_SYNTAX)


class SearchMixin(ArchiveBase):
    """The `Archive` methods for this table family; see `storage.archive.Archive`."""

    def search_filtered(self, query: str, *, limit: int = 20, offset: int = 0, document_kind: str | None = None,
                        footprint: str | None = None, generation: str | None = None,
                        seen_from: str | None = None, seen_to: str | None = None,
                        marks: tuple[str, str] = ("[", "]")) -> list[dict[str, Any]]:
        """`search` with more filters: generation, and versions first seen between two ISO dates (inclusive).

        Ranks first without snippets, then makes snippets for the page of results only: on a large archive a
        snippet per match would cost far more than the ranking. `marks` bracket the matched words."""
        clauses, params = [], {"limit": max(1, min(int(limit), 500)), "offset": max(0, int(offset))}
        for clause, name, value in (("d.kind = :kind", "kind", document_kind),
                                    ("d.footprint = :footprint", "footprint", footprint),
                                    ("d.generation = :generation", "generation", generation),
                                    ("v.first_seen_at >= :seen_from", "seen_from", seen_from),
                                    ("v.first_seen_at < :seen_to", "seen_to", self._day_after(seen_to))):
            if value:
                clauses.append(clause)
                params[name] = value
        doc_filters = {k: params[k] for k in ("kind", "footprint", "generation") if k in params}

        def ranked(q: str) -> list[dict[str, Any]]:
            if clauses:
                return self._rank_filtered(q, clauses, params, doc_filters)
            return self._rank_texts_first(q, params["limit"], params["offset"])

        try:
            try:
                rows = ranked(query)
            except sqlite3.OperationalError as exc:
                if not is_query_syntax_error(exc):
                    raise
                query = _plain_words(query)
                rows = ranked(query) if query else []
            snippets = self._snippets(query, {r["text_rowid"] for r in rows}, marks)
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            raise ArchiveError(f"cannot search the archive in {self.home}: {exc}"
                               + ("; another process is writing it: try again in a moment" if busy else "")) from None
        for row in rows:
            row["snippet"] = snippets.get(row.pop("text_rowid"), "")
        return rows

    def _snippets(self, query: str, rowids: set[int], marks: tuple[str, str]) -> dict[int, str]:
        """The snippet of each of these matching texts, in one statement (one a text cost 2.3 ms each for a prefix
        query at 100,000 versions: FTS5 reads the query's doclists again for every statement).

        `rowid BETWEEN` lets FTS5 read only that stretch of the doclists; the `+` keeps the list of ids out of
        FTS5's own planner, which would otherwise run the MATCH once per id, as before."""
        if not rowids:
            return {}
        return {row["rowid"]: row["snippet"] for row in self._rows(
            "SELECT rowid, snippet(texts_fts, 0, :open, :close, '…', 16) AS snippet FROM texts_fts "
            "WHERE texts_fts MATCH :q AND rowid BETWEEN :lo AND :hi AND +rowid IN (SELECT value FROM json_each(:ids))",
            {"open": marks[0], "close": marks[1], "q": query, "lo": min(rowids), "hi": max(rowids),
             "ids": json.dumps(sorted(rowids))})}

    # Ranking is bm25 over every match it is given (~2-4 µs a match, in SQLite's FTS5), so a common word in a large
    # archive (94,000 of 100,000 versions say "care") cost 0.5 s. Only the newest RANK_NEWEST matching texts are
    # ranked (the texts' rowids grow as they are first archived, and FTS5 walks rowids in either direction without
    # scoring): a query with fewer matches is ranked whole, exactly as before.
    RANK_NEWEST = 2000
    FILTERED_NEWEST = 100  # with filters: the ranking also walks the matches that fail them, so fewer
    _CHUNK = 2000  # matches looked at a time when the filters pass many documents
    _FEW = 0.1  # filters passing at most this share of documents (or versions) list their texts first

    def _newest_cut(self, query: str, texts: int) -> int:
        """The rowid of the `texts`-th newest matching text (0 if there are fewer): rank only rowids >= it."""
        found = self._one("SELECT rowid FROM texts_fts WHERE texts_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                          [query, texts - 1])
        return found["rowid"] if found else 0

    def _rank_texts_first(self, query: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """Unfiltered search: rank in the full-text index alone (the newest RANK_NEWEST matching texts), then join
        only the best texts to their versions (joining every match before ranking cost 3x at 30,000 versions:
        bench/bench_load.py). A text without a version, or one shared by several, is made up for by asking for
        more texts until the page is full."""
        cut = self._newest_cut(query, max(self.RANK_NEWEST, 4 * (limit + offset)))
        texts = 2 * (limit + offset) + 10
        while True:
            rows = self._rows(
                "WITH ranked AS (SELECT rowid, bm25(texts_fts) AS rank FROM texts_fts WHERE texts_fts MATCH :q "
                "AND rowid >= :cut ORDER BY rank LIMIT :texts) "
                "SELECT v.id AS version_id, v.document_id, t.rowid AS text_rowid, d.title, d.kind, d.footprint, "
                "d.generation, v.first_seen_at, v.last_seen_at, r.rank AS rank "
                "FROM ranked r JOIN texts t ON t.rowid = r.rowid JOIN versions v ON v.text_sha256 = t.sha256 "
                "JOIN documents d ON d.id = v.document_id ORDER BY r.rank, v.id LIMIT :limit OFFSET :offset",
                {"q": query, "cut": cut, "texts": texts, "limit": limit, "offset": offset},
            )
            if len(rows) >= limit:
                return rows
            matches = self._one("SELECT count(*) AS n FROM texts_fts WHERE texts_fts MATCH ? AND rowid >= ?",
                                [query, cut])["n"]
            if texts >= matches:
                return rows
            texts *= 4

    def _rank_filtered(self, query: str, clauses: list[str], params: dict[str, Any],
                       doc_filters: dict[str, Any]) -> list[dict[str, Any]]:
        """Filtered search: the newest FILTERED_NEWEST matching texts that pass the filters, found without
        joining every match; then bm25 over those alone, and only they join their versions and documents. Filters
        that pass few documents (a footprint, a generation) list their texts first, by index, and meet the matches
        in memory; filters that pass many are checked on the newest matches a chunk at a time."""
        # A fixed number for the first pages (so that page 2 ranks the same candidates as page 1), more past them;
        # each candidate text has a version that passes, so `limit + offset` of them fill the page.
        wanted = max(self.FILTERED_NEWEST, params["limit"] + params["offset"])
        where = " AND ".join(clauses)
        filter_params = {k: v for k, v in params.items() if k not in ("limit", "offset")}
        # What share of the archive passes the filters, estimated cheaply: documents by their (small) table,
        # versions' dates by index.
        doc_where = " AND ".join(c for c in clauses if c.startswith("d."))
        date_where = " AND ".join(c for c in clauses if c.startswith("v."))
        doc_share = date_share = 1.0
        if doc_where:
            counts = self._one("SELECT count(*) AS n, (SELECT count(*) FROM documents) AS total FROM documents d "
                               "WHERE " + doc_where, doc_filters)
            doc_share = counts["n"] / max(1, counts["total"])
        if date_where:
            dates = {k: v for k, v in filter_params.items() if k.startswith("seen_")}
            counts = self._one("SELECT count(*) AS n, (SELECT max(id) FROM versions) AS total FROM versions v "
                               "WHERE " + date_where, dates)
            date_share = counts["n"] / max(1, counts["total"] or 0)
        candidates: list[int] = []
        if min(doc_share, date_share) <= self._FEW:
            # Few pass: their texts first, by index (from documents, or from versions' dates), then the matches
            # among them, newest first.
            first = ("documents d CROSS JOIN versions v ON v.document_id = d.id" if doc_share <= date_share else
                     "versions v CROSS JOIN documents d ON d.id = v.document_id")
            allowed = {r["rowid"] for r in self._rows(
                "SELECT t.rowid FROM " + first + " CROSS JOIN texts t ON t.sha256 = v.text_sha256 WHERE " + where,
                filter_params)}
            if allowed:
                # A cursor, read only as far as needed: FTS5 walks the matches newest first without scoring them.
                matches = self.db.execute("SELECT rowid FROM texts_fts WHERE texts_fts MATCH ? AND rowid >= ? "
                                          "ORDER BY rowid DESC", [query, min(allowed)])
                for (rowid,) in matches:
                    if rowid in allowed:
                        candidates.append(rowid)
                        if len(candidates) >= wanted:
                            break
                matches.close()
        else:
            # Many pass: walk the matches newest first, checking the filters a chunk at a time.
            share = min(doc_share, date_share)
            below = None
            while len(candidates) < wanted:
                chunk = [r["rowid"] for r in self._rows(
                    "SELECT rowid FROM texts_fts WHERE texts_fts MATCH :q AND rowid < :below "
                    "ORDER BY rowid DESC LIMIT :n", {"q": query, "below": below or (1 << 62),
                                                     "n": min(self._CHUNK, int(1.5 * wanted / share) + 10)})]
                if not chunk:
                    break
                below = chunk[-1]
                ok = {r["rowid"] for r in self._rows(
                    "SELECT DISTINCT t.rowid FROM texts t JOIN versions v ON v.text_sha256 = t.sha256 "
                    "JOIN documents d ON d.id = v.document_id "
                    "WHERE t.rowid IN (SELECT value FROM json_each(:ids)) AND " + where,
                    {**filter_params, "ids": json.dumps(chunk)})}
                candidates += [rowid for rowid in chunk if rowid in ok][: wanted - len(candidates)]
        if not candidates:
            return []
        # bm25 of the candidates alone (its figures are the whole index's, whichever rows are asked for): scoring
        # every match from the oldest candidate up cost 9 ms of 36 for "hospital" in a generation at 100,000.
        scored = sorted((rank, rowid) for rowid, rank in self.db.execute(
            "SELECT rowid, bm25(texts_fts) FROM texts_fts WHERE texts_fts MATCH ? AND rowid BETWEEN ? AND ? "
            "AND +rowid IN (SELECT value FROM json_each(?))",
            [query, min(candidates), max(candidates), json.dumps(candidates)]))
        return self._rows(
            "WITH ranked AS (SELECT CAST(json_extract(value, '$[0]') AS INTEGER) AS rowid, "
            "json_extract(value, '$[1]') AS rank FROM json_each(:ranked)) "
            "SELECT v.id AS version_id, v.document_id, t.rowid AS text_rowid, d.title, d.kind, d.footprint, "
            "d.generation, v.first_seen_at, v.last_seen_at, r.rank AS rank "
            "FROM ranked r CROSS JOIN texts t ON t.rowid = r.rowid CROSS JOIN versions v ON v.text_sha256 = t.sha256 "
            "CROSS JOIN documents d ON d.id = v.document_id WHERE " + where + " ORDER BY r.rank, v.id "
            "LIMIT :limit OFFSET :offset",
            {**params, "ranked": json.dumps([[rowid, rank] for rank, rowid in scored])},
        )
