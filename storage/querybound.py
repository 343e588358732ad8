"""Search with bounds: a complexity cap on the query and a time limit on the SQLite work it starts.

FTS5 makes prefix terms, OR chains and NEAR groups cheap to write and dear to run: `a* OR b* OR ... OR z*`
(152 characters) cost 40-56 s of CPU on a 10,000-version archive, and `NEAR(a* b* c* d* e* f* g* h*, 100000)`
raised `DatabaseError`. `bounded_search` refuses such a query before it runs (`SearchRefused`, a 400) and stops
SQLite through a progress handler once the time is up (`SearchTimeout`, a 503), whatever the ranking code does.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

MAX_QUERY_CHARS = 500
MAX_TERMS = 24
MAX_PREFIX_TERMS = 4
MAX_OR = 8
MAX_NEAR = 1
MAX_NEAR_TERMS = 6
MAX_NEAR_DISTANCE = 50
# SQLite virtual-machine steps between looks at the clock. FTS5 does much of a query's work in few steps: with 20,000
# a 0.5 s limit stopped `a* OR ... OR z*` only after 2.9 s (300 texts of 3,000 words); with 1,000, after 0.7 s, and
# the handler's cost on ordinary searches was lost in the noise (2.4-2.6 ms either way).
_PROGRESS_EVERY = 1_000


class SearchRefused(ValueError):
    """A search query too complex (or not searchable at all): says which limit and how to narrow it."""


class SearchTimeout(Exception):
    """A search that ran out of its time: says how long it was given."""


_TOKEN = re.compile(r'"[^"]*"|\S+')


def search_query_problem(query: str) -> str | None:
    """Why `query` is too costly to run, or None. Counts terms, prefix terms, OR and NEAR (and NEAR's reach)."""
    if len(query) > MAX_QUERY_CHARS:
        return f"the query is longer than {MAX_QUERY_CHARS} characters"
    spaced = re.sub(r"[()]", " ", query)
    tokens = _TOKEN.findall(spaced)
    terms = [t for t in tokens if t not in ("AND", "OR", "NOT") and not t.startswith("NEAR")]
    prefixes = sum(t.endswith("*") for t in terms)
    ors = tokens.count("OR")
    nears = re.findall(r"NEAR\s*\(([^)]*)\)", query)
    if len(terms) > MAX_TERMS:
        return f"the query has {len(terms)} terms; at most {MAX_TERMS}"
    if prefixes > MAX_PREFIX_TERMS:
        return f"the query has {prefixes} prefix terms (word*); at most {MAX_PREFIX_TERMS}"
    if ors > MAX_OR:
        return f"the query has {ors} ORs; at most {MAX_OR}"
    if len(nears) > MAX_NEAR or query.count("NEAR") > MAX_NEAR:
        return f"the query has more than {MAX_NEAR} NEAR group"
    for group in nears:
        body, _, distance = group.rpartition(",")
        words = (body if body else distance).split()
        if len(words) > MAX_NEAR_TERMS:
            return f"a NEAR group has {len(words)} terms; at most {MAX_NEAR_TERMS}"
        if body and distance.strip().isdigit() and int(distance) > MAX_NEAR_DISTANCE:
            return f"a NEAR distance of {int(distance)}; at most {MAX_NEAR_DISTANCE}"
    return None


class _Deadline:
    def __init__(self, seconds: float):
        self.at = time.monotonic() + seconds
        self.expired = False

    def __call__(self) -> int:
        if time.monotonic() > self.at:
            self.expired = True
            return 1  # non-zero: SQLite interrupts the statement (OperationalError "interrupted")
        return 0


@contextmanager
def time_limit(archive: Any, seconds: float) -> Iterator[_Deadline]:
    """Every statement on this archive's connection inside the block stops once `seconds` have passed."""
    deadline = _Deadline(seconds)
    conn = archive.db.conn
    conn.set_progress_handler(deadline, _PROGRESS_EVERY)
    try:
        yield deadline
    finally:
        conn.set_progress_handler(None, _PROGRESS_EVERY)


def bounded_search(archive: Any, query: str, *, seconds: float = 5.0, **filters: Any) -> list[dict[str, Any]]:
    """`archive.search_filtered(query, **filters)` within the complexity cap and `seconds` of SQLite time.

    SearchRefused when the query is too complex or cannot be searched; SearchTimeout when the time ran out."""
    problem = search_query_problem(query)
    if problem:
        raise SearchRefused(f"{problem}: narrow the search (fewer alternatives, longer prefixes, a footprint)")
    with time_limit(archive, seconds) as deadline:
        try:
            return archive.search_filtered(query, **filters)
        except sqlite3.DatabaseError as exc:
            if deadline.expired:
                raise SearchTimeout(f"the search took longer than {seconds:g} s and was stopped: narrow it") from None
            raise SearchRefused(f"cannot search for this query ({exc}): use plain words") from None
