"""The security review (issue 8, and the hostile probe of issue 16): each item, what is guaranteed, and the test
that holds it.

Items already covered elsewhere are listed, not repeated; everything else is tested in this file.

| Item | Guarantee | Tests |
|---|---|---|
| SSRF: webhook and apprise targets | private, loopback, link-local, multicast and reserved targets are refused at subscribe and again at delivery; every DNS answer is checked where the connection is made; plain http:// needs the allowance | test_alerts_webhook.py::test_private_targets_refused_at_subscribe, ::test_private_targets_refused_at_delivery, ::test_connection_guard_checks_every_resolution, ::test_plain_http_needs_the_allowance |
| SSRF: redirects | a webhook's redirect is never followed (it is a recorded failure) | test_alerts_webhook.py::test_redirects_are_not_followed |
| Template injection | `{{ }}`/`{% %}` in fetched titles, summaries or subscriber filters is shown as written in emails, webhook JSON, Atom and web pages; alert templates run in a Jinja sandbox that refuses dunder attributes; only the shipped templates are ever rendered | test_alerts_email.py::test_hostile_text_is_escaped (event email); here: test_template_syntax_in_fetched_text_is_never_evaluated, test_alert_templates_are_sandboxed |
| XSS | no page ships script (CSP without script-src); fetched text, titles and URLs are escaped; only http(s) URLs become links; archived bytes are served as sandboxed downloads | test_web.py::test_every_page_sets_a_csp_without_script, ::test_hostile_content_is_inert, ::test_raw_html_is_sandboxed_and_a_damaged_blob_is_refused; here: test_attribute_breakout_and_javascript_links_are_inert_on_every_page, test_what_the_url_says_is_escaped_on_error_pages_and_forms |
| CSRF | every POST needs a signed token bound to a SameSite=Strict cookie and a same-site Origin | test_web.py::test_subscribe_form_refuses_posts_without_a_valid_token, ::test_subscribe_with_token_creates_a_pending_subscription_and_rate_limits; here: test_confirm_and_unsubscribe_posts_need_a_csrf_token, test_every_post_route_is_under_csrf_review |
| Path traversal | blob names must be 64 lowercase hex digits before they become paths; web routes take only numeric ids and fixed stylesheet names; exports write fixed file names inside the folder chosen; download names are sanitised | here: test_blob_store_refuses_names_outside_the_store, test_web_paths_never_reach_files_outside_the_archive, test_exports_write_only_where_asked |
| SQL built from strings | values are always parameters; the only interpolated SQL text is identifiers from fixed allow-lists and `?` marks; FTS5 syntax errors fall back to plain words | here: test_sql_text_is_never_built_from_input (AST check), test_hostile_strings_through_the_cli, test_hostile_strings_through_the_web |
| Secrets never logged | the SMTP password never reaches logs, listings, status or the archive; webhook secrets and URL tokens, apprise tokens and passwords are redacted | test_alerts_webhook.py::test_errors_do_not_show_the_secret_path, test_alerts_apprise_feeds.py::test_channel_registry; here: test_smtp_password_is_never_shown_or_stored, test_webhook_secret_and_url_token_stay_out_of_the_log, test_apprise_credentials_are_redacted |
| Terminal markup (found in review) | rich markup in fetched titles (`[/]`, `[link=...]`) is printed as written by the CLI, never parsed | here: test_terminal_markup_in_fetched_titles_is_printed_as_written |
| 1. SSRF at send time, any thread (issue 16) | the connection guard is a context variable checked at `getaddrinfo`, `connect`, `connect_ex` and `sendto`, so it holds in apprise's worker threads and for raw sockets (rsyslog); inside a delivery no redirect is followed, by any channel, even with the allowance; `mailto://...?smtp=HOST&port=P` relays are checked; plain `json://`/`xml://`/`form://` need the allowance an `http://` webhook needs; schemes the guard cannot follow (xmpp, syslog, dbus...) are refused | test_hostile_probe.py::test_apprise_redirect_to_an_internal_address_is_not_followed, ::test_webhook_redirect_is_not_followed_even_with_the_allowance, ::test_the_connection_guard_holds_in_apprise_worker_threads, ::test_raw_socket_sends_are_checked_where_they_resolve, ::test_mailto_smtp_relay_override_is_checked, ::test_plain_http_apprise_posts_need_the_same_allowance_as_a_webhook, ::test_schemes_the_guard_cannot_follow_are_refused |
| 2. Third-party logs (issue 16) | apprise, urllib3 and requests do not propagate to our handlers: only their warnings pass, scrubbed of URL paths, `Authorization`/Bearer values, key=value secrets and long tokens, with or without `--verbose`, in text and JSON logs | test_hostile_probe.py::test_apprise_debug_lines_and_credentials_never_reach_stderr, ::test_daemon_json_logs_carry_no_apprise_debug_or_secret, ::test_scrub_secrets |
| 3. Crawler redirects (issue 16) | a redirect (3xx or meta refresh) to a loopback, private, link-local or reserved address is refused before robots.txt or the download, and recorded as the fetch's error, unless the source names that host (start URL, allowed_domains, document_hosts) on a start URL's port; the rules are `storage.addresses`', the same as for alert targets | test_hostile_probe.py::test_crawler_refuses_a_redirect_to_another_loopback_host, ::test_named_private_hosts_stay_allowed |
| 4. Search and diff starvation (issue 16) | a query over the complexity cap (terms, prefix terms, OR, NEAR) is a 400 naming the limit; SQLite work stops at the time limit (progress handler) as a 503; any DatabaseError from FTS5 is a 400, never a 500; diffs and web searches run in small pools of their own that answer 503 at once when full, so `/` still answers | test_hostile_probe.py::test_costly_searches_are_refused_with_a_clear_400, ::test_a_database_error_from_fts5_is_a_400_not_a_500, ::test_sqlite_work_stops_at_the_time_limit, ::test_a_burst_of_diffs_gets_503_and_the_other_pages_still_answer |
| 5. Terminal escapes (issue 16) | C0/C1 controls are stripped from titles, link text, summaries and changes on entry; `documents`, `events`, `history`, `search` (text and `--json`) and alert emails never carry ESC, BEL or CSI, also for archives written before | test_hostile_probe.py::test_titles_are_cleaned_as_they_enter_the_archive, ::test_terminal_escapes_in_titles_never_print, ::test_terminal_escapes_never_reach_an_email |
| 6. Non-XML characters (issue 16) | a U+FFFF/U+FFFE or control character in a title does not break `/feed.atom` or `stp-tracker feed` | test_hostile_probe.py::test_a_non_xml_character_in_a_title_does_not_break_the_feed |
| 7. Subscribe abuse (issue 16) | at most 3 confirmation mails per address a day whatever the client; the per-client limit believes `X-Forwarded-For` only from `--trusted-proxy` addresses; a form token acts once; the confirmation mail shows no requester-typed text; RFC 8058 one-click unsubscribe works without a form token | test_hostile_probe.py::test_one_address_gets_few_confirmations_however_many_clients_ask, ::test_x_forwarded_for_counts_only_from_a_trusted_proxy, ::test_a_form_token_works_once, ::test_the_confirmation_mail_carries_no_text_the_requester_chose, ::test_rfc8058_one_click_unsubscribe_needs_no_form_token |
| 8. Exports (issue 16) | CSV, JSON and WARC exports refuse a symbolic link at the file or its `.part` (created with O_EXCL and O_NOFOLLOW); CSV text cells starting with = + - @ tab CR are prefixed with `'` | test_hostile_probe.py::test_exports_never_write_through_a_planted_symlink, ::test_csv_cells_that_a_spreadsheet_would_run_are_neutralised |
| 9. Signing and address checks (issue 16) | the webhook HMAC covers X-STP-Timestamp, X-STP-Delivery, X-STP-Event and the body (the README's verification example is run); 6to4, NAT64, IPv4-mapped and IPv4-compatible forms of private addresses and names that do not resolve are refused at subscribe | test_hostile_probe.py::test_a_signed_message_replayed_under_a_new_delivery_id_fails_verification, ::test_embedded_private_addresses_and_unresolvable_names_are_refused |
| 10. Subscribers out of the research archive (issue 16) | subscribers, secrets, tokens and the outbox live in `subscribers.db` (0600); after a crawl, subscribe and delivery `archive.db` holds no subscriber email, secret or token (raw bytes checked); an older archive has its rows moved out on first open, idempotently, freed pages overwritten | test_hostile_probe.py::test_archive_db_holds_no_subscriber_after_crawl_subscribe_and_delivery, ::test_an_old_archive_has_its_subscribers_moved_out_on_first_open |
"""

from __future__ import annotations

import ast
import base64
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from clirun import run_cli
from typer.testing import CliRunner

import alerts
from storage import Archive, BlobError, Event, Extraction, Fetch
from storage.blobs import BlobStore
from storage.outbox import Outbox
from alerts.feeds import feed_xml

try:
    from smtpserver import WebhookReceiver, add_event, body_text, free_port, smtp_server
    from test_web import build_archive
except ImportError:  # tests/ imported as a package
    from tests.smtpserver import WebhookReceiver, add_event, body_text, free_port, smtp_server
    from tests.test_web import build_archive

from starlette.testclient import TestClient  # noqa: E402

from tracker.cli import app as cli_app  # noqa: E402
from tracker.web import create_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
ALLOW = alerts.AlertSettings(allow_private_targets=True, http_timeout=5)
INJECTION = "Plan {{ 7*7 }} {% if true %}EVALUATED{% endif %} {{ ''.__class__ }}"
BREAKOUT = '"><img src=x onerror=alert(1)> <script>alert(1)</script>'
MARKER = "TOP-SECRET-MARKER-7f3a"


def _hostile_archive(home: Path, *, title: str, url: str, source: str = "syb-icb",
                     text: str = "Our plan will reduce acute beds by 180 beds.") -> dict[str, int]:
    """One document with two versions and a revision event, whose title, URL, source and text are `hostile`."""
    with Archive(home) as archive:
        archive.upsert_source(source, footprint="QF7", kind="site", official=True, config={})
        crawl = archive.start_crawl([source])
        ids: dict[str, Any] = {"versions": []}
        doc = archive.create_document(title=title, kind="plan", footprint="QF7", generation="2016-stp", draft=False,
                                      seen_at="2017-01-01T00:00:00+00:00", source=source)
        for n, body_text_ in enumerate((text, text.replace("180", "320") + f" {title}")):
            when = f"2017-0{n + 1}-01T00:00:00+00:00"
            fetch = archive.record_fetch(Fetch(url=url, final_url=url, source=source, crawl_id=crawl, status=200,
                                               fetched_at=when, kind="document", body=f"<p>{body_text_}</p>".encode(),
                                               headers={"Content-Type": "text/html; charset=utf-8"}))
            sha = archive.fetch(fetch)["blob_sha256"]
            text_sha = archive.record_extraction(sha, Extraction(status="ok", extractor="t", extractor_version="1",
                                                                 text=body_text_, title=title))
            version, _ = archive.add_version(doc, text_sha256=text_sha, blob_sha256=sha, fetch_id=fetch,
                                             crawl_id=crawl, seen_at=when)
            archive.mark_fetch_analysed(fetch, doc, version)
            archive.add_document_url(doc, source, url, when)
            ids["versions"].append(version)
        archive.finish_crawl(crawl, {})
        archive.update_document(doc, current_version_id=ids["versions"][-1])
        ids["event"] = archive.record_event(Event(
            kind="revised", document_id=doc, summary=f"Revised: {title}", detected_at="2017-02-01T00:01:00+00:00",
            crawl_id=crawl, footprint="QF7", generation="2016-stp", url=url, source=source, official=True,
            version_before=ids["versions"][0], version_after=ids["versions"][1],
            changes={"added": [title], "removed": [], "figures": []}))
        ids["doc"] = doc
    return ids


# -- path traversal ---------------------------------------------------------------------------------------


BAD_BLOB_NAMES = ["../../etc/passwd", "/etc/passwd", "..", "", "g" * 64, "A" * 64, "a" * 63, "a" * 65,
                  "a" * 64 + "\n", "a" * 63 + "\x00", "../" + "a" * 61, "aa/../../" + "a" * 55]


def test_blob_store_refuses_names_outside_the_store(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd.gz").write_bytes(MARKER.encode())
    for name in [*BAD_BLOB_NAMES, None, 7]:
        for use in (store.path_for, store.has, store.get):
            with pytest.raises(BlobError, match="not a sha256"):
                use(name)  # type: ignore[arg-type]
    sha, _ = store.put(b"real bytes")
    assert store.get(sha) == b"real bytes" and store.path_for(sha).is_relative_to(store.root)
    with Archive(tmp_path / "home") as archive:  # and through the archive, the only way other code reads blobs
        for name in BAD_BLOB_NAMES:
            with pytest.raises(BlobError):
                archive.blob(name)


TRAVERSALS = [
    "/versions/..%2f..%2fetc%2fpasswd/raw", "/versions/%2e%2e/raw", "/versions/{v}%00/raw", "/versions/{v}/raw%00",
    "/versions/%2e%2e%2f{v}/raw", "/documents/{d}%00", "/documents/..%2f{d}", "/diff/{v}/{v}%00", "/diff/..%2f/{v}",
    "/api/documents/%2e%2e", "/api/versions/{v}%00", "/static/..%2f..%2f..%2fpyproject.toml", "/static/%2e%2e%2fweb.py",
    "/static/..%5c..%5cweb.py", "/static/style.css%00", "/static/%2e%2e", "/footprints/..%2f..%2f..%2foutside.txt",
    "/footprints/%00", "/alerts/confirm/..%2f..%2foutside.txt", "/../../outside.txt", "/static/../../../outside.txt",
    "/versions/99999999999999999999999/raw", "/documents/99999999999999999999999", "/diff/1/99999999999999999999999",
]


def test_web_paths_never_reach_files_outside_the_archive(tmp_path: Path) -> None:
    ids = _hostile_archive(tmp_path / "home", title="Plan", url="https://example.org/a/../../../../outside.txt%00.pdf")
    (tmp_path / "outside.txt").write_text(MARKER)
    (tmp_path / "home" / "secret.txt").write_text(MARKER)
    client = TestClient(create_app(tmp_path / "home", subscriptions=True, rate_limit=1000),
                        raise_server_exceptions=False)
    v, d = ids["versions"][0], ids["doc"]
    for template in TRAVERSALS:
        path = template.format(v=v, d=d)
        response = client.get(path)
        assert response.status_code in (400, 404), (path, response.status_code)
        assert MARKER not in response.text and "[project]" not in response.text, path
    # the genuine routes answer, so the refusals above are not just a broken app
    assert client.get("/static/style.css").status_code == 200
    raw = client.get(f"/versions/{v}/raw")
    assert raw.status_code == 200
    name = re.fullmatch(r'attachment; filename="([^"]+)"', raw.headers["content-disposition"]).group(1)
    assert re.fullmatch(r"v\d+-[A-Za-z0-9._-]+", name) and ".." not in name, name


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_exports_write_only_where_asked(tmp_path: Path) -> None:
    """Export file names are fixed (`documents.csv`, ...); titles, URLs and source names only ever become data."""
    home = tmp_path / "a" / "b" / "home"
    _hostile_archive(home, title="../../../../escaped-title", source="../../escaped-source",
                     url="https://example.org/../../../../escaped-url.pdf")
    before = _files_under(tmp_path)
    out = tmp_path / "a" / "b" / "out"
    done = run_cli(home, "export", "--csv", str(out / "c"), "--json", str(out / "j"), "--warc", str(out / "w.warc.gz"))
    assert done.returncode == 0, done.stderr
    created = _files_under(tmp_path) - before
    outside = {p for p in created if not p.is_relative_to(out) and not p.is_relative_to(home)}
    assert outside == set()
    assert {p.relative_to(out).as_posix() for p in created if p.is_relative_to(out)} >= {
        "c/documents.csv", "j/documents.json", "w.warc.gz"}
    assert not any("escaped" in p.name for p in created)
    assert "../../../../escaped-title" in (out / "c" / "documents.csv").read_text()  # kept, as data


# -- SQL ------------------------------------------------------------------------------------------------


HOSTILE = ["'; DROP TABLE fetches; --", '" OR 1=1 --', "' OR '1'='1", "NEAR(", "NEAR(a b", '"', "*", "col:",
           "title:beds", "beds AND", "'unbalanced", '"unbalanced', "x\x00y", "\x00", "A" * 10_000, "^", "((", ")",
           "-1", "99999999999999999999999", "[/]"]
HOSTILE_FILTERS = ["'; DROP TABLE fetches; --", '" OR 1=1 --', "' OR '1'='1", '"', "x\x00y", "A" * 10_000, "[/]"]
TABLES = {"fetches", "documents", "versions", "events", "texts", "texts_fts", "blobs", "sources"}


def _tables_and_counts(home: Path) -> tuple[set[str], dict[str, int]]:
    with Archive(home, readonly=True) as archive:
        names = {r["name"] for r in archive._rows("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return names, archive.counts()


@pytest.fixture(scope="module")
def sql_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("sql") / "home"
    build_archive(home)
    with Archive(home) as archive:
        Outbox(archive)  # the alerts tables too
    return home


def test_hostile_strings_through_the_cli(sql_home: Path) -> None:
    runner = CliRunner()
    tables, counts = _tables_and_counts(sql_home)
    assert TABLES <= tables
    runs = [args for value in HOSTILE for args in (["search", value], ["search", value, "--json"], ["history", value])]
    runs += [args for value in HOSTILE_FILTERS for args in (
        ["search", "beds", "--footprint", value], ["search", "beds", "--generation", value],
        ["search", "beds", "--kind", value], ["search", "beds", "--from", value], ["events", "--kind", value],
        ["events", "--since", value], ["events", "--footprint", value], ["history", value, "--json"],
        ["documents", "--footprint", value], ["documents", "--kind", value, "--json"])]
    for args in runs:
        result = runner.invoke(cli_app, ["--home", str(sql_home), *args])
        shown = (args[0], args[-1][:30])
        assert result.exception is None or isinstance(result.exception, SystemExit), (shown, repr(result.exception))
        assert result.exit_code in (0, 1, 2) and "Traceback" not in result.output, (shown, result.output[-300:])
    # an injected condition would have listed everything: nothing matches instead
    result = runner.invoke(cli_app, ["--home", str(sql_home), "search", "zzz' OR '1'='1", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout) == []
    # a footprint is resolved against the registry first: an injected one is an unknown footprint, refused
    for args in (["events", "--footprint", "x' OR '1'='1", "--json"],
                 ["documents", "--footprint", "QF7' OR 1=1 --", "--json"]):
        result = runner.invoke(cli_app, ["--home", str(sql_home), *args])
        assert result.exit_code == 2 and "unknown footprint" in result.output and not result.stdout.strip(), args
    assert runner.invoke(cli_app, ["--home", str(sql_home), "history", "1 OR 1=1"]).exit_code == 1
    assert _tables_and_counts(sql_home) == (tables, counts)


def test_hostile_strings_through_the_web(sql_home: Path) -> None:
    client = TestClient(create_app(sql_home), raise_server_exceptions=False)
    tables, counts = _tables_and_counts(sql_home)
    for value in HOSTILE:
        for path, params in (("/search", {"q": value}), ("/search", {"q": "beds", "footprint": value}),
                             ("/search", {"q": "beds", "generation": value}), ("/search", {"q": "beds", "to": value}),
                             ("/events", {"kind": value}), ("/events", {"footprint": value}),
                             ("/events", {"since": value}), ("/events", {"before": value}),
                             ("/api/search", {"q": value}), ("/api/events", {"generation": value}),
                             ("/api/documents", {"footprint": value}), ("/feed.atom", {"kind": value})):
            response = client.get(path, params=params)
            assert response.status_code in (200, 400), (path, params, response.status_code, response.text[-300:])
        assert client.get("/footprints/" + quote(value[:200], safe="")).status_code in (200, 404), value[:30]
    refused = client.get("/api/events", params={"footprint": "x' OR '1'='1", "all": "1"})
    assert refused.status_code == 400 and "unknown footprint" in refused.text  # resolved first, never queried
    assert client.get("/api/search", params={"q": "zzz' OR '1'='1"}).json() == []
    assert _tables_and_counts(sql_home) == (tables, counts)


# Names an SQL f-string may interpolate, and why each is safe (read where it is built before adding one):
#   table, columns  Archive._insert: table name and the keys of a dict literal written in storage/archive.py
#   marks           ",".join("?" * n): placeholders only
#   assignments     f"{name} = ?" for names checked against a fixed set of columns (update_document, ...)
#   column, name    the loop variables that build `assignments` and WHERE clauses from literal tuples
#   int(number)     schema.py's PRAGMA user_version: an int
SQL_FSTRING_ALLOWED = {"table", "columns", "marks", "assignments", "column", "name", "int(number)"}
_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|PRAGMA|CREATE|DROP|ALTER|WITH|REPLACE)\b|"
                  r"\b(FROM|WHERE|VALUES|JOIN|ORDER BY|LIMIT)\b|\s=\s\?|\bIN\s*\(")
_EXECUTES = {"execute", "executemany", "executescript", "_rows", "_one", "query"}


def _literal_text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    return ""


def sql_string_problems(source: str, filename: str) -> list[str]:
    """Places where SQL text is made from something other than constants and allow-listed identifiers.

    Static, so it cannot see every route from input to a string: it forbids the forms that build SQL from
    values (f-strings with other names, % and .format on SQL text, concatenating SQL with anything but
    constants, names and `" AND ".join(...)`); the entry-point tests above cover what reaches them."""
    problems = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.JoinedStr) and _SQL.search(_literal_text(node)):
            for part in node.values:
                if isinstance(part, ast.FormattedValue) and ast.unparse(part.value) not in SQL_FSTRING_ALLOWED:
                    problems.append(f"{where}: SQL f-string interpolates {ast.unparse(part.value)!r}")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and _SQL.search(_literal_text(node.left)):
            problems.append(f"{where}: SQL built with % formatting")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
              and _SQL.search(_literal_text(node.func.value))):
            problems.append(f"{where}: SQL built with .format()")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _EXECUTES:
            if node.args:
                problems += [f"{where}: {node.func.attr}() with SQL made from {ast.unparse(leaf)!r}"
                             for leaf in _leaves(node.args[0]) if not _safe_leaf(leaf)]
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and isinstance(node.target, ast.Name) \
                and node.target.id.endswith("sql"):
            problems += [f"{where}: {node.target.id} += {ast.unparse(leaf)!r}"
                         for leaf in _leaves(node.value) if not _safe_leaf(leaf)]
    return problems


def _leaves(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _leaves(node.left) + _leaves(node.right)
    return [node]


def _safe_leaf(node: ast.AST) -> bool:
    if isinstance(node, (ast.Constant, ast.Name, ast.JoinedStr)):  # names hold SQL text checked where it is made
        return True
    if isinstance(node, ast.IfExp):  # a choice between two pieces of literal SQL ("... AND x = ?" if x else "")
        return all(_safe_leaf(leaf) for branch in (node.body, node.orelse) for leaf in _leaves(branch))
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
            and isinstance(node.func.value, ast.Constant))


def test_sql_text_is_never_built_from_input() -> None:
    # the check itself finds what it must
    assert sql_string_problems('db.execute(f"SELECT * FROM t WHERE x = {value}")', "bad.py")
    assert sql_string_problems('db.execute("SELECT * FROM t WHERE x = %s" % value)', "bad.py")
    assert sql_string_problems('db.execute("SELECT * FROM t WHERE x = {}".format(value))', "bad.py")
    assert sql_string_problems('db.execute("SELECT * FROM t WHERE x = \'" + request.q + "\'")', "bad.py")
    assert sql_string_problems('sql += " AND x = " + str(value)', "bad.py")
    assert not sql_string_problems('db.execute(f"UPDATE t SET {assignments} WHERE id = ?", [1])', "ok.py")
    assert not sql_string_problems('db.execute("SELECT 1" + (" AND x = ?" if x else ""), [1])', "ok.py")
    assert sql_string_problems('db.execute("SELECT 1" + (" AND x = " + request.q if x else ""))', "bad.py")
    problems = []
    for package in ("storage", "tracker", "alerts", "crawler"):
        for path in sorted((ROOT / package).rglob("*.py")):
            problems += sql_string_problems(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert problems == []


# -- secrets --------------------------------------------------------------------------------------------


PASSWORD = "Pa55-w0rd-SMTP-9c1e"
WEBHOOK_PATH_TOKEN = "hookpath-TOKEN-55d2"


class _RejectingAuth:
    """An aiosmtpd authenticator that refuses every login (as a server does for a wrong password)."""

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        return AuthResult(success=False, handled=False)


def _secret_forms(secret: str) -> list[str]:
    """The secret as written, and as AUTH PLAIN / AUTH LOGIN put it on the wire."""
    return [secret, base64.b64encode(secret.encode()).decode(),
            base64.b64encode(f"\0alerts\0{secret}".encode()).decode()]


def _subscribed_email_home(home: Path) -> None:
    """An archive with a confirmed email subscription and one event owed to it."""
    with smtp_server() as server, Archive(home) as archive:
        settings = alerts.AlertSettings(smtp_host="127.0.0.1", smtp_port=server.port, smtp_timeout=5)
        result = alerts.subscribe(archive, settings, "reader@example.org")
        token = re.search(r"/alerts/confirm/([A-Za-z0-9_-]+)", body_text(server.messages[-1])).group(1)
        alerts.confirm(archive, token)
        assert result.subscription.status == "pending"
        add_event(archive)


@pytest.mark.parametrize("server_state", ["rejects the login", "is down"])
def test_smtp_password_is_never_shown_or_stored(tmp_path: Path, server_state: str) -> None:
    from aiosmtpd.controller import Controller

    home = tmp_path / "home"
    _subscribed_email_home(home)
    port = free_port()
    controller = None
    if server_state == "rejects the login":
        controller = Controller(_Collector(), hostname="127.0.0.1", port=port, authenticator=_RejectingAuth(),
                                auth_require_tls=False)
        controller.start()
        # the password from config.toml
        (home / "config.toml").write_text(f'[alerts]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\n'
                                          f'smtp_user = "alerts"\nsmtp_password = "{PASSWORD}"\nsmtp_timeout = 5\n')
        env = {**os.environ}
    else:  # the password from the environment
        env = {**os.environ, "STP_TRACKER_SMTP_HOST": "127.0.0.1", "STP_TRACKER_SMTP_PORT": str(port),
               "STP_TRACKER_SMTP_USER": "alerts", "STP_TRACKER_SMTP_PASSWORD": PASSWORD,
               "STP_TRACKER_SMTP_TIMEOUT": "5"}
    try:
        run = run_cli(home, "--verbose", "deliver", env=env)
    finally:
        if controller is not None:
            controller.stop()
    assert run.returncode == 1, run.stderr  # the send failed, and says why
    assert "refused the login for user alerts" in run.stderr if controller else "SMTP server 127.0.0.1" in run.stderr
    shown = [run.stdout, run.stderr]
    runner = CliRunner()
    for args in (["deliveries", "--json"], ["deliveries"], ["subscriptions", "--json"], ["subscriptions"],
                 ["status"], ["status", "--json"]):
        result = runner.invoke(cli_app, ["--home", str(home), *args], env=env)
        assert result.exit_code == 0, (args, result.output)
        shown.append(result.output)
    assert "refused the login" in shown[2] if controller else "SMTP server" in shown[2]  # the error is listed
    stored = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file() and p.name != "config.toml")
    for form in _secret_forms(PASSWORD):
        assert not any(form in text for text in shown), form
        assert form.encode() not in stored, form


class _Collector:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        return "250 OK"


def test_webhook_secret_and_url_token_stay_out_of_the_log(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with WebhookReceiver(fail_first=1) as receiver:
        url = f"http://127.0.0.1:{receiver.port}/hook/{WEBHOOK_PATH_TOKEN}?key={WEBHOOK_PATH_TOKEN}q"
        with Archive(home) as archive:
            secret = alerts.subscribe(archive, ALLOW, url).secret
            add_event(archive)
        env = {**os.environ, "STP_TRACKER_ALLOW_PRIVATE_TARGETS": "1"}
        run = run_cli(home, "--verbose", "deliver", env=env)
        with Archive(home) as archive:  # the retry, without waiting for the backoff
            alerts.deliver_pending(archive, ALLOW, now=dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc))
    assert run.returncode == 1 and "answered HTTP 500" in run.stderr
    assert len(receiver.accepted) == 1 and receiver.accepted[0]["headers"]["X-STP-Signature"].startswith("sha256=")
    runner = CliRunner()
    shown = [run.stdout + run.stderr] + [
        runner.invoke(cli_app, ["--home", str(home), *args], env=env).output
        for args in (["deliveries", "--json"], ["subscriptions", "--json"], ["subscriptions"], ["status"])]
    for text in shown:
        assert secret not in text and WEBHOOK_PATH_TOKEN not in text


def test_apprise_credentials_are_redacted(tmp_path: Path) -> None:
    closed = free_port()
    token = "AAHsecretBotToken123456789"
    with Archive(tmp_path / "home") as archive:
        alerts.subscribe(archive, ALLOW, f"json://alerts:{PASSWORD}@127.0.0.1:{closed}/path/{token}")
        telegram = f"tgram://123456789:{token}/12315544"
        alerts.subscribe(archive, ALLOW, telegram)
        alerts.unsubscribe(archive, telegram, ALLOW)  # listed, never sent: only the local json:// target is tried
        add_event(archive)
        report = alerts.deliver_pending(archive, ALLOW)
        [failure] = report.failures
        assert "Connection" in failure.error  # the reason is kept...
        listed = json.dumps(alerts.deliveries(archive)) + json.dumps(
            [s.public() for s in alerts.subscriptions(archive)])
    for text in (failure.error, failure.address, listed):
        assert PASSWORD not in text and token not in text, text  # ...the credentials are not


# -- template injection ---------------------------------------------------------------------------------


def test_template_syntax_in_fetched_text_is_never_evaluated(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with WebhookReceiver() as receiver:
        with Archive(home) as archive:
            alerts.subscribe(archive, ALLOW, receiver.url)
        ids = _hostile_archive(home, title=INJECTION, url="https://example.org/plan.html", text=f"beds {INJECTION}")
        with Archive(home) as archive:
            alerts.deliver_pending(archive, ALLOW)
            feed = feed_xml(archive).decode()
    [request] = receiver.requests
    assert request["json"]["document"]["title"] == INJECTION and INJECTION in request["json"]["summary"]
    assert "{{ 7*7 }}" in feed and "{% if true %}" in feed
    client = TestClient(create_app(home))
    v1, v2 = ids["versions"]
    for path in ("/", f"/documents/{ids['doc']}", f"/versions/{v2}", f"/diff/{v1}/{v2}", "/events",
                 "/search?q=beds", "/footprints/QF7", "/feed.atom"):
        page = client.get(path).text
        assert "{{ 7*7 }}" in page and "{% if true %}" in page, path
    texts = [feed, request["body"].decode()] + [client.get(p).text for p in ("/", f"/documents/{ids['doc']}")]
    for text in texts:
        assert "EVALUATED{%" not in text.replace("{% if true %}EVALUATED{% endif %}", "")
        assert "<class" not in text and "&lt;class" not in text and " 49 " not in text
    # a subscriber's own filter text: never in the confirmation email (issue 16: it goes to an address that may not
    # have asked), and shown as written in the alerts the confirmed subscriber gets
    from alerts.delivery import SAMPLE_EVENT
    from alerts.render import describe_filters, render_event

    with smtp_server() as server, Archive(home) as archive:
        settings = alerts.AlertSettings(smtp_host="127.0.0.1", smtp_port=server.port, smtp_timeout=5)
        result = alerts.subscribe(archive, settings, "reader@example.org",
                                  keywords=["{{ 7*7 }}", "{{ ''.__class__ }}"])
        mail = server.messages[-1]
    for part in (body_text(mail), body_text(mail, "html")):
        assert "7*7" not in part and "__class__" not in part and "<class" not in part
    alert = render_event(SAMPLE_EVENT, "https://t.example", ref="r", filters=describe_filters(result.subscription),
                         unsubscribe_url="https://t.example/alerts/unsubscribe/x")
    for part in (alert.text, alert.html):
        assert "{{ 7*7 }}" in part and "{{ ''.__class__ }}" in part.replace("&#39;", "'") and "<class" not in part


def test_alert_templates_are_sandboxed() -> None:
    from jinja2.sandbox import SandboxedEnvironment, SecurityError

    from alerts.render import TEMPLATES, environment

    env = environment()
    assert isinstance(env, SandboxedEnvironment)
    assert env.loader.searchpath == [str(TEMPLATES)]  # only the shipped templates: no subscriber supplies one
    for hostile in ("{{ ''.__class__ }}", "{{ ''.__class__.__mro__[1].__subclasses__() }}",
                    "{{ cycler.__init__.__globals__ }}", "{{ e.title.__class__ }}", "{{ e.items.__self__ }}"):
        with pytest.raises(SecurityError):
            env.from_string(hostile).render(e={"title": "x"})


# -- XSS -----------------------------------------------------------------------------------------------


def test_attribute_breakout_and_javascript_links_are_inert_on_every_page(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ids = _hostile_archive(home, title=BREAKOUT, url="javascript:alert(document.cookie)//plan.pdf",
                           text=f"beds {BREAKOUT} <a href=\"javascript:alert(2)\">annex</a>")
    client = TestClient(create_app(home))
    v1, v2 = ids["versions"]
    for path in ("/", f"/documents/{ids['doc']}", f"/versions/{v1}", f"/versions/{v2}", f"/diff/{v1}/{v2}",
                 f"/diff/{v1}/{v2}?view=side", "/search?q=beds", "/search?q=annex", "/events", "/events?all=1",
                 "/footprints/QF7"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.text
        assert "<img" not in html and "<script" not in html.lower(), path
        assert not re.search(r"""href\s*=\s*["']?\s*javascript:""", html, re.I), path
        assert "&lt;img src=x onerror=alert(1)&gt;" in html or "&#34;&gt;&lt;img" in html, path
    feed = client.get("/feed.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert "<img" not in feed.text and 'href="javascript:' not in feed.text
    assert all('type="html"' not in line and 'type="xhtml"' not in line for line in feed.text.splitlines())
    api = client.get(f"/api/documents/{ids['doc']}")
    assert api.headers["content-type"] == "application/json" and api.json()["title"] == BREAKOUT


def test_what_the_url_says_is_escaped_on_error_pages_and_forms(tmp_path: Path) -> None:
    _hostile_archive(tmp_path / "home", title="Plan", url="https://example.org/p.html")
    client = TestClient(create_app(tmp_path / "home", subscriptions=True, rate_limit=1000))
    payload = '"><script>alert(1)</script><img src=x onerror=alert(1)>'
    for path, params in (("/footprints/" + payload.replace("/", "%2F"), None), ("/search", {"q": payload}),
                         ("/search", {"q": "beds", "from": payload}), ("/events", {"since": payload}),
                         ("/events", {"kind": payload}), ("/alerts/confirm/" + payload.replace("/", "%2F"), None),
                         ("/alerts/unsubscribe/" + payload.replace("/", "%2F"), None), ("/nowhere" + payload, None)):
        response = client.get(path, params=params)
        assert "<script" not in response.text.lower() and "<img" not in response.text, (path, params)
    shown = client.get("/search", params={"q": payload}).text
    assert "&lt;script&gt;" in shown or "&#34;&gt;&lt;script" in shown  # reflected, escaped


# -- CSRF ------------------------------------------------------------------------------------------------


def _csrf_token(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def test_confirm_and_unsubscribe_posts_need_a_csrf_token(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with Archive(home) as archive:
        alerts.subscribe(archive, ALLOW, f"http://127.0.0.1:{free_port()}/hook")
        [sub] = Outbox(archive).subscriptions()
    token = sub["unsubscribe_token"]
    client = TestClient(create_app(home, subscriptions=True, rate_limit=1000))
    other = TestClient(create_app(home, subscriptions=True, rate_limit=1000))
    path = f"/alerts/unsubscribe/{token}"
    assert client.post(path).status_code == 403  # no token, no cookie
    assert client.post(path, data={"csrf": _csrf_token(other, path)}).status_code == 403  # another session's
    mine = _csrf_token(client, path)
    assert client.post(path, data={"csrf": mine}, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/alerts/confirm/whatever", data={"csrf": "1.forged"}).status_code == 403
    with Archive(home, readonly=True) as archive:
        assert [s.status for s in alerts.subscriptions(archive)] == ["active"]
    done = client.post(path, data={"csrf": mine})
    assert done.status_code == 200 and "unsubscribed" in done.text
    with Archive(home, readonly=True) as archive:
        assert [s.status for s in alerts.subscriptions(archive)] == ["unsubscribed"]


def test_every_post_route_is_under_csrf_review(tmp_path: Path) -> None:
    """A new form must get a CSRF check and a test: this fails when a route accepting POST appears unreviewed."""
    home = tmp_path / "home"
    _hostile_archive(home, title="Plan", url="https://example.org/p.html")
    app = create_app(home, subscriptions=True, rate_limit=1000)
    writable = {route.path for route in app.app.routes if {"POST", "PUT", "PATCH", "DELETE"} & (route.methods or set())}
    assert writable == {"/subscribe", "/alerts/{action:str}/{token:str}"}
    client = TestClient(app)
    for path in ("/", "/documents/1", "/versions/1", "/versions/1/raw", "/search", "/events", "/feed.atom",
                 "/api/documents", "/api/events", "/static/style.css"):
        assert client.post(path).status_code == 405, path


# -- terminal markup -----------------------------------------------------------------------------------


def test_terminal_markup_in_fetched_titles_is_printed_as_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    title = "Plan [/] [bold red]loud[/] [link=https://evil.example]click[/link]"
    _hostile_archive(home, title=title, url="https://example.org/[/]plan.html")
    runner = CliRunner()
    for args in (["documents"], ["events"], ["history", "1"], ["search", "beds"], ["history", "[/]"]):
        result = runner.invoke(cli_app, ["--home", str(home), *args], env={"COLUMNS": "400"})
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
        assert result.exit_code in (0, 1), (args, result.output)
        if args != ["history", "[/]"]:
            assert "[bold red]loud[/]" in result.output, (args, result.output)
        assert "\x1b]8;" not in result.output  # no terminal hyperlink was made
