"""Full-text search over the normalised texts (FTS5), ranked in the index first."""

from __future__ import annotations

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
        rank_sql = (
            "SELECT v.id AS version_id, v.document_id, t.rowid AS text_rowid, d.title, d.kind, d.footprint, "
            "d.generation, v.first_seen_at, v.last_seen_at, bm25(texts_fts) AS rank "
            "FROM texts_fts JOIN texts t ON t.rowid = texts_fts.rowid "
            "JOIN versions v ON v.text_sha256 = t.sha256 JOIN documents d ON d.id = v.document_id "
            "WHERE texts_fts MATCH :q"
            + "".join(" AND " + c for c in clauses)
            + " ORDER BY rank, v.id LIMIT :limit OFFSET :offset"
        )

        def ranked(q: str) -> list[dict[str, Any]]:
            if clauses:
                return self._rows(rank_sql, {**params, "q": q})
            return self._rank_texts_first(q, params["limit"], params["offset"])

        try:
            try:
                rows = ranked(query)
            except sqlite3.OperationalError as exc:
                if not is_query_syntax_error(exc):
                    raise
                query = _plain_words(query)
                rows = ranked(query) if query else []
            snippets: dict[int, str] = {}
            for rowid in {r["text_rowid"] for r in rows}:
                found = self._one(
                    "SELECT snippet(texts_fts, 0, ?, ?, '…', 16) AS snippet FROM texts_fts "
                    "WHERE texts_fts MATCH ? AND rowid = ?",
                    [marks[0], marks[1], query, rowid],
                )
                snippets[rowid] = found["snippet"] if found else ""
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            raise ArchiveError(f"cannot search the archive in {self.home}: {exc}"
                               + ("; another process is writing it: try again in a moment" if busy else "")) from None
        for row in rows:
            row["snippet"] = snippets.get(row.pop("text_rowid"), "")
        return rows

    def _rank_texts_first(self, query: str, limit: int, offset: int) -> list[dict[str, Any]]:
        """Unfiltered search: rank in the full-text index alone, then join only the best texts to their versions
        (joining every match before ranking cost 3x at 30,000 versions: bench/bench_load.py). A text without a
        version, or one shared by several, is made up for by asking for more texts until the page is full."""
        texts = 2 * (limit + offset) + 10
        while True:
            rows = self._rows(
                "WITH ranked AS (SELECT rowid, rank FROM texts_fts WHERE texts_fts MATCH :q ORDER BY rank "
                "LIMIT :texts) "
                "SELECT v.id AS version_id, v.document_id, t.rowid AS text_rowid, d.title, d.kind, d.footprint, "
                "d.generation, v.first_seen_at, v.last_seen_at, r.rank AS rank "
                "FROM ranked r JOIN texts t ON t.rowid = r.rowid JOIN versions v ON v.text_sha256 = t.sha256 "
                "JOIN documents d ON d.id = v.document_id ORDER BY r.rank, v.id LIMIT :limit OFFSET :offset",
                {"q": query, "texts": texts, "limit": limit, "offset": offset},
            )
            if len(rows) >= limit:
                return rows
            matches = self._one("SELECT count(*) AS n FROM texts_fts WHERE texts_fts MATCH ?", [query])["n"]
            if texts >= matches:
                return rows
            texts *= 4
