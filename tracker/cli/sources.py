"""The `sources` commands (list, show, check: the registry with each source's health) and `footprints`."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Optional
from urllib.parse import urlsplit

import typer

from crawler import KINDS, Source, SourceError, load_sources, sources_from_dicts
from storage import Archive, ArchiveError
from tracker.cli.common import SafeConsole, footprint_code, get_home

# Markup off: URLs, errors and titles contain square brackets that are not rich markup.
out = SafeConsole(highlight=False, soft_wrap=True, markup=False)
err = SafeConsole(stderr=True, highlight=False, soft_wrap=True, markup=False)

STALE_AFTER = dt.timedelta(days=7)  # a source failing this long is flagged
CHECK_TIMEOUT = 5.0
MAX_ROBOTS = 500_000  # bytes of robots.txt read
HEALTH_WORDS = {
    "ok": "ok",
    "no-documents": "reachable, publishes nothing",
    "failing": "failing",
    "failing-7d": "FAILING FOR A WEEK",
    "no-meetings": "no meetings found",
    "never-crawled": "never crawled",
}


def _print_table(table: Any) -> None:
    """A table on stdout, as wide as the terminal (or COLUMNS); piped with no COLUMNS, wide (rows on one line)."""
    from tracker.cli.common import table_console

    table_console().print(table)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"error: {message}")
    return typer.Exit(code)


def _print_json(rows: list[Any]) -> None:
    """`--json`: one JSON array and nothing else on stdout."""
    typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))


# -- the sources: built-in registry plus <home>/sources.toml ------------------------------------------------


def all_sources(home: Path) -> tuple[list[Source], dict[str, str]]:
    """The built-in registry's sources with `<home>/sources.toml` added (same name: the file's wins); and origins."""
    from crawler.registry import default_sources

    merged = {s.name: s for s in sources_from_dicts(default_sources(), origin="<built-in registry>")}
    origin = {name: "built-in" for name in merged}
    own = Path(home) / "sources.toml"
    if own.exists():
        for source in load_sources(own):
            origin[source.name] = f"{own} (overrides built-in)" if source.name in merged else str(own)
            merged[source.name] = source
    return list(merged.values()), origin


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def source_health(row: dict[str, Any] | None, counts: dict[str, Any] | None,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    """A source's health from its archive row and URL counts.

    "failing" (its last crawl got no answer) is kept apart from "no-documents" (it answers, but no document was ever
    found there); "failing-7d" flags a source crawled without a success for a week or more.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    counts = counts or {}
    health: dict[str, Any] = {
        "health": "never-crawled", "last_crawl_at": None, "last_success_at": None, "consecutive_failures": 0,
        "last_error": None, "documents": int(counts.get("documents") or 0), "pages": int(counts.get("pages") or 0),
        "failing_since": None, "failing_for_a_week": False,
    }
    if not row or not row.get("last_crawl_at"):
        return health
    health.update(last_crawl_at=row["last_crawl_at"], last_success_at=row.get("last_success_at"),
                  consecutive_failures=int(row.get("consecutive_failures") or 0), last_error=row.get("last_error"))
    if health["consecutive_failures"]:
        since = _parse_time(row.get("last_success_at")) or _parse_time(counts.get("first_seen_at"))
        health["failing_since"] = since.isoformat() if since else None
        week = since is not None and now - since >= STALE_AFTER
        health["failing_for_a_week"] = week
        health["health"] = "failing-7d" if week else "failing"
        if (health["last_error"] or "").startswith("no meetings found"):  # answers, but no way to any meeting
            health["health"] = "no-meetings"
    else:
        health["health"] = "ok" if health["documents"] else "no-documents"
    return health


def _archive_health(home: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Source rows and URL counts from the archive ({} and {} when there is no archive yet)."""
    if not (Path(home) / "archive.db").exists():
        return {}, {}
    try:
        with Archive(home, readonly=True) as archive:
            return {row["name"]: row for row in archive.sources()}, archive.source_url_counts()
    except ArchiveError as exc:
        raise _fail(str(exc)) from None


def _summary(source: Source, origin: str, health: dict[str, Any]) -> dict[str, Any]:
    options = source.options or {}
    return {
        "name": source.name, "kind": source.kind, "footprint": source.footprint,
        "footprints": list(options.get("footprints") or ([source.footprint] if source.footprint else [])),
        "official": source.official, "start_urls": list(source.start_urls), "schedule": source.schedule,
        "role": options.get("role"), "evidence": options.get("evidence") or {},
        "history_domains": list(options.get("history_domains") or []), "origin": origin, **health,
    }


def _short(text: str | None, width: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _day(value: str | None) -> str:
    return (value or "")[:16].replace("T", " ") or "-"


# -- checking reachability ------------------------------------------------------------------------------------


def _http_get(url: str, timeout: float, agent: str, limit: int) -> tuple[int | None, bytes, str | None]:
    """(status, first `limit` bytes, error) for a GET of `url` (redirects followed)."""
    import socket  # the network modules load only for `sources check` (start-up of every other command)
    import ssl
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": agent, "Accept": "*/*"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only, checked
            return response.status, response.read(limit), None
    except urllib.error.HTTPError as exc:
        return exc.code, b"", None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLError):
            return None, b"", f"TLS error: {reason}"
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return None, b"", f"timeout after {timeout:g} s"
        return None, b"", str(reason)
    except (TimeoutError, socket.timeout):
        return None, b"", f"timeout after {timeout:g} s"
    except (OSError, ValueError) as exc:
        return None, b"", f"{type(exc).__name__}: {exc}"


def check_url(url: str, *, timeout: float = CHECK_TIMEOUT, agent: str | None = None) -> dict[str, Any]:
    """DNS, TCP, robots.txt and HTTP for one start URL; `verdict` is "ok" or what stops a crawl."""
    import concurrent.futures
    import socket

    from protego import Protego

    from crawler import ROBOTS_AGENT, user_agent

    agent = agent or user_agent()
    result: dict[str, Any] = {"url": url, "addresses": [], "tcp": False, "robots": None, "status": None,
                              "verdict": "ok"}
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        result["verdict"] = f"bad URL: {url}"
        return result
    # DNS, with a deadline (getaddrinfo has none of its own).
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        infos = pool.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM).result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        result["verdict"] = f"unreachable: DNS lookup for {host} timed out after {timeout:g} s"
        return result
    except (socket.gaierror, UnicodeError, OSError) as exc:
        result["verdict"] = f"unreachable: DNS lookup failed for {host} ({getattr(exc, 'strerror', None) or exc})"
        return result
    finally:
        pool.shutdown(wait=False)
    result["addresses"] = sorted({info[4][0] for info in infos})
    # TCP.
    try:
        with socket.create_connection((host, port), timeout=timeout):
            result["tcp"] = True
    except ConnectionRefusedError:
        result["verdict"] = f"unreachable: connection refused by {host}:{port}"
        return result
    except (TimeoutError, socket.timeout):
        result["verdict"] = f"unreachable: no answer from {host}:{port} within {timeout:g} s"
        return result
    except OSError as exc:
        result["verdict"] = f"unreachable: cannot connect to {host}:{port} ({exc.strerror or exc})"
        return result
    # robots.txt, read as Scrapy's RobotsTxtMiddleware reads it (Protego, our robots agent name).
    robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
    status, body, error = _http_get(robots_url, timeout, agent, MAX_ROBOTS)
    if status == 200:
        try:
            allowed = Protego.parse(body.decode("utf-8", errors="replace")).can_fetch(url, ROBOTS_AGENT)
        except Exception as exc:  # a robots.txt protego cannot read: Scrapy would log it and crawl
            allowed, result["robots"] = True, f"unreadable ({type(exc).__name__}): treated as allowing"
        else:
            result["robots"] = "allows" if allowed else "disallows"
        if not allowed:
            result["verdict"] = f"blocked by robots.txt ({robots_url} disallows {parts.path or '/'} for {ROBOTS_AGENT})"
            return result
    else:
        result["robots"] = f"none (HTTP {status})" if status else f"unavailable ({error})"
    # HTTP.
    status, _, error = _http_get(url, timeout, agent, 65_536)
    result["status"] = status
    if status is None:
        result["verdict"] = f"unreachable: {error}"
    elif status == 403:
        result["verdict"] = "HTTP 403 forbidden: the site refuses our requests (a firewall or bot block)"
    elif status == 404:
        result["verdict"] = "HTTP 404 not found: fix the start URL"
    elif status >= 400:
        result["verdict"] = f"HTTP {status}"
    return result


def check_source(source: Source, timeout: float = CHECK_TIMEOUT) -> dict[str, Any]:
    """Every start URL of a source checked; the source's verdict is its first problem, or "ok"."""
    urls = [check_url(url, timeout=timeout) for url in source.start_urls]
    problems = [u["verdict"] for u in urls if u["verdict"] != "ok"]
    return {"name": source.name, "kind": source.kind, "ok": not problems,
            "verdict": problems[0] if problems else "ok", "urls": urls}


# -- footprints ----------------------------------------------------------------------------------------------


def footprint_rows(kind: str | None = None, query: str | None = None) -> list[dict[str, Any]]:
    """The registry's footprints (all, or those a query names): code, names of every period, aliases, brands,
    predecessors and successors (with when and what part), cluster, and how many publishers and councils each has."""
    from crawler.registry import current_footprints, footprints, search_footprints

    chosen = search_footprints(query) if query is not None else list(footprints().values())
    rows = []
    for fp in chosen:
        code = fp.code
        if kind and kind not in fp.types:
            continue
        successors = [s["to"] for s in fp.successors]
        if fp.is_stp_2016 and fp.is_icb_2022:
            successors = [code, *successors]  # the code carried over to the ICB
        rows.append({
            "code": code, "name": fp.name, "short_name": fp.short_name, "types": list(fp.types),
            "stp_2016_name": fp.stp_2016_name, "names": [dict(n) for n in fp.names], "aliases": list(fp.aliases),
            "brand_names": [b["name"] for b in fp.brand_names],
            "successors": list(dict.fromkeys(successors)), "predecessors": [p["from"] for p in fp.predecessors],
            "successor_links": [dict(s) for s in fp.successors], "predecessor_links": [dict(p) for p in fp.predecessors],
            "current": fp.is_current, "current_footprints": list(current_footprints(code)), "cluster": fp.cluster,
            "publishers": len(fp.official_publishers), "councils": len(fp.councils), "region": fp.region,
            "site_gap": fp.site_gap,
        })
    return rows


# -- the commands ---------------------------------------------------------------------------------------------


app = typer.Typer()
sources_app = typer.Typer(help="The sources crawled (built-in registry plus <home>/sources.toml) and their "
                               "health.\n\nExample: stp-tracker sources list --footprint QF7",
                          no_args_is_help=True)
app.add_typer(sources_app, name="sources")


def loaded() -> tuple[list[Source], dict[str, str]]:
    try:
        return all_sources(get_home())
    except SourceError as exc:
        raise _fail(str(exc)) from None


def by_name(sources: list[Source], names: list[str]) -> list[Source]:
    index = {s.name: s for s in sources}
    chosen = []
    for name in names:
        if name not in index:
            import difflib

            close = difflib.get_close_matches(name, list(index), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise _fail(f"no source named {name!r}{hint}; `stp-tracker sources list` shows them", 1)
        chosen.append(index[name])
    return chosen

@sources_app.command("list")
def list_command(
    footprint: Annotated[Optional[str], typer.Option("--footprint", help="Only sources for this footprint (ODS code such as QF7, or a name).")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", help="Only sources of this kind (`stp-tracker sources kinds` lists them).")] = None,
    official: Annotated[Optional[bool], typer.Option("--official/--unofficial", help="Only official NHS publishers (ICB sites, board papers, trusts, NHS England), or only the others.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """List the sources with their health: last success, consecutive failures, last error, documents found.

    "reachable, publishes nothing" (answers, but no document ever found) is kept apart from "failing"; a
    source crawled without a success for a week is flagged FAILING FOR A WEEK.

    Example: stp-tracker sources list --footprint QF7 --kind moderngov
    """
    sources, origin = loaded()
    if kind is not None and kind not in KINDS:
        raise _fail(f"unknown kind {kind!r}; known kinds are {', '.join(sorted(KINDS))}")
    code = footprint_code(footprint)
    rows, counts = _archive_health(get_home())
    now = dt.datetime.now(dt.timezone.utc)
    result = []
    for source in sorted(sources, key=lambda s: s.name):
        summary = _summary(source, origin[source.name], source_health(rows.get(source.name),
                                                                      counts.get(source.name), now))
        if kind and source.kind != kind or code and code not in summary["footprints"]:
            continue
        if official is not None and source.official is not official:
            continue
        result.append(summary)
    if as_json:
        _print_json(result)
        return
    from tracker.cli.common import fitted_table, table_console

    table = fitted_table(table_console(), columns=[
        ("name", {"ratio": 3, "min_width": 30}), ("kind", {}), ("footprint", {"ratio": 1, "min_width": 9}),
        ("health", {}), ("last success", {"no_wrap": True}), ("fails", {"justify": "right"}),
        ("docs", {"justify": "right"}), ("last error", {"ratio": 2, "min_width": 20}),
    ], drop_first=["docs", "last success", "footprint", "kind"])
    for r in result:
        table.add_row(r["name"], r["kind"], r["footprint"] or ",".join(r["footprints"][:3]) or "-",
                      HEALTH_WORDS[r["health"]], _day(r["last_success_at"]), str(r["consecutive_failures"]),
                      str(r["documents"]), _short(r["last_error"], 50) or "-")
    _print_table(table)
    flagged = sum(r["failing_for_a_week"] for r in result)
    err.print(f"{len(result)} sources" + (f", {flagged} failing for a week or more" if flagged else ""))

@sources_app.command("kinds")
def kinds_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object: {family: [{kind, help}]}.")] = False,
) -> None:
    """List the names the tracker understands, each with its one-line help: the source kinds a sources.toml
    `kind` may name, the document formats text is extracted from, and the alert channels an address can use.

    Each is one class with a `kind` and a one-line docstring (crawler/sources.py, tracker/meaning/extract.py,
    alerts/channels.py): adding a kind, a format or a channel is adding a class, and it is listed here.

    Example: stp-tracker sources kinds
    """
    from alerts import CHANNELS
    from tracker.meaning import EXTRACTORS

    families = {
        "source kinds": [{"kind": k, "help": c.help()} for k, c in KINDS.items()],
        "document formats": [{"kind": k, "help": c.help(), "reads": list(c.reads)} for k, c in EXTRACTORS.items()],
        "alert channels": [{"kind": k, "help": c.help()} for k, c in CHANNELS.items()],
    }
    if as_json:
        typer.echo(json.dumps(families, ensure_ascii=False, indent=2))
        return
    for family, rows in families.items():
        table = Table(title=family, title_justify="left", show_edge=False, pad_edge=False)
        table.add_column("kind", no_wrap=True)
        table.add_column("help", overflow="fold")
        for row in rows:
            table.add_row(row["kind"], row["help"])
        _print_table(table)


@sources_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="The source's name (see `sources list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array (of one object).")] = False,
) -> None:
    """Everything about one source: its definition, where it comes from, its health and its latest fetches.

    Example: stp-tracker sources show council-ken-kent
    """
    from crawler.registry import footprints

    sources, origin = loaded()
    (source,) = by_name(sources, [name])
    rows, counts = _archive_health(get_home())
    info = _summary(source, origin[name], source_health(rows.get(name), counts.get(name)))
    info["config"] = source.config()
    fps = footprints()
    info["footprint_names"] = {c: fps[c].name for c in info["footprints"] if c in fps}
    info["config_error"] = None
    if source.kind in ("moderngov", "cmis"):
        from crawler import committee_options

        try:
            info["committee_options"] = asdict(committee_options(source))
        except SourceError as exc:
            info["config_error"] = str(exc)
    info["latest_fetches"] = []
    if rows:
        with Archive(get_home(), readonly=True) as archive:
            info["latest_fetches"] = archive.latest_fetches(name, 10)
    if as_json:
        _print_json([info])
        return
    for key in ("name", "kind", "origin", "official", "footprint", "schedule"):
        out.print(f"{key}: {info[key]}")
    for code in info["footprints"]:
        out.print(f"footprint {code}: {info['footprint_names'].get(code, '(not in the registry)')}")
    for url in source.start_urls:
        out.print(f"start url: {url}")
    out.print(f"allowed domains: {', '.join(source.allowed_domains)}; max depth: {source.max_depth}")
    for key, value in sorted((source.options or {}).items()):
        if key != "footprints":
            out.print(f"option {key}: {value}")
    if info["config_error"]:
        out.print(f"CONFIG ERROR: {info['config_error']}")
    out.print(f"health: {HEALTH_WORDS[info['health']]}")
    out.print(f"last crawl: {_day(info['last_crawl_at'])}; last success: {_day(info['last_success_at'])}; "
              f"consecutive failures: {info['consecutive_failures']}")
    if info["last_error"]:
        out.print(f"last error: {info['last_error']}")
    out.print(f"documents served: {info['documents']}; pages: {info['pages']}")
    for fetch in info["latest_fetches"]:
        outcome = fetch["error"] or ("304 not modified" if fetch["not_modified"] else f"HTTP {fetch['status']}")
        out.print(f"  {_day(fetch['fetched_at'])}  {fetch['kind']:<8} {outcome:<20} {fetch['url']}")

@sources_app.command("check")
def check_command(
    names: Annotated[Optional[list[str]], typer.Argument(help="Source names (default: every source).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, max=120, help="Seconds to wait for each step.")] = CHECK_TIMEOUT,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """Check that sources can be crawled: DNS, TCP, HTTP status and robots.txt (for our User-Agent) per start URL.

    One verdict line per source: ok, unreachable: ..., blocked by robots.txt, HTTP 403 ... Exits 1 if any
    source is not ok.

    Example: stp-tracker sources check council-ken-kent nhse-integrated-care
    """
    import concurrent.futures

    sources, _ = loaded()
    chosen = by_name(sources, names) if names else sorted(sources, key=lambda s: s.name)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda s: check_source(s, timeout), chosen))
    if as_json:
        _print_json(results)
    else:
        width = max((len(r["name"]) for r in results), default=0)
        for r in results:
            out.print(f"{r['name']:<{width}}  {r['verdict']}")
    if not all(r["ok"] for r in results):
        raise typer.Exit(1)


@app.command("footprints")
def footprints_command(
    query: Annotated[Optional[str], typer.Argument(help="A code or any name: 2016 STP, ICB (2022 or 2026), brand, council or place (default: all).")] = None,
    kind: Annotated[Optional[str], typer.Option("--type", help="Only footprints of this type: stp-2016, icb-2022 or icb-2026.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """List or find the registry's footprints: 2016 STPs, the 42 ICBs of 2022 and the 36 of 2026, by code or any name.

    `footprints Sheffield` answers QF7; a query naming no footprint exactly lists every footprint with a name,
    council or place containing it, and one naming nothing fails with the nearest names.

    Example: stp-tracker footprints "Humber, Coast and Vale" --json
    """
    from crawler.registry import FOOTPRINT_TYPES, suggest_footprints

    if kind is not None and kind not in FOOTPRINT_TYPES:
        raise _fail(f"unknown footprint type {kind!r}; use {', '.join(FOOTPRINT_TYPES)}")
    rows = footprint_rows(kind, query)
    if query is not None and not rows:
        hint = "; ".join(f"{code}, {name}" for code, name in suggest_footprints(query))
        raise _fail(f"no footprint matches {query!r}" + (f": did you mean {hint}?" if hint else ""), 1)
    if as_json:
        _print_json(rows)
        return
    from tracker.cli.common import fitted_table, table_console

    table = fitted_table(table_console(), columns=[
        ("code", {"no_wrap": True}), ("name", {"ratio": 3, "min_width": 24}), ("2016 name", {"ratio": 2, "min_width": 16}),
        ("type", {"ratio": 1, "min_width": 18}), ("successor", {"ratio": 1, "min_width": 9}),
        ("publishers", {"justify": "right"}), ("councils", {"justify": "right"}),
    ], drop_first=["2016 name", "successor", "councils", "publishers"])
    for r in rows:
        table.add_row(r["code"], r["name"], r["stp_2016_name"] or "-", ", ".join(r["types"]),
                      ", ".join(r["successors"]) or "-", str(r["publishers"]), str(r["councils"]))
    _print_table(table)
    err.print(f"{len(rows)} footprints")
