"""Commands that read the archive: documents, history, diff, search, events, show."""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import typer
from rich.markup import escape

from storage import Archive
from storage import DOCUMENT_KINDS, EVENT_KINDS, GENERATIONS
from tracker.cli.common import SafeConsole, err, fail, footprint_code, one_of, open_archive, out, print_json

app = typer.Typer()


@app.command()
def documents(
    kind: Optional[str] = typer.Option(None, "--kind", help="plan, page or other.",
                                       callback=one_of("document kind", DOCUMENT_KINDS)),
    footprint: Optional[str] = typer.Option(None, "--footprint", help="A code (QF7) or any name the registry knows: STP, ICB, brand, council or place."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array."),
) -> None:
    """List the documents in the archive.

    Example: stp-tracker documents --kind plan --json
    """
    footprint = footprint_code(footprint)
    with open_archive(readonly=True) as archive:
        rows = archive.documents(kind=kind, footprint=footprint)
    if as_json:
        print_json([
            {"id": r["id"], "title": r["title"], "kind": r["kind"], "footprint": r["footprint"],
             "generation": r["generation"], "draft": r["draft"], "status": r["status"], "url": r["url"],
             "versions": r["version_count"], "first_seen": r["first_seen_at"], "last_seen": r["last_seen_at"]}
            for r in rows
        ])
        return
    from tracker.cli.common import fitted_table, table_console

    console = table_console()
    # The width the terminal has (COLUMNS): title and URL share what the short columns leave; at 80 columns the
    # generation and status go first, then kind and the version count (all in --json, and in `history`).
    table = fitted_table(console, columns=[
        ("id", {"justify": "right"}), ("kind", {}), ("footprint", {}), ("generation", {}),
        ("versions", {"justify": "right"}), ("status", {}), ("title", {"ratio": 2, "min_width": 20}),
        ("url", {"ratio": 3, "min_width": 28}),
    ], drop_first=["generation", "status", "versions", "kind"])
    for r in rows:
        table.add_row(str(r["id"]), r["kind"], r["footprint"] or "", r["generation"] or "", str(r["version_count"]),
                      r["status"], (r["title"] or "")[:60], r["url"] or "")
    console.print(table)
    err.print(f"{len(rows)} documents")


def _resolve_document(archive: Archive, url_or_id: str) -> dict:
    if url_or_id.isdigit():
        doc = archive.document(int(url_or_id)) if len(url_or_id) < 19 else None  # past SQLite's integers
    else:
        ids = archive.documents_at_url(url_or_id)
        doc = archive.document(ids[0]) if ids else None
    if doc is None:
        fail(f"no document {url_or_id!r} in the archive (see `stp-tracker documents`)")
    return doc


@app.command()
def history(
    url_or_doc_id: str = typer.Argument(..., help="A document id, or a URL the document was seen at."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array: one object per version, oldest first."),
) -> None:
    """A document's versions, oldest first, with when and where each was seen, and its events.

    Example: stp-tracker history 12
    """
    from tracker.research import version_json

    with open_archive(readonly=True) as archive:
        doc = _resolve_document(archive, url_or_doc_id)
        versions = archive.versions_of(doc["id"])
        urls = archive.document_urls(doc["id"])
        events = archive.events(document_id=doc["id"], include_all=True)
    if as_json:
        print_json([version_json(doc["id"], v) for v in versions])
        return
    out.print(f"[bold]{escape(doc['title'] or '')}[/bold]  (document {doc['id']}, {doc['kind']}, "
              f"{doc['footprint'] or 'no footprint'}, {doc['generation'] or 'generation unknown'}, {doc['status']})",
              markup=True, highlight=False)
    from tracker.cli.common import fitted_table, table_console

    console = table_console()
    table = fitted_table(console, columns=[
        ("version", {"justify": "right"}), ("first seen", {"no_wrap": True}), ("last seen", {"no_wrap": True}),
        ("chars", {"justify": "right"}), ("urls", {"ratio": 1, "min_width": 28}),
    ], drop_first=["chars", "last seen"])
    for v in versions:
        captures = [f"independent copy: {p['capture_url']}" for p in v["preservations"] if p["capture_url"]]
        table.add_row(str(v["id"]), _when(v["first_seen_at"]), _when(v["last_seen_at"]), str(v["text_length"]),
                      "\n".join([*v["urls"], *captures]))
    console.print(table)
    if urls:
        where = fitted_table(console, columns=[
            ("source", {"ratio": 1, "min_width": 12}), ("official", {}), ("url", {"ratio": 2, "min_width": 28}),
            ("first seen", {"no_wrap": True}), ("last seen", {"no_wrap": True}),
        ], drop_first=["official", "last seen"])
        for u in urls:
            where.add_row(u["source"], "yes" if u["official"] else "no", u["url"], _when(u["first_seen_at"]),
                          _when(u["last_seen_at"]))
        console.print(where)
    if events:
        said = fitted_table(console, columns=[
            ("event", {"justify": "right"}), ("when", {"no_wrap": True}), ("kind", {}),
            ("summary", {"ratio": 1, "min_width": 40}),
        ], drop_first=["event"])
        for e in events:
            said.add_row(str(e.id), _when(e.detected_at), e.kind, e.summary)
        console.print(said)


def _when(stamp: str | None) -> str:
    """An archive time as a reader scans it: `2026-11-30 14:05` (the seconds and zone are in --json)."""
    return (stamp or "").replace("T", " ")[:16]


@app.command()
def diff(
    a: Optional[int] = typer.Argument(None, help="A version id (the older one)."),
    b: Optional[int] = typer.Argument(None, help="A second version id (the newer one)."),
    versions: Optional[tuple[int, int]] = typer.Option(None, "--versions", help="Two version ids: the same as A B."),
    document: Optional[int] = typer.Option(None, "--document", "-d", help="A document id: its last two versions."),
    fmt: str = typer.Option("text", "--format", "-f", help="text, html or json."),
    side_by_side: bool = typer.Option(False, "--side-by-side", help="With --format html: two columns."),
    color: str = typer.Option("auto", "--color", help="With --format text: auto (colour on a terminal), always "
                                                     "or never."),
    context: int = typer.Option(1, "--context", help="Unchanged paragraphs shown around each change."),
) -> None:
    """Compare two versions (`A B` or `--versions A B`), or a document's last two (`--document D`).

    Version ids and document ids are different numbers: `history DOCUMENT` lists a document's versions.

    Example: stp-tracker diff --versions 41 57 --format html > diff.html
    """
    from tracker.meaning import DIFF_CSS, diff_texts

    if color not in ("auto", "always", "never"):
        fail(f"unknown --color {color!r}: use auto, always or never", 2)
    chosen = [x for x in (versions, (a, b) if a is not None or b is not None else None, document) if x is not None]
    if len(chosen) != 1:
        fail("say what to compare: two version ids (`diff A B` or `diff --versions A B`), or a document "
             "(`diff --document D`)", 2)
    with open_archive(readonly=True) as archive:
        if document is not None:
            if archive.document(document) is None:
                fail(f"no document {document} in the archive (see `stp-tracker documents`)")
            rows = archive.versions_of(document)
            if len(rows) < 2:
                fail(f"document {document} has {len(rows)} version(s): nothing to compare")
            before, after = rows[-2]["id"], rows[-1]["id"]
        else:
            before, after = versions or (a, b)
            if before is None or after is None:
                fail("two version ids are needed (`diff A B`); for a document's last two use `diff --document D`", 2)
        found = []
        for vid in (before, after):
            version = archive.version(vid)
            text = archive.version_text(vid) if version else None
            if version is None or text is None:
                fail(f"no version {vid} in the archive (see `stp-tracker history DOCUMENT`)")
            found.append((version, text))
        structures = [archive.version_structure(before), archive.version_structure(after)]
    (v_before, t_before), (v_after, t_after) = found
    change = diff_texts(t_before, t_after, before_structure=structures[0], after_structure=structures[1])
    other_document = v_before["document_id"] != v_after["document_id"]
    warning = (f"versions {before} and {after} belong to different documents ({v_before['document_id']} and "
               f"{v_after['document_id']}): figures are not paired across them") if other_document else None
    if fmt == "json":
        body = {"before": before, "after": after, "same_document": not other_document, **change.to_json()}
        if other_document:
            body["figures"] = []
        sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
    elif fmt == "html":
        sys.stdout.write(
            "<!doctype html><meta charset=utf-8><title>stp-tracker diff</title>"
            f"<style>{DIFF_CSS}</style><p>Version {before} → {after}</p>"
            + (f"<p><strong>Warning:</strong> {escape_html(warning)}</p>" if warning else "")
            + change.to_html(side_by_side=side_by_side, css=False)
        )
    elif fmt == "text":
        if warning:
            err.print(f"warning: {warning}", markup=False, highlight=False)
        if change.timed_out:
            err.print("warning: the diff hit its time limit: it may mark more than really changed", markup=False,
                      highlight=False)
        console = SafeConsole(soft_wrap=False, markup=False, highlight=False, emoji=False,
                          force_terminal=True if color == "always" else None, no_color=color == "never")
        summary = change.summary if not other_document else f"{change.words_added} words added, " \
                                                              f"{change.words_removed} removed"
        console.print(f"version {before} -> {after}: {summary}")
        if not other_document:
            for line in change_list(change):
                console.print(line)
        for line in terminal_diff(change, context=context, colour=console.is_terminal and color != "never"):
            console.print(line)
    else:
        fail(f"unknown format {fmt!r}: use text, html or json")


def escape_html(text: str) -> str:
    import html

    return html.escape(text)


CHANGES_SHOWN = 40  # lines of the changed-figures list before "... and N more" (all of them in --format json)


def change_list(change: Any, limit: int = CHANGES_SHOWN) -> list[str]:
    """What changed, one line each, before the word diff: decisions, services and sites, then every changed figure
    with its label (a table cell by its column and row: "2022, Northern General Hospital: 608 -> 558"), largest
    first as the summary orders them. Tables are read cell by cell here, as on the web's diff page."""
    items = [f"decision: {d}" for d in change.decisions] + [f"service: {s}" for s in change.services]
    said = [" ".join(s.lower().split()) for s in change.services]

    def told(f: Any) -> bool:  # "new: Bassetlaw A&E will close overnight from April 2017" already says its date
        words = [" ".join(str(w).lower().split()) for w in (f.context, f.after or f.before) if w]
        return len(words) == 2 and any(all(w in line for w in words) for line in said)

    items += [f"figure: {f.describe()}" for f in change.figures if not getattr(f, "stamp", False) and not told(f)]
    if not items:
        return []
    lines = [f"what changed ({len(items)}):"] + [f"  {item}" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"  ... and {len(items) - limit} more: --format json lists them all")
    return lines + [""]


def terminal_diff(change: Any, *, context: int = 1, colour: bool = True) -> list[Any]:
    """A word-level diff for a terminal: one paragraph per block, deletions red and struck through, insertions
    green and underlined; without colour, marked [-like this-] and {+like this+} (as `git diff --word-diff`)."""
    from rich.text import Text

    if change.is_empty():
        return [Text("(no changes)")]
    lines: list[Any] = []
    for kind, item in change.shown_rows(context):
        if kind != "row":
            lines.append(Text(f"[… {change.gap_label(kind, item)} …]", style="dim" if colour else ""))
            lines.append(Text(""))
            continue
        text = Text()
        for op, piece in item:
            if not colour:
                text.append(piece if op == 0 else (f"[-{piece}-]" if op < 0 else f"{{+{piece}+}}"))
            else:
                text.append(piece, style="" if op == 0 else ("red strike" if op < 0 else "green underline"))
        lines.append(text)
        lines.append(Text(""))
    return lines[:-1] if lines else lines


SEARCH_SECONDS = 60.0  # SQLite time one command-line search may take (the web app allows 5 s)


@app.command()
def search(
    query: str = typer.Argument(..., help='FTS5 query: words, "a phrase", AND/OR/NOT, prefix*.'),
    limit: int = typer.Option(20, "--limit", "-n"),
    kind: Optional[str] = typer.Option(None, "--kind", help="plan, page or other.",
                                       callback=one_of("document kind", DOCUMENT_KINDS)),
    footprint: Optional[str] = typer.Option(None, "--footprint", help="A code (QF7) or any name the registry knows: STP, ICB, brand, council or place."),
    generation: Optional[str] = typer.Option(None, "--generation", help=", ".join(GENERATIONS) + ".",
                                             callback=one_of("generation", GENERATIONS)),
    seen_from: Optional[str] = typer.Option(None, "--from", help="Versions first seen on or after this date (YYYY-MM-DD)."),
    seen_to: Optional[str] = typer.Option(None, "--to", help="Versions first seen on or before this date (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array."),
) -> None:
    """Full-text search over every archived version, ranked, with snippets.

    Example: stp-tracker search '"maternity unit" AND close*' --footprint QF7 --from 2016-01-01
    """
    footprint = footprint_code(footprint)
    from storage import SearchRefused, SearchTimeout, bounded_search

    with open_archive(readonly=True) as archive:
        try:
            rows = bounded_search(archive, query, seconds=SEARCH_SECONDS, limit=limit, document_kind=kind,
                                  footprint=footprint, generation=generation, seen_from=seen_from, seen_to=seen_to)
        except (SearchRefused, SearchTimeout) as exc:
            fail(str(exc), 2)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        out.print(f"[bold]{escape(r['title'] or '')}[/bold] (document {r['document_id']}, version {r['version_id']}, "
                  f"{r['first_seen_at'][:10]})", markup=True, highlight=False)
        out.print("   " + r["snippet"].replace("\n", " "), markup=False, highlight=False)
    err.print(f"{len(rows)} results")


@app.command()
def events(
    since: Optional[str] = typer.Option(None, "--since", help="ISO date or time, e.g. 2026-11-01."),
    kind: Optional[str] = typer.Option(None, "--kind", help="leaked, published, revised, replaced, withdrawn, reinstated (moved, baseline with --all).",
                                       callback=one_of("event kind", EVENT_KINDS)),
    footprint: Optional[str] = typer.Option(None, "--footprint", help="A code (QF7) or any name the registry knows: STP, ICB, brand, council or place."),
    include_all: bool = typer.Option(False, "--all", help="Also events that raise no alert (baseline, moved)."),
    historical: bool = typer.Option(False, "--historical", help="Events computed from backfilled web-archive captures instead of live crawls."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array."),
) -> None:
    """What changed: events decided from the archive, oldest first (live crawls; --historical for backfilled).

    Example: stp-tracker events --footprint QF7 --since 2026-01-01 --json
    """
    footprint = footprint_code(footprint)
    from storage import event_json

    with open_archive(readonly=True) as archive:
        rows = archive.events(since=since, kind=kind, footprint=footprint, historical=historical,
                              include_all=include_all or kind in ("moved", "baseline"))
        data = [event_json(archive, e) for e in rows]
    if as_json:
        print_json(data)
        return
    from tracker.cli.common import fitted_table, table_console

    console = table_console()
    table = fitted_table(console, columns=[
        ("id", {"justify": "right"}), ("when", {"no_wrap": True}), ("kind", {}), ("footprint", {}),
        ("doc", {"justify": "right"}), ("summary", {"ratio": 1, "min_width": 44}),
    ], drop_first=["footprint", "doc"])
    for e in data:
        table.add_row(str(e["id"]), (e["detected_at"] or "").replace("T", " ")[:16], e["kind"],
                      (e["footprint"] or {}).get("code") or "", str(e["document"]["id"]), e["summary"])
    console.print(table)
    err.print(f"{len(data)} events")


@app.command()
def show(
    version_id: int = typer.Argument(..., help="A version id."),
    text: bool = typer.Option(False, "--text", help="The extracted, normalised text (the default)."),
    raw: bool = typer.Option(False, "--raw", help="The original bytes exactly as fetched (checked against their hash)."),
) -> None:
    """Print a version's extracted text, or with --raw its original bytes.

    Example: stp-tracker show 57 --raw > plan.pdf
    """
    if text and raw:
        fail("choose --text or --raw, not both", 2)
    with open_archive(readonly=True) as archive:
        version = archive.version(version_id)
        if version is None:
            fail(f"no version {version_id} in the archive")
        if raw:
            sys.stdout.buffer.write(archive.blob(version["blob_sha256"]))
            return
        sys.stdout.write((archive.version_text(version_id) or "") + "\n")
